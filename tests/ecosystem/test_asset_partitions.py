"""Asset partitions on a real scheduler (Airflow 3.2+): runs of a DAG with a partitioned timetable
write each partition's output under its partition key, the manifest and the outlet asset event
name it, and a DAG scheduled on the partitioned asset gets one run per partition that reads
exactly that partition's records."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import airflow.sdk
import pytest
from helpers import featured

from airflow_provider_xlikes.output import iter_records

if not hasattr(airflow.sdk, "CronPartitionTimetable"):
    pytest.skip("asset partitions came with Airflow 3.2", allow_module_level=True)

WRITER, READER = "xlikes_partitioned_likers", "xlikes_partition_reader"
PARTITIONS = {"2026-12-01T00:00:00": 333, "2026-12-02T00:00:00": 7}  # partition key -> likers of its post
SOURCE = """
import pendulum
from airflow.sdk import DAG, CronPartitionTimetable, PartitionedAssetTimetable, task

from airflow_provider_xlikes import XLikingUsersOperator, iter_records, output_asset

OUTPUT = "OUTPUT_URI"
with DAG("WRITER", schedule=CronPartitionTimetable("0 0 * * *", timezone="UTC"),
         start_date=pendulum.datetime(2026, 1, 1), catchup=False):
    XLikingUsersOperator(task_id="likers", tweet_id="{{ dag_run.conf['post'] }}", output_path=OUTPUT)

with DAG("READER", schedule=PartitionedAssetTimetable(assets=output_asset(OUTPUT)),
         start_date=pendulum.datetime(2026, 1, 1), catchup=False):

    @task
    def read(**context):
        events = [e for evs in context["triggering_asset_events"].values() for e in evs]
        return {
            "partition_key": context["dag_run"].partition_key,
            "manifests": [e.extra["manifest"] for e in events],  # (3.3 also shows e.partition_key)
            "ids": [r["id"] for e in events for r in iter_records(e.extra["manifest"])],
        }

    read()
"""


@pytest.mark.slow
def test_partitioned_runs_write_and_announce_their_partition(
    x_sandbox_factory: Any, airflow_cluster_factory: Any, tmp_path: Path
) -> None:
    sandbox = x_sandbox_factory(clean=True)
    posts = {key: featured(sandbox, likers) for key, likers in PARTITIONS.items()}
    output = tmp_path / "likers"
    cluster = airflow_cluster_factory(env={"AIRFLOW_CONN_X_DEFAULT": sandbox.conn_json("bearer")})
    source = SOURCE.replace("WRITER", WRITER).replace("READER", READER).replace("OUTPUT_URI", output.as_uri())
    cluster.write_dag("partitions", source)
    cluster.wait_for_dag(READER)
    written: dict[str, dict[str, Any]] = {}
    for key, post in posts.items():
        run = cluster.api(
            "POST", f"/dags/{WRITER}/dagRuns", json={"logical_date": None, "partition_key": key, "conf": {"post": post}}
        )
        assert cluster.wait_for_run(WRITER, run["dag_run_id"], timeout=120) == "success", cluster.logs()
        written[key] = cluster.xcom(WRITER, run["dag_run_id"], "likers")

    likers = {key: sandbox.admin.likers(post)[:100] for key, post in posts.items()}  # X lists 100 per post
    assert [len(ids) for ids in likers.values()] == [100, 7]
    for key, manifest in written.items():
        assert manifest["run"]["partition_key"] == key
        assert f"/partition_key={key.replace(':', '_')}_" in manifest["manifest"]  # its own folder
        assert [r["id"] for r in iter_records(manifest)] == likers[key]

    # one reader run per partition, reading exactly that partition's output
    def reader_runs() -> list[dict[str, Any]]:
        runs = cluster.api("GET", f"/dags/{READER}/dagRuns")["dag_runs"]
        return [r for r in runs if r["state"] in ("success", "failed")]

    deadline = time.monotonic() + 120
    while len(runs := reader_runs()) < len(PARTITIONS):
        assert time.monotonic() < deadline, f"reader runs: {runs}\n{cluster.logs()}"
        time.sleep(1)
    assert sorted(r["partition_key"] for r in runs) == sorted(PARTITIONS)
    for run in runs:
        assert run["state"] == "success", cluster.logs()
        result = cluster.xcom(READER, run["dag_run_id"], "read")
        key = result["partition_key"]
        assert key == run["partition_key"]
        assert result["manifests"] == [written[key]["manifest"]]  # the event of this partition, only
        assert result["ids"] == likers[key]
