"""What differs between the Airflow 3 releases the package supports (one place for it)."""

from __future__ import annotations

from typing import Any

from airflow import __version__ as _airflow_version_string

try:  # Task SDK location (3.1+); Airflow 3.0 keeps it in airflow.exceptions
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # pragma: no cover - older releases
    from airflow.exceptions import AirflowFailException  # type: ignore[no-redef,attr-defined,unused-ignore]


def _airflow_version() -> tuple[int, int]:
    major, minor = _airflow_version_string.split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


AIRFLOW_VERSION = _airflow_version()
#: ``task_state_store`` / ``asset_state_store`` in the task context
AIRFLOW_V_3_3_PLUS = AIRFLOW_VERSION >= (3, 3)


def airflow_conf() -> Any:
    """Airflow's configuration (``airflow.sdk.conf`` where it exists, else ``airflow.configuration.conf``)."""
    try:
        from airflow.sdk import conf
    except ImportError:  # pragma: no cover - 3.0 / 3.1
        from airflow.configuration import conf as core_conf

        return core_conf
    return conf


__all__ = ["AIRFLOW_VERSION", "AIRFLOW_V_3_3_PLUS", "AirflowFailException", "airflow_conf"]
