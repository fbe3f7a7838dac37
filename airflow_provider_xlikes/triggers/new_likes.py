"""Waiting for likes: the one polling logic, and the triggers that run it in the triggerer.

:class:`LikesPoller` is the polling logic (sync, on the hook, so every request takes its slot from
the token's shared rate-limit budget): :meth:`~LikesPoller.start` takes the baseline (the head of
the listing now), :meth:`~LikesPoller.check` makes one poll (the first page of the listing, pages
after it only while new records go on; or the count lookup) and says whether the condition
holds. The sensor (:class:`~airflow_provider_xlikes.sensors.likes.XLikesSensor`) calls it in each
poke on a worker; the triggers below call it in the triggerer, in a thread
(``asyncio.to_thread``), so the triggerer's event loop never blocks.

* :class:`XNewLikesTrigger` - an Asset watcher (``BaseEventTrigger``): an event each time new
  likes arrive, ``{"count", "newest_ids", ...}``; its head is kept in the watched asset's state
  store (Airflow 3.3, injected by the triggerer), else in memory.
* :class:`XLikesSensorTrigger` - the deferrable sensor's trigger: one event when the sensor's
  condition holds (or its timeout passes).

Both serialize only ids, the connection id, numbers and a head (a list of ids): never a token,
a response or a record. A spent rate-limit window is waited out with ``asyncio.sleep`` until its
reset; transient API failures are logged and polled again; an error a retry cannot fix ends the
trigger with an ``error`` event.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent

from airflow_provider_xlikes.endpoints import LIKED_TWEETS, LIKING_USERS, Endpoint
from airflow_provider_xlikes.exceptions import (
    XBudgetExhaustedError,
    XError,
    XPermanentError,
    XRateLimitWait,
    XValidationError,
)
from airflow_provider_xlikes.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_xlikes.incremental import DEFAULT_MAX_PAGES, Head, IncrementalScan, ScanResult
from airflow_provider_xlikes.pages import Page
from airflow_provider_xlikes.pricing import format_usd
from airflow_provider_xlikes.validation import validate_id, validate_max_results, validate_names, validate_positive

if TYPE_CHECKING:
    from airflow_provider_xlikes.hooks.x import XHook

#: how many of the newest new ids an event names
NEWEST_IDS = 10
#: the key of a watcher's head in the asset state store (one per listing)
ASSET_STATE_KEY_PREFIX = "xlikes_head__"
#: rate-limit waits up to this long are slept through in the poller's thread
SHORT_WAIT = 1.0


class _DeadlinePassed(Exception):
    """The sensor's timeout came while a poll waited (for a window's reset, after a failure)."""


class XLikesTriggerError(XPermanentError):
    """A trigger ended on an error a retry cannot fix (its type and message are in the event)."""


# --------------------------------------------------------------------------- what is watched
@dataclass(frozen=True)
class LikesTarget:
    """A listing to watch: the likers of a post (``tweet_id``) or the posts a user liked (``user_id``)."""

    endpoint: Endpoint
    source_id: str

    @classmethod
    def of(cls, tweet_id: object = None, user_id: object = None) -> LikesTarget:
        """Exactly one of ``tweet_id`` / ``user_id``, validated."""
        if (tweet_id is None) == (user_id is None):
            raise XValidationError(
                "tweet_id",
                tweet_id,
                f"exactly one of tweet_id (a post's likers) and user_id (a user's liked posts); "
                f"got tweet_id={tweet_id!r}, user_id={user_id!r}",
            )
        if tweet_id is not None:
            return cls(LIKING_USERS, validate_id("tweet_id", tweet_id))
        return cls(LIKED_TWEETS, validate_id("user_id", user_id))

    @property
    def id_argument(self) -> str:
        assert self.endpoint.id_argument is not None
        return self.endpoint.id_argument

    @property
    def kwargs(self) -> dict[str, str]:
        """``{"tweet_id": ...}`` or ``{"user_id": ...}``."""
        return {self.id_argument: self.source_id}

    def __str__(self) -> str:
        return f"{self.endpoint.name} {self.id_argument}={self.source_id}"


def validate_condition(target: LikesTarget, min_count: object, user_ids: object) -> tuple[int | None, tuple[str, ...]]:
    """``min_count`` (a positive integer) or ``user_ids`` (ids, a post's likers only), at most one."""
    if min_count is not None and user_ids is not None:
        raise XValidationError("min_count", min_count, "None when user_ids is given (one condition per sensor)")
    count = validate_positive("min_count", min_count)
    if user_ids is None:
        return count, ()
    if target.endpoint is not LIKING_USERS:
        raise XValidationError("user_ids", user_ids, "None with user_id= (user_ids waits for likers of a tweet_id)")
    values = [user_ids] if isinstance(user_ids, (str, int)) else user_ids
    if not isinstance(values, (list, tuple, set, frozenset)) or not values:
        raise XValidationError("user_ids", user_ids, "a non-empty list of user ids")
    ids: dict[str, None] = {}
    for value in values:
        ids.setdefault(validate_id("user_ids", value), None)
    return None, tuple(ids)


# --------------------------------------------------------------------------- the polling logic
@dataclass
class WatchState:
    """What a wait remembers between polls (JSON): the baseline head (what was there when the wait
    began), the head of the last poll, the awaited ``user_ids`` seen among the likers so far, and
    ``cost``, what the wait's polls spent so far (:class:`~airflow_provider_xlikes.pricing.CostMeter`
    JSON; ``None``: nothing counted), so that every poke, reschedule and trigger goes on counting."""

    baseline: Head
    head: Head
    found: tuple[str, ...] = ()
    cost: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "baseline": self.baseline.to_json(),
            "head": self.head.to_json(),
            "found": list(self.found),
        }
        if self.cost is not None:
            value["cost"] = self.cost
        return value

    @classmethod
    def from_json(cls, value: object) -> WatchState:
        if not isinstance(value, dict):
            raise XValidationError("watch state", value, "an object with baseline, head and found")
        baseline = Head.from_json(value.get("baseline"), "watch state baseline")
        head = Head.from_json(value.get("head"), "watch state head")
        found = value.get("found") or []
        cost = value.get("cost")
        if baseline is None or head is None or not isinstance(found, list) or not isinstance(cost, (dict, type(None))):
            raise XValidationError("watch state", value, "an object with baseline, head, found and cost")
        return cls(baseline, head, tuple(str(item) for item in found), cost)


