"""Flags for Airflow features newer than the supported floor (apache-airflow 3.0)."""

from __future__ import annotations


def _airflow_version() -> tuple[int, int]:
    from airflow import __version__

    major, minor = __version__.split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


AIRFLOW_VERSION = _airflow_version()
#: ``task_state_store`` / ``asset_state_store`` in the task context
AIRFLOW_V_3_3_PLUS = AIRFLOW_VERSION >= (3, 3)
