"""What the sandbox saw per rate-limit window: requests counted and 429s, polled from its admin API."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass
class WindowUse:
    start: float
    requests: int = 0
    rejected: int = 0


class WindowMeter:
    """Polls ``admin.rate_limits()`` and the 429 count every ``interval`` seconds in a thread.

    Each window of ``endpoint`` (the sandbox opens one at the first request after the last reset)
    gets its request count and the 429s seen while it was open. Use as a context manager.
    """

    def __init__(self, sandbox: Any, endpoint: str = "liking_users", interval: float = 0.05) -> None:
        self.sandbox = sandbox
        self.endpoint = endpoint
        self.interval = interval
        self.windows: dict[float, WindowUse] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._rejected = 0

    def __enter__(self) -> WindowMeter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._poll()

    def _poll(self) -> None:
        admin = self.sandbox.admin
        rejected = int(admin.request_counts()["by_status"].get("429", 0))
        current = None
        for window in admin.rate_limits():
            if window["endpoint"] == self.endpoint:
                use = self.windows.setdefault(window["start"], WindowUse(window["start"]))
                use.requests = max(use.requests, int(window["count"]))
                current = use
        if current is not None:
            current.rejected += rejected - self._rejected
        self._rejected = rejected

    def report(self) -> list[WindowUse]:
        return [self.windows[start] for start in sorted(self.windows)]

    def ceiling_use(self, limit: int) -> float:
        """Requests per window over ``limit``, the first and last windows left out (the work is
        still starting there, or ending: the budget does not limit it)."""
        full = self.report()[1:-1]
        return sum(w.requests for w in full) / (limit * len(full)) if full else 1.0