@dataclass
class Check:
    """One poll: whether the condition holds, the state after it, and what it saw.

    ``pages`` are the new pages (records with the requested fields) when the poll scanned from the
    baseline (the wait for new likes): the sensor returns them without another request.
    """

    done: bool
    state: WatchState
    scan: ScanResult | None = None
    like_count: int | None = None
    pages: list[Page] | None = None

    @property
    def new_ids(self) -> list[str]:
        return self.scan.new_ids if self.scan is not None else []


@dataclass
class LikesPoller:
    """The polling logic of the sensor and the triggers (see the module docstring).

    :param hook: the hook (its waiter decides how a spent window is waited for).
    :param target: the listing.
    :param min_count: done when the listing's ``public_metrics.like_count`` reaches it.
    :param user_ids: done when all of them are among the likers.
    :param max_results: page size of the listing requests.
    :param max_pages: pages a scan reads at most (the overlap scan, and the search for ``user_ids``
        already among the likers when the wait begins).
    :param lists: field and expansion arguments of the listing (``user_fields=...``).
    :param max_cost_usd: no request is sent whose response could take what the wait spent (the
        hook's :attr:`~airflow_provider_xlikes.hooks.x.XHook.costs`, carried from poll to poll in
        :attr:`WatchState.cost`) past this estimate in US dollars: ``XBudgetExhaustedError`` instead.
    """

    hook: XHook
    target: LikesTarget
    min_count: int | None = None
    user_ids: tuple[str, ...] = ()
    max_results: int = 100
    max_pages: int = DEFAULT_MAX_PAGES
    lists: dict[str, Any] = field(default_factory=dict)
    max_cost_usd: float | None = None
    #: called before each request the budget allows, its worst case reserved in the meter: the
    #: sensor saves the wait's cost there, so a try that dies before counting the response leaves
    #: the next try a count that cannot be too low
    before_request: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        validate_max_results(self.target.endpoint, self.max_results)
        validate_positive("max_scan_pages", self.max_pages)

    @property
    def condition(self) -> str:
        return "min_count" if self.min_count is not None else "user_ids" if self.user_ids else "new_likes"

    # ---- cost: one meter (the hook's), carried in the state, checked before each request
    def resume_costs(self, cost: Mapping[str, Any] | None) -> None:
        """Go on counting from ``cost`` (a :attr:`WatchState.cost`) when it has counted more requests
        than this hook (a new worker process after a reschedule, the triggerer, the worker after the
        trigger's polls); a hook that polled since it was taken (pokes in one process) keeps its own."""
        if cost is None:
            return
        stored = self.hook.costs.restored(cost)
        if stored.requests > self.hook.costs.requests:
            self.hook.costs = stored

    def with_costs(self, state: WatchState) -> WatchState:
        """``state`` with what the wait spent so far."""
        return dataclasses.replace(state, cost=self.hook.costs.to_json())

    def _check_budget(self, endpoint: Endpoint, size: int, what: str, expansions: Sequence[str] = ()) -> None:
        """Raise ``XBudgetExhaustedError`` if a response of ``endpoint`` with ``size`` resources (and
        the includes of ``expansions`` at their bound) could cross ``max_cost_usd``."""
        meter = self.hook.costs
        owned = self.hook.is_owned(endpoint, self.target.source_id)
        bound = meter.prices.page_bound(endpoint, size, meter.include_bounds(expansions), owned=owned)
        if size > 0 and meter.could_cross(bound, self.max_cost_usd):
            raise XBudgetExhaustedError(
                f"{self.target}: stopped before the next request, whose response could cross "
                f"max_cost_usd={self.max_cost_usd} (spent ~{format_usd(meter.usd)} on this wait's "
                f"{meter.requests} billed request(s); the next poll's request may cost up to "
                f"{format_usd(bound)}: {what})"
            )
        if self.before_request is not None:
            meter.reserve(bound)
            self.before_request()

    def _within_budget(self, pages: Iterable[Page], max_pages: int | None) -> Iterator[Page]:
        """``pages``, each requested only if its worst case (``max_results`` records, fewer where X's
        per-id cap leaves fewer, with their includes) cannot cross ``max_cost_usd``."""
        endpoint, cap = self.target.endpoint, self.target.endpoint.listing_cap
        expansions = validate_names(endpoint, "expansions", self.lists.get("expansions"))
        iterator, read, records = iter(pages), 0, 0
        while True:
            size = self.max_results if cap is None else min(self.max_results, max(cap - records, 0))
            self._check_budget(endpoint, size, f"a page of {size} records with their includes", expansions)
            page = next(iterator, None)
            if page is None:
                return
            read, records = read + 1, records + len(page.data)
            yield page
            if page.next_token is None or (max_pages is not None and read >= max_pages):
                yield from iterator  # no request follows
                return

    def _listing(self, max_pages: int | None = None) -> Iterable[Page]:
        pages = self.hook.iter_listing(
            self.target.endpoint,
            self.target.source_id,
            max_results=self.max_results,
            max_pages=max_pages,
            **self.lists,
        )
        return pages if self.max_cost_usd is None else self._within_budget(pages, max_pages)

    def scan(self, head: Head | None, *, keep_pages: bool = True) -> tuple[ScanResult, list[Page]]:
        """The records new since ``head``: the first page, and the pages after it while they are new."""
        scan = IncrementalScan(head, max_pages=self.max_pages, label=str(self.target))
        pages: list[Page] = []
        for page in scan.pages(self._listing(None if head is not None and len(head) else self.max_pages)):
            if keep_pages:
                pages.append(page)
        return scan.result, pages

    def start(self, baseline: Head | None = None) -> WatchState:
        """The state a wait begins with: ``baseline`` (the head of the last successful wait) or the
        head of the listing now (one request); with ``user_ids``, those already among the newest
        ``max_pages`` pages of likers (a bounded scan) count as found."""
        found: tuple[str, ...] = ()
        if self.user_ids:
            wanted = set(self.user_ids)
            seen: list[str] = []
            first: Head | None = None
            for page in self._listing(self.max_pages):
                ids = [str(record["id"]) for record in page.data]
                first = first or Head.of(ids)
                seen.extend(item for item in ids if item in wanted)
                if wanted <= set(seen):
                    break
            found = tuple(item for item in self.user_ids if item in seen)
            baseline = baseline or first or Head(())
        elif baseline is None:
            first_page = next(iter(self._listing(1)), None)
            baseline = Head.of_records(first_page.data) if first_page is not None else Head(())
        return self.with_costs(WatchState(baseline=baseline, head=baseline, found=found))

    def check(self, state: WatchState) -> Check:
        """One poll; raises ``XRateLimitWait`` when the window is spent (nothing was sent), and
        ``XBudgetExhaustedError`` before a request that could cross ``max_cost_usd``."""
        check = self._check(state)
        check.state = self.with_costs(check.state)
        return check

    def _check(self, state: WatchState) -> Check:
        if self.min_count is not None:
            # the count lookup (GET /2/tweets/:id or /2/users/:id, public_metrics.like_count); an
            # unknown id fails, a spent window is waited for, a refused lookup (None) is "not yet"
            lookup = self.target.endpoint.count_lookup
            if self.max_cost_usd is not None and lookup is not None:
                self._check_budget(lookup.endpoint, 1, "the count lookup")
            count = self.hook.like_count(self.target.endpoint, self.target.source_id, strict=True)
            return Check(done=count is not None and count >= self.min_count, state=state, like_count=count)
        if self.user_ids:
            found = set(state.found)
            if found >= set(self.user_ids):
                return Check(done=True, state=state)
            result, _ = self.scan(state.head, keep_pages=False)
            found.update(item for item in result.new_ids if item in self.user_ids)
            head = result.head if result.head is not None else state.head
            state = dataclasses.replace(state, head=head, found=tuple(i for i in self.user_ids if i in found))
            return Check(done=found >= set(self.user_ids), state=state, scan=result)
        # new likes: always against the baseline, so the poll that sees them has the records too (and a
        # poll repeated on a worker after the trigger's finds the same ones)
        result, pages = self.scan(state.baseline)
        return Check(done=bool(result.new_ids), state=state, scan=result, pages=pages)


