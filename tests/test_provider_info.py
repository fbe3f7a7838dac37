"""The provider is registered, its metadata is valid, and Airflow lists it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import airflow
import jsonschema
import pytest

from airflow_provider_xlikes import __version__
from airflow_provider_xlikes.get_provider_info import get_provider_info

AIRFLOW_DIR = Path(airflow.__file__).parent


def test_provider_info_validates_against_airflows_schema() -> None:
    schema = json.loads((AIRFLOW_DIR / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_connection_type_validates_against_the_stricter_provider_yaml_schema() -> None:
    yaml_schema = json.loads((AIRFLOW_DIR / "provider.yaml.schema.json").read_text())
    item_schema = yaml_schema["properties"]["connection-types"]["items"]
    (connection_type,) = get_provider_info()["connection-types"]
    jsonschema.validate(connection_type, item_schema)
    assert connection_type["connection-type"] == "x"
    fields = connection_type["conn-fields"]
    for name in ("auth_type", "api_key", "api_secret", "client_id", "client_secret", "refresh_token"):
        assert fields[name]["label"] and fields[name]["description"], name
    for secret in ("api_secret", "client_secret", "refresh_token", "access_token", "consumer_secret"):
        assert fields[secret]["schema"]["format"] == "password", secret
    assert fields["auth_type"]["schema"]["enum"] == ["bearer", "oauth2_user", "oauth1_user"]


def test_entry_point_is_registered() -> None:
    (ep,) = [
        ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("airflow_provider_xlikes")
    ]
    info = ep.load()()
    assert info["package-name"] == "airflow-provider-xlikes"
    assert info["versions"] == [__version__]


def _airflow_cli(*args: str) -> str:
    env = dict(os.environ)
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args], capture_output=True, text=True, env=env, timeout=180, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.slow
def test_airflow_lists_the_provider_its_hook_and_its_connection_fields() -> None:
    assert "airflow-provider-xlikes" in _airflow_cli("providers", "list", "--output", "plain")
    hooks = _airflow_cli("providers", "hooks", "--output", "json")
    (entry,) = [h for h in json.loads(hooks) if h["connection_type"] == "x"]
    assert entry["class"] == "airflow_provider_xlikes.hooks.x.XHook"
    widgets = json.loads(_airflow_cli("providers", "widgets", "--output", "json"))
    names = {w["connection_parameter_name"] for w in widgets}
    assert {"extra__x__auth_type", "extra__x__refresh_token"} <= names
    links = {
        link["extra_link_class_name"] for link in json.loads(_airflow_cli("providers", "links", "--output", "json"))
    }
    assert {"airflow_provider_xlikes.links.XPostLink", "airflow_provider_xlikes.links.XUserLink"} <= links


def test_airflow_masks_exactly_the_secret_extras() -> None:
    """Airflow hides every extra whose key names a secret (the form shows ``***`` and saving the form
    unchanged stores ``***``): secret keys are password fields, and no other key is hidden."""
    from airflow.sdk._shared.secrets_masker.secrets_masker import should_hide_value_for_key

    from airflow_provider_xlikes.get_provider_info import CONN_FIELDS

    hidden = {key for key in CONN_FIELDS if should_hide_value_for_key(key)}
    secret = {key for key, spec in CONN_FIELDS.items() if spec["schema"].get("format") == "password"}
    assert hidden == secret
    assert "rotation_store" not in hidden  # its default ("variable") is shown and saved as is
