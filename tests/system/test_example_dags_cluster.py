"""The AssetWatcher example on a real Airflow (scheduler, dag-processor, api-server, triggerer):
new likes on the post start a DAG run, which reads the event and collects the new likers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from system_helpers import QUICKSTART_POST, example_source

from airflow_provider_xlikes import iter_records

DAG_ID = "xlikes_example_on_new_likes"


@pytest.mark.slow
def test_new_likes_start_the_asset_scheduled_example_on_a_real_triggerer(
    x_sandbox_factory: Any, airflow_cluster_factory: Any, tmp_path: Path
) -> None:
    sandbox = x_sandbox_factory()
    cluster = airflow_cluster_factory(
        parallelism=2,
        env={"AIRFLOW_CONN_X_DEFAULT": sandbox.conn_json("bearer"), "XLIKES_EXAMPLES_OUTPUT": tmp_path.as_uri()},
    )
    cluster.write_dag(DAG_ID, example_source(DAG_ID, {"POKE_INTERVAL = 60": "POKE_INTERVAL = 1"}))
    cluster.wait_for_dag(DAG_ID)
    # the watcher's baseline (the likes already there: no event), then at least one poll
    cluster.wait_until("the watcher polling", lambda: sandbox.admin.total_requests("liking_users") >= 2, timeout=120)
    assert cluster.api("GET", f"/dags/{DAG_ID}/dagRuns")["total_entries"] == 0

    added = sandbox.admin.add_likes(QUICKSTART_POST, 3)
    (run,) = cluster.wait_until(
        "the Asset's DAG run", lambda: cluster.api("GET", f"/dags/{DAG_ID}/dagRuns")["dag_runs"], timeout=120
    )
    assert cluster.wait_for_run(DAG_ID, run["dag_run_id"], timeout=120) == "success", cluster.diagnosis(
        DAG_ID, run["dag_run_id"]
    )
    assert cluster.xcom(DAG_ID, run["dag_run_id"], "what_arrived") == 3
    manifest = cluster.xcom(DAG_ID, run["dag_run_id"], "collect_new_likers")
    ids = [record["id"] for record in iter_records(manifest)]
    assert ids[:3] == added  # the first run collects every liker, the three new ones first
    assert set(ids) <= set(sandbox.admin.likers(QUICKSTART_POST))
    assert sandbox.admin.request_counts()["by_status"].get("429", 0) == 0
