"""What importing the operators (as parsing a DAG does) loads on top of ``airflow.sdk``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "airflow_provider_xlikes.operators.likes",
        "airflow_provider_xlikes.sensors.likes",
        "airflow_provider_xlikes.triggers.new_likes",
    ],
)
def test_importing_the_operators_loads_no_oauth_signing_and_no_http_client(module: str) -> None:
    """DAG parsing imports the operators, the sensor and the watcher's trigger; OAuth 1.0a signing
    (and the HTTP stack) load only in a run."""
    code = (
        "import sys, json, airflow.sdk; before = set(sys.modules); "
        f"import {module}; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = set(json.loads(out.stdout.strip().splitlines()[-1]))
    loaded = {m.split(".")[0] for m in modules}
    assert not loaded & {"oauthlib", "requests_oauthlib", "requests", "pyarrow", "openlineage"}, loaded
    # OpenLineage (where its provider is installed) loads only when it asks a finished task for its facets
    assert not {m for m in modules if m.startswith("airflow.providers.openlineage")}
