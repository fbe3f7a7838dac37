"""The HTTP core of the X hook: one session, retries, rate limits, errors and paging.

Everything that talks HTTP to the X API goes through :class:`XApiClient`. It uses no Airflow API
(only the exception classes derive from Airflow's), so it is reusable outside a task and testable
on its own; :class:`~airflow_provider_xlikes.hooks.x.XHook` builds it from a connection.

Over 400 lines because every request passes through the session, the retries, the rate-limit
state and the paging of :class:`XApiClient` together; error mapping is in :mod:`.errors`.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
import pendulum
import requests
import tenacity

from airflow_provider_xlikes.broken_unicode import decode_repairing
from airflow_provider_xlikes.endpoints import Endpoint
from airflow_provider_xlikes.exceptions import (
    XCursorLoopError,
    XMalformedResponseError,
    XRateLimitError,
    XRateLimitWait,
    XServerError,
)
from airflow_provider_xlikes.hooks.errors import TRANSPORT_ERRORS, error_from_response, unreachable
from airflow_provider_xlikes.pages import Page
from airflow_provider_xlikes.rate_limits import (
    DAILY_LIMIT_PREFIX,
    RESET_RESOLUTION,
    DeferringWaiter,
    RateLimit,
    RateLimitPolicy,
    Waiter,
    sleep_waiter,
)
from airflow_provider_xlikes.validation import validate_max_records, validate_pagination_token, validate_positive

if TYPE_CHECKING:
    from airflow_provider_xlikes.hooks.budget import SharedBudget

log = logging.getLogger("airflow_provider_xlikes.api")

DEFAULT_BASE_URL = "https://api.x.com"
#: key suffix of the 24-hour window in ``XApiClient.limits``
DAILY_SUFFIX = " (24h)"

_json_decoder = msgspec.json.Decoder()
T = TypeVar("T")


@dataclass(frozen=True)
class ApiResponse:
    """A successful response: its decoded JSON body, status and rate-limit headers."""

    status: int
    payload: dict[str, Any]
    rate_limit: RateLimit | None
    #: objects of the body that carried broken Unicode, replaced (see ``airflow_provider_xlikes.broken_unicode``)
    broken_unicode: int = 0


# --------------------------------------------------------------------------- auth interface
class XAuth(requests.auth.AuthBase):
    """Base of the auth strategies: adds credentials to a request, and may refresh them once on 401."""

    auth_type = "none"

    def refresh_after_unauthorized(self, request: requests.PreparedRequest) -> bool:
        """Called on a 401; return True when new credentials make a second attempt worthwhile."""
        return False

    @property
    def budget_identity(self) -> str | None:
        """What X counts rate limits by (a secret: only its fingerprint may be stored or logged);
        ``None``: no shared budget."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} auth_type={self.auth_type!r}>"


def _as_is(response: ApiResponse) -> ApiResponse:
    return response


# --------------------------------------------------------------------------- client
_RETRYABLE = (XServerError, *TRANSPORT_ERRORS)


def exponential_jitter(
    initial: float, maximum: float, jitter: float = 1.0
) -> Callable[[tenacity.RetryCallState], float]:
    """Tenacity's wait: ``initial * 2 ** (attempt - 1)`` plus up to ``jitter`` seconds at random,
    at most ``maximum``. A plain wait callable (what ``wait=`` takes on every tenacity release), not
    ``wait_exponential_jitter``, whose ``initial`` is deprecated in 9.2 and whose ``multiplier``
    earlier releases lack."""

    def wait(state: tenacity.RetryCallState) -> float:
        try:
            seconds = initial * 2.0 ** (state.attempt_number - 1) + random.uniform(0, jitter)
        except OverflowError:
            return maximum
        return max(0.0, min(seconds, maximum))

    return wait


@dataclass
class HttpRetryPolicy:
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
            wait=exponential_jitter(self.initial_wait, self.max_wait),
            retry=tenacity.retry_if_exception_type(_RETRYABLE),
            before_sleep=before_sleep,
            reraise=True,
        )

    def run(self, endpoint: str, attempt: Callable[[], T]) -> T:
        """``attempt()``, retried by :meth:`retrying` on a transient failure.

        The first try runs bare: a request that succeeds builds no retry state. Its failure is
        handed to the retry loop as attempt 1 (logged, waited on and counted as before)."""
        try:
            return attempt()
        except _RETRYABLE as exc:
            failed: list[BaseException] = [exc]
        for retry_attempt in self.retrying(endpoint):
            with retry_attempt:
                if failed:
                    raise failed.pop()
                return attempt()
        raise AssertionError("unreachable")  # pragma: no cover - tenacity returns or reraises


