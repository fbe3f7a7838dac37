"""What differs between the Airflow 3 releases the package supports (one place for it).

Supported: Airflow 3.1 and later (``apache-airflow>=3.1`` in pyproject; docs/airflow-releases.md
says why 3.0 is not). CI runs the whole suite on the newest release and the demo,
the hook, operator and compatibility tests on each older one (``scripts/test_older_airflow.sh``).

- ``AirflowFailException``, ``AirflowSkipException`` and ``AirflowSensorTimeout`` are in
  ``airflow.sdk.exceptions`` from 3.2 on, in ``airflow.exceptions`` before.
- ``airflow.sdk.conf`` exists from 3.2 on (:func:`airflow_conf`).
- The connection form: from 3.2 on Airflow reads ``conn-fields`` / ``ui-field-behaviour`` from the
  provider info; 3.1 calls the hook's ``get_connection_form_widgets`` / ``get_ui_field_behaviour``,
  which build the same fields from the same table (:func:`connection_form_widgets`,
  :func:`ui_field_behaviour`).
- ``ObjectStoragePath(uri, conn_id=None)`` on 3.1 lets ``conn_id=None`` override the connection named in
  the URI (``s3://aws_default@bucket``), and ``.conn_id`` is no attribute there
  (:func:`storage_path`, :func:`storage_conn_id`).
- ``task_state_store`` (resume checkpoints) is in the task context from 3.3 on
  (:data:`AIRFLOW_V_3_3_PLUS`); before, the listing operators keep the checkpoint in
  ``_checkpoint.json`` in the task instance's staging folder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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


# --------------------------------------------------------------------------- the connection form (3.1)
def connection_form_widgets() -> dict[str, Any]:
    """The provider info's ``conn-fields`` (``CONN_FIELDS``, the one table) as Airflow 3.1 reads them
    from a hook's ``get_connection_form_widgets``: WTForms fields. Airflow's UI puts its own stand-ins
    for WTForms and Flask-AppBuilder in place when they are not installed, so these imports are
    resolved when Airflow calls this, never at import time."""
    # untyped, and not installed unless Flask-AppBuilder is
    from flask_appbuilder.fieldwidgets import (  # type: ignore[import-not-found,unused-ignore]
        BS3PasswordFieldWidget,
        BS3TextFieldWidget,
    )
    from flask_babel import lazy_gettext  # type: ignore[import-not-found,unused-ignore]
    from wtforms import IntegerField, PasswordField, StringField  # type: ignore[import-untyped,unused-ignore]
    from wtforms.validators import Optional, any_of  # type: ignore[import-untyped,unused-ignore]

    from airflow_provider_xlikes.get_provider_info import CONN_FIELDS

    widgets: dict[str, Any] = {}
    for name, spec in CONN_FIELDS.items():
        schema = spec["schema"]
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        options: dict[str, Any] = {"description": spec.get("description", "")}
        if schema.get("default") is not None:
            options["default"] = schema["default"]
        validators: list[Any] = [Optional()]
        if "enum" in schema:
            validators.append(any_of(list(schema["enum"])))
        label = lazy_gettext(spec["label"])
        if schema.get("format") == "password":
            widgets[name] = PasswordField(label, validators=validators, widget=BS3PasswordFieldWidget(), **options)
        elif "integer" in types:
            widgets[name] = IntegerField(label, validators=validators, widget=BS3TextFieldWidget(), **options)
        else:  # strings, and numbers (the hook accepts numeric strings from the form)
            widgets[name] = StringField(label, validators=validators, widget=BS3TextFieldWidget(), **options)
    return widgets


def ui_field_behaviour() -> dict[str, Any]:
    """The provider info's ``ui-field-behaviour`` in the shape of a hook's ``get_ui_field_behaviour``
    (``hidden-fields`` → ``hidden_fields``), for Airflow 3.1."""
    from airflow_provider_xlikes.get_provider_info import get_provider_info

    (connection_type,) = get_provider_info()["connection-types"]
    behaviour: Mapping[str, Any] = connection_type["ui-field-behaviour"]
    return {key.replace("-", "_"): value for key, value in behaviour.items()}


__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_2_PLUS",
    "AIRFLOW_V_3_3_PLUS",
    "AirflowFailException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "airflow_conf",
    "connection_form_widgets",
    "storage_conn_id",
    "storage_path",
    "ui_field_behaviour",
]
