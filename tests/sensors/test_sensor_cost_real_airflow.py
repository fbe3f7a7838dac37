"""``max_cost_usd`` on XLikesSensor under a real Airflow (scheduler, dag-processor, api-server,
triggerer): the deferrable sensor's polls run in the triggerer, the rescheduled sensor's pokes each
in a new task process, and each wait stops before the request that could cross its budget.

Each sensor reads its own sandbox (its own connection), so the requests and the cost each sandbox
served are that sensor's alone. Pages of 10 likers at $0.010 each: $0.10 per poll (see
``test_sensor_cost.py``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from operators.test_cost_control import served_cost

POST = "1354143047324299264"
DAG = f"""
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import XLikesSensor

with DAG("x_sensor_budget", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    common = dict(tweet_id="{POST}", poke_interval=1, timeout=600, max_results=10, retries=2, retry_delay=0)
    XLikesSensor(task_id="deferred", x_conn_id="x_deferred", deferrable=True, max_cost_usd=0.55, **common)
    XLikesSensor(
        task_id="rescheduled",
        x_conn_id="x_rescheduled",
        mode="reschedule",
        deferrable=False,
        max_cost_usd=0.35,
        on_budget_exhausted="skip",
        **common,
    )
"""


@pytest.mark.slow
def test_the_budget_holds_across_the_triggerer_and_reschedules(
    x_sandbox_factory: Any, airflow_cluster_factory: Any
) -> None:
    deferred = x_sandbox_factory(clean=True, post_likes=[f"{POST}:333"])
    rescheduled = x_sandbox_factory(clean=True, post_likes=[f"{POST}:333"])
    cluster = airflow_cluster_factory(
        parallelism=2,
        env={
            "AIRFLOW_CONN_X_DEFERRED": deferred.conn_json("bearer"),
            "AIRFLOW_CONN_X_RESCHEDULED": rescheduled.conn_json("bearer"),
        },
    )
    cluster.write_dag("x_sensor_budget", DAG)
    run_id = cluster.trigger("x_sensor_budget")
    assert cluster.wait_for_run("x_sensor_budget", run_id, timeout=240) == "failed", cluster.diagnosis(
        "x_sensor_budget", run_id
    )
    states = cluster.task_states("x_sensor_budget", run_id)
    assert states == {("deferred", -1): "failed", ("rescheduled", -1): "skipped"}, cluster.diagnosis(
        "x_sensor_budget", run_id
    )

    # deferred: the worker's baseline ($0.10), then the triggerer's polls to $0.50; $0.60 was not risked
    assert deferred.admin.total_requests("liking_users") == 5
    assert served_cost(deferred)[2] == pytest.approx(0.5)
    log = json.dumps(cluster.task_log("x_sensor_budget", run_id, "deferred"))
    assert "XBudgetExhaustedError" in log and "max_cost_usd=0.55" in log and "spent ~$0.500" in log
    # rescheduled: three pokes, each in its own process, counted together ($0.30); the fourth not sent
    history = cluster.task_history("x_sensor_budget", run_id, "rescheduled")
    assert rescheduled.admin.total_requests("liking_users") == 3, history
    assert served_cost(rescheduled)[2] == pytest.approx(0.3)
