"""Fixtures of the compatibility tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

#: what the UI's connection form is built from, fetched in a fresh process as an API server would
#: (Airflow caches its providers' form fields per process, once)
HOOK_META = """
import json
from fastapi.testclient import TestClient
from airflow.api_fastapi.app import create_app, get_auth_manager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

with TestClient(create_app(apps="core")) as client:
    token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="ADMIN"))
    response = client.get("/ui/connections/hook_meta", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    print(json.dumps([hook for hook in response.json() if hook["connection_type"] == "x"]))
"""


@pytest.fixture
def x_hook_meta() -> dict[str, Any]:
    """The ``x`` entry of ``/ui/connections/hook_meta`` (the API server's app in process, an admin's token)."""
    from helpers import migrated_airflow_db

    migrated_airflow_db()
    env = {
        **os.environ,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API_AUTH__JWT_SECRET": "x" * 64,  # long enough for HS512
    }
    run = subprocess.run(
        [sys.executable, "-c", HOOK_META], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert run.returncode == 0, run.stderr[-3000:]
    (x,) = json.loads(run.stdout.strip().splitlines()[-1])
    return x
