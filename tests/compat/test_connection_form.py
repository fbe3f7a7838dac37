"""The connection form shows every X field on each supported release, through that release's own
mechanism: ``conn-fields`` in the provider info (3.2+) or the hook's form methods (3.1), both from
the one field table."""

from __future__ import annotations

from typing import Any

from airflow_provider_xlikes.get_provider_info import CONN_FIELDS, get_provider_info
from airflow_provider_xlikes.version_compat import AIRFLOW_V_3_2_PLUS, AIRFLOW_VERSION


def test_the_form_shows_every_field_of_the_table(x_hook_meta: dict[str, Any]) -> None:
    x = x_hook_meta
    assert x["hook_class_name"] == "airflow_provider_xlikes.hooks.x.XHook"
    extra = x["extra_fields"]
    assert list(extra) == list(CONN_FIELDS), AIRFLOW_VERSION
    for name, spec in CONN_FIELDS.items():
        shown = extra[name]
        assert shown["schema"]["title"] == spec["label"], name
        assert shown["description"] == spec["description"], name
        types = spec["schema"]["type"]
        if "number" in types and not AIRFLOW_V_3_2_PLUS:  # 3.1's form has no number field: a text field
            types = ["string", "null"]
        assert shown["schema"]["type"] == types, name
        secret = spec["schema"].get("format") == "password"
        assert (shown["schema"].get("format") == "password") == secret, name
        assert shown["value"] == spec["schema"].get("default"), name
    assert extra["auth_type"]["schema"]["enum"] == ["bearer", "oauth2_user", "oauth1_user"]
    assert extra["field_naming"]["schema"]["enum"] == ["tweet", "post"]


def test_the_standard_fields_are_hidden_and_relabelled(x_hook_meta: dict[str, Any]) -> None:
    standard = x_hook_meta["standard_fields"]
    (connection_type,) = get_provider_info()["connection-types"]
    behaviour = connection_type["ui-field-behaviour"]
    for field in ("schema", "port", "login"):
        assert field in behaviour["hidden-fields"]
        assert standard["url_schema" if field == "schema" else field]["hidden"] is True, field
    assert standard["host"]["hidden"] is False
    assert standard["host"]["title"] == behaviour["relabeling"]["host"] == "Base URL"
    assert standard["password"]["title"] == "Bearer token"
    assert standard["host"]["placeholder"] == "https://api.x.com"
