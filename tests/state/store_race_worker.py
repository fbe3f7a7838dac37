"""One "host" of the store race tests: its own lock directory, its own process, slow store writes.

``python store_race_worker.py refresh STORE START_AT WRITE_DELAY OUT``: at ``START_AT`` (Unix time),
an ``XHook`` on ``AIRFLOW_CONN_X_DEFAULT`` (an oauth2_user connection with no access token, so its
first request refreshes) asks for ``/2/users/me``; every write to the token store (and, for the
Variable store, to its lease) lands ``WRITE_DELAY`` seconds late, as through a loaded api-server.

``python store_race_worker.py reserve STORE START_AT WRITE_DELAY OUT KEY CONN_ID``: reserves rate-limit slots
of ``KEY`` until the window is spent, with slow writes; writes the slots it got.

``STORE`` is ``variable`` or ``postgres`` (for the reservations, the postgres connection ``CONN_ID``).
The outcome goes to ``OUT`` as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


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
