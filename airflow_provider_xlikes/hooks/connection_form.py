"""The connection form on Airflow 3.1, built from the provider info's one table (``CONN_FIELDS``).

From 3.2 on Airflow reads ``conn-fields`` / ``ui-field-behaviour`` from the provider info itself;
3.1 asks the hook (``XHook.get_connection_form_widgets`` / ``get_ui_field_behaviour``), which
return these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_xlikes.get_provider_info import CONN_FIELDS, get_provider_info


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
    (connection_type,) = get_provider_info()["connection-types"]
    behaviour: Mapping[str, Any] = connection_type["ui-field-behaviour"]
    return {key.replace("-", "_"): value for key, value in behaviour.items()}
