"""An incremental scan stopped at any page (a deferral, a crash after a checkpoint) and resumed in
another process from its JSON state yields the same new records and the same next head."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import pytest

from airflow_provider_xlikes.incremental import Head, IncrementalScan
from airflow_provider_xlikes.pages import Page


def listing_pages(ids: list[str], size: int, start: int = 0) -> Iterator[Page]:
    """``ids`` in pages of ``size`` from page ``start`` (its token: ``"p<start>"``)."""
    for number in range(start, (len(ids) + size - 1) // size or 1):
        chunk = ids[number * size : (number + 1) * size]
        more = (number + 1) * size < len(ids)
        yield Page(
            data=[{"id": item} for item in chunk],
            includes={},
            errors=[],
            meta={"next_token": f"p{number + 1}"} if more else {},
            number=number + 1,
            pagination_token=f"p{number}" if number else None,
        )


def page_of(token: str | None) -> int:
    return int(token[1:]) if token else 0


def changed_listing(rng: random.Random) -> tuple[list[str], list[str]]:
    """(the listing a head was taken from, the listing now): likes added at the top, some unliked,
    a few re-liked."""
    old = [f"u{n}" for n in range(rng.randint(0, 120))]
    now = [item for item in old if rng.random() > 0.15]
    for item in rng.sample(old, min(len(old), rng.randint(0, 3))):
        if item in now:
            now.remove(item)
            now.insert(0, item)  # a re-like moves to the top
    new = [f"n{n}" for n in range(rng.randint(0, 70))]
    return old, new + now


@pytest.mark.parametrize("seed", range(40))
def test_a_scan_resumed_at_any_page_gives_what_an_uninterrupted_scan_gives(seed: int) -> None:
    rng = random.Random(seed)
    old, now = changed_listing(rng)
    head = Head.of(old) if rng.random() > 0.1 else None  # sometimes the first run: a backfill
    size = rng.choice([3, 7, 10])
    whole = IncrementalScan(head, max_pages=rng.choice([None, 4, 10]))
    expected = [record["id"] for page in whole.pages(listing_pages(now, size)) for record in page.data]

    for stop_after in range(1, 12):  # yielded pages before the interruption
        scan = IncrementalScan(head, max_pages=whole.max_pages)
        got: list[str] = []
        next_token: str | None = None
        pages = scan.pages(listing_pages(now, size))
        for count, page in enumerate(pages, start=1):
            got.extend(record["id"] for record in page.data)
            next_token = page.next_token
            if count == stop_after:
                break
        else:
            continue  # finished before the interruption
        state = json.loads(json.dumps(scan.state()))  # it travels as JSON
        token = scan.restart_token(next_token)
        pages.close()
        resumed = IncrementalScan.resume(state)
        got.extend(
            record["id"] for page in resumed.pages(listing_pages(now, size, page_of(token))) for record in page.data
        )
        assert got == expected, (seed, stop_after)
        assert resumed.result.head == whole.result.head
        assert resumed.result.stop == whole.result.stop
        assert resumed.result.new_count == whole.result.new_count
