"""What a task retry can fix is retried; what it cannot fails the task at once (AirflowFailException).

Real ``dag.test()`` runs against dedicated sandboxes. ``dag.test()`` runs a task's retries too, so
the requests the sandbox saw tell whether a retry was spent.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

SOURCE = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import XLikingUsersOperator, XLikedTweetsOperator

with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    BODY
"""


def _run(run_dag: Any, body: str) -> Any:
    return run_dag(SOURCE.replace("BODY", body))


@pytest.fixture
def sandbox_conn(x_sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    def start(auth_type: str = "oauth2_user", extra: dict[str, Any] | None = None, **options: Any) -> Any:
        sandbox = x_sandbox_factory(**options)
        conn = json.loads(sandbox.conn_json(auth_type))
        conn["extra"].update({"max_retries": 1, **(extra or {})})
        monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", json.dumps(conn))
        return sandbox

    return start


def test_a_403_fails_the_task_without_spending_its_retries(sandbox_conn: Any, run_dag: Any) -> None:
    sandbox = sandbox_conn(faults=["status,count=0,status=403,endpoint=liking_users"])
    result = _run(run_dag, 'XLikingUsersOperator(task_id="t", tweet_id="20", retries=2, retry_delay=0)')
    assert result.states() == {("t", -1): "failed"}
    assert sandbox.admin.total_requests("liking_users") == 1


def test_a_404_fails_the_task_without_spending_its_retries(sandbox_conn: Any, run_dag: Any) -> None:
    sandbox = sandbox_conn(faults=["status,count=0,status=404,endpoint=liking_users"])
    result = _run(run_dag, 'XLikingUsersOperator(task_id="t", tweet_id="20", retries=2, retry_delay=0)')
    assert result.states() == {("t", -1): "failed"}
    assert sandbox.admin.total_requests("liking_users") == 1


def test_a_refused_refresh_token_fails_the_task_without_spending_its_retries(sandbox_conn: Any, run_dag: Any) -> None:
    sandbox = sandbox_conn(extra={"refresh_token": "revoked-long-ago", "access_token": "expired"})
    result = _run(run_dag, 'XLikingUsersOperator(task_id="t", tweet_id="20", retries=2, retry_delay=0)')
    assert result.states() == {("t", -1): "failed"}
    assert sandbox.admin.total_requests("oauth2_token") == 1


def test_a_templated_bad_id_fails_without_retry_and_sends_nothing(sandbox_conn: Any, run_dag: Any) -> None:
    sandbox = sandbox_conn()
    result = _run(run_dag, "XLikingUsersOperator(task_id='t', tweet_id='{{ \"twenty\" }}', retries=2, retry_delay=0)")
    assert result.states() == {("t", -1): "failed"}
    assert sandbox.admin.total_requests() == 0


def test_a_server_error_after_the_hooks_own_attempts_is_left_to_the_task_retries(
    sandbox_conn: Any, run_dag: Any
) -> None:
    """The control: a 503 may pass later, so the task retries (one request per try: max_retries=1)."""
    sandbox = sandbox_conn(faults=["status,count=0,status=503,endpoint=liking_users"])
    result = _run(run_dag, 'XLikingUsersOperator(task_id="t", tweet_id="20", retries=2, retry_delay=0)')
    assert result.states() == {("t", -1): "failed"}
    assert sandbox.admin.total_requests("liking_users") == 3  # the first try and two retries
