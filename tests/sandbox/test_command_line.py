"""The sandbox's command line: a port Airflow does not use by default (its api-server takes 8080)."""

from __future__ import annotations

import json

from airflow_provider_xlikes.sandbox.admin_cli import build_admin_parser
from airflow_provider_xlikes.sandbox.config import DEFAULT_PORT, SandboxConfig, build_arg_parser, config_from_args


def test_the_command_line_defaults_to_port_8766_and_the_admin_client_follows():
    assert DEFAULT_PORT == 8766
    assert config_from_args(build_arg_parser().parse_args([])).port == 8766
    assert config_from_args(build_arg_parser().parse_args(["--port", "0"])).port == 0
    assert build_admin_parser().parse_args(["world"]).url == "http://127.0.0.1:8766"


def test_a_config_file_keeps_its_port_and_one_without_a_port_gets_the_default(tmp_path):
    with_port, without = tmp_path / "with.json", tmp_path / "without.json"
    with_port.write_text(SandboxConfig().to_json())  # what start_sandbox writes: port 0, a free one
    without.write_text(json.dumps({"seed": 7}))
    assert config_from_args(build_arg_parser().parse_args(["--config", str(with_port)])).port == 0
    assert config_from_args(build_arg_parser().parse_args(["--config", str(without)])).port == 8766
    assert config_from_args(build_arg_parser().parse_args(["--config", str(without), "--port", "9"])).port == 9
