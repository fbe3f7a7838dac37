"""What is new in a newest-first listing since a known head: the one place for it.

Likes carry no timestamp. The two listings (``liking_users``, ``liked_tweets``) come newest like
first; a like adds its record at the top, an unlike removes a record anywhere. What a consumer
(the sensor, the Asset watcher, incremental collection) remembers of the last listing it saw is a
:class:`Head`: the ids of its first ``HEAD_SIZE`` (20) records, newest first. Twenty, not one, so
that an unliked newest record still leaves markers. A :class:`Head` is small JSON (a list of id
strings), stored wherever the consumer keeps state (:class:`VariableHeadStore`, an asset state
store, trigger kwargs).

:class:`IncrementalScan` reads pages in order, yields them with only the new records, and stops
(closing the page iterator, so no further request is sent) at the **boundary**: the first record
that is known, i.e. the record of the previous listing that is now the newest. It tells how it
ended in :class:`ScanResult`:

* ``Stop.HEAD`` - it reached the boundary; everything before it is new, nothing after it is.
* ``Stop.OVERLAP`` - a bounded overlap scan (``max_pages`` pages) found no boundary: none of the
  head ids is listed any more (all unliked), or more than ``max_pages`` pages are new. Every
  record scanned is yielded as new (some may be old: a consumer may see them twice); the scan
  logs a warning saying so.
* ``Stop.END`` - the listing ended without a known record (no head: the first run, a full
  backfill; an empty head: the listing was empty; or every head record was unliked).

**How a known record is recognised as the boundary.** Ids of the head are ranked 0..19 (newest
first). Records after the boundary are the old listing minus unlikes, in the old order; a user
(post) who unliked and liked again moves to the top. So a known record ``r`` followed by ``n``:

* ``n`` known with a higher rank than ``r``, or ``r`` the last record of the listing: ``r`` is the
  boundary (the old order goes on);
* ``n`` known with a lower rank: ``r`` moved up, it is a new like again (a re-like);
* ``n`` unknown: ambiguous (a re-like followed by a new like, or the last head record still
  listed followed by older records). The scan goes on: a boundary confirmed further down makes
  ``r`` a re-like (new); if none is confirmed before the listing or the overlap scan ends, ``r``
  is the boundary (``ScanResult.confirmed`` is then False). Pages after such a record are held
  (at most ``max_pages``) until it is decided, so nothing is yielded twice or taken back.

**Guarantee.** Let the head be taken from a listing L0 and the scan read listing L1. Then
every like added between L0 and L1 whose record is still in L1 is yielded exactly once,
provided that (a) at least one head record is still listed in L1 and (b) the new records fit in
``max_pages`` pages (else ``Stop.OVERLAP``, said in the log). No record of L0 that is still in
L1 behind the boundary is yielded. Not detectable without timestamps, and therefore not new:
a like removed again before L1 was read; and a re-like by a user (of a post) among the head
that leaves the head's order unchanged (e.g. the newest liker unliking and liking again).

Over 400 lines because the head, the scan and the stores that keep a head are one protocol
(what is new since a head); the listing operators' use of it is :mod:`.incremental_listing`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

import msgspec

from airflow_provider_xlikes.exceptions import XValidationError
from airflow_provider_xlikes.pages import Page, Record

__all__ = [
    "DEFAULT_MAX_PAGES",
    "HEAD_SIZE",
    "HEAD_VARIABLE_PREFIX",
    "AssetHeadStore",
    "Head",
    "HeadStore",
    "IncrementalScan",
    "ScanResult",
    "Stop",
    "VariableHeadStore",
    "head_key",
    "new_records",
]

log = logging.getLogger("airflow_provider_xlikes.incremental")

#: ids a head keeps: the newest records of the last listing seen
HEAD_SIZE = 20
#: pages a scan reads without finding the boundary before it gives up (``Stop.OVERLAP``)
DEFAULT_MAX_PAGES = 10
#: the names of the Variables of :class:`VariableHeadStore`: ``xlikes_head__<key>``
HEAD_VARIABLE_PREFIX = "xlikes_head__"


class Stop(str, Enum):
    """How a scan ended (see the module docstring)."""

    HEAD = "head"
    OVERLAP = "overlap"
    END = "end"


@dataclass(frozen=True)
class Head:
    """The ids of the newest records of the last listing seen, newest first (JSON: a list of ids)."""

    ids: tuple[str, ...]

    @classmethod
    def of(cls, ids: Iterable[Any], size: int = HEAD_SIZE) -> Head:
        """The first ``size`` distinct ids of ``ids`` (records' ids, newest first)."""
        unique: dict[str, None] = {}
        for item in ids:
            unique.setdefault(str(item), None)
            if len(unique) >= size:
                break
        return cls(tuple(unique))

    @classmethod
    def of_records(cls, records: Iterable[Mapping[str, Any]], size: int = HEAD_SIZE) -> Head:
        return cls.of((record["id"] for record in records), size)

    def to_json(self) -> list[str]:
        return list(self.ids)

    @classmethod
    def from_json(cls, value: object, parameter: str = "head") -> Head | None:
        """A head from its JSON (``None`` stays ``None``: no head known); anything else is rejected."""
        if value is None:
            return None
        if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) and item for item in value):
            raise XValidationError(parameter, value, "None or a list of id strings, newest first")
        return cls(tuple(value))

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class ScanResult:
    """What a scan found: how it ended, the new records counted, and the head to keep from now on.

    ``head`` is ``None`` until the scan has ended. ``marker`` is the id of the boundary record
    (``Stop.HEAD``); ``confirmed`` is False when that boundary was the ambiguous case (see the
    module docstring). ``new_ids`` holds the ids of the new records, newest first.
    """

    stop: Stop | None = None
    pages: int = 0
    new_ids: list[str] = field(default_factory=list)
    #: new records yielded before a resume (their ids are not carried)
    new_before: int = 0
    marker: str | None = None
    confirmed: bool = True
    head: Head | None = None

    @property
    def new_count(self) -> int:
        return self.new_before + len(self.new_ids)

    def to_json(self) -> dict[str, Any]:
        return {
            "stop": self.stop.value if self.stop is not None else None,
            "pages": self.pages,
            "new_count": self.new_count,
            "marker": self.marker,
            "confirmed": self.confirmed,
            "head": self.head.to_json() if self.head is not None else None,
        }


