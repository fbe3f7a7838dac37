"""What the X API charges for the requests this provider makes: the one price table, and the cost
of a response, a page or a listing.

X bills pay-per-use since February 2026, from credits bought in advance (a negative balance blocks
requests). Prices below were taken on :data:`PRICES_TAKEN` from X's developer docs
(:data:`PRICE_SOURCES`) and are never fetched at run time; X says they "are subject to change" and
its Developer Console shows the current rates. An Enterprise contract (or a price change) is set
in the connection extra ``prices`` (see :func:`prices_from_extra`).

What the estimates assume, stated with every estimate (:attr:`PriceTable.assumptions`):

* reads cost per resource returned: every item of ``data`` at its kind's price (``Posts: Read``,
  ``User: Read``), an *owned read* (the path's user id is the authenticated user's, as for one's
  own ``liked_tweets``) at the owned price; writes cost per request;
* ``includes`` objects are billed like ``data`` of their kind (``includes_billed``; X's pages do not
  say otherwise) and kinds without a published price (places, polls, topics) cost nothing;
* X bills the same resource once per UTC day ("soft guarantee"): the estimate counts every resource
  each response returned, so repeats (an author on several pages, posts another task read the same
  day) make the real charge lower, never higher;
* only successful responses that return data are billed.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_xlikes.endpoints import LIKE, UNLIKE, Endpoint
from airflow_provider_xlikes.exceptions import XValidationError

__all__ = [
    "DEFAULT_PRICES",
    "INCLUDE_BOUNDS",
    "PRICES_TAKEN",
    "PRICE_SOURCES",
    "CostMeter",
    "PriceTable",
    "format_usd",
    "prices_from_extra",
    "resource_kind",
]

#: the day the prices were read from X's pages
PRICES_TAKEN = "2026-12-04"
#: where they were read (X's developer docs, docs.x.com)
PRICE_SOURCES = (
    "X developer docs, Getting started > Pricing (pay-per-use, since February 2026)",
    "X developer docs, Post cap (monthly Post reads per billing cycle)",
    "X developer changelog of 2026-04-16 (owned reads $0.001 from 2026-04-20)",
)
#: the connection extra that overrides prices (no secret-sounding word: Airflow would mask it)
PRICES_EXTRA = "prices"

#: what ``data`` and ``includes`` keys hold, by the resource kind X bills
_KINDS = {"tweets": "posts", "posts": "posts", "users": "users", "media": "media"}


def format_usd(usd: float) -> str:
    """``$0.005``, ``$12.340``: to a tenth of a cent (the owned price is $0.001)."""
    return f"${usd:,.3f}"


def resource_kind(key: str) -> str:
    """The billed kind of an ``includes`` key or an endpoint's ``records`` (``tweets`` -> ``posts``)."""
    return _KINDS.get(key, key)


#: per requested expansion: the kind it includes and the most objects one record brings (X's
#: limits where documented: 4 media per post, 1 poll, 1 place; a reply that quotes references 2
#: posts; 5 edits). A larger count seen in the listing raises the bound (see ``CostMeter``).
INCLUDE_BOUNDS: dict[str, tuple[str, int]] = {
    "pinned_tweet_id": ("posts", 1),
    "pinned_post_id": ("posts", 1),
    "most_recent_tweet_id": ("posts", 1),
    "most_recent_post_id": ("posts", 1),
    "affiliation.user_id": ("users", 1),
    "author_id": ("users", 1),
    "in_reply_to_user_id": ("users", 1),
    "referenced_tweets.id": ("posts", 2),
    "referenced_posts.id": ("posts", 2),
    "referenced_tweets.id.author_id": ("users", 2),
    "referenced_posts.id.author_id": ("users", 2),
    "referenced_tweets.id.attachments.media_keys": ("media", 8),
    "referenced_posts.id.attachments.media_keys": ("media", 8),
    "entities.mentions.username": ("users", 10),
    "attachments.media_keys": ("media", 4),
    "attachments.poll_ids": ("polls", 1),
    "geo.place_id": ("places", 1),
    "edit_history_tweet_ids": ("posts", 5),
    "edit_history_post_ids": ("posts", 5),
}


