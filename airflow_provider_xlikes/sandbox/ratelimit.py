"""Fixed-window rate limits with the published numbers of ``endpoints.py``, aligned to the first
request of each key (like X). The 15-minute window is ``window_seconds`` long; a longer published
window (the 24 hours of the likes writes) keeps its ratio to 15 minutes."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from airflow_provider_xlikes.endpoints import WINDOW_SECONDS, Endpoint
from airflow_provider_xlikes.sandbox.errors import Headers

STANDARD_PREFIX = b"x-rate-limit-"
DAILY_PREFIX = b"x-user-limit-24hour-"


@dataclass
class Window:
    start: float
    count: int = 0


class RateLimiter:
    """Counts requests per (key, endpoint, rule) in fixed windows and produces the rate-limit headers."""

    def __init__(self, window_seconds: float, clock: Callable[[], float], enabled: bool = True) -> None:
        self.window_seconds = window_seconds
        self.clock = clock
        self.enabled = enabled
        self.windows: dict[tuple[str, str, int], Window] = {}

    def reset(self) -> None:
        self.windows.clear()

    def length(self, rule_seconds: int) -> float:
        """The sandbox length of a published window."""
        return self.window_seconds * rule_seconds / WINDOW_SECONDS

    def hit(self, key: str, endpoint: Endpoint, daily_headers: bool) -> tuple[bool, Headers]:
        """Register a request; return (allowed, headers). A refused request is not counted.

        Headers of the longer windows (``x-user-limit-24hour-*``) only with ``daily_headers``.
        """
        if not endpoint.limits:
            return True, []
        now = self.clock()
        states: list[tuple[int, int, Window]] = []
        allowed = True
        for rule in endpoint.limits:
            wkey = (key, endpoint.name, rule.seconds)
            window = self.windows.get(wkey)
            if window is None or now >= window.start + self.length(rule.seconds):
                window = self.windows[wkey] = Window(start=now)
            if self.enabled and window.count >= rule.requests:
                allowed = False
            states.append((rule.requests, rule.seconds, window))
        headers: Headers = []
        for limit, seconds, window in states:
            if allowed:
                window.count += 1
            if seconds != WINDOW_SECONDS and not daily_headers:
                continue
            remaining = max(0, limit - window.count) if self.enabled else limit
            reset = str(math.ceil(window.start + self.length(seconds))).encode()
            prefix = STANDARD_PREFIX if seconds == WINDOW_SECONDS else DAILY_PREFIX
            headers += [
                (prefix + b"limit", str(limit).encode()),
                (prefix + b"remaining", str(remaining).encode()),
                (prefix + b"reset", reset),
            ]
        return allowed, headers

    def snapshot(self) -> list[dict[str, object]]:
        """Current windows, for the admin API."""
        return [
            {"key": k[0], "endpoint": k[1], "window": self.length(k[2]), "start": w.start, "count": w.count}
            for k, w in self.windows.items()
        ]
