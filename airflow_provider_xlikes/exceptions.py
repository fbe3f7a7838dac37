"""Exceptions raised by the X likes provider.

One small hierarchy. Errors that come from the API carry the HTTP status and the problem fields
(``title``, ``detail``, ``type``); nothing in the provider matches on message text. No exception
message ever contains a credential.

Errors that a retry cannot fix (bad input, configuration, 400, 401 after a refresh, 403, 404,
``invalid_grant``, a looping cursor, XCom too large) derive from :class:`XPermanentError`, an
``AirflowFailException``: the task fails at once instead of spending its retries. Task retries are
kept for what may pass later (5xx after the hook's own attempts, timeouts, rate limits).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow_provider_xlikes.version_compat import AirflowFailException

ALLOWED_PREVIEW = 12


class XError(Exception):
    """Base class of every error raised by this provider."""


class XPermanentError(XError, AirflowFailException):
    """An error that retrying cannot fix: Airflow fails the task without retrying."""


class XValidationError(XPermanentError, ValueError):
    """A parameter was rejected before any request was sent."""

    def __init__(self, parameter: str, value: object, allowed: str | Iterable[str]) -> None:
        self.parameter = parameter
        self.value = value
        if isinstance(allowed, str):
            self.allowed = allowed
        else:
            names = sorted(allowed)
            shown = ", ".join(names[:ALLOWED_PREVIEW])
            more = len(names) - ALLOWED_PREVIEW
            self.allowed = shown + (f", ... ({more} more)" if more > 0 else "")
            self.allowed_values: tuple[str, ...] = tuple(names)
        super().__init__(f"Invalid value {value!r} for parameter '{parameter}'. Allowed: {self.allowed}.")


class XConfigError(XPermanentError, ValueError):
    """The connection (or hook arguments) are not usable as configured."""


class XRateLimitWait(XError):
    """A rate-limit wait that the caller chose not to sleep through (for example to defer instead).

    ``resume_at`` is the Unix time after which the request may be sent again; ``pagination_token``
    is the cursor of the first page not fetched yet (``None`` for the first page).
    """

    def __init__(self, resume_at: float, endpoint: str, pagination_token: str | None = None) -> None:
        self.resume_at = resume_at
        self.endpoint = endpoint
        self.pagination_token = pagination_token
        super().__init__(f"Rate limit of {endpoint} exhausted; resume after {resume_at:.0f} (Unix time)")


class XApiError(XError):
    """The X API answered with an error status."""

    def __init__(
        self,
        status: int,
        *,
        endpoint: str = "",
        title: str | None = None,
        detail: str | None = None,
        problem_type: str | None = None,
        errors: Sequence[Mapping[str, Any]] = (),
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.endpoint = endpoint
        self.title = title
        self.detail = detail
        self.problem_type = problem_type
        self.errors = list(errors)
        self.hint = hint
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [f"X API {self.status}"]
        if self.endpoint:
            parts.append(f"on {self.endpoint}")
        text = " ".join(parts)
        described = ": ".join(p for p in (self.title, self.detail) if p)
        if not described and self.errors:
            described = "; ".join(str(e.get("message", "")) for e in self.errors if e.get("message"))
        if described:
            text += f": {described}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class XCursorLoopError(XPermanentError):
    """The API sent a ``next_token`` already seen in this listing: paging would never end."""


class XComTooLargeError(XPermanentError):
    """A listing would put more into XCom than its limit; ``output_path`` is the way out."""


class XBudgetExhaustedError(XPermanentError):
    """A listing stopped before the request whose page could cross ``max_cost_usd``
    (``on_budget_exhausted="fail"``): nothing was committed, and a retry would stop at the same place."""


class XUsageLowError(XPermanentError):
    """The billing cycle has fewer Post reads left than a DAG asked for (``XUsageOperator``'s
    ``min_remaining``): a large backfill would run into ``usage-capped`` halfway."""


class XLikeNotAppliedError(XPermanentError):
    """A like or unlike answered 200 without leaving the post in the wanted state (e.g. no such post)."""


class XPermanentApiError(XApiError, XPermanentError):
    """An API error that the same request cannot get past later."""


class XBadRequestError(XPermanentApiError):
    """400: the API rejected a parameter. ``parameters`` names the rejected query parameters."""

    @property
    def parameters(self) -> list[str]:
        names: list[str] = []
        for error in self.errors:
            params = error.get("parameters")
            if isinstance(params, Mapping):
                names.extend(str(k) for k in params)
        return names


class XAuthError(XPermanentApiError):
    """401: the credentials were not accepted (after one refresh, where the auth type has one)."""


class XTokenRefreshError(XAuthError):
    """The OAuth token endpoint refused to mint or refresh a token (for example ``invalid_grant``)."""


FORBIDDEN_REASONS = ("unsupported-authentication", "client-forbidden", "usage-capped", "forbidden")


class XForbiddenError(XPermanentApiError):
    """403. ``reason`` is one of ``FORBIDDEN_REASONS``; ``working_auth_types`` names what would work;
    ``enterprise_only``: the endpoint needs an Enterprise app (like and unlike since 2026-04-20)."""

    def __init__(
        self,
        status: int,
        *,
        reason: str = "forbidden",
        working_auth_types: Sequence[str] = (),
        enterprise_only: bool = False,
        **kwargs: Any,
    ) -> None:
        self.reason = reason
        self.working_auth_types = tuple(working_auth_types)
        self.enterprise_only = enterprise_only
        super().__init__(status, **kwargs)


class XUsageCappedError(XPermanentApiError):
    """``usage-capped``: the billing cycle's Post cap is spent (X answers 429, or 403, with the
    problem type ``usage-capped``, rate-limit headers still showing room). Not a rate-limit window:
    waiting or retrying does not help, so the task fails at once. ``period`` is X's (``Monthly``)."""

    def __init__(self, status: int, *, period: str | None = None, **kwargs: Any) -> None:
        self.period = period
        super().__init__(status, **kwargs)


class XNotFoundError(XPermanentApiError):
    """404: the resource does not exist (or is not visible to these credentials)."""


class XRateLimitError(XApiError):
    """429 that could not be waited out (too many consecutive 429s). ``reset_at`` is Unix time or None."""

    def __init__(self, status: int, *, reset_at: float | None = None, **kwargs: Any) -> None:
        self.reset_at = reset_at
        super().__init__(status, **kwargs)


class XServerError(XApiError):
    """5xx, or a response body that is not the JSON the API promises. Retried before it is raised."""


class XMalformedResponseError(XServerError):
    """A 200 whose body is not what the API promises (not JSON, ``data`` not a list of objects ...)."""


class XUnreachableError(XError):
    """The API's host could not be reached (connection refused or reset, DNS, TLS, timeout) after the
    hook's attempts; the message names the host and what to check. Task retries apply (a network
    may come back)."""


class XStateStoreError(XError, RuntimeError):
    """The shared state store (rotated tokens, rate budget) could not be read, written or locked.

    Raised before anything that depends on it is sent (a token refresh is never sent without the
    store's lock); a task retry may succeed once the store answers again.
    """


class OutputError(XError, RuntimeError):
    """Task output could not be written, committed or read as the commit protocol requires."""


class MissingExtraError(XPermanentError, ImportError):
    """An optional dependency is not installed; ``extra`` names the package extra that brings it.

    Permanent: a task retry on the same worker cannot install it.
    """

    def __init__(self, package: str, extra: str, feature: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{feature} needs {package}, which is not installed: pip install 'airflow-provider-xlikes[{extra}]'",
            name=package,
        )