def next_interval(poke_interval: float, polls: int, *, exponential_backoff: bool, max_wait: float | None) -> float:
    """Seconds until the next poll: ``poke_interval``, doubled after each poll with backoff."""
    interval = poke_interval * (2.0 ** max(polls - 1, 0)) if exponential_backoff else poke_interval
    return min(interval, max_wait) if max_wait else interval


# --------------------------------------------------------------------------- the async side
class _PollingTrigger:
    """What both triggers share: the hook and poller built in the triggerer from ids, and one poll
    run in a thread, waiting out spent windows and transient failures."""

    x_conn_id: str
    target: LikesTarget
    min_count: int | None = None
    user_ids: tuple[str, ...] = ()
    max_results: int = 100
    max_pages: int = DEFAULT_MAX_PAGES
    max_cost_usd: float | None = None
    _poller: LikesPoller | None = None

    def poller(self) -> LikesPoller:
        if self._poller is None:
            from airflow_provider_xlikes.hooks.x import XHook
            from airflow_provider_xlikes.rate_limits import DeferringWaiter

            hook = XHook(self.x_conn_id, waiter=DeferringWaiter(max_sleep=SHORT_WAIT))
            self._poller = LikesPoller(
                hook,
                self.target,
                min_count=self.min_count,
                user_ids=self.user_ids,
                max_results=self.max_results,
                max_pages=self.max_pages,
                max_cost_usd=self.max_cost_usd,
            )
        return self._poller

    async def _run_in_thread(self, what: str, call: Any, *args: Any, deadline: float | None = None) -> Any:
        """``call(*args)`` in a thread until it returns: spent windows waited out until their reset,
        transient errors logged and tried again after ``retry_after`` seconds. Raises
        :class:`_DeadlinePassed` instead of waiting beyond ``deadline`` (Unix time)."""
        log = self.log  # type: ignore[attr-defined]

        def call_then_release() -> Any:
            try:
                return call(*args)
            finally:  # polls read listings only as far as they are new: give the leased slots back
                self.poller().hook.release_budget()

        while True:
            try:
                return await asyncio.to_thread(call_then_release)
            except XRateLimitWait as wait:
                seconds = max(wait.resume_at - time.time(), 0.0)
                log.info("%s: rate limit of %s spent, next poll in %.1f s", self.target, wait.endpoint, seconds)
                await self._sleep(seconds, deadline)
            except XPermanentError:
                raise
            except (XError, OSError) as exc:
                log.warning("%s: %s failed (%s: %s); polling again", self.target, what, type(exc).__name__, exc)
                await self._sleep(self.retry_after, deadline)

    @staticmethod
    async def _sleep(seconds: float, deadline: float | None) -> None:
        if deadline is not None and time.time() + seconds >= deadline:
            await asyncio.sleep(max(deadline - time.time(), 0.0))
            raise _DeadlinePassed
        await asyncio.sleep(seconds)

    @property
    def retry_after(self) -> float:
        return float(getattr(self, "poke_interval", 60.0))


