"""What the shared rate-limit budget costs per request when its window has plenty left.

Sends ``--requests`` single-record listing calls (rate limits off at the sandbox, so nothing
waits) through ``XApiClient`` without a budget, with an in-memory budget and with the Airflow
Variable budget (the metadata DB of a temporary SQLite ``AIRFLOW_HOME``, as outside a task); a
fresh token identity every 70 requests keeps each window under its limit of 75. Prints the mean
time per request and the store round trips.

    .venv/bin/python benchmarks/budget_cost.py [--requests 700]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

TEMP_HOME = tempfile.mkdtemp(prefix="xlikes-budget-bench-")
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
from airflow_provider_xlikes.rate_limits import RateLimit  # noqa: E402
from airflow_provider_xlikes.sandbox import start_sandbox  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=700)
    args = parser.parse_args()
    from airflow.utils.db import initdb

    initdb()
    sandbox = start_sandbox(rate_limits=False, clean=True)
    try:
        token = sandbox.credentials["bearer_token"]
        post_id = str(sandbox.admin.world()["featured_posts"][0]["id"])
        run(sandbox.url, token, post_id, 50, None)  # warm up
        baseline = run(sandbox.url, token, post_id, args.requests, None)
        print(f"no budget:        {baseline * 1000:.3f} ms/request")
        for name, store in (("in-memory", InMemoryBudgetStore()), ("Variable (DB)", VariableBudgetStore())):
            counting = CountingStore(store)
            mean = run(sandbox.url, token, post_id, args.requests, counting)
            print(
                f"{name + ' budget:':18}{mean * 1000:.3f} ms/request (+{(mean - baseline) * 1000:.3f} ms); "
                f"{counting.round_trips / args.requests:.2f} store round trips per request"
            )
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
