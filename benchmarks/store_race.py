"""Hosts racing over the shared state, Variable store against PostgreSQL store, over several trials.

Each trial: four processes as four hosts (a lock directory and a temp directory each), every store
write landing late (two hosts after 0.05 s, two after 1 s, as through a loaded api-server), and
(refresh) the sandbox's token endpoint taking 2 s, with OAuth 2.1 reuse detection on; or
(reserve) the 75 slots of one rate-limit window reserved by all four at once. Prints per store: trials
with a lockout (a revoked token family), refreshes sent, hosts that failed; slots handed out per
window of 75. The same hosts as ``tests/state/test_postgres_store.py`` (``tests/state/hosts_race.py``).

    .venv/bin/python benchmarks/store_race.py [--trials 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

from scratch import scratch_dir

TEMP_HOME = scratch_dir("xlikes-race-bench-")
os.environ["AIRFLOW_HOME"] = TEMP_HOME
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{TEMP_HOME}/airflow.db"
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", "6dc2aFbcvWStJ8V7itf1zeg5tlSaFfgEzn_6mRqzEn8=")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "state"))

from hosts_race import race_environment, run_race  # type: ignore[import-not-found]  # noqa: E402

from airflow_provider_xlikes.hooks.budget import BudgetStore, VariableBudgetStore  # noqa: E402
from airflow_provider_xlikes.hooks.postgres_store import PostgresBudgetStore  # noqa: E402
from airflow_provider_xlikes.rate_limits import RateLimit  # noqa: E402
from airflow_provider_xlikes.sandbox import start_sandbox  # noqa: E402
from airflow_provider_xlikes.testing.services import PostgresServer  # noqa: E402

DELAYS = [0.05, 1.0, 0.05, 1.0]
STATE_CONN = "xlikes_state"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    from airflow.utils.db import initdb

    initdb()
    workdir = Path(TEMP_HOME)
    with PostgresServer() as postgres:
        os.environ[f"AIRFLOW_CONN_{STATE_CONN.upper()}"] = postgres.create_database(STATE_CONN)
        for store in ("variable", "postgres"):
            lockouts, refreshes, failed = 0, [], 0
            for _ in range(args.trials):
                sandbox = start_sandbox(revoke_family_on_reuse=True, refresh_token=f"rt-{uuid.uuid4().hex}")
                try:
                    results = run_race(workdir, "refresh", store, DELAYS, race_environment(sandbox, store, STATE_CONN))
                    lockouts += bool(sandbox.admin.tokens()["revoked_families"])
                    refreshes.append(sandbox.admin.total_requests("oauth2_token"))
                    failed += sum(not result["ok"] for result in results)
                finally:
                    sandbox.stop()
            print(
                f"refresh, {store:8}: {lockouts} of {args.trials} trials locked the user out; refreshes sent per "
                f"trial {refreshes}; hosts failed {failed} of {len(DELAYS) * args.trials}"
            )
            handed_out = []
            for _ in range(args.trials):
                key = f"race{uuid.uuid4().hex[:12]}__liking_users"
                budget: BudgetStore = PostgresBudgetStore(STATE_CONN) if store == "postgres" else VariableBudgetStore()
                budget.update(key, RateLimit(limit=75, remaining=75, reset_at=time.time() + 600))
                results = run_race(workdir, "reserve", store, [0.02, 0.2, 0.02, 0.2], dict(os.environ), key, STATE_CONN)
                handed_out.append(sum(result["slots"] for result in results))
            print(f"reserve, {store:8}: slots handed out per window of 75: {handed_out}")


if __name__ == "__main__":
    main()
