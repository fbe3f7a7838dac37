"""Deferrable listings: a spent rate-limit window is waited out in the trigger, not in the worker.

``dag.test()`` runs the trigger inline and drops the kwargs given to ``defer()``: the cursor comes
back in the trigger event. A post with 8,000 likers needs 80 pages; the sandbox allows 75 requests
per (time-scaled, 12 s) window, so each run defers once and resumes where it stopped (a window
long enough for 75 requests on a loaded machine: a shorter one could end before the listing
reaches its limit, and the run would not defer where the assertions expect).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_xlikes.output import iter_records

POST = "1354143047324299264"
SOURCE = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import XLikingUsersOperator

with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    BODY
"""


@pytest.fixture
def windows(x_sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    sandbox = x_sandbox_factory(
        post_likes=[f"{POST}:8000"], window_seconds=12, clean=True, liking_users_cap=None
    )  # 80 pages across windows: past the 100 likers X lists
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("bearer"))
    return sandbox


def _trigger_classes() -> list[str]:
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session

    with create_session() as session:
        return [row.classpath for row in session.query(Trigger).all()]


def _run(run_dag: Any, body: str) -> Any:
    return run_dag(SOURCE.replace("BODY", body))


@pytest.mark.slow
def test_a_deferrable_listing_to_xcom_defers_and_loses_nothing(
    windows: Any, run_dag: Any, capfd: pytest.CaptureFixture[str], api_log: list[str]
) -> None:
    before = _trigger_classes().count("airflow_provider_xlikes.triggers.likes.XResumeAtTrigger")
    result = _run(run_dag, f'XLikingUsersOperator(task_id="t", tweet_id="{POST}", deferrable=True, defer_after=0)')
    assert result.state == "success", result.states()
    users = result.xcom("t")
    assert [u["id"] for u in users] == windows.admin.likers(POST)  # 8,000, in order, none twice
    counts = windows.admin.request_counts()
    assert counts["by_endpoint"]["liking_users"] == 80  # one request per page, none repeated
    assert counts["by_status"].get("429", 0) == 0  # the window was waited for, not hit
    assert _trigger_classes().count("airflow_provider_xlikes.triggers.likes.XResumeAtTrigger") == before + 1
    _assert_progress_over_the_whole_listing(capfd, api_log)


@pytest.fixture
def api_log() -> Iterator[list[str]]:
    """The messages of the provider's HTTP logger (``airflow_provider_xlikes.api``: the rate-limit
    waits), caught at the logger itself: where Airflow's logging config sends them differs between
    releases (3.1 writes them to the stream it was configured with, not to this test's stderr)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(level=logging.INFO)
    logger = logging.getLogger("airflow_provider_xlikes.api")
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def _assert_progress_over_the_whole_listing(capfd: pytest.CaptureFixture[str], api_log: list[str]) -> None:
    """After the resume, pages are counted over the whole listing; the wait that deferred says so."""
    out = capfd.readouterr()
    text = out.out + out.err + "\n".join(api_log)
    assert text.count("page 1: ") == 1
    assert "page 76: 7,600 of " in text  # the expected total: X's 100-liker cap, lifted here
    assert "page 80: 8,000 of " in text
    assert "Rate limit: deferring until " in text
    assert "Rate limit: waiting" not in text


@pytest.mark.slow
def test_a_deferrable_listing_to_files_commits_before_deferring_and_resumes(
    windows: Any, run_dag: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str], api_log: list[str]
) -> None:
    out = (tmp_path / "likers").as_uri()
    result = _run(
        run_dag,
        f'XLikingUsersOperator(task_id="t", tweet_id="{POST}", deferrable=True, defer_after=0, '
        f"output_path={out!r}, part_records=1000)",
    )
    assert result.state == "success", result.states()
    manifest = result.xcom("t")
    ids = [r["id"] for r in iter_records(manifest)]
    assert ids == windows.admin.likers(POST)
    assert manifest["record_count"] == 8000 and manifest["complete"] is True
    # the part open at the deferral was closed first: parts of 1,000 up to page 75, then the rest
    assert [p["records"] for p in manifest["parts"]] == [1000] * 7 + [500, 500]
    assert windows.admin.request_counts()["by_status"].get("429", 0) == 0
    assert windows.admin.total_requests("liking_users") == 80
    _assert_progress_over_the_whole_listing(capfd, api_log)


@pytest.mark.slow
def test_without_deferral_the_wait_is_slept_through(windows: Any, run_dag: Any, api_log: list[str]) -> None:
    result = _run(run_dag, f'XLikingUsersOperator(task_id="t", tweet_id="{POST}", deferrable=False)')
    assert result.state == "success", result.states()
    assert len(result.xcom("t")) == 8000
    text = "\n".join(api_log)
    assert "Rate limit: waiting " in text and "deferring" not in text
    assert windows.admin.request_counts()["by_status"].get("429", 0) == 0


def test_the_trigger_serializes_to_what_rebuilds_it() -> None:
    import pendulum

    from airflow_provider_xlikes.triggers.likes import XResumeAtTrigger

    trigger = XResumeAtTrigger(pendulum.datetime(2026, 1, 1, tz="UTC"), {"next_token": "abc", "records": 7500})
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_xlikes.triggers.likes.XResumeAtTrigger"
    rebuilt = XResumeAtTrigger(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert set(kwargs) == {"moment", "state"}  # a time and a cursor: no token, no page, no session


@pytest.mark.slow
def test_deferrable_likes_and_unlikes_wait_in_the_trigger_and_send_each_id_once(
    x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = x_sandbox_factory(window_seconds=15, me_likes=130)
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("oauth2_user"))
    chosen = sandbox.admin.liked(sandbox.user_id)[:60]  # more than the 50 writes per window
    before = _trigger_classes().count("airflow_provider_xlikes.triggers.likes.XResumeAtTrigger")
    body = f'XUnlikeOperator(task_id="t", tweet_id={chosen!r}, deferrable=True, defer_after=0)'
    result = run_dag(SOURCE.replace("XLikingUsersOperator", "XUnlikeOperator").replace("BODY", body))
    assert result.state == "success", result.states()
    assert result.xcom("t") == {t: {"liked": False, "applied": True} for t in chosen}
    assert not set(chosen) & set(sandbox.admin.liked(sandbox.user_id))
    body = f'XLikeOperator(task_id="t", tweet_id={chosen!r}, deferrable=True, defer_after=0)'
    result = run_dag(SOURCE.replace("XLikingUsersOperator", "XLikeOperator").replace("BODY", body))
    assert result.state == "success", result.states()
    assert result.xcom("t") == {t: {"liked": True, "applied": True} for t in chosen}
    assert set(chosen) <= set(sandbox.admin.liked(sandbox.user_id))
    counts = sandbox.admin.request_counts()
    assert counts["by_endpoint"]["likes_delete"] == 60 and counts["by_endpoint"]["likes_create"] == 60
    assert counts["by_status"].get("429", 0) == 0
    # each operator deferred (at least) once: the writes' windows were waited for in the trigger
    assert _trigger_classes().count("airflow_provider_xlikes.triggers.likes.XResumeAtTrigger") >= before + 2
