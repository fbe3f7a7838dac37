"""Shared test helpers (imported by tests; fixtures live in conftest.py files)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_MIGRATED: list[bool] = []


def migrated_airflow_db() -> Path:
    """This test process's SQLite metadata DB (set up by tests/conftest.py), migrated once."""
    if not _MIGRATED:
        from airflow.utils.db import initdb

        initdb()
        _MIGRATED.append(True)
    return Path(os.environ["AIRFLOW_HOME"]) / "airflow.db"


def featured(sandbox: Any, likers: int) -> str:
    """Id of the sandbox's featured post with exactly ``likers`` likers."""
    for post in sandbox.admin.world()["featured_posts"]:
        if post["likers"] == likers:
            return str(post["id"])
    raise LookupError(likers)


def s3_client(endpoint: str) -> Any:
    """A boto3 S3 client of the moto server at ``endpoint`` (the ``s3_endpoint`` fixture)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


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