@dataclass(frozen=True)
class PriceTable:
    """USD per resource read, by kind; per owned resource; per write request, by endpoint name."""

    read: Mapping[str, float]
    owned_read: float
    write: Mapping[str, float]
    includes_billed: bool = True
    #: where the prices come from: X's pages of :data:`PRICES_TAKEN`, or the connection
    source: str = f"X's pricing pages as of {PRICES_TAKEN}"

    def read_price(self, kind: str, *, owned: bool = False) -> float:
        """USD per resource of ``kind`` (0 for a kind without a published price)."""
        if kind not in self.read:
            return 0.0
        return self.owned_read if owned else self.read[kind]

    def cost(
        self, endpoint: Endpoint, data: int, includes: Mapping[str, int] | None = None, *, owned: bool = False
    ) -> float:
        """USD of one successful response of ``endpoint``: ``data`` items, ``includes`` by kind."""
        if endpoint.name in self.write:
            return self.write[endpoint.name]
        if endpoint.records is None:
            return 0.0
        usd = data * self.read_price(resource_kind(endpoint.records), owned=owned)
        if self.includes_billed:
            usd += sum(n * self.read_price(kind, owned=owned) for kind, n in (includes or {}).items())
        return usd

    def page_bound(
        self, endpoint: Endpoint, max_results: int, per_record: Mapping[str, int], *, owned: bool = False
    ) -> float:
        """USD of the costliest page ``endpoint`` may answer: ``max_results`` records, each with at
        most ``per_record`` include objects per kind (see :meth:`CostMeter.include_bounds`)."""
        includes = {kind: n * max_results for kind, n in per_record.items()}
        return self.cost(endpoint, max_results, includes, owned=owned)

    @property
    def assumptions(self) -> dict[str, Any]:
        """What an estimate assumes, for manifests and logs (users check it against their console)."""
        return {
            "prices": {
                "read_usd": dict(self.read),
                "owned_read_usd": self.owned_read,
                "write_usd": dict(self.write),
                "source": self.source,
                "taken": PRICES_TAKEN,
            },
            "includes_billed": self.includes_billed,
            "daily_deduplication": "not applied: every resource each response returned is counted; X bills the "
            "same resource once per UTC day, so the real charge can be lower, not higher",
            "unpriced_kinds": "places, polls, topics: no published price, counted at 0",
        }


#: X's prices of :data:`PRICES_TAKEN` (Media/List/Space: Read $0.005 as Posts)
DEFAULT_PRICES = PriceTable(
    read={"posts": 0.005, "users": 0.010, "media": 0.005, "lists": 0.005, "spaces": 0.005},
    owned_read=0.001,
    write={LIKE.name: 0.015, UNLIKE.name: 0.010},
)

#: the keys of the ``prices`` extra, and what each sets
PRICE_KEYS = {
    "posts": "USD per post read",
    "users": "USD per user read",
    "media": "USD per media object read",
    "owned": "USD per owned resource read",
    LIKE.name: "USD per like request",
    UNLIKE.name: "USD per unlike request",
    "includes_billed": "true or false",
}


def prices_from_extra(value: Any) -> PriceTable:
    """The price table of a connection: :data:`DEFAULT_PRICES`, with the ``prices`` extra (a JSON
    object, or its text as the form sends it) applied, e.g. ``{"posts": 0.004, "owned": 0.001,
    "includes_billed": false}``. Unknown keys and negative or non-numeric prices are rejected."""
    if value is None or value == "" or value == {}:
        return DEFAULT_PRICES
    where = f"extra {PRICES_EXTRA}"
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, dict):
        raise XValidationError(where, value, "a JSON object of: " + ", ".join(PRICE_KEYS))
    unknown = sorted(set(value) - set(PRICE_KEYS))
    if unknown:
        raise XValidationError(f"{where} key {unknown[0]!r}", value[unknown[0]], PRICE_KEYS)
    read = dict(DEFAULT_PRICES.read)
    write = dict(DEFAULT_PRICES.write)
    owned = DEFAULT_PRICES.owned_read
    includes_billed = DEFAULT_PRICES.includes_billed
    for key, item in value.items():
        if key == "includes_billed":
            if not isinstance(item, bool):
                raise XValidationError(f"{where}.{key}", item, "true or false")
            includes_billed = item
            continue
        price = _usd(f"{where}.{key}", item)
        if key == "owned":
            owned = price
        elif key in write:
            write[key] = price
        else:
            read[key] = price
    return PriceTable(read, owned, write, includes_billed, source=f"connection extra {PRICES_EXTRA!r}")