def _error_event(target: LikesTarget, exc: BaseException) -> TriggerEvent:
    return TriggerEvent(  # type: ignore[no-untyped-call]
        {"status": "error", **target.kwargs, "error_type": type(exc).__name__, "error": str(exc)}
    )


class XNewLikesTrigger(_PollingTrigger, BaseEventTrigger):
    """An Asset watcher: fires each time new likes arrive on a post (``tweet_id``) or new liked posts
    of a user (``user_id``).

    Usable as ``Asset("x://likes/<id>", watchers=[AssetWatcher(name=..., trigger=XNewLikesTrigger(
    tweet_id=..., x_conn_id=...))])``. The event (the asset event's ``extra["payload"]``) is
    ``{"status": "new_likes", "tweet_id": ..., "count": n, "newest_ids": [...], "stop": "head"}``:
    ``count`` new records since the last event, ``newest_ids`` the newest of them (at most 10),
    ``stop`` how the scan ended (:class:`~airflow_provider_xlikes.incremental.Stop`).

    The head (the ids of the newest records seen) is kept between events in the watched asset's
    state store (Airflow 3.3: the triggerer injects it; one key per listing), so a restarted
    triggerer goes on from it; elsewhere in memory, and likes arriving while no triggerer runs the
    watcher are then not reported. When it starts without a head, the likes already there are the
    baseline, not new. One poll costs one request (the first page) while nothing is new.

    :param tweet_id: the post whose likers are watched, or
    :param user_id: the user whose liked posts are watched.
    :param x_conn_id: the ``x`` connection.
    :param poke_interval: seconds between polls.
    :param max_scan_pages: pages a poll reads at most when the head is not found (overlap scan).
    """

    def __init__(
        self,
        *,
        tweet_id: str | int | None = None,
        user_id: str | int | None = None,
        x_conn_id: str = DEFAULT_CONN_ID,
        poke_interval: float = 60.0,
        max_scan_pages: int = DEFAULT_MAX_PAGES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self.target = LikesTarget.of(tweet_id, user_id)
        self.x_conn_id = x_conn_id
        if isinstance(poke_interval, bool) or not isinstance(poke_interval, (int, float)) or poke_interval <= 0:
            raise XValidationError("poke_interval", poke_interval, "a positive number of seconds")
        self.poke_interval = float(poke_interval)
        self.max_pages = validate_positive("max_scan_pages", max_scan_pages) or DEFAULT_MAX_PAGES
        self._memory: WatchState | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                **self.target.kwargs,
                "x_conn_id": self.x_conn_id,
                "poke_interval": self.poke_interval,
                "max_scan_pages": self.max_pages,
            },
        )

    @property
    def state_key(self) -> str:
        return f"{ASSET_STATE_KEY_PREFIX}{self.target.endpoint.name}__{self.target.source_id}"

    def _state_store(self) -> Any:
        """The watched asset's state store (Airflow 3.3+), or None: see :mod:`airflow_provider_xlikes.state`."""
        from airflow_provider_xlikes.state import watcher_head_store

        return watcher_head_store(self)

    async def _load_head(self) -> Head | None:
        store = self._state_store()
        if store is not None:
            try:
                return Head.from_json(await store.aget(self.state_key))
            except (ValueError, KeyError) as exc:  # several assets watched by one trigger: ambiguous
                self.log.warning("Asset state store not usable (%s): the head is kept in memory", exc)
        return self._memory.head if self._memory is not None else None

    async def _save_head(self, head: Head) -> None:
        store = self._state_store()
        if store is not None:
            try:
                ids: list[Any] = head.to_json()
                await store.aset(self.state_key, ids)
            except (ValueError, KeyError) as exc:
                self.log.warning("Asset state store not usable (%s): the head is kept in memory", exc)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            poller = self.poller()
            head = await self._load_head()
            if head is None:
                state: WatchState = await self._run_in_thread("the baseline", poller.start)
                await self._save_head(state.head)
                self.log.info("%s: watching from a baseline of %d ids", self.target, len(state.head))
            else:
                state = WatchState(baseline=head, head=head)
                self.log.info("%s: watching from a stored head of %d ids", self.target, len(head))
            self._memory = state
            while True:
                await asyncio.sleep(self.poke_interval)
                check: Check = await self._run_in_thread("a poll", poller.check, state)
                if not check.done or check.scan is None or check.scan.head is None:
                    continue
                state = WatchState(baseline=check.scan.head, head=check.scan.head)  # the next event: new since now
                self._memory = state
                await self._save_head(state.head)
                self.log.info("%s: %d new (%s)", self.target, check.scan.new_count, check.scan.stop)
                yield TriggerEvent(  # type: ignore[no-untyped-call]
                    {
                        "status": "new_likes",
                        **self.target.kwargs,
                        "count": check.scan.new_count,
                        "newest_ids": check.new_ids[:NEWEST_IDS],
                        "stop": check.scan.stop.value if check.scan.stop is not None else None,
                    }
                )
        except XPermanentError as exc:
            self.log.error("%s: the watcher stops: %s", self.target, exc)
            yield _error_event(self.target, exc)


