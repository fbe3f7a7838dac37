"""Progress of a listing a user can read: records so far of the expected total, the quota left in
the window, and the time still to go at the rate limit.

The expected total comes from one count lookup before paging (the endpoint table's ``count_lookup``: a post's
``public_metrics.like_count`` for its liking users, a user's for their liked posts), at most what X
lists per id (``Endpoint.listing_cap``: 100 liking users per post). X's counts include likes the
listings do not return (protected accounts, non-public posts), so the total is an upper estimate
and is shown with a ``~``. With a cost meter, a line also shows the estimated cost spent so far
and the cost expected for the whole listing (:mod:`airflow_provider_xlikes.pricing`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from airflow_provider_xlikes.pricing import CostMeter, format_usd
from airflow_provider_xlikes.rate_limits import RateLimit

__all__ = ["PROGRESS_LOG_SECONDS", "ListingProgress", "format_duration"]

#: a listing's progress is logged at most once per this many seconds (its first and last page always)
PROGRESS_LOG_SECONDS = 5.0


def format_duration(seconds: float) -> str:
    """``1 h 38 min``, ``12 min``, ``40 s``: a wait or an estimate, to the unit that matters."""
    whole = max(round(seconds), 0)
    if whole < 60:
        return f"{whole} s"
    minutes = math.ceil(whole / 60) if whole < 3600 else whole // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@dataclass
class ListingProgress:
    """One listing's progress lines: its first page, then a page every ``log_seconds`` (default
    :data:`PROGRESS_LOG_SECONDS`), and its last page.

    ``expected``: the total to expect (``None``: unknown); ``page_size``: records per request;
    ``window_seconds``: the length of the endpoint's rate-limit window; ``meter``: the task's
    resources and cost so far, ``expected_usd``: the cost expected for the whole listing;
    ``pages_before``: the pages of the listing read before a resume (a deferral, a retry from a
    checkpoint), so that pages are counted over the whole listing.
    """

    expected: int | None
    page_size: int
    window_seconds: float
    log_seconds: float | None = None
    meter: CostMeter | None = None
    expected_usd: float | None = None
    pages_before: int = 0
    _logged_at: float | None = field(default=None, init=False, repr=False)
    _pending: tuple[int, int, RateLimit | None] | None = field(default=None, init=False, repr=False)

    def page_line(self, page_number: int, records: int, rate_limit: RateLimit | None, *, last: bool) -> str | None:
        """The line to log for a page just read, or ``None`` when none is due: the first page's
        and the ``last`` one's always, else one every ``log_seconds``. A page not logged is kept
        for :meth:`pending_line` (where a listing stops before its last page)."""
        now = time.monotonic()
        interval = PROGRESS_LOG_SECONDS if self.log_seconds is None else self.log_seconds
        if not last and self._logged_at is not None and now - self._logged_at < interval:
            self._pending = (page_number, records, rate_limit)
            return None
        self._logged_at = now
        self._pending = None
        return self.line(page_number, records, rate_limit)

    def pending_line(self) -> str | None:
        """The line of the latest page read that was not logged, once; ``None`` if there is none."""
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        self._logged_at = time.monotonic()
        return self.line(*pending)

    def line(self, page_number: int, records: int, rate_limit: RateLimit | None, now: float | None = None) -> str:
        """``page 12: 1,200 of ~50,000 (2.4 %), 63/75 requests left in this window, about 1 h 29 min
        to go, $6.010 spent of ~$250.010 expected (estimate)`` (``page_number``: of this run's
        pages; the line counts the whole listing's)."""
        parts = [f"page {self.pages_before + page_number}: {records:,}"]
        if self.expected:
            parts[0] += f" of ~{self.expected:,} ({min(records / self.expected, 1.0):.1%})".replace("%", " %")
        else:
            parts[0] += " records so far"
        if rate_limit is not None and rate_limit.remaining is not None:
            of = f"/{rate_limit.limit}" if rate_limit.limit is not None else ""
            parts.append(f"{rate_limit.remaining}{of} requests left in this window")
        to_go = self.seconds_to_go(records, rate_limit, time.time() if now is None else now)
        if to_go is not None:
            parts.append(f"about {format_duration(to_go)} to go" if to_go >= 1 else "finishing in this window")
        if self.meter is not None:
            spent = f"{format_usd(self.meter.usd)} spent"
            if self.expected_usd is not None:
                spent += f" of ~{format_usd(max(self.expected_usd, self.meter.usd))} expected"
            parts.append(spent + " (estimate)")
        return ", ".join(parts)

    def seconds_to_go(self, records: int, rate_limit: RateLimit | None, now: float) -> float | None:
        """The time until the last page at the rate limit: the rest of this window while its quota
        lasts, then a whole window per ``limit`` requests (the last window's own requests not
        counted: they take seconds). ``None`` when the total or the window is unknown."""
        if not self.expected or rate_limit is None or rate_limit.remaining is None or not rate_limit.limit:
            return None
        requests_left = math.ceil(max(self.expected - records, 0) / self.page_size)
        if requests_left <= rate_limit.remaining:
            return 0.0
        windows = math.ceil((requests_left - rate_limit.remaining) / rate_limit.limit)
        until_reset = max((rate_limit.reset_at or now) - now, 0.0)
        return until_reset + (windows - 1) * self.window_seconds
