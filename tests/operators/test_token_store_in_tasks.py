"""Inside real task runs (dag.test()), rotated OAuth 2.0 tokens go to the Airflow Variable store.

Run 1 finds the connection's access token expired, refreshes inside the task and stores the
rotated tokens in the Variable through the Task SDK; run 2 (a later task) starts from the stored
refresh token. The sandbox revokes the whole token family if a rotated token is ever sent again.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

SOURCE = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes.operators.likes import XLikingUsersOperator

with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    XLikingUsersOperator(task_id="likers", tweet_id="POST", x_conn_id="CONN_ID")
"""


def test_rotated_tokens_are_kept_in_a_variable_across_task_runs(
    x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.models.variable import Variable

    sandbox = x_sandbox_factory(revoke_family_on_reuse=True)
    post = next(str(p["id"]) for p in sandbox.admin.world()["featured_posts"] if p["likers"] == 7)
    conn_id = f"x_tasks_{uuid.uuid4().hex[:8]}"  # its own Variable, shared with no other test
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", sandbox.conn_json("oauth2_user"))
    source = SOURCE.replace("POST", post).replace("CONN_ID", conn_id)

    sandbox.admin.advance_clock(8000)  # the connection's access token has expired
    first = run_dag(source)
    assert first.state == "success", first.states()
    assert len(first.xcom("likers")) == 7
    stored = json.loads(Variable.get(f"xlikes_oauth2_token__{conn_id}"))
    assert stored["refresh_token"] != sandbox.credentials["refresh_token"]
    assert sandbox.admin.total_requests("oauth2_token") == 1

    sandbox.admin.advance_clock(8000)  # expired again: the next task must use the stored refresh token
    second = run_dag(source)
    assert second.state == "success", second.states()
    assert sandbox.admin.total_requests("oauth2_token") == 2
    assert sandbox.admin.request_counts()["by_status"].get("400", 0) == 0
    assert sandbox.admin.tokens()["revoked_families"] == []
    assert json.loads(Variable.get(f"xlikes_oauth2_token__{conn_id}"))["refresh_token"] != stored["refresh_token"]