class XLikesSensorTrigger(_PollingTrigger, BaseTrigger):
    """The deferrable :class:`~airflow_provider_xlikes.sensors.likes.XLikesSensor`'s wait in the
    triggerer: polls until the condition holds, then fires once with the wait's state.

    Events: ``{"status": "done", "state": ..., "like_count": n}``; ``{"status": "timeout", "state":
    ...}`` once ``deadline`` (Unix time) has passed; ``{"status": "budget_exhausted", "detail": ...,
    "state": ...}`` before a poll's request that could cross ``max_cost_usd``; ``{"status": "error",
    "error_type", "error"}``.

    :param state: the wait's state (:class:`WatchState` JSON: heads, found ids and the cost spent
        so far); ``None``: the trigger takes it itself first, from ``baseline`` (a head) or from the
        listing now. The trigger keeps it current after each poll (:meth:`serialize` gives it).
    :param poke_interval: seconds between polls (doubled after each with ``exponential_backoff``,
        at most ``max_wait``).
    :param max_cost_usd: the wait's budget (US dollars, estimated), counted from ``state``'s cost.
    """

    def __init__(
        self,
        *,
        state: dict[str, Any] | None = None,
        baseline: list[str] | None = None,
        tweet_id: str | None = None,
        user_id: str | None = None,
        x_conn_id: str = DEFAULT_CONN_ID,
        min_count: int | None = None,
        user_ids: Sequence[str] | None = None,
        poke_interval: float = 60.0,
        exponential_backoff: bool = False,
        max_wait: float | None = None,
        deadline: float | None = None,
        max_results: int = 100,
        max_scan_pages: int = DEFAULT_MAX_PAGES,
        max_cost_usd: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self.target = LikesTarget.of(tweet_id, user_id)
        self.state = WatchState.from_json(state) if state is not None else None
        self.baseline = Head.from_json(baseline, "baseline")
        self.x_conn_id = x_conn_id
        self.min_count, self.user_ids = validate_condition(self.target, min_count, user_ids)
        self.poke_interval = float(poke_interval)
        self.exponential_backoff = bool(exponential_backoff)
        self.max_wait = None if max_wait is None else float(max_wait)
        self.deadline = None if deadline is None else float(deadline)
        self.max_results = max_results
        self.max_pages = max_scan_pages
        self.max_cost_usd = None if max_cost_usd is None else float(max_cost_usd)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "state": self.state.to_json() if self.state is not None else None,
                "baseline": self.baseline.to_json() if self.baseline is not None else None,
                **self.target.kwargs,
                "x_conn_id": self.x_conn_id,
                "min_count": self.min_count,
                "user_ids": list(self.user_ids) if self.user_ids else None,
                "poke_interval": self.poke_interval,
                "exponential_backoff": self.exponential_backoff,
                "max_wait": self.max_wait,
                "deadline": self.deadline,
                "max_results": self.max_results,
                "max_scan_pages": self.max_pages,
                "max_cost_usd": self.max_cost_usd,
            },
        )

    def _event(self, status: str, **payload: Any) -> TriggerEvent:
        """An event with the wait's state as it is now (its cost included)."""
        state = self.state.to_json() if self.state is not None else None
        return TriggerEvent({"status": status, **self.target.kwargs, "state": state, **payload})  # type: ignore[no-untyped-call]

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            poller = self.poller()
            try:
                # the meter needs the connection's prices: read in a thread, as every request is
                cost = self.state.cost if self.state is not None else None
                await self._run_in_thread("the connection", poller.resume_costs, cost, deadline=self.deadline)
                if self.state is None:  # the sensor could not take the baseline (a spent window): take it now
                    self.state = await self._run_in_thread(
                        "the baseline", poller.start, self.baseline, deadline=self.deadline
                    )
            except _DeadlinePassed:
                yield self._event("timeout")
                return
            state: WatchState = self.state
            polls = 0
            while True:
                polls += 1
                interval = next_interval(
                    self.poke_interval, polls, exponential_backoff=self.exponential_backoff, max_wait=self.max_wait
                )
                if self.deadline is not None:
                    remaining = self.deadline - time.time()
                    if remaining <= 0:
                        yield self._event("timeout")
                        return
                    interval = min(interval, remaining)
                await asyncio.sleep(interval)
                if self.deadline is not None and time.time() >= self.deadline:
                    continue
                try:
                    check: Check = await self._run_in_thread("a poll", poller.check, state, deadline=self.deadline)
                except _DeadlinePassed:
                    continue
                state = self.state = check.state
                self.log.info("%s: poll %d, condition %s held: %s", self.target, polls, poller.condition, check.done)
                if check.done:
                    yield self._event("done", like_count=check.like_count, deadline=self.deadline)
                    return
        except XBudgetExhaustedError as exc:
            self.log.warning("%s", exc)
            if self.state is not None:
                self.state = self.poller().with_costs(self.state)
            yield self._event("budget_exhausted", detail=str(exc))
        except XPermanentError as exc:
            yield _error_event(self.target, exc)
