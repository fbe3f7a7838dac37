"""Fixtures of the sensor tests: a DAG file run more than once with ``dag.test()``, likes added
while it runs."""

from __future__ import annotations

import importlib.util
import os
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from operators.conftest import DagRunResult, airflow_db

__all__ = ["DagRunResult", "SensorDag", "airflow_db"]


class SensorDag:
    """A DAG file in this test process's DAGs folder, loaded once; :meth:`run` is one ``dag.test()``."""

    def __init__(self, source: str, dag_id: str) -> None:
        folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
        folder.mkdir(parents=True, exist_ok=True)
        self.dag_id = dag_id
        path = folder / f"{dag_id}.py"
        path.write_text(textwrap.dedent(source).replace("DAG_ID", dag_id), encoding="utf-8")
        spec = importlib.util.spec_from_file_location(f"xlikes_sensor_dag_{dag_id}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.dag = module.dag

    def run(self) -> DagRunResult:
        dag_run = self.dag.test()
        return DagRunResult(self.dag_id, dag_run.run_id, str(dag_run.state))


@pytest.fixture
def sensor_dag(airflow_db: None, request: pytest.FixtureRequest) -> Callable[[str], SensorDag]:
    """``sensor_dag(source)``: ``DAG_ID`` in the source is replaced by a name unique to the test."""

    def make(source: str) -> SensorDag:
        name = "".join(ch if ch.isalnum() else "_" for ch in request.node.name[:50])
        return SensorDag(source, f"{name}_{uuid.uuid4().hex[:8]}")

    return make


class WhenPolled:
    """Runs ``action`` in a thread once the sandbox has answered ``requests`` more requests of
    ``endpoint`` than when it was armed (the sensor has taken its baseline, say)."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()

    def __call__(self, endpoint: str, requests: int, action: Callable[[], Any], timeout: float = 60.0) -> None:
        start = self.sandbox.admin.total_requests(endpoint)

        def wait_then_act() -> None:
            deadline = time.monotonic() + timeout
            try:
                while not self._stop.is_set() and time.monotonic() < deadline:
                    if self.sandbox.admin.total_requests(endpoint) >= start + requests:
                        action()
                        return
                    time.sleep(0.05)
            except BaseException as exc:  # reported by the fixture
                self.errors.append(exc)

        thread = threading.Thread(target=wait_then_act, daemon=True)
        thread.start()
        self.threads.append(thread)

    def close(self) -> None:
        self._stop.set()
        for thread in self.threads:
            thread.join(timeout=5)


@pytest.fixture
def when_polled(x_sandbox: Any) -> Iterator[WhenPolled]:
    helper = WhenPolled(x_sandbox)
    try:
        yield helper
    finally:
        helper.close()
    assert not helper.errors, helper.errors
