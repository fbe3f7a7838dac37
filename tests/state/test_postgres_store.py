"""The PostgreSQL state store (``state_store_conn_id``): one refresh chain and one rate budget across
hosts, on a real PostgreSQL server; bad configuration refused before any request.

The race tests run N processes as N hosts (each with a lock directory of its own, so no file lock
serializes them), every write to the store landing late as through a loaded api-server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import migrated_airflow_db

from airflow_provider_xlikes import XHook
from airflow_provider_xlikes.exceptions import XConfigError, XStateStoreError, XValidationError
from airflow_provider_xlikes.hooks.budget import VariableBudgetStore
from airflow_provider_xlikes.hooks.postgres_store import PostgresBudgetStore, PostgresTokenStore
from airflow_provider_xlikes.rate_limits import RateLimit

WORKER = Path(__file__).with_name("store_race_worker.py")


@dataclass
class StateDatabase:
    server: Any
    name: str

    @property
    def conn_id(self) -> str:
        return self.name  # the connection has the database's name

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self.server.execute(sql, self.name))


@pytest.fixture
def state_db(postgres_server: Any, monkeypatch: pytest.MonkeyPatch) -> StateDatabase:
    """A fresh database of the session's PostgreSQL, as a connection of the same name."""
    name = f"xlikes_state_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{name.upper()}", postgres_server.create_database(name))
    return StateDatabase(postgres_server, name)


def _x_conn(sandbox: Any, monkeypatch: pytest.MonkeyPatch, conn_id: str = "x_default", **extra: Any) -> None:
    conn = json.loads(sandbox.conn_json("oauth2_user"))
    conn["extra"].update(extra)
    for key in [key for key, value in conn["extra"].items() if value is None]:
        del conn["extra"][key]
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


# --------------------------------------------------------------------------- bad configuration
def test_a_state_store_that_is_no_connection_is_refused_before_any_request(x_sandbox, monkeypatch) -> None:
    _x_conn(x_sandbox, monkeypatch, state_store_conn_id="no_such_conn")
    with pytest.raises(XValidationError) as info:
        XHook().get_me()
    assert info.value.parameter == "extra state_store_conn_id"
    assert "type postgres" in str(info.value) and "no such connection" in str(info.value)
    assert sum(x_sandbox.admin.request_counts()["by_endpoint"].values()) == 0


