"""Incremental collection: each run outputs only the likes added since the last committed run of
the same listing, stops paging at the newest record that run collected, and advances only when it
commits (a killed run's retry collects the same new records once)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pendulum
import pytest
from test_deferral import _trigger_classes
from test_resume_after_crash import KillableDag, _kill_after

from airflow_provider_xlikes.hooks.budget import forget_shared_budgets
from airflow_provider_xlikes.incremental import HEAD_VARIABLE_PREFIX
from airflow_provider_xlikes.output import iter_records
from airflow_provider_xlikes.version_compat import AIRFLOW_V_3_3_PLUS

POST = "1354143047324299264"
SOURCE = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import XLikingUsersOperator

with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    XLikingUsersOperator(task_id="likers", tweet_id="POST", incremental=True, ARGS)
"""


def _source(args: str) -> str:
    return SOURCE.replace("POST", POST).replace("ARGS", args)


def _head_variables() -> list[str]:
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        return [v.key for v in session.query(Variable).filter(Variable.key.startswith(HEAD_VARIABLE_PREFIX))]


def test_incremental_runs_to_xcom_output_exactly_the_likes_added_since_the_last_run(
    x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = x_sandbox_factory(post_likes=[f"{POST}:300"], clean=True, liking_users_cap=None)  # X lists 100
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("bearer"))
    source = _source("max_results=50")
    variables_before = set(_head_variables())
    day = iter(pendulum.datetime(2026, 1, n, tz="UTC") for n in range(1, 10))

    first = run_dag(source, logical_date=next(day))  # the first run: a full backfill
    assert first.state == "success", first.states()
    assert [u["id"] for u in first.xcom("likers")] == sandbox.admin.likers(POST)
    assert first.xcom("likers", key="incremental")["backfill"] is True

    def again() -> tuple[list[str], dict[str, Any], int]:
        before = sandbox.admin.total_requests("liking_users")
        run = run_dag(source, dag_id=first.dag_id, logical_date=next(day))
        assert run.state == "success", run.states()
        sent = sandbox.admin.total_requests("liking_users") - before
        return [u["id"] for u in run.xcom("likers")], run.xcom("likers", key="incremental"), sent

    added = sandbox.admin.add_likes(POST, 70)
    ids, summary, sent = again()
    assert ids == added  # 0 lost, 0 old ones again
    assert summary["stop"] == "head" and summary["new_records"] == 70 and summary["backfill"] is False
    assert sent == 2  # 70 new in pages of 50: the second page holds the previous run's newest record

    ids, summary, sent = again()
    assert ids == [] and summary["stop"] == "head" and sent == 1  # nothing new: one request

    # the three newest likers unlike, five new like: the boundary is the next record still listed
    sandbox.admin.remove_likes(POST, 3)
    added = sandbox.admin.add_likes(POST, 5)
    ids, summary, sent = again()
    assert ids == added and summary["stop"] == "head"
    assert len(set(_head_variables()) - variables_before) == 1  # XCom output has no asset: one Variable


@pytest.mark.slow
def test_a_killed_incremental_run_is_retried_to_the_same_new_records_once(
    x_sandbox_factory: Any, airflow_db: None, tmp_path: Path
) -> None:
    """Output to files: the head lives in the output asset's state store (a Variable before Airflow
    3.3) and advances on commit only."""
    sandbox = x_sandbox_factory(
        post_likes=[f"{POST}:2000"], clean=True, faults=["slow,count=0,delay=0.3"], liking_users_cap=None
    )  # past the 100 likers X lists
    variables_before = set(_head_variables())
    dag = KillableDag(sandbox, tmp_path / "out", "incremental=True")
    backfill_run = dag.new_run()
    dag.run(backfill_run)
    backfill = dag.manifest(backfill_run)
    assert backfill["record_count"] == 2000 and backfill["incremental"]["backfill"] is True

    added = sandbox.admin.add_likes(POST, 2000)  # 20 new pages on top of the 20 collected
    run_id = dag.new_run()
    before = sandbox.admin.total_requests("liking_users")
    _kill_after(sandbox, dag.start(run_id), before + 14)  # parts of pages 1-10 committed
    killed_at = sandbox.admin.total_requests("liking_users")
    dag.run(run_id)  # the retry of the killed run
    manifest = dag.manifest(run_id)
    assert sandbox.admin.total_requests("liking_users") - killed_at == 11  # pages 11-20, and 21 with the head
    assert [r["id"] for r in iter_records(manifest)] == added  # the new records, once
    assert manifest["incremental"]["stop"] == "head" and manifest["complete"] is True
    new_variables = set(_head_variables()) - variables_before
    if AIRFLOW_V_3_3_PLUS:  # kept in the output asset's state store, no Variable
        assert new_variables == set()
    else:  # no asset state store before 3.3: the head is in one Variable of this DAG's task
        assert len(new_variables) == 1

    later_run = dag.new_run()  # nothing new since the committed retry
    dag.run(later_run)
    later = dag.manifest(later_run)
    assert later["record_count"] == 0 and later["incremental"]["stop"] == "head"


@pytest.mark.slow
def test_an_incremental_run_that_defers_resumes_its_scan_and_loses_nothing(
    x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # a window long enough that 80 requests spend it before it resets, even on a loaded machine
    sandbox = x_sandbox_factory(
        post_likes=[f"{POST}:500"], clean=True, window_seconds=15, liking_users_cap=None
    )  # past the 100 likers X lists
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("bearer"))
    out = (tmp_path / "out").as_uri()
    source = _source(f"deferrable=True, defer_after=0, xcom_max_bytes=None, output_path={out!r}, part_records=1000")
    first = run_dag(source, logical_date=pendulum.datetime(2026, 1, 1, tz="UTC"))
    assert first.state == "success", first.states()
    # the second run starts a window of its own (the first run's requests and the time between the
    # runs do not count against it; what the first run's tasks shared about its window goes too, as
    # the x_sandbox fixture does); the world after the reset is the one the first run saw
    sandbox.admin.reset()
    forget_shared_budgets()
    added = sandbox.admin.add_likes(POST, 7_900)  # 79 new pages: the window of 75 is spent on the way
    before = sandbox.admin.total_requests("liking_users")
    deferrals = _trigger_classes().count("airflow_provider_xlikes.triggers.likes.XResumeAtTrigger")
    second = run_dag(source, dag_id=first.dag_id, logical_date=pendulum.datetime(2026, 1, 2, tz="UTC"))
    assert second.state == "success", second.states()
    manifest = second.xcom("likers")
    assert [r["id"] for r in iter_records(manifest)] == added[:10_000]
    assert manifest["record_count"] == 7_900 and manifest["incremental"]["stop"] == "head"
    assert sandbox.admin.total_requests("liking_users") - before == 80  # 79 new pages and the head's
    assert sandbox.admin.request_counts()["by_status"].get("429", 0) == 0
    assert _trigger_classes().count("airflow_provider_xlikes.triggers.likes.XResumeAtTrigger") > deferrals
