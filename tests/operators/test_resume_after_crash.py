"""A task killed mid-run (SIGKILL) and run again resumes from its last committed part.

The task runs in its own process (``airflow tasks test DAG TASK RUN_ID``, a real task run with a
real ``task_state_store``), is killed with SIGKILL while it pages, and is run again in the same DAG
run: the second try sends only the requests for pages not yet committed, and the output is that
of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_xlikes.output import iter_records

POST = "1354143047324299264"
SOURCE = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import XLikingUsersOperator
PRELUDE
with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    XLikingUsersOperator(task_id="likers", tweet_id="POST", output_path="OUT", part_records=500, ARGS)
"""


def _task_run(dag_id: str, run_id: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "airflow", "tasks", "test", dag_id, "likers", run_id],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _airflow(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "airflow", *args], env=env, check=True, capture_output=True)


def _kill_after(sandbox: Any, proc: subprocess.Popen[bytes], requests: int) -> None:
    """SIGKILL the task run once the sandbox has answered ``requests`` listing pages."""
    try:
        deadline = time.monotonic() + 120
        while sandbox.admin.total_requests("liking_users") < requests:
            assert proc.poll() is None, proc.communicate()[0].decode()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)


def _give_start_date(dag_id: str, run_id: str) -> None:
    """Start the DAG run as a scheduler would (Airflow 3.1's ``tasks test`` fails on a run without one)."""
    import pendulum
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        run.start_date = run.start_date or pendulum.now("UTC")


class KillableDag:
    """A one-task DAG (``likers``) whose DAG runs and task runs a test starts and kills at will."""

    def __init__(self, sandbox: Any, out: Path, args: str = "", prelude: str = "") -> None:
        """``args``: more arguments of the operator (``"incremental=True"``); ``prelude``: code of
        the DAG file before the DAG (run by every task process that loads it)."""
        self.sandbox = sandbox
        self.out = out
        self.dag_id = f"resume_{uuid.uuid4().hex[:8]}"
        dags = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
        dags.mkdir(parents=True, exist_ok=True)
        source = (
            SOURCE.replace("DAG_ID", self.dag_id)
            .replace("POST", POST)
            .replace("OUT", out.as_uri())
            .replace("ARGS", args)
            .replace("PRELUDE", prelude)
        )
        (dags / f"{self.dag_id}.py").write_text(source)
        self.env = {**os.environ, "AIRFLOW_CONN_X_DEFAULT": sandbox.conn_json("bearer")}
        _airflow("dags", "reserialize", env=self.env)

    def new_run(self) -> str:
        """A DAG run the task's tries belong to (without a scheduler it only exists: tries run below)."""
        run_id = f"manual__{uuid.uuid4().hex[:8]}"
        _airflow("dags", "trigger", self.dag_id, "--run-id", run_id, env=self.env)
        _give_start_date(self.dag_id, run_id)
        return run_id

    def start(self, run_id: str, **env: str) -> subprocess.Popen[bytes]:
        """A try of the task in its own process (``env``: more environment variables)."""
        return _task_run(self.dag_id, run_id, {**self.env, **env})

    def run(self, run_id: str, **env: str) -> str:
        proc = self.start(run_id, **env)
        output = proc.communicate(timeout=300)[0].decode()
        assert proc.returncode == 0, output[-3000:]
        return output

    def manifest(self, run_id: str) -> dict[str, Any]:
        """The committed manifest of ``run_id``'s task instance."""
        (path,) = [p for p in self.out.rglob("_manifest.json") if f"run_id={run_id}" in str(p)]
        return dict(json.loads(path.read_text()))

    def staging_runs(self) -> set[str]:
        return {p.parents[2].name for p in (self.out / "_staging").rglob("_owner.json")}


@pytest.fixture
def killable(x_sandbox_factory: Any, airflow_db: None, tmp_path: Path) -> KillableDag:
    sandbox = x_sandbox_factory(
        post_likes=[f"{POST}:2000"], clean=True, faults=["slow,count=0,delay=0.3"], liking_users_cap=None
    )  # 20 pages: past the 100 likers X lists
    return KillableDag(sandbox, tmp_path / "out")


@pytest.mark.slow
@pytest.mark.reliability
def test_a_killed_task_resumes_from_its_last_part(killable: KillableDag, record_reliability: Any) -> None:
    sandbox, out = killable.sandbox, killable.out
    run_id = killable.new_run()
    _kill_after(sandbox, killable.start(run_id), 14)  # 14 of 20 pages: 2 parts of 5 pages committed
    killed_after = sandbox.admin.total_requests("liking_users")
    assert not list(out.rglob("_manifest.json"))  # nothing committed where readers look

    output = killable.run(run_id)
    retried = sandbox.admin.total_requests("liking_users") - killed_after
    assert retried == 10, output[-3000:]  # pages 11-20: the pages of the two committed parts are not asked again

    (manifest_path,) = out.rglob("_manifest.json")
    manifest = json.loads(manifest_path.read_text())
    ids = [r["id"] for r in iter_records(manifest)]
    expected = sandbox.admin.likers(POST)
    record_reliability(
        "kill",
        "SIGKILL while paging (after 14 of 20 pages; 10 in committed parts)",
        retry_requests=retried,
        resent=retried - (20 - 10),
        lost=len(set(expected) - set(ids)),
        duplicated=len(ids) - len(set(ids)),
    )
    assert ids == expected  # the same ids as an uninterrupted run, none twice
    assert manifest["record_count"] == 2000
    staged = [p for p in out.rglob("*") if "_staging" in p.parts and p.is_file()]
    assert staged == []  # no orphan part left behind


@pytest.mark.slow
def test_staging_of_a_run_that_never_came_back_is_removed_by_a_later_run_never_while_in_progress(
    killable: KillableDag,
) -> None:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    abandoned = killable.new_run()
    _kill_after(killable.sandbox, killable.start(abandoned), 8)
    assert killable.staging_runs() == {f"run_id={abandoned}"}
    # the killed task instance is still "running" (no scheduler here has declared it lost): kept
    killable.run(killable.new_run())
    assert killable.staging_runs() == {f"run_id={abandoned}"}
    with create_session() as session:  # what the scheduler does with a task instance that never came back
        ti = session.query(TaskInstance).filter_by(dag_id=killable.dag_id, run_id=abandoned).one()
        assert str(ti.state) == "running"
        ti.state = "failed"
    killable.run(killable.new_run())
    assert killable.staging_runs() == set()  # removed by the later run
