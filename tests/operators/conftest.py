"""Fixtures of the operator tests: a migrated metadata DB, DAG runs (the S3 server is in tests/conftest.py)."""

from __future__ import annotations

import importlib.util
import os
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import DagRunResult


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Create the metadata tables once per test process (tests/conftest.py chose a temp SQLite DB)."""
    from helpers import migrated_airflow_db

    migrated_airflow_db()


@pytest.fixture
def run_dag(airflow_db: None, request: pytest.FixtureRequest) -> Callable[[str], DagRunResult]:
    """``run_dag(source)``: write a DAG file (``DAG_ID`` in it is replaced), load it, ``dag.test()`` it.

    ``dag.test()`` in Airflow 3.3 needs the DAG in a bundle (the DAGs folder of this test process).
    """
    folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)

    def run(source: str, *, dag_id: str | None = None, logical_date: Any = None) -> DagRunResult:
        """``dag_id``: run the DAG of an earlier call again (a later run of the same DAG), at
        ``logical_date`` (each run of one DAG needs its own)."""
        if dag_id is None:
            dag_id = f"{request.node.name[:60]}_{uuid.uuid4().hex[:8]}"
            dag_id = "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in dag_id)
        path = folder / f"{dag_id}.py"
        path.write_text(textwrap.dedent(source).replace("DAG_ID", dag_id), encoding="utf-8")
        spec = importlib.util.spec_from_file_location(f"xlikes_test_dag_{dag_id}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        dag = module.dag
        dag_run = dag.test() if logical_date is None else dag.test(logical_date=logical_date)
        return DagRunResult(dag_id, dag_run.run_id, str(dag_run.state))

    return run
