"""A listing endpoint is added in one place, the endpoint table: declared there (a user's bookmarks,
``GET /2/users/{id}/bookmarks``), the sandbox routes, rate-limits, counts and serves it, and the hook
pages it, validates its lists and knows it has no count to expect, with no other module touched."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_xlikes.endpoints import BY_LABEL, ENDPOINTS, TWEET_LISTS, WINDOW_SECONDS, Endpoint, RateLimitRule
from airflow_provider_xlikes.exceptions import XValidationError
from airflow_provider_xlikes.sandbox import SandboxInThread, start_sandbox_thread

BOOKMARKS = Endpoint(
    name="bookmarks",
    method="GET",
    path="/2/users/{id}/bookmarks",
    id_argument="user_id",
    records="tweets",
    page_size=(1, 100),
    lists=TWEET_LISTS,
    source_field="bookmarked_by_user_id",
    scopes=("tweet.read", "users.read", "bookmark.read"),
    limits=(RateLimitRule(180, WINDOW_SECONDS),),
    private_to_owner=True,
)


@pytest.fixture
def sandbox_with_bookmarks(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxInThread]:
    monkeypatch.setitem(ENDPOINTS, BOOKMARKS.name, BOOKMARKS)
    monkeypatch.setitem(BY_LABEL, BOOKMARKS.label, BOOKMARKS)
    sandbox = start_sandbox_thread(
        clean=True, me_likes=250, scopes="tweet.read users.read like.read bookmark.read offline.access"
    )
    try:
        yield sandbox
    finally:
        sandbox.stop()


def test_an_endpoint_declared_in_the_table_is_paged_by_the_hook(sandbox_with_bookmarks: Any, connect: Any) -> None:
    sandbox = sandbox_with_bookmarks
    hook = connect(sandbox, "oauth2_user")
    me = sandbox.user_id
    pages = list(hook.iter_listing(BOOKMARKS, me, max_results=100, tweet_fields=["created_at"]))
    ids = [post["id"] for page in pages for post in page.data]
    assert ids == sandbox.admin.liked(me)  # the sandbox serves a new listing from its likes world
    assert len(ids) == 250 == len(set(ids))
    assert all("created_at" in post for page in pages for post in page.data)
    counts = sandbox.admin.request_counts()
    assert counts["by_endpoint"]["bookmarks"] == len(pages) == 3
    assert pages[-1].rate_limit is not None and pages[-1].rate_limit.limit == 180  # the table's limits, served
    assert hook.expected_total(BOOKMARKS, me) is None  # no count lookup declared: none is sent
    assert sandbox.admin.total_requests() == 3  # the pages only


def test_a_list_the_new_endpoint_does_not_take_is_refused_before_any_request(
    sandbox_with_bookmarks: Any, connect: Any
) -> None:
    sandbox = sandbox_with_bookmarks
    hook = connect(sandbox, "oauth2_user")
    with pytest.raises(XValidationError, match="bookmarks takes no bogus_fields"):
        hook.iter_listing(BOOKMARKS, sandbox.user_id, bogus_fields=["x"])
    with pytest.raises(XValidationError, match="max_results"):
        hook.iter_listing(BOOKMARKS, sandbox.user_id, max_results=101)
    assert sandbox.admin.total_requests() == 0
