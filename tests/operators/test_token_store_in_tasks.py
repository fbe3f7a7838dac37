"""Inside real task runs (dag.test()), rotated OAuth 2.0 tokens go to the Airflow Variable store,
keyed by the authorization (client id + the refresh token entered), never by the connection id.

Run 1 finds the connection's access token expired, refreshes inside the task and stores the
rotated tokens in the Variable through the Task SDK; run 2 (a later task) starts from the stored
refresh token. The sandbox revokes the whole token family if a rotated token is ever sent again.
The connection test runs through Airflow's own route (``POST /api/v2/connections/test``), which
builds the hook under a random transient connection id.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from airflow_provider_xlikes.hooks._auth import authorization_key

SOURCE = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes.operators.likes import XLikingUsersOperator

with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    XLikingUsersOperator(task_id="likers", tweet_id="POST", x_conn_id="CONN_ID")
"""
PREFIX = "xlikes_oauth2_token__"


def _variable_name(sandbox: Any) -> str:
    c = sandbox.credentials
    return PREFIX + authorization_key(str(c["client_id"]), str(c["refresh_token"]))


def _token_variables() -> list[str]:
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        return [v.key for v in session.query(Variable).all() if v.key.startswith(PREFIX)]


def _setup(x_sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str, str]:
    # a refresh token of its own: an authorization (and its stored chain) shared with no other test
    sandbox = x_sandbox_factory(revoke_family_on_reuse=True, refresh_token=f"rt-{uuid.uuid4().hex}")
    post = next(str(p["id"]) for p in sandbox.admin.world()["featured_posts"] if p["likers"] == 7)
    conn_id = f"x_tasks_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", sandbox.conn_json("oauth2_user"))
    return sandbox, post, SOURCE.replace("POST", post).replace("CONN_ID", conn_id)


def test_rotated_tokens_are_kept_in_a_variable_across_task_runs(
    x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.models.variable import Variable

    sandbox, _, source = _setup(x_sandbox_factory, monkeypatch)
    sandbox.admin.advance_clock(8000)  # the connection's access token has expired
    first = run_dag(source)
    assert first.state == "success", first.states()
    assert len(first.xcom("likers")) == 7
    stored = json.loads(Variable.get(_variable_name(sandbox)))
    assert stored["refresh_token"] != sandbox.credentials["refresh_token"]
    assert sandbox.admin.total_requests("oauth2_token") == 1

    sandbox.admin.advance_clock(8000)  # expired again: the next task must use the stored refresh token
    second = run_dag(source)
    assert second.state == "success", second.states()
    assert sandbox.admin.total_requests("oauth2_token") == 2
    assert sandbox.admin.request_counts()["by_status"].get("400", 0) == 0
    assert sandbox.admin.tokens()["revoked_families"] == []
    assert json.loads(Variable.get(_variable_name(sandbox)))["refresh_token"] != stored["refresh_token"]


@pytest.fixture
def api_client(airflow_db: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Airflow's core REST API in process (the route the UI's Test button calls)."""
    from fastapi.testclient import TestClient

    monkeypatch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "x" * 64)  # long enough for HS512
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    with TestClient(create_app(apps="core")) as client:
        # an admin's token, as the UI holds one (Airflow 3.1's all-admins mode still asks for a token)
        token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="ADMIN"))
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def _test_through_the_api(api_client: Any, sandbox: Any, conn_id: str) -> dict[str, Any]:
    conn = json.loads(sandbox.conn_json("oauth2_user"))
    body = {
        "connection_id": conn_id,
        "conn_type": "x",
        "host": conn["host"],
        "extra": json.dumps(conn["extra"]),
    }
    response = api_client.post("/api/v2/connections/test", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_connection_test_spends_no_refresh_while_the_access_token_works(
    x_sandbox_factory: Any, api_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, _, _ = _setup(x_sandbox_factory, monkeypatch)
    before = set(_token_variables())
    result = _test_through_the_api(api_client, sandbox, "x_real")
    assert result["status"] is True, result
    assert "Authenticated as @" in result["message"]
    assert sandbox.admin.total_requests("oauth2_token") == 0
    assert set(_token_variables()) == before  # nothing stored, nothing left behind


def test_a_connection_test_that_refreshes_does_not_lock_the_real_connection_out(
    x_sandbox_factory: Any, api_client: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, _, source = _setup(x_sandbox_factory, monkeypatch)
    sandbox.admin.advance_clock(8000)  # expired: the test must refresh, and X rotates the refresh token
    result = _test_through_the_api(api_client, sandbox, "x_real")
    assert result["status"] is True, result
    assert sandbox.admin.total_requests("oauth2_token") == 1
    # the rotated tokens went to the authorization's store, not to a Variable of the transient id
    assert _variable_name(sandbox) in _token_variables()

    run = run_dag(source)  # the real connection id, in a task: goes on from the stored chain
    assert run.state == "success", run.states()
    assert len(run.xcom("likers")) == 7
    assert sandbox.admin.total_requests("oauth2_token") == 1  # the stored access token still works
    assert sandbox.admin.request_counts()["by_status"].get("400", 0) == 0
    assert sandbox.admin.tokens()["revoked_families"] == []
