"""Test-wide settings (an isolated AIRFLOW_HOME per test process, offline, no examples) and a real S3 API."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Airflow 3.1 logs each of alembic's plugins at info level when it is imported (before any test's
# output is captured): seven lines of noise at the top of every test run there
logging.getLogger("alembic").setLevel(logging.WARNING)

# Set before anything imports airflow: every xdist worker gets its own home and SQLite DB.
_HOME = Path(tempfile.mkdtemp(prefix="xlikes-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_HOME / "dags")
os.environ["XLIKES_LOCK_DIR"] = str(_HOME / "locks")
# one Fernet key for this process and every subprocess it starts (Variables are encrypted with it)
os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", "6dc2aFbcvWStJ8V7itf1zeg5tlSaFfgEzn_6mRqzEn8=")

DATA = Path(__file__).parent / "data"


def _one_in_process_execution_api() -> None:
    """Before 3.3, ``dag.test()`` builds its in-process Execution API app again for every task.

    That is about 2 s of CPU per task (cadwyn re-creates every versioned route) and most of the time
    the older releases spend in these tests. Airflow 3.3 builds the app once per process
    (``functools.lru_cache`` on ``in_process_api_server``); this does the same on older releases.
    The app, its routes and its DAG bag are Airflow's own; only how often it is built changes.
    """
    import functools

    from airflow.sdk.execution_time import supervisor

    if not hasattr(supervisor.in_process_api_server, "cache_info"):
        supervisor.in_process_api_server = functools.lru_cache(maxsize=1)(supervisor.in_process_api_server)


def pytest_configure(config: pytest.Config) -> None:
    _one_in_process_execution_api()
    # starlette's deprecation category (Airflow's in-process execution API warns with it) is newer
    # than the starlette that Airflow 3.1 pins: a filter naming it would not even parse there
    import starlette.exceptions

    if hasattr(starlette.exceptions, "StarletteDeprecationWarning"):
        config.addinivalue_line("filterwarnings", "ignore::starlette.exceptions.StarletteDeprecationWarning")


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
    from helpers import s3_client

    name = f"xlikes-{uuid.uuid4().hex[:12]}"
    s3_client(s3_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture
def record_reliability(request: pytest.FixtureRequest) -> Any:
    """``record_reliability(kind, case, **measured)``: a row of the reliability table (tests/reliability.py)."""
    from reliability import recorder

    return recorder(request.node)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests (real Airflow processes, Celery, kills) first, so that the workers share them
    from the start and no long test begins when the others are done (their order is kept).
    ``XLIKES_SLOW_TESTS=last`` runs them last instead: the older releases' runs beside the suite
    (scripts/test_older_airflow.sh) then start their real deployments after the suite's."""
    last = os.environ.get("XLIKES_SLOW_TESTS", "first") == "last"
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None) != last)


def pytest_unconfigure(config: pytest.Config) -> None:
    """This process's Airflow home (its SQLite DB, logs and DAG files) goes with it."""
    shutil.rmtree(_HOME, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The reliability table of this run, from the rows its tests recorded (none: nothing printed)."""
    from reliability import rows_of, table

    reports = [r for reports in terminalreporter.stats.values() for r in reports]
    rows = rows_of(reports)
    if rows:
        terminalreporter.section("reliability: what the tests measured")
        for line in table(rows):
            terminalreporter.write_line(line)
