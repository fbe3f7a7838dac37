"""What differs between the Airflow 3 releases the package supports (one place for it)."""

from __future__ import annotations

from typing import Any

try:  # Task SDK location (3.1+); Airflow 3.0 keeps it in airflow.exceptions
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # pragma: no cover - older releases
    from airflow.exceptions import AirflowFailException  # type: ignore[no-redef,attr-defined,unused-ignore]


def airflow_conf() -> Any:
    """Airflow's configuration (``airflow.sdk.conf`` where it exists, else ``airflow.configuration.conf``)."""
    try:
        from airflow.sdk import conf
    except ImportError:  # pragma: no cover - 3.0 / 3.1
        from airflow.configuration import conf as core_conf

        return core_conf
    return conf


__all__ = ["AirflowFailException", "airflow_conf"]
