"""The head-tracking module against the sandbox: what is new since a head, as the listing changes."""

from __future__ import annotations

import logging

import pytest
from helpers import featured

from airflow_provider_xlikes.endpoints import LIKED_TWEETS, LIKING_USERS
from airflow_provider_xlikes.hooks.x import XHook
from airflow_provider_xlikes.incremental import HEAD_SIZE, Head, IncrementalScan, Stop, new_records

pytestmark = pytest.mark.x_sandbox(clean=True, liking_users_cap=None)  # listings past the 100 likers X lists


@pytest.fixture
def hook(x_sandbox, monkeypatch) -> XHook:
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", x_sandbox.conn_json("oauth2_user"))
    return XHook()


def listing(hook: XHook, post: str, page_size: int = 100):
    return hook.iter_listing(LIKING_USERS, post, max_results=page_size)


def test_new_likes_are_yielded_once_and_the_scan_stops_at_the_head(x_sandbox, hook) -> None:
    post = featured(x_sandbox, 333)
    head = Head.of(x_sandbox.admin.likers(post))
    added = x_sandbox.admin.add_likes(post, 130)  # more than a page of 100: the scan reads a second page
    before = x_sandbox.admin.total_requests("liking_users")
    records, result = new_records(listing(hook, post), head)
    assert [r["id"] for r in records] == added
    assert result.stop is Stop.HEAD and result.confirmed and result.marker == head.ids[0]
    assert result.head == Head.of(x_sandbox.admin.likers(post)) and len(result.head) == HEAD_SIZE
    assert x_sandbox.admin.total_requests("liking_users") - before == 2  # pages 1 and 2 of 4


def test_nothing_new_costs_one_request(x_sandbox, hook) -> None:
    post = featured(x_sandbox, 333)
    head = Head.of(x_sandbox.admin.likers(post))
    before = x_sandbox.admin.total_requests("liking_users")
    records, result = new_records(listing(hook, post), head)
    assert records == [] and result.stop is Stop.HEAD and result.head == head
    assert x_sandbox.admin.total_requests("liking_users") - before == 1


def test_unliked_newest_records_and_re_likes(x_sandbox, hook) -> None:
    post = featured(x_sandbox, 333)
    old = x_sandbox.admin.likers(post)
    head = Head.of(old)
    x_sandbox.admin.remove_likes(post, 3)  # the three newest of the head unlike
    added = x_sandbox.admin.add_likes(post, 4)
    x_sandbox.admin.remove_likes(post, user_ids=[old[5]])
    x_sandbox.admin.add_likes(post, user_ids=[old[5]])  # a head user likes again: at the top, new
    records, result = new_records(listing(hook, post, 10), head)
    assert [r["id"] for r in records] == [old[5], *added]
    assert result.stop is Stop.HEAD and result.marker == old[3]
    assert list(result.head.ids) == x_sandbox.admin.likers(post)[:HEAD_SIZE]


def test_every_head_record_unliked_ends_in_a_bounded_overlap_scan_said_in_the_log(x_sandbox, hook, caplog) -> None:
    post = featured(x_sandbox, 333)
    head = Head.of(x_sandbox.admin.likers(post))
    x_sandbox.admin.remove_likes(post, HEAD_SIZE)
    before = x_sandbox.admin.total_requests("liking_users")
    with caplog.at_level(logging.WARNING, logger="airflow_provider_xlikes.incremental"):
        records, result = new_records(listing(hook, post, 10), head, max_pages=3)
    assert result.stop is Stop.OVERLAP and len(records) == 30
    assert x_sandbox.admin.total_requests("liking_users") - before == 3
    assert "none of the 20 head ids found in the first 3 page(s)" in caplog.text


def test_no_head_reads_the_whole_listing_and_an_empty_head_takes_everything(x_sandbox, hook) -> None:
    post = featured(x_sandbox, 7)
    records, result = new_records(listing(hook, post), None)
    assert [r["id"] for r in records] == x_sandbox.admin.likers(post) and result.stop is Stop.END
    added = x_sandbox.admin.add_likes(post, 2)
    records, result = new_records(listing(hook, post), result.head)
    assert [r["id"] for r in records] == added


def test_only_the_last_head_record_left_is_the_boundary_once_nothing_better_comes(x_sandbox, hook) -> None:
    post = featured(x_sandbox, 7)  # a short listing: the head is all of it
    old = x_sandbox.admin.likers(post)
    head = Head.of(old)
    x_sandbox.admin.remove_likes(post, user_ids=old[:-1])
    added = x_sandbox.admin.add_likes(post, 3)
    scan = IncrementalScan(head)
    records = list(scan.records(listing(hook, post)))
    assert [r["id"] for r in records] == added
    assert scan.result.stop is Stop.HEAD and scan.result.marker == old[-1]


def test_a_users_liked_posts(x_sandbox, hook) -> None:
    me = x_sandbox.user_id
    head = Head.of(x_sandbox.admin.liked(me))
    post = featured(x_sandbox, 7)
    x_sandbox.admin.add_likes(post, user_ids=[me])
    records, result = new_records(hook.iter_listing(LIKED_TWEETS, me), head)
    assert [r["id"] for r in records] == [post] and result.stop is Stop.HEAD


def test_heads_round_trip_as_json_and_bad_ones_are_rejected() -> None:
    head = Head.of(["3", "2", "2", "1"])
    assert head.ids == ("3", "2", "1") and Head.from_json(head.to_json()) == head
    assert Head.from_json(None) is None
    with pytest.raises(ValueError, match="'head'"):
        Head.from_json([1, 2])
