"""The example DAGs under ``dag.test()`` against the sandbox, each with its defaults (or what a
default sandbox has), as a user runs them; assertions against the sandbox's ground truth."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pendulum
import pytest
from helpers import featured
from system_helpers import QUICKSTART_POST

from airflow_provider_xlikes import iter_records


@pytest.fixture
def bearer(x_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", x_sandbox.conn_json("bearer"))
    return x_sandbox


@pytest.fixture
def user_ctx(x_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", x_sandbox.conn_json("oauth2_user"))
    return x_sandbox


def _ids(manifest: dict[str, Any]) -> list[str]:
    ids = [record["id"] for record in iter_records(manifest)]
    assert len(ids) == len(set(ids)) == manifest["record_count"]
    return ids


def test_daily_likers_etl_maps_over_posts_into_object_storage(
    bearer: Any, example_dag: Any, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XLIKES_EXAMPLES_OUTPUT", f"s3://aws_default@{s3_bucket}/examples")
    dag = example_dag("xlikes_example_daily_likers_etl")
    result = dag.run()  # the default: the quickstart post
    assert result.state == "success", result.states()
    manifest = result.xcom("liking_users", 0)
    assert manifest["files"][0].startswith(f"s3://aws_default@{s3_bucket}/examples/daily_likers/")
    assert set(_ids(manifest)) <= set(bearer.admin.likers(QUICKSTART_POST)) and manifest["record_count"] > 0
    assert result.xcom("summarize") == {
        "likers_per_post": {QUICKSTART_POST: manifest["record_count"]},
        "liked_several": [],
    }
    # several posts, from the params: one mapped task each; the summary reads every manifest
    posts = [featured(bearer, 333), featured(bearer, 7), featured(bearer, 0)]
    result = dag.run(conf={"post_ids": posts}, logical_date=pendulum.datetime(2026, 1, 2, tz="UTC"))
    assert result.state == "success", result.states()
    manifests = [result.xcom("liking_users", i) for i in range(3)]
    assert [m["tweet_id"] for m in manifests] == posts
    assert _ids(manifests[1]) == bearer.admin.likers(posts[1]) and manifests[2]["record_count"] == 0
    collected = [set(_ids(m)) for m in manifests]
    summary = result.xcom("summarize")
    assert summary["likers_per_post"] == {m["tweet_id"]: m["record_count"] for m in manifests}
    assert summary["liked_several"] == sorted(collected[0] & collected[1])


def test_liked_posts_incremental_joined_parquet(user_ctx: Any, example_dag: Any) -> None:
    dag = example_dag("xlikes_example_liked_posts_parquet")
    me = user_ctx.user_id
    first = dag.run(logical_date=pendulum.datetime(2026, 1, 1, tz="UTC"))
    assert first.state == "success", first.states()
    manifest = first.xcom("liked_posts")
    assert manifest["output_format"] == "parquet" and manifest["incremental"]["backfill"] is True
    records = list(iter_records(manifest))
    assert [r["id"] for r in records] == user_ctx.admin.liked(me)  # the backfill: every liked post
    joined = [r for r in records if "author" in (r.get("includes") or {})]
    assert joined and all(r["includes"]["author"]["id"] == r["author_id"] for r in joined)
    assert sum(first.xcom("new_posts_by_author").values()) == len(records)
    # two posts liked since: the next run collects exactly those, newest first
    new = [featured(user_ctx, 7), featured(user_ctx, 0)]
    for post in new:
        user_ctx.admin.add_likes(post, user_ids=[me])
    second = dag.run(logical_date=pendulum.datetime(2026, 1, 1, 1, tz="UTC"))
    assert second.state == "success", second.states()
    assert [r["id"] for r in iter_records(second.xcom("liked_posts"))] == new[::-1]
    assert sum(second.xcom("new_posts_by_author").values()) == 2


def test_the_sensor_waits_for_new_likes_then_the_new_likers_are_processed(bearer: Any, example_dag: Any) -> None:
    dag = example_dag("xlikes_example_wait_for_likes", {"POKE_INTERVAL = 60": "POKE_INTERVAL = 1"})
    added: list[str] = []

    def add_likes_once_the_sensor_waits() -> None:
        deadline = time.monotonic() + 120
        # the sensor's baseline (its first poke), then a poll of its trigger
        while bearer.admin.total_requests("liking_users") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        added.extend(bearer.admin.add_likes(QUICKSTART_POST, 3))

    adder = threading.Thread(target=add_likes_once_the_sensor_waits, daemon=True)
    adder.start()
    result = dag.run()
    adder.join(timeout=10)
    assert result.state == "success", result.states()
    likers = result.xcom("new_likers")
    assert [user["id"] for user in likers] == added
    assert result.xcom("profile") == {
        "usernames": [user["username"] for user in likers],
        "followers": sum(user["public_metrics"]["followers_count"] for user in likers),
    }


def test_the_asset_scheduled_dag_collects_the_likers_when_run_by_hand(bearer: Any, example_dag: Any) -> None:
    result = example_dag("xlikes_example_on_new_likes").run()
    assert result.state == "success", result.states()
    assert result.xcom("what_arrived") == 0  # no event: a manual run
    manifest = result.xcom("collect_new_likers")
    assert manifest["incremental"]["backfill"] is True
    assert manifest["record_count"] > 0 and set(_ids(manifest)) <= set(bearer.admin.likers(QUICKSTART_POST))


def test_the_backfill_stops_within_its_cost_budget(x_sandbox_factory: Any, example_dag: Any, monkeypatch: Any) -> None:
    sandbox = x_sandbox_factory(me_likes=1_500)  # more liked posts than $0.50 of owned reads buys
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("oauth2_user"))
    result = example_dag("xlikes_example_backfill_within_budget").run()
    assert result.state == "success", result.states()
    manifest = result.xcom("backfill")
    report = result.xcom("report")
    posts = report["posts"]
    assert _ids(manifest) == sandbox.admin.liked(sandbox.user_id)[:posts]  # the newest, none twice
    assert report["complete"] is False and report["stopped_by"] == "max_cost_usd"
    assert 0 < report["estimated_cost_usd"] <= 0.50
    assert manifest["partial"]["reason"] == "max_cost_usd"
    # never a page request past the budget: each request read a page that is in the output
    assert sandbox.admin.total_requests("liked_tweets") == manifest["pages"] == report["requests"]


def test_like_and_unlike_from_the_default_file_and_from_another(
    user_ctx: Any, example_dag: Any, tmp_path: Path
) -> None:
    dag = example_dag("xlikes_example_like_from_file")
    me = user_ctx.user_id
    result = dag.run()  # the file beside the DAG: like, then unlike, the quickstart post
    assert result.state == "success", result.states()
    assert result.xcom("like", 0) == {QUICKSTART_POST: {"liked": True, "applied": True}}
    assert result.xcom("unlike", 0) == {QUICKSTART_POST: {"liked": False, "applied": True}}
    assert me not in user_ctx.admin.likers(QUICKSTART_POST)
    counts = user_ctx.admin.request_counts()["by_endpoint"]
    assert counts["likes_create"] == 1 and counts["likes_delete"] == 1
    # a file with likes only: nothing to unlike is a skipped task, and the run succeeds
    post = featured(user_ctx, 7)
    path = tmp_path / "likes.csv"
    path.write_text(f"like,{post}\n", encoding="utf-8")
    result = dag.run(conf={"likes_file": path.as_uri()}, logical_date=pendulum.datetime(2026, 1, 2, tz="UTC"))
    assert result.state == "success", result.states()
    assert result.xcom("like", 0) == {post: {"liked": True, "applied": True}}
    assert result.states()[("unlike", -1)] == "skipped"
    assert user_ctx.admin.likers(post)[0] == me


def test_the_demo_dag_runs_against_a_default_sandbox(
    user_ctx: Any, example_dag: Any, examples_output: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It used to like posts that only the demo script's own sandbox world has."""
    monkeypatch.setenv("XLIKES_DEMO_OUTPUT", examples_output)
    me = user_ctx.user_id
    newest = user_ctx.admin.liked(me)[0]
    result = example_dag("xlikes_demo").run()
    assert result.state == "success", result.states()
    assert result.xcom("unlike") == {newest: {"liked": False, "applied": True}}
    assert result.xcom("like") == {newest: {"liked": True, "applied": True}}
    assert user_ctx.admin.liked(me)[0] == newest  # liked again: the likes end as they began
