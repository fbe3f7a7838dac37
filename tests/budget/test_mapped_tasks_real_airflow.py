"""Acceptance: 20 mapped tasks on one token under the real scheduler share one budget per window
(at most one 429 per window, every id once)."""

from __future__ import annotations

import pytest
from window_meter import WindowMeter

from airflow_provider_xlikes.hooks.budget import budget_fingerprint

POSTS = [str(1_900_000_000_000_000_000 + i) for i in range(20)]
LIKERS = 400
PAGE = 20  # 20 pages per post: 400 requests, five and a half windows of 75
DAG_ID = "xlikes_budget_mapped"
DAG_SOURCE = f'''
import pendulum
from airflow.sdk import DAG

from airflow_provider_xlikes import XLikingUsersOperator

with DAG("{DAG_ID}", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    XLikingUsersOperator.partial(task_id="likers", max_results={PAGE}).expand(tweet_id={POSTS!r})
'''


@pytest.mark.slow
def test_mapped_tasks_on_one_token_take_at_most_one_429_per_window(x_sandbox_factory, airflow_cluster_factory) -> None:
    sandbox = x_sandbox_factory(
        window_seconds=5,
        rate_limit_key="token",
        clean=True,
        post_likes=[f"{post}:{LIKERS}" for post in POSTS],
        liking_users_cap=None,  # pages past the 100 likers X lists
    )
    cluster = airflow_cluster_factory(parallelism=4, env={"AIRFLOW_CONN_X_DEFAULT": sandbox.conn_json("bearer")})
    with WindowMeter(sandbox) as meter:
        run = cluster.run_dag(DAG_ID, DAG_SOURCE, timeout=240)
    assert run.state == "success", cluster.diagnosis(DAG_ID, run.run_id)
    run_id, elapsed = run.run_id, run.seconds
    for index, post in enumerate(POSTS):
        records = cluster.xcom(DAG_ID, run_id, "likers", map_index=index)
        assert [record["id"] for record in records] == sandbox.admin.likers(post)
    counts = sandbox.admin.request_counts()
    rejected = counts["by_status"].get("429", 0)
    assert counts["by_endpoint"]["liking_users"] == len(POSTS) * LIKERS // PAGE + rejected
    windows = meter.report()
    print(
        f"{len(windows)} windows in {elapsed:.0f} s (requests, 429s): {[(w.requests, w.rejected) for w in windows]};"
        f" 429s {rejected}; ceiling use {meter.ceiling_use(75):.0%}"
    )
    assert all(window.rejected <= 1 for window in windows), windows
    # the share of the ceiling used is a speed figure (load moves it): benchmarks/, not here
    # the tasks shared one budget, in a Variable named by the token's fingerprint (never the token)
    token = sandbox.credentials["bearer_token"]
    name = f"xlikes_ratelimit__{budget_fingerprint(sandbox.url, token)}__liking_users"
    assert cluster.api("GET", f"/variables/{name}")["key"] == name