def test_a_state_store_of_another_type_is_refused_naming_the_type(x_sandbox, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_NOT_POSTGRES", "http://example.invalid")
    _x_conn(x_sandbox, monkeypatch, state_store_conn_id="not_postgres")
    with pytest.raises(XValidationError, match="'not_postgres' is of type 'http'"):
        XHook().get_me()
    assert sum(x_sandbox.admin.request_counts()["by_endpoint"].values()) == 0


@pytest.mark.parametrize("value", [7, "spaces are not ids", "x" * 300])
def test_a_malformed_state_store_value_is_refused(x_sandbox, monkeypatch, value) -> None:
    _x_conn(x_sandbox, monkeypatch, state_store_conn_id=value)
    with pytest.raises(XValidationError) as info:
        XHook().settings
    assert info.value.parameter == "extra state_store_conn_id"


def test_rotation_store_and_state_store_together_are_refused(x_sandbox, monkeypatch, tmp_path) -> None:
    _x_conn(x_sandbox, monkeypatch, state_store_conn_id="xlikes_state", rotation_store=str(tmp_path))
    with pytest.raises(XConfigError, match="leave rotation_store out"):
        XHook().settings


def test_a_database_that_does_not_answer_fails_before_any_request(x_sandbox, monkeypatch) -> None:
    from airflow_provider_xlikes.testing.services import _free_port

    monkeypatch.setenv("AIRFLOW_CONN_XLIKES_DEAD", f"postgresql://postgres@127.0.0.1:{_free_port()}/nothing")
    _x_conn(x_sandbox, monkeypatch, state_store_conn_id="xlikes_dead", access_token=None)
    with pytest.raises(XStateStoreError) as info:
        XHook().get_me()
    assert "postgres connection 'xlikes_dead' (extra state_store_conn_id)" in str(info.value)
    assert sum(x_sandbox.admin.request_counts()["by_endpoint"].values()) == 0


# --------------------------------------------------------------------------- tokens and budget in the database
def test_rotated_tokens_are_kept_encrypted_in_the_database_and_used_by_the_next_hook(
    x_sandbox_factory, state_db, monkeypatch
) -> None:
    migrated_airflow_db()
    sandbox = x_sandbox_factory(revoke_family_on_reuse=True, refresh_token=f"rt-{uuid.uuid4().hex}")
    _x_conn(sandbox, monkeypatch, state_store_conn_id=state_db.conn_id, access_token=None)
    hook = XHook()
    assert hook.get_me()["id"] == sandbox.user_id
    assert isinstance(hook.token_store, PostgresTokenStore)
    stored = hook.token_store.load(hook.client.auth.store_key)
    assert stored is not None and stored.refresh_token != sandbox.credentials["refresh_token"]
    ((blob,),) = state_db.execute("SELECT tokens FROM xlikes_oauth2_tokens")
    assert stored.refresh_token not in blob and str(stored.access_token) not in blob  # Fernet-encrypted
    # a later task: starts from the stored chain (no refresh while the access token lives)
    again = XHook()
    assert again.get_me()["id"] == sandbox.user_id
    assert sandbox.admin.total_requests("oauth2_token") == 1
    sandbox.admin.advance_clock(8000)
    assert XHook().get_me()["id"] == sandbox.user_id
    assert sandbox.admin.total_requests("oauth2_token") == 2
    assert sandbox.admin.tokens()["revoked_families"] == []
    # the budget of the token is in the database too
    assert isinstance(again.budget_store, PostgresBudgetStore)
    rows = state_db.execute("SELECT key, state FROM xlikes_rate_budget")
    assert rows and all(json.loads(state)["limit"] for _, state in rows)


def test_a_second_store_for_one_authorization_is_refused_naming_both_connections(
    x_sandbox_factory, state_db, monkeypatch, tmp_path
) -> None:
    migrated_airflow_db()
    sandbox = x_sandbox_factory(revoke_family_on_reuse=True, refresh_token=f"rt-{uuid.uuid4().hex}")
    _x_conn(sandbox, monkeypatch, "x_first", access_token=None)  # the Variable store
    assert XHook("x_first").get_me()["id"] == sandbox.user_id
    for conn_id, extra in [
        ("x_files", {"rotation_store": str(tmp_path / "tokens")}),
        ("x_database", {"state_store_conn_id": state_db.conn_id}),
    ]:
        _x_conn(sandbox, monkeypatch, conn_id, access_token=None, **extra)
        with pytest.raises(XConfigError) as info:
            XHook(conn_id).get_me()
        message = str(info.value)
        assert f"connection {conn_id!r}" in message and "connection 'x_first'" in message
        assert "Airflow Variables" in message
        assert sandbox.credentials["refresh_token"] not in message
    # neither sent the rotated refresh token: the first connection still works
    assert sandbox.admin.total_requests("oauth2_token") == 1
    assert sandbox.admin.tokens()["revoked_families"] == []
    sandbox.admin.advance_clock(8000)
    assert XHook("x_first").get_me()["id"] == sandbox.user_id


def test_a_database_gone_before_the_refresh_sends_no_refresh_token(x_sandbox_factory, monkeypatch) -> None:
    from airflow_provider_xlikes.testing.services import PostgresServer

    migrated_airflow_db()
    sandbox = x_sandbox_factory(refresh_token=f"rt-{uuid.uuid4().hex}")
    with PostgresServer() as doomed:
        monkeypatch.setenv("AIRFLOW_CONN_XLIKES_DOOMED", doomed.create_database("state"))
        _x_conn(sandbox, monkeypatch, state_store_conn_id="xlikes_doomed", access_token=None)
        hook = XHook()
        hook.client
    with pytest.raises(XStateStoreError, match="state_store_conn_id"):
        hook.get_me()
    assert sandbox.admin.total_requests("oauth2_token") == 0


# --------------------------------------------------------------------------- N hosts at once
def _race(
    tmp_path: Path, action: str, store: str, delays: list[float], env: dict[str, str], *extra: str
) -> list[dict[str, Any]]:
    start_at = time.time() + 6  # every host has imported Airflow and built its hook by then
    procs, outs = [], []
    for host, delay in enumerate(delays):
        out = tmp_path / f"{action}-{store}-{host}.json"
        host_env = {**env, "XLIKES_LOCK_DIR": str(tmp_path / f"locks-{store}-{host}"), "TMPDIR": str(tmp_path)}
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), action, store, str(start_at), str(delay), str(out), *extra],
                env=host_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
        outs.append(out)
    try:
        errors = [proc.communicate(timeout=180)[1].decode()[-3000:] for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
    for proc, err in zip(procs, errors, strict=True):
        assert proc.returncode == 0, err
    return [json.loads(out.read_text()) for out in outs]


#: two hosts whose writes land after 0.05 s, two after 1 s (the Variable lease waits 0.3 s)
DELAYS = [0.05, 1.0, 0.05, 1.0]


@pytest.mark.slow
@pytest.mark.parametrize("store", ["postgres", "variable"])
def test_hosts_refreshing_at_once(x_sandbox_factory, state_db, tmp_path, store) -> None:
    """PostgreSQL: one refresh, every host goes on. The Variable lease (the single-host default):
    two hosts hold it at once and send the same refresh token; X revokes the family (a lockout)."""
    migrated_airflow_db()
    sandbox = x_sandbox_factory(revoke_family_on_reuse=True, refresh_token=f"rt-{uuid.uuid4().hex}")
    sandbox.admin.set_faults({"kind": "slow", "endpoint": "oauth2_token", "delay": 2.0, "count": 0})
    conn = json.loads(sandbox.conn_json("oauth2_user"))
    conn["extra"].pop("access_token", None)
    if store == "postgres":
        conn["extra"]["state_store_conn_id"] = state_db.conn_id
    env = {**os.environ, "AIRFLOW_CONN_X_DEFAULT": json.dumps(conn)}
    results = _race(tmp_path, "refresh", store, DELAYS, env)
    refreshes = sandbox.admin.total_requests("oauth2_token")
    revoked = sandbox.admin.tokens()["revoked_families"]
    print(store, "refreshes", refreshes, "revoked families", revoked, results)
    if store == "postgres":
        assert all(result["ok"] for result in results), results
        assert refreshes == 1
        assert revoked == []
        assert sandbox.admin.request_counts()["by_status"].get("400", 0) == 0
    else:
        assert refreshes >= 2 and revoked, (refreshes, revoked, results)  # the lockout the store prevents


@pytest.mark.slow
@pytest.mark.parametrize("store", ["postgres", "variable"])
def test_hosts_reserving_at_once(state_db, tmp_path, store) -> None:
    """PostgreSQL: the 75 slots of a window are handed out once. Variables: hosts take the same slots."""
    migrated_airflow_db()
    key = f"race{uuid.uuid4().hex[:12]}__liking_users"
    budget = PostgresBudgetStore(state_db.conn_id) if store == "postgres" else VariableBudgetStore()
    budget.update(key, RateLimit(limit=75, remaining=75, reset_at=time.time() + 600))
    results = _race(tmp_path, "reserve", store, [0.02, 0.2, 0.02, 0.2], dict(os.environ), key, state_db.conn_id)
    handed_out = sum(result["slots"] for result in results)
    print(store, "slots handed out", handed_out, [result["slots"] for result in results])
    if store == "postgres":
        assert handed_out == 75
        assert budget.load(key).remaining == 0
    else:
        assert handed_out > 75  # the same slots taken by two hosts
