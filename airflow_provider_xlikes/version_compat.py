"""What differs between the Airflow 3 releases the package supports (one place for it).

Supported: Airflow 3.1 and later (``apache-airflow>=3.1`` in pyproject; docs/airflow-releases.md
says why 3.0 is not). CI runs the whole suite on the newest release and the demo,
the hook, operator and compatibility tests on each older one (``scripts/test_older_airflow.sh``).

- ``AirflowFailException``, ``AirflowSkipException`` and ``AirflowSensorTimeout`` are in
  ``airflow.sdk.exceptions`` from 3.2 on, in ``airflow.exceptions`` before.
- ``airflow.sdk.conf`` exists from 3.2 on (:func:`airflow_conf`).
- The connection form: from 3.2 on Airflow reads ``conn-fields`` / ``ui-field-behaviour`` from the
  provider info; 3.1 calls the hook's ``get_connection_form_widgets`` / ``get_ui_field_behaviour``,
  which build the same fields from the same table (``hooks/connection_form.py``).
- ``ObjectStoragePath(uri, conn_id=None)`` on 3.1 lets ``conn_id=None`` override the connection named in
  the URI (``s3://aws_default@bucket``), and ``.conn_id`` is no attribute there
  (:func:`storage_path`, :func:`storage_conn_id`).
- ``task_state_store`` (resume checkpoints) is in the task context from 3.3 on
  (:data:`AIRFLOW_V_3_3_PLUS`); before, the listing operators keep the checkpoint in
  ``_checkpoint.json`` in the task instance's staging folder.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

try:  # Task SDK location (3.2+); Airflow 3.1 keeps them in airflow.exceptions
    from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, AirflowSkipException
except ImportError:  # pragma: no cover - older releases
    from airflow.exceptions import (  # type: ignore[no-redef,attr-defined,unused-ignore]
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
    )

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath


def _airflow_version() -> tuple[int, int, int]:
    from airflow import __version__

    match = re.match(r"(\d+)\.(\d+)\.(\d+)", __version__)
    assert match is not None, __version__
    major, minor, micro = (int(part) for part in match.groups())
    return major, minor, micro


#: the installed Airflow's (major, minor, micro)
AIRFLOW_VERSION = _airflow_version()
#: Airflow reads the connection form from the provider info (``conn-fields``), not from the hook
AIRFLOW_V_3_2_PLUS = AIRFLOW_VERSION >= (3, 2, 0)
#: ``task_state_store`` and ``asset_state_store`` in the task context
AIRFLOW_V_3_3_PLUS = AIRFLOW_VERSION >= (3, 3, 0)


def airflow_conf() -> Any:
    """Airflow's configuration (``airflow.sdk.conf`` where it exists, else ``airflow.configuration.conf``)."""
    try:
        from airflow.sdk import conf
    except ImportError:  # pragma: no cover - 3.1
        from airflow.configuration import conf as core_conf

        return core_conf
    return conf


# --------------------------------------------------------------------------- object storage
def storage_path(path: str, conn_id: str | None = None) -> ObjectStoragePath:
    """``ObjectStoragePath(path)``, with ``conn_id`` passed only when there is one: on 3.1
    ``conn_id=None`` would replace the connection named in the URI (``s3://aws_default@bucket``)."""
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(path) if conn_id is None else ObjectStoragePath(path, conn_id=conn_id)


def storage_conn_id(path: ObjectStoragePath) -> str | None:
    """The connection of a storage path (an attribute from 3.2 on, a storage option on 3.1)."""
    conn_id = getattr(path, "conn_id", None)
    if conn_id is None:
        conn_id = path.storage_options.get("conn_id")
    return None if conn_id is None else str(conn_id)


__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_2_PLUS",
    "AIRFLOW_V_3_3_PLUS",
    "AirflowFailException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "airflow_conf",
    "storage_conn_id",
    "storage_path",
]
