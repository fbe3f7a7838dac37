"""What the shared state costs: per request, per budget reservation and per token refresh, by store.

1. Sends ``--requests`` single-record listing calls (rate limits off at the sandbox, so nothing
   waits) through ``XApiClient`` without a budget, with an in-memory budget, with the Airflow
   Variable budget (the metadata DB of a temporary SQLite ``AIRFLOW_HOME``, as outside a task) and
   with the PostgreSQL budget (``state_store_conn_id``; a PostgreSQL server of its own, started
   here from the machine's Debian package); a fresh token identity every 70 requests keeps each
   window under its limit of 75. Prints the mean time per request and the store round trips.
2. One reservation, alone (``store.reserve``, no HTTP): the mean over ``--reservations``.
3. One OAuth 2.0 refresh at the sandbox under each token store's lock (lock, re-read, the token
   endpoint, save): the mean over ``--refreshes``.

    .venv/bin/python benchmarks/budget_cost.py [--requests 700] [--reservations 500] [--refreshes 50]
"""

from __future__ import annotations

import argparse
import os
import time

from scratch import scratch_dir

TEMP_HOME = scratch_dir("xlikes-budget-bench-")
os.environ["AIRFLOW_HOME"] = TEMP_HOME
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{TEMP_HOME}/airflow.db"
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["XLIKES_LOCK_DIR"] = f"{TEMP_HOME}/locks"

from airflow_provider_xlikes.endpoints import LIKING_USERS  # noqa: E402
from airflow_provider_xlikes.hooks._auth import StaticBearerAuth  # noqa: E402
from airflow_provider_xlikes.hooks.budget import (  # noqa: E402
    MAX_LEASE,
    BudgetStore,
    InMemoryBudgetStore,
    SharedBudget,
    VariableBudgetStore,
)
from airflow_provider_xlikes.hooks.client import XApiClient  # noqa: E402
from airflow_provider_xlikes.hooks.postgres_store import PostgresBudgetStore, PostgresTokenStore  # noqa: E402
from airflow_provider_xlikes.hooks.token_store import FileTokenStore, TokenStore, VariableTokenStore  # noqa: E402
from airflow_provider_xlikes.rate_limits import RateLimit  # noqa: E402
from airflow_provider_xlikes.sandbox import start_sandbox  # noqa: E402
from airflow_provider_xlikes.testing.services import PostgresServer  # noqa: E402

PER_IDENTITY = 70


class CountingStore:
    """Counts the round trips of the store it wraps."""

    def __init__(self, store: BudgetStore) -> None:
        self.store = store
        self.round_trips = 0

    def load(self, key: str) -> RateLimit | None:
        self.round_trips += 1
        return self.store.load(key)

    def update(self, key: str, observed: RateLimit) -> None:
        self.round_trips += 1
        self.store.update(key, observed)

    def reserve(self, key: str, *, default_limit: int, max_lease: int = MAX_LEASE, observed: RateLimit | None = None):  # type: ignore[no-untyped-def]
        self.round_trips += 1
        return self.store.reserve(key, default_limit=default_limit, max_lease=max_lease, observed=observed)

    def release(self, key: str, lease, observed: RateLimit | None = None) -> None:  # type: ignore[no-untyped-def]
        self.round_trips += 1
        self.store.release(key, lease, observed)


def run(url: str, token: str, post_id: str, requests: int, store: CountingStore | None) -> float:
    """Mean seconds per request."""
    client = XApiClient(base_url=url, auth=StaticBearerAuth(token))
    path = LIKING_USERS.url_path(post_id)
    started = time.perf_counter()
    for number in range(requests):
        if store is not None and number % PER_IDENTITY == 0:
            client.budget = SharedBudget(store, url, f"identity-{time.time_ns()}")
        client.request(LIKING_USERS, path, params={"max_results": 1})
    return (time.perf_counter() - started) / requests


def reservation(store: BudgetStore, count: int) -> float:
    """Mean seconds of one reservation of one slot (a new window every 70, as above)."""
    started = time.perf_counter()
    for number in range(count):
        key = f"bench{number // PER_IDENTITY}-{time.time_ns() if number % PER_IDENTITY == 0 else ''}"
        store.reserve(key, default_limit=75, max_lease=1)
    return (time.perf_counter() - started) / count


def refresh(sandbox_url: str, credentials: dict[str, object], store: TokenStore, count: int) -> float:
    """Mean seconds of one refresh under ``store``'s lock (each one rotates the refresh token)."""
    import requests

    from airflow_provider_xlikes.hooks._auth import OAuth2UserAuth, TokenEndpoint

    session = requests.Session()
    auth = OAuth2UserAuth(
        client_id=str(credentials["client_id"]),
        client_secret=str(credentials["client_secret"]) if credentials.get("client_secret") else None,
        refresh_token=str(credentials["refresh_token"]),
        access_token=None,
        store=store,
        endpoint=TokenEndpoint(session, sandbox_url, (5.0, 30.0)),
        on_secret=lambda secret: None,
    )
    auth._refresh(failed_access_token=None)  # the first one: tables, connections
    started = time.perf_counter()
    for _ in range(count):
        auth._refresh(failed_access_token=auth._access_token)
    return (time.perf_counter() - started) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=700)
    parser.add_argument("--reservations", type=int, default=500)
    parser.add_argument("--refreshes", type=int, default=50)
    args = parser.parse_args()
    from airflow.utils.db import initdb

    initdb()
    os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", "6dc2aFbcvWStJ8V7itf1zeg5tlSaFfgEzn_6mRqzEn8=")
    with PostgresServer() as postgres:
        os.environ["AIRFLOW_CONN_XLIKES_STATE"] = postgres.create_database("xlikes_state")
        sandbox = start_sandbox(rate_limits=False, clean=True)
        try:
            token = sandbox.credentials["bearer_token"]
            post_id = str(sandbox.admin.world()["featured_posts"][0]["id"])
            run(sandbox.url, token, post_id, 50, None)  # warm up
            baseline = run(sandbox.url, token, post_id, args.requests, None)
            print(f"no budget:        {baseline * 1000:.3f} ms/request")
            stores: list[tuple[str, BudgetStore]] = [
                ("in-memory", InMemoryBudgetStore()),
                ("Variable (SQLite)", VariableBudgetStore()),
                ("PostgreSQL", PostgresBudgetStore("xlikes_state")),
            ]
            for name, store in stores:
                counting = CountingStore(store)
                mean = run(sandbox.url, token, post_id, args.requests, counting)
                print(
                    f"{name + ' budget:':26}{mean * 1000:.3f} ms/request (+{(mean - baseline) * 1000:.3f} ms); "
                    f"{counting.round_trips / args.requests:.2f} store round trips per request"
                )
            for name, store in stores:
                print(f"{name + ' reservation:':32}{reservation(store, args.reservations) * 1000:.3f} ms")
            token_stores: list[tuple[str, TokenStore]] = [
                ("file (flock)", FileTokenStore(f"{TEMP_HOME}/tokens")),
                ("Variable (SQLite, lease)", VariableTokenStore()),
                ("PostgreSQL (advisory lock)", PostgresTokenStore("xlikes_state")),
            ]
            for name, token_store in token_stores:
                sandbox.admin.reset()  # the seed refresh token again, for each store
                mean = refresh(sandbox.url, sandbox.credentials, token_store, args.refreshes)
                print(f"{name + ' refresh:':38}{mean * 1000:.1f} ms")
        finally:
            sandbox.stop()


if __name__ == "__main__":
    main()