def _record_id(record: Mapping[str, Any]) -> str:
    return str(record["id"])


class IncrementalScan:
    """Yields the pages of a newest-first listing with only the records new since ``head``.

    ``head`` ``None``: no head known, every record is new (the listing is read to its end).
    ``max_pages``: with a head, read at most this many pages looking for the boundary (``None``:
    no bound). After the pages are consumed (or the iterator is closed by the scan itself when
    it stops), :attr:`result` tells how the scan ended and the head to keep.

    Use::

        scan = IncrementalScan(head)
        for page in scan.pages(hook.iter_listing(LIKING_USERS, post_id)):
            writer.write_page(page.data, errors=page.errors, includes=page.includes)
        store.save(key, scan.result.head.to_json())   # only once the output is committed
    """

    def __init__(
        self,
        head: Head | None,
        *,
        max_pages: int | None = DEFAULT_MAX_PAGES,
        head_size: int = HEAD_SIZE,
        record_id: Callable[[Mapping[str, Any]], str] = _record_id,
        label: str = "listing",
    ) -> None:
        if max_pages is not None and (isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1):
            raise XValidationError("max_pages", max_pages, "None or a positive integer")
        self.head = head
        self.max_pages = max_pages
        self.head_size = head_size
        self.record_id = record_id
        self.label = label
        self._rank = {item: rank for rank, item in enumerate(head.ids)} if head is not None else {}
        self.result = ScanResult()
        #: the listing's first ids yielded before a resume (for the next head)
        self._prefix: list[str] = []
        self._held: list[Page] = []  # pages read, not yielded yet: their records not all decided
        self._ids: list[str] = []  # every id read (since the resume), in listing order
        self._released = 0  # ids before this position were yielded as new
        self._stop_at: int | None = None  # once ended: ids before this position are new
        self._remaining = 0  # resumed after its end: new records still to yield from the source

    # ---- deferral and checkpoints
    def state(self) -> dict[str, Any]:
        """The scan's JSON state at this point, for :meth:`resume` in another process: the head,
        the first ids yielded so far, the pages and new records counted. The pages read but not
        yielded yet are read again after the resume, from :meth:`restart_token`."""
        released = self._ids[: self._released]
        result = self.result
        state: dict[str, Any] = {
            "head": self.head.to_json() if self.head is not None else None,
            "seen": (self._prefix + released)[: self.head_size],
            "pages": result.pages - len(self._held),
            "new": result.new_count,
            "max_pages": self.max_pages,
        }
        if result.stop is not None:  # decided: the resumed scan only yields the new records left
            assert result.head is not None
            stop_at = self._stop_at if self._stop_at is not None else self._released + self._remaining
            state["end"] = {
                "stop": result.stop.value,
                "marker": result.marker,
                "confirmed": result.confirmed,
                "next_head": result.head.to_json(),
                "remaining": max(stop_at - self._released, 0),
            }
        return state

    def restart_token(self, next_token: str | None) -> str | None:
        """The cursor a resumed scan pages from: the first page read but not yielded (its own
        ``pagination_token``), else ``next_token`` (the page after the last one yielded)."""
        return self._held[0].pagination_token if self._held else next_token

    @classmethod
    def resume(cls, state: Mapping[str, Any], *, label: str = "listing") -> IncrementalScan:
        """The scan of :meth:`state`, to be fed the pages from its :meth:`restart_token` on."""
        if not isinstance(state, Mapping) or not isinstance(state.get("seen"), list):
            raise XValidationError("incremental state", type(state).__name__, "the state() of an IncrementalScan")
        scan = cls(Head.from_json(state.get("head")), max_pages=state.get("max_pages"), label=label)
        scan._prefix = [str(item) for item in state["seen"]]
        scan.result.pages = int(state.get("pages") or 0)
        scan.result.new_before = int(state.get("new") or 0)
        end = state.get("end")
        if isinstance(end, Mapping):
            scan.result.stop = Stop(end["stop"])
            scan.result.marker = end.get("marker")
            scan.result.confirmed = bool(end.get("confirmed", True))
            scan.result.head = Head.from_json(end.get("next_head"))
            scan._remaining = int(end.get("remaining") or 0)
        return scan

    # ---- the boundary
    def _classify(self, ids: Sequence[str], complete: bool) -> tuple[int | None, int | None]:
        """(the confirmed boundary, the first undecided position) among the ids seen so far."""
        rank = self._rank
        undecided: int | None = None
        for position, item in enumerate(ids):
            mine = rank.get(item)
            if mine is None:
                continue
            if position + 1 == len(ids):
                if complete:
                    return position, undecided
                return None, position if undecided is None else undecided
            following = rank.get(ids[position + 1])
            if following is not None and following > mine:
                return position, undecided
            if following is None and undecided is None:
                undecided = position  # ambiguous: a re-like, or the last head record still listed
        return None, undecided

    # ---- the scan
    def pages(self, pages: Iterable[Page]) -> Iterator[Page]:
        """``pages`` with their ``data`` cut to the new records (``errors`` and ``includes`` kept);
        stops reading at the boundary. Pages without new records are not yielded."""
        source = iter(pages)
        try:
            if self.result.stop is not None:  # resumed after its end: the new records left, then no request
                yield from self._rest(source)
                return
            while True:
                page = next(source, None)
                complete = page is None or page.next_token is None
                if page is not None:
                    self._hold(page)
                undecided = self._end(complete)
                if self._stop_at is not None:
                    # the scan's end is set before the last pages go out: a state() taken meanwhile is final
                    yield from self._release(None, self._stop_at)
                    return
                yield from self._release(*self._decided_pages(undecided))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # no further request; the listing's unused budget slots are given back

    def _hold(self, page: Page) -> None:
        """A page read: held (and its ids kept) until its records are decided."""
        self.result.pages += 1
        self._held.append(page)
        self._ids.extend(self.record_id(record) for record in page.data)

    def _end(self, complete: bool) -> int | None:
        """Decide whether the scan ends with the pages read so far (``complete``: the listing has no
        more); when it does, set its :attr:`result` and the position new records end at. Returns the
        first undecided position otherwise (``None``: every id read is new)."""
        ids, result = self._ids, self.result
        boundary, undecided = (None, None) if self.head is None else self._classify(ids, complete)
        # an empty head (the listing was empty) has no boundary to look for: all is new, unbounded
        limit = bool(self._rank) and self.max_pages is not None and result.pages >= self.max_pages
        if boundary is None and (complete or limit) and undecided is not None:
            boundary, result.confirmed = undecided, False  # nothing better came: it is the boundary
        if boundary is not None:
            result.stop, result.marker = Stop.HEAD, ids[boundary]
            self._stop_at = boundary
            self._finish(ids, boundary)
        elif complete or limit:
            result.stop = Stop.END if complete else Stop.OVERLAP
            if result.stop is Stop.OVERLAP:
                log.warning(
                    "%s: none of the %d head ids found in the first %d page(s) (the newest records "
                    "of the last listing were unliked, or more than %d pages are new): the %d records "
                    "scanned are taken as new, some may have been seen before",
                    self.label,
                    len(self._rank),
                    result.pages,
                    result.pages,
                    len(ids),
                )
            self._stop_at = len(ids)
            self._finish(ids, None)
        return undecided

    def _decided_pages(self, undecided: int | None) -> tuple[int, int]:
        """(how many held pages, from the first, hold only records decided new; the position after
        them): everything before the first undecided position is new."""
        safe = len(self._ids) if undecided is None else undecided
        releasable = 0
        count = self._released
        for held_page in self._held:
            if count + len(held_page.data) > safe:
                break
            count += len(held_page.data)
            releasable += 1
        return releasable, count

    def _release(self, pages: int | None, stop: int) -> Iterator[Page]:
        """The first ``pages`` held pages (``None``: all) cut to the ids before position ``stop``.

        Each page leaves the held ones and counts as read before it is yielded, so a :meth:`state`
        taken while the consumer handles it resumes after it.
        """
        for _ in range(len(self._held) if pages is None else pages):
            page = self._held.pop(0)
            start = self._released
            take = max(0, min(len(page.data), stop - start))
            self._released = start + len(page.data)
            if take:
                self.result.new_ids.extend(self._ids[start : start + take])
                yield page if take == len(page.data) else dataclasses.replace(page, data=page.data[:take])

    def _rest(self, source: Iterator[Page]) -> Iterator[Page]:
        """After a resume past the scan's end: the first ``_remaining`` records of ``source``."""
        while self._remaining > 0:  # no request once nothing is left
            page = next(source, None)
            if page is None:
                return
            take = min(len(page.data), self._remaining)
            self._remaining -= take
            self.result.new_ids.extend(self.record_id(record) for record in page.data[:take])
            if take:
                yield page if take == len(page.data) else dataclasses.replace(page, data=page.data[:take])

    def _finish(self, ids: Sequence[str], boundary: int | None) -> None:
        """The head to keep: the first ``head_size`` ids of the listing as seen now."""
        seen = self._prefix + list(ids)
        if boundary is not None and self.head is not None:
            marker_rank = self._rank[ids[boundary]]
            seen.extend(self.head.ids[marker_rank + 1 :])  # the old head's older ids, not seen again
        self.result.head = Head.of(seen, self.head_size)

    def records(self, pages: Iterable[Page]) -> Iterator[Record]:
        """The new records one by one (see :meth:`pages`)."""
        for page in self.pages(pages):
            yield from page.data


