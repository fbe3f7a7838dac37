"""Fixed-window rate limits with X's numbers, aligned to the first request of each key (like X)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

#: endpoint -> [(limit, window multiple)]; the window unit is ``window_seconds`` (15 min by default).
LIMITS: dict[str, tuple[tuple[int, int], ...]] = {
    "liking_users": ((75, 1),),
    "liked_tweets": ((75, 1),),
    "users_me": ((75, 1),),
    "likes_create": ((50, 1), (1000, 96)),
    "likes_delete": ((50, 1), (1000, 96)),
}


@dataclass
class Window:
    start: float
    count: int = 0


class RateLimiter:
    """Counts requests per (key, endpoint) in fixed windows and produces the rate-limit headers."""

    def __init__(self, window_seconds: float, clock: Callable[[], float], enabled: bool = True) -> None:
        self.window_seconds = window_seconds
        self.clock = clock
        self.enabled = enabled
        self.windows: dict[tuple[str, str, int], Window] = {}

    def reset(self) -> None:
        self.windows.clear()

    def hit(self, key: str, endpoint: str) -> tuple[bool, list[tuple[bytes, bytes]]]:
        """Register a request; return (allowed, headers). A refused request is not counted."""
        limits = LIMITS.get(endpoint)
        if limits is None:
            return True, []
        now = self.clock()
        states: list[tuple[int, int, Window]] = []
        allowed = True
        for limit, multiple in limits:
            wkey = (key, endpoint, multiple)
            window = self.windows.get(wkey)
            length = self.window_seconds * multiple
            if window is None or now >= window.start + length:
                window = self.windows[wkey] = Window(start=now)
            if self.enabled and window.count >= limit:
                allowed = False
            states.append((limit, multiple, window))
        headers: list[tuple[bytes, bytes]] = []
        for limit, multiple, window in states:
            if allowed:
                window.count += 1
            remaining = max(0, limit - window.count) if self.enabled else limit
            reset = str(math.ceil(window.start + self.window_seconds * multiple)).encode()
            prefix = b"x-rate-limit-" if multiple == 1 else b"x-user-limit-24hour-"
            headers += [
                (prefix + b"limit", str(limit).encode()),
                (prefix + b"remaining", str(remaining).encode()),
                (prefix + b"reset", reset),
            ]
        return allowed, headers

    def snapshot(self) -> list[dict[str, object]]:
        """Current windows, for the admin API."""
        return [
            {"key": k[0], "endpoint": k[1], "window": self.window_seconds * k[2], "start": w.start, "count": w.count}
            for k, w in self.windows.items()
        ]
