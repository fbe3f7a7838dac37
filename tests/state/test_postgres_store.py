"""The PostgreSQL state store (``state_store_conn_id``): one refresh chain and one rate budget across
hosts, on a real PostgreSQL server; bad configuration refused before any request.

The race tests run N processes as N hosts (each with a lock directory of its own, so no file lock
serializes them), every write to the store landing late as through a loaded api-server.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from helpers import migrated_airflow_db
from hosts_race import race_environment, run_race

from airflow_provider_xlikes import XHook
from airflow_provider_xlikes.exceptions import XConfigError, XStateStoreError, XValidationError
from airflow_provider_xlikes.hooks.postgres_store import PostgresBudgetStore, PostgresTokenStore
from airflow_provider_xlikes.rate_limits import RateLimit


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
    from airflow_provider_xlikes.testing.processes import free_port

    monkeypatch.setenv("AIRFLOW_CONN_XLIKES_DEAD", f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
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
#: two hosts whose writes land after 0.05 s, two after 1 s (the Variable lease waits 0.3 s)
DELAYS = [0.05, 1.0, 0.05, 1.0]


@pytest.mark.slow
def test_hosts_refreshing_at_once_refresh_once_and_all_go_on(x_sandbox_factory, state_db, tmp_path) -> None:
    """Four hosts need a refresh at the same moment, writes landing late, each refresh taking 2 s:
    one refresh, every host goes on, nothing revoked. (The Variable lease, the single-host
    default, fails the same race: ``benchmarks/store_race.py`` measures it.)"""
    migrated_airflow_db()
    sandbox = x_sandbox_factory(revoke_family_on_reuse=True, refresh_token=f"rt-{uuid.uuid4().hex}")
    env = race_environment(sandbox, "postgres", state_db.conn_id)
    results = run_race(tmp_path, "refresh", "postgres", DELAYS, env)
    assert all(result["ok"] for result in results), results
    assert sandbox.admin.total_requests("oauth2_token") == 1
    assert sandbox.admin.tokens()["revoked_families"] == []
    assert sandbox.admin.request_counts()["by_status"].get("400", 0) == 0


@pytest.mark.slow
def test_hosts_reserving_at_once_never_take_a_slot_twice(state_db, tmp_path) -> None:
    """Four hosts reserve the 75 slots of one window at once, writes landing late: 75 handed out.
    (Variables hand out the same slots twice: ``benchmarks/store_race.py``.)"""
    key = f"race{uuid.uuid4().hex[:12]}__liking_users"
    budget = PostgresBudgetStore(state_db.conn_id)
    budget.update(key, RateLimit(limit=75, remaining=75, reset_at=time.time() + 600))
    results = run_race(tmp_path, "reserve", "postgres", [0.02, 0.2, 0.02, 0.2], dict(os.environ), key, state_db.conn_id)
    assert sum(result["slots"] for result in results) == 75
    assert budget.load(key).remaining == 0