@dataclass
class XApiClient:
    """HTTP core: one ``requests.Session``, auth, retries, one rate-limit state, error mapping, paging."""

    base_url: str
    auth: XAuth
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retry: HttpRetryPolicy = field(default_factory=HttpRetryPolicy)
    rate_limits: RateLimitPolicy = field(default_factory=RateLimitPolicy)
    waiter: Waiter = sleep_waiter
    session: requests.Session = field(default_factory=requests.Session)
    user_agent: str = "airflow-provider-xlikes"
    #: the last rate-limit headers seen, per endpoint ("GET /2/tweets/:id/liking_users")
    limits: dict[str, RateLimit] = field(default_factory=dict)
    #: the token's windows shared with other processes (see ``hooks/budget.py``); None: this process only
    budget: SharedBudget | None = None
    #: what ``send`` is given besides the request, per origin and session settings (see :meth:`_http`)
    _send_settings: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict, init=False, repr=False)

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
        endpoint: Endpoint,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> ApiResponse:
        """Send one call of ``endpoint``: waits out exhausted windows and 429s, retries transient failures."""
        return self.call(endpoint, path, _as_is, params=params, json_body=json_body)

    def call(
        self,
        endpoint: Endpoint,
        path: str,
        parse: Callable[[ApiResponse], T],
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> T:
        """:meth:`request`, with ``parse`` applied inside the retry: a malformed body it rejects
        (``XMalformedResponseError``) is retried like a 5xx."""
        label = endpoint.label
        rate_limited = 0
        while True:
            self._wait_for_quota(label)
            try:
                return self.retry.run(
                    label,
                    lambda: parse(self._send_within_budget(endpoint, path, params=params, json_body=json_body)),
                )
            except TRANSPORT_ERRORS as exc:
                raise unreachable(exc, self.base_url, self.retry.attempts) from exc
            except XRateLimitError as exc:
                rate_limited += 1
                if rate_limited > self.rate_limits.max_waits:
                    raise
                self._wait(self._delay_after_429(exc, rate_limited), endpoint=label, reason="HTTP 429")
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_within_budget(
        self, endpoint: Endpoint, path: str, *, params: Mapping[str, Any] | None, json_body: Mapping[str, Any] | None
    ) -> ApiResponse:
        """:meth:`_send`, after taking a slot of the shared budget (waiting while its window is
        spent); the response's headers go to the budget."""
        budget = self.budget
        if budget is None:
            return self._send(endpoint.method, path, endpoint=endpoint.label, params=params, json_body=json_body)
        while (seconds := budget.acquire(endpoint)) is not None:
            self._wait(seconds + self.rate_limits.margin, endpoint=endpoint.label, reason="shared window spent")
        try:
            return self._send(endpoint.method, path, endpoint=endpoint.label, params=params, json_body=json_body)
        finally:
            budget.observe(endpoint, self.limits.get(endpoint.label))

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
        response = self._http(method, url, params=params, json_body=json_body)
        if response.status_code == 401 and self.auth.refresh_after_unauthorized(response.request):
            log.info("%s answered 401; credentials refreshed, sending once more", endpoint)
            response = self._http(method, url, params=params, json_body=json_body)
        rate_limit = RateLimit.from_headers(response.headers)
        if rate_limit is not None:
            self.limits[endpoint] = rate_limit
        daily = RateLimit.from_headers(response.headers, DAILY_LIMIT_PREFIX)
        if daily is not None:
            self.limits[endpoint + DAILY_SUFFIX] = daily
        if response.status_code >= 400:
            raise error_from_response(response, endpoint=endpoint, auth_type=self.auth.auth_type)
        broken = 0
        try:
            payload = _json_decoder.decode(response.content)
        except msgspec.DecodeError:
            decoded = decode_repairing(response.content) if response.content else None
            if decoded is None:
                detail = "empty body" if not response.content else "body is not JSON"
                raise XMalformedResponseError(
                    response.status_code, endpoint=endpoint, title="Malformed response", detail=detail
                ) from None
            payload, broken = decoded
            log.warning(
                "%s: %d object(s) of the response carried broken Unicode (half an emoji: an unpaired surrogate, "
                "or bytes that are not UTF-8): kept, with U+FFFD in place of each broken character",
                endpoint,
                broken,
            )
        if not isinstance(payload, dict):
            raise XMalformedResponseError(
                response.status_code, endpoint=endpoint, title="Malformed response", detail="body is not an object"
            )
        return ApiResponse(status=response.status_code, payload=payload, rate_limit=rate_limit, broken_unicode=broken)

    def _http(
        self, method: str, url: str, *, params: Mapping[str, Any] | None, json_body: Mapping[str, Any] | None
    ) -> requests.Response:
        """``session.request`` with this client's auth and timeouts, minus its per-request scan of
        the environment: the proxies (``HTTP(S)_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) and CA bundle
        (``REQUESTS_CA_BUNDLE``) the environment sets for a host are read at its first request, and
        merged with the session's own ``proxies``, ``verify``, ``cert`` and ``stream`` as requests
        does (a change of those is seen at once)."""
        session = self.session
        prepared = session.prepare_request(requests.Request(method, url, params=params, json=json_body, auth=self.auth))
        scheme, _, rest = url.partition("://")
        origin = f"{scheme}://{rest.split('/', 1)[0]}/"
        proxies = tuple(sorted(session.proxies.items()))
        key = (origin, session.trust_env, proxies, session.verify, session.cert, session.stream)
        settings = self._send_settings.get(key)
        if settings is None:
            settings = self._send_settings[key] = dict(session.merge_environment_settings(origin, {}, None, None, None))
        return session.send(prepared, timeout=self.timeout, allow_redirects=True, **settings)

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
            until_reset = max(resets) - time.time()
            return (until_reset if until_reset > 0 else RESET_RESOLUTION) + self.rate_limits.margin
        backoff: float = self.rate_limits.backoff_initial * 2.0 ** (count - 1)
        return min(backoff, self.rate_limits.backoff_max) * random.uniform(1.0, 1.25)

    def _wait(self, seconds: float, *, endpoint: str, reason: str) -> None:
        until = pendulum.from_timestamp(time.time() + seconds, tz="UTC").to_iso8601_string()
        if isinstance(self.waiter, DeferringWaiter) and self.waiter.defers(seconds):  # raised, not waited
            log.info("Rate limit: deferring until %s, before the next %s (%s)", until, endpoint, reason)
        else:
            log.info("Rate limit: waiting %.1f s, until %s, before the next %s (%s)", seconds, until, endpoint, reason)
        self.waiter(seconds, endpoint=endpoint, reason=reason)

    # ---- paging
    def paginate(
        self,
        endpoint: Endpoint,
        path: str,
        *,
        params: Mapping[str, Any],
        max_records: int | None = None,
        max_pages: int | None = None,
        pagination_token: str | None = None,
        on_page: Callable[[Page], None] | None = None,
    ) -> Iterator[Page]:
        """Yield pages until ``meta.next_token`` is absent, ``max_records`` or ``max_pages`` is reached.

        ``pagination_token`` resumes a listing from a cursor (``Page.next_token`` of an earlier run,
        in this process or another one). Tokens are sent back verbatim; a token already seen in this
        listing raises :class:`XCursorLoopError` (the API would repeat pages forever). When a
        rate-limit wait is raised instead of slept (see ``DeferringWaiter``), the
        :class:`XRateLimitWait` carries the cursor of the first page not fetched yet.
        ``max_records`` never costs an extra request: the last page is asked with a smaller
        ``max_results`` where the API allows it, and cut. Arguments are checked now, before the
        first request; pages are fetched lazily.
        """
        validate_max_records(max_records)
        validate_positive("max_pages", max_pages)
        validate_pagination_token(pagination_token)
        assert endpoint.page_size is not None, f"{endpoint.label} is not paginated"
        pages = self._pages(endpoint, path, dict(params), max_records, max_pages, pagination_token, on_page)
        return pages if self.budget is None else self._releasing_budget(pages)

    def _releasing_budget(self, pages: Iterator[Page]) -> Iterator[Page]:
        """``pages``, then the unused slots of the budget's leases given back (the listing ended).

        A listing closed before its end (its consumer stopped early, or the garbage collector
        finalized it) gives nothing back here: the collector may run it at any point of other code,
        inside a database session or the budget's lock, where no I/O may happen. Its leases stay
        with this client, used by its next request; :meth:`release_budget` gives them back, as the
        operators and the sensor do when they finish."""
        assert self.budget is not None
        try:
            yield from pages
        except GeneratorExit:
            raise
        except BaseException:
            self.budget.release()
            raise
        self.budget.release()

    def release_budget(self) -> None:
        """Give the unused slots of this client's leases back to the shared budget (other tasks on
        the token may use them in this window); a no-op without a budget."""
        if self.budget is not None:
            self.budget.release()

    def _pages(
        self,
        endpoint: Endpoint,
        path: str,
        params: dict[str, Any],
        max_records: int | None,
        max_pages: int | None,
        token: str | None,
        on_page: Callable[[Page], None] | None,
    ) -> Iterator[Page]:
        assert endpoint.page_size is not None
        min_page_size = endpoint.page_size[0]
        page_size = int(params.get("max_results", endpoint.page_size[1]))
        seen: set[str] = {token} if token is not None else set()
        records = 0
        number = 0
        while True:
            query = dict(params)
            if max_records is not None:
                query["max_results"] = max(min(page_size, max_records - records), min_page_size)
            if token is not None:
                query["pagination_token"] = token
            number += 1

            def parse(response: ApiResponse, number: int = number, token: str | None = token) -> Page:
                return Page.from_payload(
                    response.payload,
                    endpoint=endpoint.label,
                    status=response.status,
                    number=number,
                    pagination_token=token,
                    rate_limit=response.rate_limit,
                    broken_unicode=response.broken_unicode,
                )

            try:
                page = self.call(endpoint, path, parse, params=query)
            except XRateLimitWait as wait:
                wait.pagination_token = token
                raise
            if max_records is not None and records + len(page.data) > max_records:
                page = dataclasses.replace(page, data=page.data[: max_records - records])
            records += len(page.data)
            if on_page is not None:
                on_page(page)
            yield page
            token = page.next_token
            if token is None:
                return
            if token in seen:
                raise XCursorLoopError(
                    f"{endpoint.label} sent a next_token already seen in this listing (page {number}): "
                    "the API would repeat pages forever; stopped after "
                    f"{number} requests and {records} records"
                )
            seen.add(token)
            if max_records is not None and records >= max_records:
                return
            if max_pages is not None and number >= max_pages:
                return
