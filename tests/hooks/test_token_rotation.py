"""Rotating refresh tokens: two separate processes refreshing at once both go on working.

The sandbox enforces rotation (an old refresh token is dead) and, here, OAuth 2.1 reuse
detection: sending a rotated refresh token again revokes the whole token family. Access tokens
live 2 s, so each process refreshes several times while the other one does too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from helpers import migrated_airflow_db

WORKER = r"""
import json, sys, time
from airflow_provider_xlikes.hooks.x import XHook
start_at, calls, conn_id = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
hook = XHook(conn_id)
while time.time() < start_at:
    time.sleep(0.001)
ok, errors = 0, []
for _ in range(calls):
    try:
        hook.get_me()
        ok += 1
    except Exception as exc:
        errors.append(type(exc).__name__)
    time.sleep(0.15)
print(json.dumps({"ok": ok, "errors": errors}))
"""


def _run_two_workers(sandbox, stores: list[str], calls: int) -> list[dict]:
    start_at = time.time() + 3
    conn_id = f"x_rotation_{uuid.uuid4().hex[:8]}"
    procs = []
    for store in stores:
        conn = json.loads(sandbox.conn_json("oauth2_user"))
        conn["extra"].pop("access_token", None)  # both must refresh right away, at the same moment
        conn["extra"]["rotation_store"] = store
        env = {**os.environ, f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn)}
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER, str(start_at), str(calls), conn_id],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.mark.slow
@pytest.mark.parametrize("store", ["file", "variable"])
def test_two_processes_refreshing_at_once_both_go_on_working(x_sandbox_factory, tmp_path, store) -> None:
    sandbox = x_sandbox_factory(token_lifetime=2, revoke_family_on_reuse=True, refresh_token=f"rt-{uuid.uuid4().hex}")
    if store == "variable":
        migrated_airflow_db()
        where = "variable"
    else:
        where = str(tmp_path / "shared-store")
    calls = 30  # ~4 s each (60 calls stay under the 75-per-window limit of /2/users/me)
    results = _run_two_workers(sandbox, [where, where], calls)
    assert results == [{"ok": calls, "errors": []}] * 2
    tokens = sandbox.admin.tokens()
    assert tokens["revoked_families"] == []
    assert sandbox.admin.request_counts()["by_status"].get("400", 0) == 0
    assert sandbox.admin.total_requests("oauth2_token") >= 2  # more than one round of rotation


@pytest.mark.slow
def test_a_second_store_for_the_same_authorization_is_refused_before_it_refreshes(x_sandbox_factory, tmp_path) -> None:
    """Without one shared store, a second process would send the refresh token the first one rotated
    and the family would die; the second store is refused instead (the claim in the metadata DB)."""
    migrated_airflow_db()
    sandbox = x_sandbox_factory(token_lifetime=20, revoke_family_on_reuse=True, refresh_token=f"rt-{uuid.uuid4().hex}")
    first = _run_two_workers(sandbox, [str(tmp_path / "a")], calls=1)
    second = _run_two_workers(sandbox, [str(tmp_path / "b")], calls=1)
    assert first == [{"ok": 1, "errors": []}]
    assert second == [{"ok": 0, "errors": ["XConfigError"]}]
    assert sandbox.admin.total_requests("oauth2_token") == 1
    assert sandbox.admin.tokens()["revoked_families"] == []
