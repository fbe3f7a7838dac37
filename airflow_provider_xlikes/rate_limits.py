"""Rate limits: the ``x-rate-limit-*`` headers of a response, the policy, and how waits are spent.

Every response updates one state per endpoint (kept by the HTTP client); when ``remaining`` is 0
the client waits for ``reset`` instead of provoking a 429. A :class:`Waiter` decides how a wait is
spent: :func:`sleep_waiter` blocks, :class:`DeferringWaiter` raises
:class:`~airflow_provider_xlikes.exceptions.XRateLimitWait` so that a task can defer.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import pendulum

from airflow_provider_xlikes.exceptions import XRateLimitWait

#: the 15-minute window's headers
WINDOW_PREFIX = "x-rate-limit-"
#: the 24-hour window of the likes POST/DELETE endpoints, kept beside the 15-minute one
DAILY_LIMIT_PREFIX = "x-user-limit-24hour-"
#: seconds: the resolution of ``x-rate-limit-reset`` (whole Unix seconds)
RESET_RESOLUTION = 1.0


def _as_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class RateLimit:
    """The rate-limit headers of one response: ``limit``, ``remaining`` and ``reset_at`` (Unix time)."""

    limit: int | None
    remaining: int | None
    reset_at: float | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], prefix: str = WINDOW_PREFIX) -> RateLimit | None:
        """The window named by ``prefix``: ``x-rate-limit-`` (15 minutes) or ``x-user-limit-24hour-``."""
        values = [headers.get(f"{prefix}{name}") for name in ("limit", "remaining", "reset")]
        if all(v is None for v in values):
            return None
        limit, remaining, reset = (_as_int(v) for v in values)
        return cls(limit=limit, remaining=remaining, reset_at=float(reset) if reset is not None else None)

    @property
    def resets_at(self) -> pendulum.DateTime | None:
        """``reset_at`` as a UTC datetime."""
        return None if self.reset_at is None else pendulum.from_timestamp(self.reset_at, tz="UTC")

    @property
    def exhausted(self) -> bool:
        return self.remaining == 0 and self.reset_at is not None

    def describe(self) -> str:
        """``63/75, resets at 2026-01-01T00:15:00+00:00`` for logs."""
        if self.remaining is None:
            return "unknown"
        text = f"{self.remaining}/{self.limit}"
        resets = self.resets_at
        return text + (f", resets at {resets.to_iso8601_string()}" if resets is not None else "")


@dataclass
class RateLimitPolicy:
    """How rate limits are handled: wait for the reset when ``remaining`` hits 0 and after a 429.

    ``max_waits`` bounds consecutive 429s of one request; ``backoff_initial`` is the first wait after
    a 429 without headers (doubled each time, capped at ``backoff_max``); ``margin`` is added to
    every reset-based wait. None is needed by default: the reset header is the window's end rounded
    up to the whole second, so the window is over when its reset second has begun. A 429 that comes
    although its reset has passed (a server clock behind this one) waits :data:`RESET_RESOLUTION`.
    """

    max_waits: int = 10
    backoff_initial: float = 5.0
    backoff_max: float = 900.0
    margin: float = 0.0


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

    def defers(self, seconds: float) -> bool:
        """Whether a wait of ``seconds`` is raised (for the task to defer) rather than slept."""
        return seconds > self.max_sleep

    def __call__(self, seconds: float, *, endpoint: str, reason: str) -> None:
        if not self.defers(seconds):
            time.sleep(seconds)
            return
        raise XRateLimitWait(resume_at=time.time() + seconds, endpoint=endpoint)
