"""The Airflow-free HTTP core of the X hook: one session, retries, rate limits, errors and paging.

Everything that talks HTTP to the X API goes through :class:`XApiClient`. It knows nothing about
Airflow, so it is reusable outside a task and testable on its own; :class:`~..x.XHook` builds it
from a connection.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec
import requests
import tenacity

from airflow_provider_xlikes.exceptions import (
    XApiError,
    XAuthError,
    XBadRequestError,
    XForbiddenError,
    XNotFoundError,
    XRateLimitError,
    XRateLimitWait,
    XServerError,
)

log = logging.getLogger("airflow_provider_xlikes.api")

DEFAULT_BASE_URL = "https://api.x.com"
USER_CONTEXT_AUTH_TYPES = ("oauth2_user", "oauth1_user")
#: the 24-hour window of the likes POST/DELETE endpoints, kept beside the 15-minute one
DAILY_LIMIT_PREFIX = "x-user-limit-24hour-"
DAILY_SUFFIX = " (24h)"

_json_decoder = msgspec.json.Decoder()


# --------------------------------------------------------------------------- rate limits
@dataclass(frozen=True)
class RateLimit:
    """The ``x-rate-limit-*`` headers of one response."""

    limit: int | None
    remaining: int | None
    reset_at: float | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], prefix: str = "x-rate-limit-") -> RateLimit | None:
        """The window named by ``prefix``: ``x-rate-limit-`` (15 minutes) or ``x-user-limit-24hour-``."""
        values = [headers.get(f"{prefix}{name}") for name in ("limit", "remaining", "reset")]
        if all(v is None for v in values):
            return None
        limit, remaining, reset = (_as_int(v) for v in values)
        return cls(limit=limit, remaining=remaining, reset_at=float(reset) if reset is not None else None)


def _as_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class Waiter(Protocol):
    """How a wait for a rate-limit window is spent: sleeping, or raising to let the task defer."""

    def __call__(self, seconds: float, *, endpoint: str, reason: str) -> None: ...


def sleep_waiter(seconds: float, *, endpoint: str, reason: str) -> None:
    """The default waiter: block the current thread."""
    time.sleep(seconds)


@dataclass(frozen=True)
class DeferringWaiter:
    """Sleep through short waits; raise :class:`XRateLimitWait` for waits longer than ``max_sleep``.

    A deferrable operator catches the exception and defers until ``resume_at`` with the cursor.
    """

    max_sleep: float = 30.0

    def __call__(self, seconds: float, *, endpoint: str, reason: str) -> None:
        if seconds <= self.max_sleep:
            time.sleep(seconds)
            return
        raise XRateLimitWait(resume_at=time.time() + seconds, endpoint=endpoint)


# --------------------------------------------------------------------------- pages
@dataclass(frozen=True)
class Page:
    """One page of a listing, as the API sent it (records are passed through unchanged).

    ``pagination_token`` is the cursor this page was fetched with (``None`` for the first page);
    ``next_token`` is the cursor of the page after it, ``None`` on the last page.
    """

    data: list[dict[str, Any]]
    includes: dict[str, list[dict[str, Any]]]
    errors: list[dict[str, Any]]
    meta: dict[str, Any]
    number: int = 1
    pagination_token: str | None = None
    rate_limit: RateLimit | None = None

    @classmethod
    def from_payload(
        cls,
        payload: Mapping[str, Any],
        *,
        number: int = 1,
        pagination_token: str | None = None,
        rate_limit: RateLimit | None = None,
    ) -> Page:
        return cls(
            data=list(payload.get("data") or []),
            includes=dict(payload.get("includes") or {}),
            errors=list(payload.get("errors") or []),
            meta=dict(payload.get("meta") or {}),
            number=number,
            pagination_token=pagination_token,
            rate_limit=rate_limit,
        )

    @property
    def next_token(self) -> str | None:
        token = self.meta.get("next_token")
        return str(token) if token else None

    @property
    def previous_token(self) -> str | None:
        token = self.meta.get("previous_token")
        return str(token) if token else None

    @property
    def result_count(self) -> int:
        return int(self.meta.get("result_count", len(self.data)))

    @property
    def included_tweets(self) -> list[dict[str, Any]]:
        """Posts in ``includes``, whichever name the API used (``tweets`` or ``posts``)."""
        return list(self.includes.get("tweets") or []) + list(self.includes.get("posts") or [])

    @property
    def included_users(self) -> list[dict[str, Any]]:
        return list(self.includes.get("users") or [])


@dataclass(frozen=True)
class ApiResponse:
    """A successful response: its decoded JSON body, status and rate-limit headers."""

    status: int
    payload: dict[str, Any]
    rate_limit: RateLimit | None


# --------------------------------------------------------------------------- errors
def _decode_error_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = _json_decoder.decode(response.content)
    except msgspec.DecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def error_from_response(response: requests.Response, *, endpoint: str, auth_type: str) -> XApiError:
    """Map an error response (either body shape) to the exception hierarchy."""
    status = response.status_code
    body = _decode_error_body(response)
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    title = body.get("title")
    detail = body.get("detail")
    problem_type = body.get("type")
    if not title and errors:
        title = errors[0].get("title") or errors[0].get("message")
        detail = detail or errors[0].get("detail")
        problem_type = problem_type or errors[0].get("type")
    if "error" in body and not title:  # OAuth token endpoint shape
        title = str(body.get("error"))
        detail = body.get("error_description")
    kwargs: dict[str, Any] = {
        "endpoint": endpoint,
        "title": title,
        "detail": detail,
        "problem_type": problem_type,
        "errors": errors,
    }
    reason = str(problem_type or "").rstrip("/").rsplit("/", 1)[-1]
    if status == 400:
        error = XBadRequestError(status, **kwargs)
        hint = _field_naming_hint(error.parameters)
        return XBadRequestError(status, hint=hint, **kwargs) if hint else error
    if status == 401:
        return XAuthError(status, hint=f"auth_type {auth_type!r} was not accepted", **kwargs)
    if status == 403:
        if reason not in ("unsupported-authentication", "client-forbidden", "usage-capped"):
            reason = "forbidden"
        working: tuple[str, ...] = ()
        hint = None
        if reason == "unsupported-authentication":
            working = tuple(t for t in USER_CONTEXT_AUTH_TYPES if t != auth_type)
            if auth_type == "bearer":
                hint = "this endpoint refuses app-only bearer auth; use auth_type 'oauth2_user' or 'oauth1_user'"
            else:
                hint = f"auth_type {auth_type!r} is refused here; try {' or '.join(repr(t) for t in working)}"
        elif reason == "client-forbidden":
            hint = "the app's access level does not include this endpoint"
        elif reason == "usage-capped":
            hint = "the app's monthly usage cap is spent"
        return XForbiddenError(status, reason=reason, working_auth_types=working, hint=hint, **kwargs)
    if status == 404:
        return XNotFoundError(status, **kwargs)
    if status == 429:
        windows = [RateLimit.from_headers(response.headers, p) for p in ("x-rate-limit-", DAILY_LIMIT_PREFIX)]
        resets = [w.reset_at for w in windows if w is not None and w.reset_at is not None and w.remaining == 0]
        if not resets:
            resets = [w.reset_at for w in windows if w is not None and w.reset_at is not None]
        return XRateLimitError(status, reset_at=max(resets) if resets else None, **kwargs)
    if status >= 500:
        return XServerError(status, **kwargs)
    return XApiError(status, **kwargs)


def _field_naming_hint(parameters: list[str]) -> str | None:
    if "tweet.fields" in parameters:
        return "the API no longer accepts 'tweet.fields': set field_naming='post' in the connection extra"
    if "post.fields" in parameters:
        return "the API does not accept 'post.fields': set field_naming='tweet' in the connection extra"
    return None


# --------------------------------------------------------------------------- auth interface
class XAuth(requests.auth.AuthBase):
    """Base of the auth strategies: adds credentials to a request, and may refresh them once on 401."""

    auth_type = "none"

    def refresh_after_unauthorized(self, request: requests.PreparedRequest) -> bool:
        """Called on a 401; return True when new credentials make a second attempt worthwhile."""
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} auth_type={self.auth_type!r}>"


# --------------------------------------------------------------------------- client
_RETRYABLE = (
    XServerError,
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass
class RetryPolicy:
    """Retries of 5xx, malformed bodies, connection resets and timeouts: bounded, exponential, jittered."""

    attempts: int = 5
    initial_wait: float = 1.0
    max_wait: float = 30.0

    def retrying(self, endpoint: str) -> tenacity.Retrying:
        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "%s failed (%s, attempt %d of %d); retrying in %.1f s",
                endpoint,
                type(exc).__name__,
                state.attempt_number,
                self.attempts,
                wait,
            )

        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=tenacity.wait_exponential_jitter(initial=self.initial_wait, max=self.max_wait),
            retry=tenacity.retry_if_exception_type(_RETRYABLE),
            before_sleep=before_sleep,
            reraise=True,
        )


@dataclass
class RateLimitPolicy:
    """How rate limits are handled: wait for the reset when ``remaining`` hits 0 and after a 429.

    ``max_waits`` bounds consecutive 429s of one request; ``backoff_initial`` is the first wait after
    a 429 without headers (doubled each time, capped at ``backoff_max``); ``margin`` is added to
    every reset-based wait.
    """

    max_waits: int = 10
    backoff_initial: float = 5.0
    backoff_max: float = 900.0
    margin: float = 0.5


@dataclass
class XApiClient:
    """HTTP core: one ``requests.Session``, auth, retries, one rate-limit state, error mapping, paging."""

    base_url: str
    auth: XAuth
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limits: RateLimitPolicy = field(default_factory=RateLimitPolicy)
    waiter: Waiter = sleep_waiter
    session: requests.Session = field(default_factory=requests.Session)
    user_agent: str = "airflow-provider-xlikes"
    #: the last rate-limit headers seen, per endpoint ("GET /2/tweets/:id/liking_users")
    limits: dict[str, RateLimit] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.session.headers["User-Agent"] = self.user_agent

    def __repr__(self) -> str:
        return f"<XApiClient base_url={self.base_url!r} auth={self.auth!r}>"

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    # ---- one request
    def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> ApiResponse:
        """Send one API call: waits out exhausted windows and 429s, retries transient failures."""
        rate_limited = 0
        while True:
            self._wait_for_quota(endpoint)
            try:
                for attempt in self.retry.retrying(endpoint):
                    with attempt:
                        return self._send(method, path, endpoint=endpoint, params=params, json_body=json_body)
            except XRateLimitError as exc:
                rate_limited += 1
                if rate_limited > self.rate_limits.max_waits:
                    raise
                self._wait(self._delay_after_429(exc, rate_limited), endpoint=endpoint, reason="HTTP 429")
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: Mapping[str, Any] | None,
        json_body: Mapping[str, Any] | None,
    ) -> ApiResponse:
        url = self.base_url + path
        response = self.session.request(
            method, url, params=params, json=json_body, auth=self.auth, timeout=self.timeout
        )
        if response.status_code == 401 and self.auth.refresh_after_unauthorized(response.request):
            log.info("%s answered 401; credentials refreshed, sending once more", endpoint)
            response = self.session.request(
                method, url, params=params, json=json_body, auth=self.auth, timeout=self.timeout
            )
        rate_limit = RateLimit.from_headers(response.headers)
        if rate_limit is not None:
            self.limits[endpoint] = rate_limit
        daily = RateLimit.from_headers(response.headers, DAILY_LIMIT_PREFIX)
        if daily is not None:
            self.limits[endpoint + DAILY_SUFFIX] = daily
        if response.status_code >= 400:
            raise error_from_response(response, endpoint=endpoint, auth_type=self.auth.auth_type)
        try:
            payload = _json_decoder.decode(response.content) if response.content else {}
        except msgspec.DecodeError:
            raise XServerError(
                response.status_code, endpoint=endpoint, title="Malformed response", detail="body is not JSON"
            ) from None
        if not isinstance(payload, dict):
            raise XServerError(response.status_code, endpoint=endpoint, title="Malformed response")
        return ApiResponse(status=response.status_code, payload=payload, rate_limit=rate_limit)

    # ---- waiting
    def _exhausted_until(self, endpoint: str) -> float | None:
        """The latest reset among this endpoint's exhausted windows (15-minute and 24-hour)."""
        resets = [
            limit.reset_at
            for key in (endpoint, endpoint + DAILY_SUFFIX)
            if (limit := self.limits.get(key)) is not None and limit.remaining == 0 and limit.reset_at is not None
        ]
        return max(resets) if resets else None

    def _wait_for_quota(self, endpoint: str) -> None:
        until = self._exhausted_until(endpoint)
        if until is None:
            return
        # the windows are over after the wait: forget them so the next response sets them again
        self.limits.pop(endpoint, None)
        self.limits.pop(endpoint + DAILY_SUFFIX, None)
        seconds = until - time.time() + self.rate_limits.margin
        if seconds > 0:
            self._wait(seconds, endpoint=endpoint, reason="rate-limit window exhausted")

    def _delay_after_429(self, exc: XRateLimitError, count: int) -> float:
        resets = [r for r in (exc.reset_at, self._exhausted_until(exc.endpoint)) if r is not None]
        if resets:
            self.limits.pop(exc.endpoint, None)
            self.limits.pop(exc.endpoint + DAILY_SUFFIX, None)
            return max(max(resets) - time.time(), 0.0) + self.rate_limits.margin
        backoff: float = self.rate_limits.backoff_initial * 2.0 ** (count - 1)
        return min(backoff, self.rate_limits.backoff_max) * random.uniform(1.0, 1.25)

    def _wait(self, seconds: float, *, endpoint: str, reason: str) -> None:
        log.info("Rate limit: waiting %.1f s before the next %s (%s)", seconds, endpoint, reason)
        self.waiter(seconds, endpoint=endpoint, reason=reason)

    # ---- paging
    def paginate(
        self,
        path: str,
        *,
        endpoint: str,
        params: Mapping[str, Any],
        max_records: int | None = None,
        max_pages: int | None = None,
        pagination_token: str | None = None,
        min_page_size: int = 1,
        on_page: Callable[[Page], None] | None = None,
    ) -> Iterator[Page]:
        """Yield pages until ``meta.next_token`` is absent, ``max_records`` or ``max_pages`` is reached.

        ``pagination_token`` resumes a listing from a cursor (``Page.next_token`` of an earlier run,
        in this process or another one). Tokens are sent back verbatim. When a rate-limit wait is
        raised instead of slept (see :class:`DeferringWaiter`), the :class:`XRateLimitWait` carries
        the cursor of the first page not fetched yet. ``max_records`` never costs an extra request:
        the last page is asked with a smaller ``max_results`` where the API allows it, and cut.
        """
        token = pagination_token
        records = 0
        number = 0
        page_size = int(params.get("max_results", 100))
        while True:
            query = dict(params)
            if max_records is not None:
                query["max_results"] = max(min(page_size, max_records - records), min_page_size)
            if token is not None:
                query["pagination_token"] = token
            try:
                response = self.request("GET", path, endpoint=endpoint, params=query)
            except XRateLimitWait as wait:
                wait.pagination_token = token
                raise
            number += 1
            page = Page.from_payload(
                response.payload, number=number, pagination_token=token, rate_limit=response.rate_limit
            )
            if max_records is not None and records + len(page.data) > max_records:
                page = dataclasses.replace(page, data=page.data[: max_records - records])
            records += len(page.data)
            if on_page is not None:
                on_page(page)
            yield page
            token = page.next_token
            if token is None:
                return
            if max_records is not None and records >= max_records:
                return
            if max_pages is not None and number >= max_pages:
                return
