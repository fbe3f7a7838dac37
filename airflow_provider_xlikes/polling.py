"""The polling logic of waiting for new likes, shared by the sensor (a poke on a worker) and the
triggers (a poll in the triggerer): what is watched (:class:`LikesTarget`, a listing of the endpoint
table), what a wait remembers between polls (:class:`WatchState`), and one poll
(:class:`LikesPoller`).

:meth:`LikesPoller.start` takes the baseline (the head of the listing now), :meth:`LikesPoller.check`
makes one poll (the first page of the listing, pages after it only while new records go on; or the
count lookup) and says whether the condition holds. It is sync, on the hook, so every request takes
its slot from the token's shared rate-limit budget; the triggers run it in a thread.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_xlikes.endpoints import ENDPOINTS, LIKED_TWEETS, LIKING_USERS, Endpoint
from airflow_provider_xlikes.exceptions import XBudgetExhaustedError, XValidationError
from airflow_provider_xlikes.incremental import DEFAULT_MAX_PAGES, Head, IncrementalScan, ScanResult
from airflow_provider_xlikes.pages import Page
from airflow_provider_xlikes.pricing import format_usd
from airflow_provider_xlikes.validation import validate_id, validate_max_results, validate_names, validate_positive

if TYPE_CHECKING:
    from airflow_provider_xlikes.hooks.x import XHook

#: the listing a sensor or trigger watches when it names no endpoint: by its id argument
IMPLIED_LISTINGS = {"tweet_id": LIKING_USERS, "user_id": LIKED_TWEETS}


# --------------------------------------------------------------------------- what is watched
@dataclass(frozen=True)
class LikesTarget:
    """A listing to watch: the likers of a post (``tweet_id``) or the posts a user liked (``user_id``)."""

    endpoint: Endpoint
    source_id: str

    @classmethod
    def of(cls, tweet_id: object = None, user_id: object = None, endpoint: Endpoint | str | None = None) -> LikesTarget:
        """Exactly one of ``tweet_id`` / ``user_id``, validated; the listing is ``endpoint`` (a
        listing of the endpoint table taking that id, or its name) or, without it, the likes listing
        that id implies (``liking_users`` of a post, ``liked_tweets`` of a user)."""
        if (tweet_id is None) == (user_id is None):
            raise XValidationError(
                "tweet_id",
                tweet_id,
                f"exactly one of tweet_id (a post's likers) and user_id (a user's liked posts); "
                f"got tweet_id={tweet_id!r}, user_id={user_id!r}",
            )
        argument, value = ("tweet_id", tweet_id) if tweet_id is not None else ("user_id", user_id)
        if isinstance(endpoint, str):
            listings = sorted(name for name, e in ENDPOINTS.items() if e.source_field is not None)
            if endpoint not in listings:
                raise XValidationError("endpoint", endpoint, listings)
            endpoint = ENDPOINTS[endpoint]
        endpoint = endpoint or IMPLIED_LISTINGS[argument]
        if endpoint.id_argument != argument:
            raise XValidationError(argument, value, f"None: {endpoint.name} lists by {endpoint.id_argument}")
        return cls(endpoint, validate_id(argument, value))

    @property
    def spec(self) -> dict[str, str]:
        """The arguments :meth:`of` rebuilds this target from (a trigger's kwargs): the id, and the
        endpoint's name where it is not the likes listing the id implies."""
        if self.endpoint is IMPLIED_LISTINGS[self.id_argument]:
            return self.kwargs
        return {**self.kwargs, "endpoint": self.endpoint.name}

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
    """``min_count`` (a positive integer; a listing with a count lookup) or ``user_ids`` (ids; a
    listing of users, such as a post's likers), at most one."""
    if min_count is not None and user_ids is not None:
        raise XValidationError("min_count", min_count, "None when user_ids is given (one condition per sensor)")
    count = validate_positive("min_count", min_count)
    if count is not None and target.endpoint.count_lookup is None:
        raise XValidationError("min_count", min_count, f"None: {target.endpoint.name} has no count to compare")
    if user_ids is None:
        return count, ()
    if target.endpoint.records != "users":
        raise XValidationError(
            "user_ids", user_ids, f"None with {target} (user_ids waits for users in a listing of users)"
        )
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
