"""What an X API error response or a transport failure becomes: one exception of
:mod:`airflow_provider_xlikes.exceptions` with its hint (either body shape: a problem object or an
``errors`` list; the OAuth token endpoint's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
import requests

from airflow_provider_xlikes.endpoints import BY_LABEL
from airflow_provider_xlikes.exceptions import (
    FORBIDDEN_REASONS,
    XApiError,
    XAuthError,
    XBadRequestError,
    XForbiddenError,
    XNotFoundError,
    XRateLimitError,
    XServerError,
    XUnreachableError,
    XUsageCappedError,
)
from airflow_provider_xlikes.rate_limits import DAILY_LIMIT_PREFIX, RateLimit

#: how to see the billing cycle's Post consumption (in a usage-capped error)
USAGE_CHECK = (
    "check it with XHook.get_usage() (GET /2/usage/tweets, bearer connection) or in the Developer Console; "
    "reads work again in the next billing cycle or after raising the cap"
)
USER_CONTEXT_AUTH_TYPES = ("oauth2_user", "oauth1_user")

_json_decoder = msgspec.json.Decoder()


def _decode_error_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = _json_decoder.decode(response.content)
    except msgspec.DecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _problem(body: Mapping[str, Any]) -> dict[str, Any]:
    """The error's title, detail, problem type and ``errors`` from either body shape (a problem
    object, an ``errors`` list) or the OAuth token endpoint's (``error``, ``error_description``)."""
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    title, detail, problem_type = body.get("title"), body.get("detail"), body.get("type")
    if not title and errors:
        title = errors[0].get("title") or errors[0].get("message")
        detail = detail or errors[0].get("detail")
        problem_type = problem_type or errors[0].get("type")
    if "error" in body and not title:
        title, detail = str(body.get("error")), body.get("error_description")
    return {"title": title, "detail": detail, "problem_type": problem_type, "errors": errors}


def error_from_response(response: requests.Response, *, endpoint: str, auth_type: str) -> XApiError:
    """Map an error response (either body shape) to the exception hierarchy."""
    status = response.status_code
    body = _decode_error_body(response)
    kwargs: dict[str, Any] = {"endpoint": endpoint, **_problem(body)}
    reason = str(kwargs["problem_type"] or "").rstrip("/").rsplit("/", 1)[-1]
    if reason == "usage-capped":  # X sends it as a 429 (or 403): a spent cycle, not a window
        period = body.get("period")
        return XUsageCappedError(
            status,
            period=str(period) if period else None,
            hint=f"the billing cycle's Post cap is spent ({period or 'Monthly'}): waiting or retrying does "
            f"not help; {USAGE_CHECK}",
            **kwargs,
        )
    if status == 400:
        hint = _field_naming_hint(XBadRequestError(status, **kwargs).parameters)
        return XBadRequestError(status, hint=hint, **kwargs)
    if status == 401:
        return XAuthError(status, hint=f"auth_type {auth_type!r} was not accepted", **kwargs)
    if status == 403:
        return _forbidden(status, reason, endpoint=endpoint, auth_type=auth_type, kwargs=kwargs)
    if status == 404:
        return XNotFoundError(status, **kwargs)
    if status == 429:
        return XRateLimitError(status, reset_at=_rate_limit_reset(response), **kwargs)
    return XServerError(status, **kwargs) if status >= 500 else XApiError(status, **kwargs)


def _forbidden(status: int, reason: str, *, endpoint: str, auth_type: str, kwargs: dict[str, Any]) -> XForbiddenError:
    """A 403 by its reason: the auth types that would work, Enterprise-only writes, access levels."""
    if reason not in FORBIDDEN_REASONS:
        reason = "forbidden"
    entry = BY_LABEL.get(endpoint)
    enterprise_only = reason == "client-forbidden" and entry is not None and entry.enterprise_only
    working: tuple[str, ...] = ()
    hint = None
    if enterprise_only:
        hint = (
            "like and unlike need an Enterprise app: X removed them from all self-serve tiers on "
            "2026-04-20; a self-serve app cannot like or unlike through the API"
        )
    elif reason == "client-forbidden":
        hint = "the app's access level does not include this endpoint"
    elif reason == "unsupported-authentication" and entry is not None and not entry.user_context:
        working, hint = ("bearer",), "this endpoint takes an app-only bearer token only; use auth_type 'bearer'"
    elif reason == "unsupported-authentication":
        working = tuple(t for t in USER_CONTEXT_AUTH_TYPES if t != auth_type)
        if auth_type == "bearer":
            hint = "this endpoint refuses app-only bearer auth; use auth_type 'oauth2_user' or 'oauth1_user'"
        else:
            hint = f"auth_type {auth_type!r} is refused here; try {' or '.join(repr(t) for t in working)}"
    return XForbiddenError(
        status, reason=reason, working_auth_types=working, enterprise_only=enterprise_only, hint=hint, **kwargs
    )


def _rate_limit_reset(response: requests.Response) -> float | None:
    """When a 429's spent window resets: the latest reset of a window at 0 (15-minute or 24-hour),
    else the latest reset given."""
    windows = [RateLimit.from_headers(response.headers, p) for p in ("x-rate-limit-", DAILY_LIMIT_PREFIX)]
    resets = [w.reset_at for w in windows if w is not None and w.reset_at is not None and w.remaining == 0]
    if not resets:
        resets = [w.reset_at for w in windows if w is not None and w.reset_at is not None]
    return max(resets) if resets else None


def _field_naming_hint(parameters: list[str]) -> str | None:
    if "tweet.fields" in parameters:
        return "the API no longer accepts 'tweet.fields': set field_naming='post' in the connection extra"
    if "post.fields" in parameters:
        return "the API does not accept 'post.fields': set field_naming='tweet' in the connection extra"
    return None


#: the failures of the connection itself (no HTTP answer), retried, then raised as XUnreachableError
TRANSPORT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def unreachable(exc: BaseException, base_url: str, attempts: int) -> XUnreachableError:
    """Map a transport failure (after ``attempts``) to an error naming the host and what to check."""
    reason = exc.args[0] if exc.args else exc
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the failure
    text = str(reason).rsplit(">: ", 1)[-1]  # "<HTTPConnection object at 0x..>: Failed to establish ..."
    what = "did not answer in time" if isinstance(exc, requests.Timeout) else "could not be reached"
    return XUnreachableError(
        f"The X API host {base_url} {what} after {attempts} attempt(s) ({type(exc).__name__}: {text}). Check the "
        "connection's host (and port), that this worker resolves and reaches it (DNS, firewall, proxy settings: "
        "HTTPS_PROXY, NO_PROXY), and its connect_timeout and read_timeout extras"
    )
