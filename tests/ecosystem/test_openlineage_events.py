"""OpenLineage: a real Airflow (scheduler, LocalExecutor workers) with the OpenLineage provider and
its file transport runs listing operators, the sensor and a failing listing against the sandbox;
the events the task processes emitted are read back and compared field by field with what the
runs left (manifests, XComs, the sandbox's own listings). The connection carries canary secrets
that no event may contain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import featured

pytest.importorskip("airflow.providers.openlineage")

from airflow_provider_xlikes.lineage import api_namespace

DAG_ID = "xlikes_lineage"
CANARIES = {
    "api_key": "canary-api-key-5f1d0c",
    "api_secret": "canary-api-secret-9b2c77",
    "client_secret": "canary-client-secret-41ae90",
}
SOURCE = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import XLikesSensor, XLikingUsersOperator

with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False,
         default_args={"retries": 0}) as dag:
    XLikingUsersOperator(task_id="to_files", tweet_id="FILES_POST", max_results=40, output_path="OUTPUT")
    XLikingUsersOperator(task_id="to_xcom", tweet_id="XCOM_POST", max_results=100, incremental=True)
    XLikesSensor(task_id="sensor", tweet_id="SENSOR_POST", min_count=1, poke_interval=1, timeout=60)
    XLikingUsersOperator(task_id="over_budget", tweet_id="FILES_POST", max_cost_usd=0, output_path="OUTPUT2")
"""


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _task_event(events: list[dict[str, Any]], task_id: str, event_type: str) -> dict[str, Any]:
    (event,) = [e for e in events if e["job"]["name"] == f"{DAG_ID}.{task_id}" and e["eventType"] == event_type]
    return event


def _given(facet: dict[str, Any]) -> dict[str, Any]:
    """An expected facet as serialized: OpenLineage leaves out the fields that are None."""
    return {key: value for key, value in facet.items() if value is not None}


def _facet(event: dict[str, Any], name: str) -> dict[str, Any]:
    facet = dict(event["run"]["facets"][name])
    assert facet.pop("_schemaURL").endswith(f"#{name}")
    assert facet.pop("_producer")
    return facet


