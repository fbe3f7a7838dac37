"""The hook's page model reads every real recorded response without losing anything."""

from __future__ import annotations

import json

import pytest
from recorded import RECORDED, academictwitter, all_listing_recordings

from airflow_provider_xlikes import Page, RateLimit
from airflow_provider_xlikes.pages import IncludesIndex, join_includes

RECORDINGS = all_listing_recordings()


@pytest.mark.parametrize("recording", RECORDINGS, ids=[r.source for r in RECORDINGS])
def test_every_recorded_page_parses_without_loss(recording) -> None:
    page = Page.from_payload(recording.body)
    body = recording.body
    assert page.data == body.get("data", [])
    assert page.result_count == body["meta"]["result_count"]
    assert page.next_token == body["meta"].get("next_token")
    assert page.errors == body.get("errors", [])
    included = body.get("includes", {})
    assert page.included_tweets == included.get("tweets", []) + included.get("posts", [])
    assert page.included_users == included.get("users", [])
    if recording.headers:
        limit = RateLimit.from_headers(recording.headers)
        assert limit is not None
        assert limit.limit == 75
        assert limit.remaining == int(recording.headers["x-rate-limit-remaining"])
        assert limit.reset_at == float(recording.headers["x-rate-limit-reset"])


def test_short_page_with_next_token_is_not_the_last() -> None:
    # 96 items asked without max_results (default 100), and still a next_token
    (liked,) = [r for r in RECORDINGS if r.source == "test_client_get_liked_tweets.yaml"]
    page = Page.from_payload(liked.body)
    assert len(page.data) == 96
    assert page.next_token == "7140dibdnow9c7btw4543y9ogasjr42z236pfnyg7hsts"


def test_partial_errors_and_includes_of_a_200_are_kept() -> None:
    path = RECORDED / "cjbarrie_academictwitteR/tests/testthat/api.twitter.com/2/users/7820042/liked_tweets-b16880.R"
    page = Page.from_payload(academictwitter(path).body)
    assert len(page.data) == 30
    assert len(page.errors) == 2
    assert {e["type"] for e in page.errors} == {"https://api.twitter.com/2/problems/resource-not-found"}
    assert any(e.get("title") == "Forbidden" for e in page.errors)
    assert {"users", "tweets", "places"} <= set(page.includes)
    assert page.included_tweets


def test_last_page_with_only_previous_token_has_no_data_and_ends_the_listing() -> None:
    path = RECORDED / "cjbarrie_academictwitteR/tests/testthat/api.twitter.com/2/users/7820042/liked_tweets-bb46f0.R"
    page = Page.from_payload(academictwitter(path).body)
    assert page.data == []
    assert page.next_token is None
    assert page.previous_token == "77qpymm88g5h9vqkluocnrr6in9ag4599s6bnf0dpu1pv"


def test_includes_posts_is_read_like_includes_tweets() -> None:
    page = Page.from_payload(
        {"data": [{"id": "1"}], "includes": {"posts": [{"id": "9", "text": "x"}]}, "meta": {"result_count": 1}}
    )
    assert page.included_tweets == [{"id": "9", "text": "x"}]


def test_joining_a_recorded_page_leaves_no_included_user_out() -> None:
    """One recorded page includes the author of a referenced post only: it is joined to that post."""
    checked = 0
    for recording in RECORDINGS:
        if "liked_tweets" not in recording.url + recording.source or not recording.body.get("includes"):
            continue
        page = Page.from_payload(recording.body)
        index = IncludesIndex(page)
        joined = json.dumps([join_includes("tweets", post, index) for post in page.data])
        left_out = [u["id"] for u in page.included_users if f'"id": "{u["id"]}"' not in joined]
        assert left_out == [], recording.source
        checked += len(page.included_users)
    assert checked >= 40
