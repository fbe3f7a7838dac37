"""Races between hosts over the shared state: N processes as N hosts, each with a lock directory
and a temp directory of its own (no file lock serializes them), every store write landing late.
Used by ``tests/state/test_postgres_store.py`` (the PostgreSQL store holds) and
``benchmarks/store_race.py`` (the Variable store, the single-host default, does not).

:func:`run_race` starts the hosts and returns what each one saw. Each host is this file run as a
script:

``python hosts_race.py refresh STORE START_AT WRITE_DELAY OUT``: at ``START_AT`` (Unix time),
an ``XHook`` on ``AIRFLOW_CONN_X_DEFAULT`` (an oauth2_user connection with no access token, so its
first request refreshes) asks for ``/2/users/me``; every write to the token store (and, for the
Variable store, to its lease) lands ``WRITE_DELAY`` seconds late, as through a loaded api-server.

``python hosts_race.py reserve STORE START_AT WRITE_DELAY OUT KEY CONN_ID``: reserves rate-limit slots
of ``KEY`` until the window is spent, with slow writes; writes the slots it got.

``STORE`` is ``variable`` or ``postgres`` (for the reservations, the postgres connection ``CONN_ID``).
The outcome goes to ``OUT`` as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: a refresh at the sandbox takes this long (a slow token endpoint widens the race, as a loaded X would)
REFRESH_SECONDS = 2.0


def race_environment(sandbox: Any, store: str, state_conn_id: str | None = None) -> dict[str, str]:
    """The hosts' environment: an oauth2_user connection with no access token (the first request
    refreshes), its tokens in ``store`` (``variable`` or ``postgres``, the connection
    ``state_conn_id``); the sandbox's token endpoint made slow."""
    sandbox.admin.set_faults({"kind": "slow", "endpoint": "oauth2_token", "delay": REFRESH_SECONDS, "count": 0})
    conn = json.loads(sandbox.conn_json("oauth2_user"))
    conn["extra"].pop("access_token", None)
    if store == "postgres":
        conn["extra"]["state_store_conn_id"] = state_conn_id
    return {**os.environ, "AIRFLOW_CONN_X_DEFAULT": json.dumps(conn)}


def run_race(
    workdir: Path, action: str, store: str, delays: list[float], env: dict[str, str], *extra: str
) -> list[dict[str, Any]]:
    """Start one host per entry of ``delays`` (its write delay), all acting at the same moment;
    returns each host's outcome. Every host is stopped by its PID, also on failure."""
    start_at = time.time() + 6  # every host has imported Airflow and opened its store by then
    procs, outs = [], []
    try:
        for host, delay in enumerate(delays):
            out = workdir / f"{action}-{store}-{host}-{time.time_ns()}.json"
            lock_dir = workdir / f"locks-{store}-{host}"
            host_env = {**env, "XLIKES_LOCK_DIR": str(lock_dir), "TMPDIR": str(workdir)}
            command = [sys.executable, __file__, action, store, str(start_at), str(delay), str(out), *extra]
            procs.append(subprocess.Popen(command, env=host_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            outs.append(out)
        errors = [proc.communicate(timeout=180)[1].decode()[-3000:] for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    for proc, err in zip(procs, errors, strict=True):
        if proc.returncode != 0:
            raise RuntimeError(f"a host failed ({proc.returncode}):\n{err}")
    return [json.loads(out.read_text()) for out in outs]


def _slow(function: Any, delay: float) -> Any:
    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(delay)
        return function(*args, **kwargs)

    return slow


def _refresh(store: str, delay: float) -> dict[str, Any]:
    from airflow_provider_xlikes import XHook
    from airflow_provider_xlikes.hooks.postgres_store import PostgresTokenStore
    from airflow_provider_xlikes.hooks.token_store import VariableTokenStore

    if store == "variable":
        VariableTokenStore._set = staticmethod(_slow(VariableTokenStore._set, delay))  # type: ignore[method-assign]
    else:
        PostgresTokenStore.save = _slow(PostgresTokenStore.save, delay)  # type: ignore[method-assign]
    hook = XHook()
    auth: Any = hook.client.auth
    store_object: Any = hook.token_store
    store_object.load(auth.store_key)  # the store's connection (metadata DB, PostgreSQL) opened first
    if store == "variable":
        store_object._read_lease(f"{store_object.prefix}{auth.store_key}__lease")
    _wait(START_AT)
    try:
        return {"ok": True, "user": hook.get_me()["id"]}
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


def _reserve(store: str, delay: float, key: str, conn_id: str) -> dict[str, Any]:
    from airflow_provider_xlikes.hooks.budget import VariableBudgetStore
    from airflow_provider_xlikes.hooks.postgres_store import PostgresBudgetStore

    budget: Any
    if store == "variable":
        budget = VariableBudgetStore()
    else:
        budget = PostgresBudgetStore(conn_id)
    budget._write = _slow(budget._write, delay)
    _wait(START_AT)
    slots = 0
    while True:
        lease = budget.reserve(key, default_limit=75)
        if lease.slots == 0:
            return {"ok": True, "slots": slots}
        slots += lease.slots


def _wait(moment: float) -> None:
    time.sleep(max(moment - time.time(), 0))


if __name__ == "__main__":
    action, store, START_AT, delay, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    if action == "refresh":
        result = _refresh(store, delay)
    else:
        result = _reserve(store, delay, sys.argv[6], sys.argv[7])
    with open(out, "w") as handle:
        json.dump(result, handle)
