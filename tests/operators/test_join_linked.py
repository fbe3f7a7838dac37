"""Joined means linked: with ``join_includes=True`` each record gets what its expansions include,
at a sandbox with its defaults (``user.fields`` not asking for the id fields the joins need)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_xlikes.endpoints import LIKED_TWEETS, LIKING_USERS, join_fields


@pytest.fixture
def bearer(x_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", x_sandbox.conn_json("bearer"))
    return x_sandbox


def test_the_operator_asks_for_the_id_fields_its_joins_need_in_the_connections_naming():
    lists = {"user_fields": ["created_at"], "expansions": ["pinned_tweet_id", "affiliation.user_id"]}
    assert join_fields(LIKING_USERS, lists, "tweet")["user_fields"] == ["created_at", "affiliation", "pinned_tweet_id"]
    # the "post" spec has no such user fields: there the expansion alone brings them
    assert join_fields(LIKING_USERS, {**lists, "expansions": ["pinned_post_id"]}, "post")["user_fields"] == [
        "created_at"
    ]
    # a field already asked for (in either naming) is not asked for twice
    lists = {"tweet_fields": ["author_id"], "expansions": ["author_id", "referenced_tweets.id.author_id"]}
    assert join_fields(LIKED_TWEETS, lists, "tweet")["tweet_fields"] == ["author_id", "referenced_tweets"]
    assert join_fields(LIKED_TWEETS, {"expansions": []}, "tweet") == {"expansions": []}


def test_liking_users_with_pinned_posts_joined_at_the_default_sandbox(bearer: Any, run_dag: Any) -> None:
    post = next(str(p["id"]) for p in bearer.admin.world()["featured_posts"] if p["likers"] == 333)
    result = run_dag(
        f"""
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes.operators.likes import XLikingUsersOperator

with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    XLikingUsersOperator(task_id="t", tweet_id={post!r}, expansions=["pinned_tweet_id"], join_includes=True)
"""
    )
    assert result.state == "success"
    users = result.xcom("t")
    missing = {str(e.get("resource_id") or e.get("value")) for e in result.xcom("t", key="errors") or []}
    assert users and [u["id"] for u in users] == bearer.admin.likers(post)[: len(users)]  # X lists 100 at most
    with_pinned = [u for u in users if "pinned_tweet_id" in u]
    joined = [u for u in users if "includes" in u]
    assert joined, "some likers have a pinned post"
    # every user whose pinned post exists has it under includes; the others are partial errors
    assert [u["id"] for u in joined] == [u["id"] for u in with_pinned if u["pinned_tweet_id"] not in missing]
    assert all(u["includes"]["pinned_tweet"]["id"] == u["pinned_tweet_id"] for u in joined)
