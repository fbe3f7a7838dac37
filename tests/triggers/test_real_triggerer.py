"""The two DAGs of docs/sensor-and-events.md on a real Airflow (scheduler, dag-processor, api-server, triggerer).

The deferrable sensor waits in the triggerer, the Asset watcher polls there; the sandbox's admin
API adds likes once both have taken their baseline. The sensor's run returns exactly the new
likers; the DAG scheduled on the Asset runs once and sees the event's payload. Only the polling
interval differs from the page (1 s instead of 60 s).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

POST = "1354143047324299264"
PAGE = Path(__file__).parents[2] / "docs/sensor-and-events.md"


def page_dags() -> list[str]:
    """The python blocks of docs/sensor-and-events.md, with a polling interval of 1 s."""
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 2, blocks
    return [block.replace("poke_interval=60", "poke_interval=1") for block in blocks]


@pytest.mark.slow
def test_the_deferrable_sensor_and_the_asset_watcher_on_a_real_triggerer(
    x_sandbox_factory: Any, airflow_cluster_factory: Any
) -> None:
    sandbox = x_sandbox_factory(clean=True, window_seconds=10, post_likes=[f"{POST}:333"])
    cluster = airflow_cluster_factory(parallelism=2, env={"AIRFLOW_CONN_X_DEFAULT": sandbox.conn_json("bearer")})
    sensor_dag, watcher_dag = page_dags()
    cluster.write_dag("x_on_new_likes", watcher_dag)
    cluster.write_dag("x_wait_for_likes", sensor_dag)
    for dag_id in ("x_on_new_likes", "x_wait_for_likes"):
        cluster.wait_for_dag(dag_id)

    def sensor_run() -> str | None:  # the run the scheduler created for the last @daily interval
        runs = cluster.api("GET", "/dags/x_wait_for_likes/dagRuns")["dag_runs"]
        if (
            runs
            and cluster.task_states("x_wait_for_likes", runs[0]["dag_run_id"]).get(("new_likers", -1)) == "deferred"
        ):
            return str(runs[0]["dag_run_id"])
        return None

    run_id = cluster.wait_until("the sensor deferred", sensor_run, timeout=90)
    deferred_at = time.monotonic()
    # the watcher's baseline and the sensor's first poke (each one request), then polls
    cluster.wait_until("both waiting", lambda: sandbox.admin.total_requests("liking_users") >= 4, timeout=90)
    assert cluster.api("GET", "/dags/x_on_new_likes/dagRuns")["total_entries"] == 0  # the old likes: no event

    # a deferral shorter than a few seconds races Airflow itself: the deferring task process may report
    # its exit after the trigger fired and the task was queued again ("state changed externally")
    time.sleep(max(deferred_at + 10 - time.monotonic(), 0.0))
    added = sandbox.admin.add_likes(POST, 3)
    assert cluster.wait_for_run("x_wait_for_likes", run_id, timeout=90) == "success", cluster.diagnosis(
        "x_wait_for_likes", run_id
    )
    assert [user["id"] for user in cluster.xcom("x_wait_for_likes", run_id, "new_likers")] == added
    assert cluster.xcom("x_wait_for_likes", run_id, "greet") == [
        f"thanks @{user['username']}" for user in cluster.xcom("x_wait_for_likes", run_id, "new_likers")
    ]

    runs = cluster.wait_until(
        "the Asset's DAG run", lambda: cluster.api("GET", "/dags/x_on_new_likes/dagRuns")["dag_runs"], timeout=90
    )
    (run,) = runs
    assert cluster.wait_for_run("x_on_new_likes", run["dag_run_id"], timeout=60) == "success", cluster.diagnosis(
        "x_on_new_likes", run["dag_run_id"]
    )
    (payload,) = cluster.xcom("x_on_new_likes", run["dag_run_id"], "what_arrived")
    assert payload == {"status": "new_likes", "tweet_id": POST, "count": 3, "newest_ids": added, "stop": "head"}
    assert sandbox.admin.request_counts()["by_status"].get("429", 0) == 0
    # the watcher keeps its head in the Asset's state store: a restarted triggerer goes on from it
    (asset,) = cluster.api("GET", "/assets", params={"name_pattern": f"x_likes_{POST}"})["assets"]
    stored = cluster.api("GET", f"/assets/{asset['id']}/state-store/xlikes_head__liking_users__{POST}")
    assert stored["value"] == sandbox.admin.likers(POST)[:20]
