"""Fixtures of the operator tests: a migrated metadata DB, a real S3 API (moto's server), output dirs."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Create the metadata tables once per test process (tests/conftest.py chose a temp SQLite DB)."""
    from helpers import migrated_airflow_db

    migrated_airflow_db()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _forget_object_stores() -> None:
    """Drop Airflow's cached file systems, so s3:// resolves ``aws_default`` as it is now."""
    from airflow.sdk.io import store

    store._STORE_CACHE.clear()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port; connection ``aws_default`` points at it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in ("AIRFLOW_CONN_AWS_DEFAULT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps(
        {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"},
        }
    )
    _forget_object_stores()
    try:
        yield endpoint
    finally:
        _forget_object_stores()
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """A fresh bucket on the moto server; returns its name."""
    import boto3

    name = f"xlikes-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=name)
    return name


class DagRunResult:
    """What a ``dag.test()`` run left in the metadata DB: states and XComs of its task instances."""

    def __init__(self, dag_id: str, run_id: str, state: str) -> None:
        self.dag_id = dag_id
        self.run_id = run_id
        self.state = state

    def states(self) -> dict[tuple[str, int], str]:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session

        with create_session() as session:
            rows = session.query(TaskInstance).filter_by(dag_id=self.dag_id, run_id=self.run_id).all()
            return {(ti.task_id, ti.map_index): str(ti.state) for ti in rows}

    def xcom(self, task_id: str, map_index: int = -1, key: str = "return_value") -> Any:
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            row = (
                session.query(XComModel)
                .filter_by(dag_id=self.dag_id, run_id=self.run_id, task_id=task_id, map_index=map_index, key=key)
                .one_or_none()
            )
            return None if row is None else row.value


@pytest.fixture
def run_dag(airflow_db: None, request: pytest.FixtureRequest) -> Callable[[str], DagRunResult]:
    """``run_dag(source)``: write a DAG file (``DAG_ID`` in it is replaced), load it, ``dag.test()`` it.

    ``dag.test()`` in Airflow 3.3 needs the DAG in a bundle (the DAGs folder of this test process).
    """
    folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)

    def run(source: str) -> DagRunResult:
        dag_id = f"{request.node.name[:60]}_{uuid.uuid4().hex[:8]}"
        dag_id = "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in dag_id)
        path = folder / f"{dag_id}.py"
        path.write_text(textwrap.dedent(source).replace("DAG_ID", dag_id), encoding="utf-8")
        spec = importlib.util.spec_from_file_location(f"xlikes_test_dag_{dag_id}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        dag = module.dag
        dag_run = dag.test()
        return DagRunResult(dag_id, dag_run.run_id, str(dag_run.state))

    return run
