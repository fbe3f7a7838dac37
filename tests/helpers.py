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
