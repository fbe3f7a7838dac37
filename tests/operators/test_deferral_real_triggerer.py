"""Deferral on a real Airflow: scheduler, dag-processor, api-server and triggerer.

Two deferrable listings on one token, one to XCom and one to files, run side by side against the
sandbox's time-scaled windows (75 requests per 30 s). Together they need 200 requests, three
windows: each task defers at least once and resumes on a worker from its cursor. The real
triggerer keeps the kwargs of ``defer()`` that ``dag.test()`` drops.

The tasks keep the default ``defer_after`` (10 s): with the windows' 20 s or more left after 75
requests, every deferral is longer. A deferral of a few seconds can resume before the scheduler
has seen the deferred process's exit, and Airflow then fails the resumed try as "state changed
externally" (seen here on a loaded machine with 5 s deferrals; docs/deferral-resume-incremental.md).
"""

from __future__ import annotations

from typing import Any

import pytest
from window_meter import WindowMeter

from airflow_provider_xlikes.output import iter_records
from airflow_provider_xlikes.version_compat import AIRFLOW_V_3_2_PLUS

XCOM_POST = "1354143047324299264"
FILES_POST = "1354143047324299265"
LIKERS = 10_000  # 100 requests each
DAG_ID = "xlikes_deferral_real"


def _dag_source(output: str) -> str:
    return f'''
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import XLikingUsersOperator

with DAG("{DAG_ID}", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    XLikingUsersOperator(
        task_id="to_xcom", tweet_id="{XCOM_POST}", deferrable=True, xcom_max_bytes=None,
    )
    XLikingUsersOperator(
        task_id="to_files", tweet_id="{FILES_POST}", deferrable=True,
        output_path={output!r}, part_records=2000,
    )
'''


@pytest.mark.slow
def test_deferrable_listings_cross_windows_on_the_real_triggerer(
    x_sandbox_factory: Any, airflow_cluster_factory: Any, tmp_path: Any
) -> None:
    sandbox = x_sandbox_factory(
        window_seconds=30,
        rate_limit_key="token",
        clean=True,
        post_likes=[f"{XCOM_POST}:{LIKERS}", f"{FILES_POST}:{LIKERS}"],
        liking_users_cap=None,  # pages past the 100 likers X lists
    )
    cluster = airflow_cluster_factory(parallelism=4, env={"AIRFLOW_CONN_X_DEFAULT": sandbox.conn_json("bearer")})
    with WindowMeter(sandbox) as meter:
        run = cluster.run_dag(DAG_ID, _dag_source((tmp_path / "likers").as_uri()), timeout=300)
    assert run.state == "success", cluster.diagnosis(DAG_ID, run.run_id)
    run_id, elapsed = run.run_id, run.seconds
    truth = {post: sandbox.admin.likers(post, limit=LIKERS) for post in (XCOM_POST, FILES_POST)}
    assert [u["id"] for u in cluster.xcom(DAG_ID, run_id, "to_xcom")] == truth[XCOM_POST]
    manifest = cluster.xcom(DAG_ID, run_id, "to_files")
    assert [r["id"] for r in iter_records(manifest)] == truth[FILES_POST]
    assert manifest["complete"] is True and manifest["record_count"] == LIKERS
    windows = meter.report()
    counts = sandbox.admin.request_counts()
    assert counts["by_endpoint"]["liking_users"] == 2 * LIKERS // 100  # one request per page, none repeated
    assert counts["by_status"].get("429", 0) == 0  # every window was waited for, not hit
    assert len(windows) >= 3
    for task in ("to_xcom", "to_files"):
        if not AIRFLOW_V_3_2_PLUS:  # 3.1's task logs have no ::group:: markers to time the worker runs by
            events = [str(e.get("event", "")) for e in cluster.task_log(DAG_ID, run_id, task)]
            assert any(e.startswith("Pausing task as DEFERRED") for e in events), task
            continue
        occupancy = cluster.worker_occupancy(DAG_ID, run_id, task)
        assert occupancy.runs >= 2  # it deferred, and the resumed runs went on from the cursor
        print(
            f"{task}: {occupancy.runs} worker runs, {occupancy.worker_seconds:.1f} s of worker time "
            f"in {occupancy.wall_seconds:.1f} s ({occupancy.share:.0%})"
        )
    print(f"{len(windows)} windows in {elapsed:.0f} s: {[(w.requests, w.rejected) for w in windows]}")
