"""The hook against a misbehaving server: a real HTTP server that answers what a test tells it to.

The sandbox behaves like X; these servers do not, on purpose: a cursor that repeats pages forever,
200 responses of the wrong shape. Every request they receive is recorded, so a test can check how
many were sent and with which query.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_xlikes.exceptions import XCursorLoopError, XMalformedResponseError


def _page(data: Any, next_token: str | None = None) -> bytes:
    meta: dict[str, Any] = {"result_count": len(data) if isinstance(data, list) else 1}
    if next_token:
        meta["next_token"] = next_token
    return json.dumps({"data": data, "meta": meta}).encode()


@pytest.mark.reliability
def test_a_next_token_that_repeats_pages_fails_instead_of_paging_forever(hostile, record_reliability) -> None:
    server, hook = hostile(_page([{"id": "1"}], next_token="same-cursor"))
    with pytest.raises(XCursorLoopError, match="next_token already seen") as info:
        hook.get_liking_users("20")
    record_reliability(
        "hostile", "a next_token that repeats", requests=len(server.queries), outcome=type(info.value).__name__
    )
    assert len(server.queries) == 2  # the first page, then the page that repeated its cursor
    assert "2 requests" in str(info.value)


@pytest.mark.reliability
def test_a_cursor_that_comes_back_later_is_a_loop_too(hostile, record_reliability) -> None:
    cursors = {"": "a", "a": "b", "b": "a"}

    def body(query: dict[str, list[str]]) -> bytes:
        token = query.get("pagination_token", [""])[0]
        return _page([{"id": token or "0"}], next_token=cursors[token])

    server, hook = hostile(body)
    with pytest.raises(XCursorLoopError) as info:
        hook.get_liking_users("20")
    record_reliability(
        "hostile",
        "a cursor that comes back 2 pages later",
        requests=len(server.queries),
        outcome=type(info.value).__name__,
    )
    assert len(server.queries) == 3


def test_resuming_from_a_cursor_that_the_server_sends_again_is_a_loop(hostile) -> None:
    server, hook = hostile(_page([{"id": "1"}], next_token="resume-here"))
    with pytest.raises(XCursorLoopError):
        hook.get_liking_users("20", pagination_token="resume-here")
    assert len(server.queries) == 1


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (json.dumps({"data": {"id": "1", "name": "x"}, "meta": {"result_count": 1}}).encode(), "data is not a list"),
        (json.dumps({"data": ["1", "2"], "meta": {"result_count": 2}}).encode(), "data is not a list of objects"),
        (b"", "empty body"),
        (b"{}", "no meta.result_count"),
        (b"[]", "body is not an object"),
        (b"<html>busy</html>", "body is not JSON"),
        (json.dumps({"data": [], "includes": [1], "meta": {"result_count": 0}}).encode(), "includes is not an object"),
        (
            json.dumps({"data": [{"id": "1"}], "errors": "x", "meta": {"result_count": 1}}).encode(),
            "errors is not a list",
        ),
    ],
)
@pytest.mark.reliability
def test_malformed_200_responses_are_retried_then_raised_never_taken_as_data(
    hostile, body, detail, record_reliability
) -> None:
    server, hook = hostile(body)
    with pytest.raises(XMalformedResponseError) as info:
        hook.get_liking_users("20")
    record_reliability(
        "hostile",
        f"a 200 with: {detail}",
        requests=len(server.queries),
        outcome=f"{type(info.value).__name__} after the retries, never data",
    )
    assert len(server.queries) == 3  # retried like a 5xx, within the hook's attempts
    assert "Malformed response" in str(info.value)
    assert detail in str(info.value)


def test_an_empty_200_body_is_not_the_end_of_a_listing(hostile) -> None:
    server, hook = hostile(b"")
    with pytest.raises(XMalformedResponseError, match="empty body"):
        list(hook.iter_liking_users("20"))
    assert server.queries  # it was sent, retried and refused: not 0 records of a complete listing


# ---------------------------------------------------------------------------- what each naming sends
def _sent(server: Any) -> dict[str, str]:
    return {k: v[0] for k, v in server.queries[-1].items()}


def test_the_post_naming_sends_post_names(hostile, logs) -> None:
    server, hook = hostile(_page([]), field_naming="post")
    hook.get_liking_users(
        "20",
        user_fields=["created_at", "pinned_tweet_id"],
        tweet_fields=["created_at", "author_id", "note_tweet"],
        expansions=["pinned_tweet_id", "most_recent_tweet_id", "affiliation.user_id"],
    )
    sent = _sent(server)
    assert "tweet.fields" not in sent
    assert sent["post.fields"] == "created_at,author_id,note_post"
    assert sent["expansions"] == "pinned_post_id,most_recent_post_id,affiliation"
    assert sent["user.fields"] == "created_at,pinned_tweet_id"
    # names v2.167 lacks, with no counterpart: sent as given, one warning naming the spec
    lines = [line for line in logs().splitlines() if "openapi-v2.167.json" in line]
    assert any("post.fields: author_id not listed" in line for line in lines), lines
    assert any("user.fields: pinned_tweet_id not listed" in line for line in lines), lines
    hook.get_liking_users("20", tweet_fields=["author_id"])
    assert [line for line in logs().splitlines() if "openapi-v2.167.json" in line] == lines  # warned once


def test_the_tweet_naming_sends_tweet_names(hostile) -> None:
    server, hook = hostile(_page([]))
    hook.get_liked_tweets(
        "1",
        tweet_fields=["created_at", "note_post"],
        expansions=["referenced_posts", "edit_history_post_ids", "author_id"],
    )
    sent = _sent(server)
    assert sent["tweet.fields"] == "created_at,note_tweet"
    assert sent["expansions"] == "referenced_tweets.id,edit_history_tweet_ids,author_id"


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("name", "kept"),
    [("\ud83d", "\ufffd"), ("Ada \ud83d", "Ada \ufffd"), ("\ude00x", "\ufffdx"), ("ok \U0001f600", "ok \U0001f600")],
)
def test_a_record_with_half_an_emoji_is_kept_and_counted(hostile, record_reliability, name: str, kept: str) -> None:
    # the body: valid JSON (Python's json reads it) that msgspec refuses
    body = json.dumps({"data": [{"id": "1", "name": name}, {"id": "2", "name": "Bo"}], "meta": {"result_count": 2}})
    server, hook = hostile(body.encode())
    (page,) = hook.iter_liking_users("20")
    record_reliability(
        "hostile",
        f"a record whose name is {json.dumps(name)}",
        requests=len(server.queries),
        outcome=f"{len(page.data)} records kept, broken_unicode={page.broken_unicode}",
    )
    assert page.data == [{"id": "1", "name": kept}, {"id": "2", "name": "Bo"}]
    assert page.broken_unicode == (0 if name == kept else 1)
    assert len(server.queries) == 1  # kept at once: not retried as malformed