def new_records(
    pages: Iterable[Page], head: Head | None, *, max_pages: int | None = DEFAULT_MAX_PAGES, label: str = "listing"
) -> tuple[list[Record], ScanResult]:
    """Every new record of ``pages`` since ``head`` as one list, and how the scan ended."""
    scan = IncrementalScan(head, max_pages=max_pages, label=label)
    records = list(scan.records(pages))
    return records, scan.result


# --------------------------------------------------------------------------- where heads are kept
def head_key(*parts: object) -> str:
    """A non-reversible key of what a head belongs to (e.g. DAG id, task id, endpoint, source id):
    24 hex digits of a SHA-256 of the parts."""
    text = "\0".join(str(part) for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class HeadStore(Protocol):
    """Where a consumer keeps JSON state (a head, and whatever goes with it) by key."""

    def load(self, key: str) -> Any: ...

    def save(self, key: str, value: Any) -> None: ...

    def delete(self, key: str) -> None: ...


class VariableHeadStore:
    """JSON values in Airflow Variables ``{prefix}{key}``, which every worker (and the triggerer)
    reads through the Task SDK, and code outside a task through the metadata database."""

    def __init__(self, prefix: str = HEAD_VARIABLE_PREFIX) -> None:
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"<VariableHeadStore prefix={self.prefix!r}>"

    def load(self, key: str) -> Any:
        from airflow_provider_xlikes.hooks.token_store import get_variable

        text = get_variable(self.prefix + key)
        if not text:
            return None
        try:
            return msgspec.json.decode(text)
        except msgspec.DecodeError:
            log.warning("Variable %s%s is not JSON (edited by hand?): ignored", self.prefix, key)
            return None

    def save(self, key: str, value: Any) -> None:
        from airflow_provider_xlikes.hooks.token_store import set_variable

        set_variable(self.prefix + key, msgspec.json.encode(value).decode())

    def delete(self, key: str) -> None:
        from airflow_provider_xlikes.hooks.token_store import in_task

        if in_task():
            from airflow.sdk import Variable

            Variable.delete(self.prefix + key)
        else:
            from airflow.models.variable import Variable as DbVariable

            DbVariable.delete(self.prefix + key)


class AssetHeadStore:
    """A :class:`~airflow_provider_xlikes.incremental.HeadStore` on an asset's state store accessor
    (``context["asset_state_store"][asset]``, Airflow 3.3+)."""

    def __init__(self, accessor: Any) -> None:
        self.accessor = accessor

    def __repr__(self) -> str:
        return f"<AssetHeadStore {self.accessor!r}>"

    def load(self, key: str) -> Any:
        return self.accessor.get(key)

    def save(self, key: str, value: Any) -> None:
        self.accessor.set(key, value)

    def delete(self, key: str) -> None:
        self.accessor.delete(key)
