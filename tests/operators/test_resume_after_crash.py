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

with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    XLikingUsersOperator(task_id="likers", tweet_id="POST", output_path="OUT", part_records=500)
"""


def _task_run(dag_id: str, run_id: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "airflow", "tasks", "test", dag_id, "likers", run_id],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.mark.slow
def test_a_killed_task_resumes_from_its_last_part(
    x_sandbox_factory: Any, airflow_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = x_sandbox_factory(post_likes=[f"{POST}:2000"], clean=True, faults=["slow,count=0,delay=0.3"])
    dag_id = f"resume_{uuid.uuid4().hex[:8]}"
    out = tmp_path / "out"
    dags = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    dags.mkdir(parents=True, exist_ok=True)
    source = SOURCE.replace("DAG_ID", dag_id).replace("POST", POST).replace("OUT", out.as_uri())
    (dags / f"{dag_id}.py").write_text(source)
    env = {**os.environ, "AIRFLOW_CONN_X_DEFAULT": sandbox.conn_json("bearer")}
    subprocess.run([sys.executable, "-m", "airflow", "dags", "reserialize"], env=env, check=True, capture_output=True)
    run_id = f"manual__{uuid.uuid4().hex[:8]}"
    # the DAG run the two tries belong to (without a scheduler it just exists: the tries run below)
    subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "trigger", dag_id, "--run-id", run_id],
        env=env,
        check=True,
        capture_output=True,
    )

    first = _task_run(dag_id, run_id, env)
    try:
        deadline = time.monotonic() + 120
        while sandbox.admin.total_requests("liking_users") < 14:  # 14 of 20 pages: 2 parts committed
            assert first.poll() is None, first.communicate()[0].decode()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(first.pid, signal.SIGKILL)
    finally:
        first.wait(timeout=30)
    killed_after = sandbox.admin.total_requests("liking_users")
    assert not list(out.rglob("_manifest.json"))  # nothing committed where readers look

    second = _task_run(dag_id, run_id, env)
    output = second.communicate(timeout=300)[0].decode()
    assert second.returncode == 0, output[-3000:]
    retried = sandbox.admin.total_requests("liking_users") - killed_after
    assert retried == 10, output[-3000:]  # pages 11-20: the pages of the two committed parts are not asked again

    (manifest_path,) = out.rglob("_manifest.json")
    manifest = json.loads(manifest_path.read_text())
    ids = [r["id"] for r in iter_records(manifest)]
    assert ids == sandbox.admin.likers(POST)  # the same ids as an uninterrupted run, none twice
    assert manifest["record_count"] == 2000
    staged = [p for p in out.rglob("*") if "_staging" in p.parts and p.is_file()]
    assert staged == []  # no orphan part left behind
