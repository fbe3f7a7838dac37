"""Test-wide settings: an isolated AIRFLOW_HOME per test process, offline, no examples."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

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