@pytest.mark.slow
def test_lineage_events_of_listings_sensor_and_a_failed_run(
    x_sandbox_factory: Any, airflow_cluster_factory: Any, tmp_path: Path
) -> None:
    sandbox = x_sandbox_factory(clean=True)
    files_post, xcom_post, sensor_post = featured(sandbox, 333), featured(sandbox, 1000), featured(sandbox, 7)
    conn = json.loads(sandbox.conn_json("bearer"))
    conn["extra"].update(CANARIES)  # valid keys a bearer connection with a token does not use
    bearer_token = conn["password"]
    events_file = tmp_path / "openlineage.jsonl"
    cluster = airflow_cluster_factory(
        env={
            "AIRFLOW_CONN_X_DEFAULT": json.dumps(conn),
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(events_file), "append": True}
            ),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "xlikes-test",
        }
    )
    output, output2 = tmp_path / "likers", tmp_path / "never"
    source = (
        SOURCE.replace("DAG_ID", DAG_ID)
        .replace("FILES_POST", files_post)
        .replace("XCOM_POST", xcom_post)
        .replace("SENSOR_POST", sensor_post)
        .replace("OUTPUT2", output2.as_uri())
        .replace("OUTPUT", output.as_uri())
    )
    run = cluster.run_dag(DAG_ID, source, timeout=240)
    states = cluster.task_states(DAG_ID, run.run_id)
    assert states == {
        ("to_files", -1): "success",
        ("to_xcom", -1): "success",
        ("sensor", -1): "success",
        ("over_budget", -1): "failed",
    }, cluster.logs()
    text = events_file.read_text()
    for secret in (*CANARIES.values(), bearer_token):
        assert secret not in text
    events = _events(events_file)
    namespace = api_namespace(sandbox.url)
    assert namespace == sandbox.url.rstrip("/")

    # ---- to files: the listing in, the output location out (as Airflow names a file:// asset)
    manifest = cluster.xcom(DAG_ID, run.run_id, "to_files")
    event = _task_event(events, "to_files", "COMPLETE")
    assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [
        (namespace, f"/2/tweets/{files_post}/liking_users")
    ]
    assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [("file", str(output))]
    assert manifest["record_count"] == len(sandbox.admin.likers(files_post)[:100]) == 100  # X lists 100 per post
    assert _facet(event, "xlikes_collection") == _given(
        {
            "endpoint": "liking_users",
            "request": "GET /2/tweets/:id/liking_users",
            "records": manifest["record_count"],
            "pages": manifest["pages"],
            "includes": manifest["includes"],
            "partialErrors": manifest["errors"],
            "complete": True,
            "stoppedBy": None,
            "manifest": manifest["manifest"],
        }
    )
    assert manifest["pages"] == 3  # 40 + 40 + 20 (a clean sandbox: exact pages)
    cost = manifest["cost"]
    assert _facet(event, "xlikes_cost") == _given(
        {
            "estimatedCostUsd": cost["estimated_cost_usd"],
            "billedRequests": cost["billed_requests"],
            "resources": cost["resources"],
            "expectedCostUsd": cost["expected_cost_usd"],
            "maxCostUsd": None,
            "ownedReads": False,
            "priceSource": cost["assumptions"]["prices"]["source"],
        }
    )
    assert cost["resources"]["data"] == {"posts": 1, "users": 100}  # the count lookup read the post
    assert cost["billed_requests"] == 4  # the count lookup and 3 pages
    assert "xlikes_incremental" not in event["run"]["facets"]

    # ---- to XCom, incremental: no output dataset; where the run stopped
    records = cluster.xcom(DAG_ID, run.run_id, "to_xcom")
    meta = cluster.xcom(DAG_ID, run.run_id, "to_xcom", key="meta")
    summary = cluster.xcom(DAG_ID, run.run_id, "to_xcom", key="incremental")
    event = _task_event(events, "to_xcom", "COMPLETE")
    assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [
        (namespace, f"/2/tweets/{xcom_post}/liking_users")
    ]
    assert event["outputs"] == []
    assert [r["id"] for r in records] == sandbox.admin.likers(xcom_post)[:100]
    assert _facet(event, "xlikes_collection") == _given(
        {
            "endpoint": "liking_users",
            "request": "GET /2/tweets/:id/liking_users",
            "records": 100,  # X lists 100 per post
            "pages": 1,
            "includes": 0,
            "partialErrors": 0,
            "complete": True,
            "stoppedBy": None,
            "manifest": None,
        }
    )
    assert _facet(event, "xlikes_incremental") == _given(
        {
            "backfill": summary["backfill"],
            "stop": summary["stop"],
            "stoppedAt": summary["stopped_at"],
            "boundaryConfirmed": summary["boundary_confirmed"],
            "newRecords": summary["new_records"],
            "pagesRead": summary["pages_read"],
        }
    )
    assert summary["backfill"] is True and summary["stop"] == "end" and summary["new_records"] == 100
    assert _facet(event, "xlikes_cost")["estimatedCostUsd"] == meta["estimated_cost_usd"]

    # ---- the sensor: the listing it watched; the condition and where its search stopped
    scan = cluster.xcom(DAG_ID, run.run_id, "sensor", key="likes_scan")
    event = _task_event(events, "sensor", "COMPLETE")
    assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [
        (namespace, f"/2/tweets/{sensor_post}/liking_users")
    ]
    assert event["outputs"] == []
    assert _facet(event, "xlikes_sensor") == {"condition": "min_count", "likeCount": scan["like_count"]}
    assert scan["like_count"] == 7
    assert _facet(event, "xlikes_incremental") == _given(
        {
            "backfill": False,
            "stop": scan["stop"],
            "stoppedAt": scan["marker"],
            "boundaryConfirmed": scan["confirmed"],
            "newRecords": scan["new_count"],
            "pagesRead": scan["pages"],
        }
    )
    assert _facet(event, "xlikes_collection")["records"] == scan["new_count"]

    # ---- the failed run: the listing it read, no output (nothing committed), what it had spent
    event = _task_event(events, "over_budget", "FAIL")
    assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [
        (namespace, f"/2/tweets/{files_post}/liking_users")
    ]
    assert event["outputs"] == []
    assert "max_cost_usd=0" in event["run"]["facets"]["errorMessage"]["message"]
    assert _facet(event, "xlikes_collection") == _given(
        {
            "endpoint": "liking_users",
            "request": "GET /2/tweets/:id/liking_users",
            "records": 0,
            "pages": None,
            "includes": 0,
            "partialErrors": None,
            "complete": False,
            "stoppedBy": None,
            "manifest": None,
        }
    )
    failed_cost = _facet(event, "xlikes_cost")
    assert failed_cost["billedRequests"] == 1 and failed_cost["maxCostUsd"] == 0  # the count lookup only
    assert not list(output2.rglob("_manifest.json"))  # nothing committed