def _usd(parameter: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise XValidationError(parameter, value, "a number of US dollars >= 0")
    return float(value)


@dataclass
class CostMeter:
    """The resources a task's responses returned, by part (``data``, ``includes``) and kind, and
    their estimated cost under :attr:`prices` (JSON state: :meth:`to_json` / :meth:`from_json`)."""

    prices: PriceTable = DEFAULT_PRICES
    data: Counter[str] = field(default_factory=Counter)
    includes: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    usd: float = 0.0
    #: the most include objects of a kind one record of a page brought (raises the page bound)
    seen_per_record: Counter[str] = field(default_factory=Counter)
    #: the worst case of the request about to be sent (:meth:`reserve`), until its response is
    #: counted: a state saved in between says what a lost response may have cost
    unsettled: float = 0.0

    def add(
        self, endpoint: Endpoint, data: int, includes: Mapping[str, Iterable[Any]] | None = None, *, owned: bool = False
    ) -> float:
        """Count one successful response; returns its estimated cost."""
        counts = {resource_kind(k): len(list(v)) for k, v in (includes or {}).items()}
        usd = self.prices.cost(endpoint, data, counts, owned=owned)
        self.unsettled = 0.0
        self.requests += 1
        self.usd += usd
        if endpoint.records is not None and data:
            self.data[resource_kind(endpoint.records)] += data
        for kind, n in counts.items():
            if n:
                self.includes[kind] += n
                if data:
                    self.seen_per_record[kind] = max(self.seen_per_record[kind], math.ceil(n / data))
        return usd

    def could_cross(self, bound: float, limit: float | None) -> bool:
        """Whether a request whose response may cost up to ``bound`` could take what was spent past
        ``limit`` (``max_cost_usd``: such a request is not sent); never without a limit."""
        return limit is not None and self.usd + self.unsettled + bound > limit

    def reserve(self, bound: float) -> None:
        """The next request may cost up to ``bound``: saved with the state before it is sent, so that
        a try that dies before counting its response (a killed process, a failed try) leaves the
        next one a count that cannot be too low (:meth:`restored` counts it as spent)."""
        self.unsettled = bound

    def settle(self) -> None:
        """The reserved request was not sent (a spent rate-limit window): nothing to count."""
        self.unsettled = 0.0

    def include_bounds(self, expansions: Iterable[str]) -> dict[str, int]:
        """Include objects per record, per kind, at most: :data:`INCLUDE_BOUNDS` of the expansions
        asked for (1 for one not listed), or more where a page brought more."""
        bounds: Counter[str] = Counter()
        for name in expansions:
            kind, most = INCLUDE_BOUNDS.get(name, ("posts", 1))
            bounds[kind] += most
        for kind, seen in self.seen_per_record.items():
            bounds[kind] = max(bounds[kind], seen)
        return dict(bounds)

    def summary(self, **extra: Any) -> dict[str, Any]:
        """JSON for manifests and XCom ``meta``: resources by part and kind, the cost, the assumptions."""
        return {
            "resources": {"data": dict(self.data), "includes": dict(self.includes)},
            "billed_requests": self.requests,
            "estimated_cost_usd": round(self.usd, 6),
            **extra,
            "assumptions": self.prices.assumptions,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "data": dict(self.data),
            "includes": dict(self.includes),
            "requests": self.requests,
            "usd": self.usd,
            "seen_per_record": dict(self.seen_per_record),
            **({"unsettled": self.unsettled} if self.unsettled else {}),
        }

    def restored(self, state: Mapping[str, Any] | None) -> CostMeter:
        """This meter's prices with the counts of ``state`` (a resumed task's), if it is one; a
        request reserved there and never counted counts as one billed request at its worst case."""
        if not isinstance(state, Mapping):
            return CostMeter(self.prices)
        try:
            unsettled = float(state.get("unsettled", 0.0))
            return CostMeter(
                self.prices,
                Counter({str(k): int(v) for k, v in state.get("data", {}).items()}),
                Counter({str(k): int(v) for k, v in state.get("includes", {}).items()}),
                int(state.get("requests", 0)) + (1 if unsettled else 0),
                float(state.get("usd", 0.0)) + unsettled,
                Counter({str(k): int(v) for k, v in state.get("seen_per_record", {}).items()}),
            )
        except (TypeError, ValueError, AttributeError):
            return CostMeter(self.prices)
