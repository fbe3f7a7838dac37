"""Every example DAG parses with no import error, as a real ``airflow`` command line sees it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from system_helpers import EXAMPLES

EXPECTED = {
    "xlikes_demo",
    "xlikes_example_daily_likers_etl",
    "xlikes_example_liked_posts_parquet",
    "xlikes_example_wait_for_likes",
    "xlikes_example_on_new_likes",
    "xlikes_example_backfill_within_budget",
    "xlikes_example_like_from_file",
}


def _airflow(home: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(EXAMPLES),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
    )
    run = subprocess.run(
        [sys.executable, "-m", "airflow", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return run.stdout


def _json(output: str) -> object:
    """The JSON an ``-o json`` command printed: its last line (Airflow's warnings come before it)."""
    return json.loads(output.strip().splitlines()[-1])


@pytest.mark.slow
def test_every_example_dag_parses_with_no_import_error(tmp_path: Path) -> None:
    _airflow(tmp_path, "db", "migrate")
    assert _json(_airflow(tmp_path, "dags", "list-import-errors", "--local", "-o", "json")) == []
    dags = _json(_airflow(tmp_path, "dags", "list", "--local", "-o", "json"))
    assert isinstance(dags, list)
    assert {dag["dag_id"] for dag in dags} == EXPECTED
