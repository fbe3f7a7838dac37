"""Waiting for likes in the triggerer: the triggers that run the polling logic
(:class:`~airflow_provider_xlikes.polling.LikesPoller`, which the sensor calls in each poke on a
worker) in a thread (``asyncio.to_thread``), so the triggerer's event loop never blocks.

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
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent

from airflow_provider_xlikes.exceptions import (
    XBudgetExhaustedError,
    XError,
    XPermanentError,
    XRateLimitWait,
    XValidationError,
)
from airflow_provider_xlikes.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_xlikes.incremental import DEFAULT_MAX_PAGES, Head
from airflow_provider_xlikes.polling import (
    Check,
    LikesPoller,
    LikesTarget,
    WatchState,
    next_interval,
    validate_condition,
)
from airflow_provider_xlikes.validation import validate_positive

if TYPE_CHECKING:
    pass

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
    :param endpoint: another listing of the endpoint table taking that id (its name), watched instead.
    :param x_conn_id: the ``x`` connection.
    :param poke_interval: seconds between polls.
    :param max_scan_pages: pages a poll reads at most when the head is not found (overlap scan).
    """

    def __init__(
        self,
        *,
        tweet_id: str | int | None = None,
        user_id: str | int | None = None,
        endpoint: str | None = None,
        x_conn_id: str = DEFAULT_CONN_ID,
        poke_interval: float = 60.0,
        max_scan_pages: int = DEFAULT_MAX_PAGES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self.target = LikesTarget.of(tweet_id, user_id, endpoint)
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
                **self.target.spec,
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
        endpoint: str | None = None,
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
        self.target = LikesTarget.of(tweet_id, user_id, endpoint)
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
                **self.target.spec,
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
