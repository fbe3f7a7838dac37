"""What the state store is worth across hosts: the many-hosts scenario of issue #24, measured.

Runs ``tests/system/many_hosts_scenario.py``'s scenario ``--runs`` times per store on a real multi-host
deployment (CeleryExecutor on PostgreSQL and Redis, two Celery workers as two hosts, see
``airflow_provider_xlikes.testing.celery_cluster``): 40 mapped deferrable listings on ONE OAuth 2.0
user token, 400 requests over six windows of 75, access tokens that expire mid-run, family
revocation on reuse. Prints per run the 429s (and the most in one window), the refreshes (and the
most one per token lifetime allows), invalid_grant answers, revoked families, tasks succeeded,
the run's wall time, the share of the API ceiling used (requests per full window / 75, the first
and last windows left out) and the cluster's start time.

    .venv/bin/python benchmarks/many_hosts.py [--store variable --store postgres] [--runs 3]
        [--window 12] [--token-lifetime 30] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "system")]

from many_hosts_scenario import POSTS, STORES, TOKEN_LIFETIME, WINDOW_SECONDS, ManyHostsResult, run_many_hosts  # noqa: E402

COLUMNS = (
    "store",
    "run",
    "tasks ok",
    "429s",
    "max 429s/window",
    "refreshes",
    "max refreshes",
    "invalid_grant",
    "revoked families",
    "run s",
    "ceiling use",
    "cluster start s",
)


def row(result: ManyHostsResult, index: int) -> dict[str, Any]:
    return {
        "store": result.store,
        "run": index,
        "tasks ok": f"{result.succeeded}/{len(POSTS)}",
        "429s": result.rejected,
        "max 429s/window": max((w.rejected for w in result.windows), default=0),
        "refreshes": result.refreshes,
        "max refreshes": result.max_refreshes,
        "invalid_grant": result.invalid_grants,
        "revoked families": len(result.revoked_families),
        "run s": round(result.wall_seconds, 1),
        "ceiling use": result.ceiling_use(),
        "cluster start s": round(result.cluster_start_seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--store", action="append", choices=STORES, help="repeatable; default: variable")
    parser.add_argument("--runs", type=int, default=3, help="runs per store")
    parser.add_argument("--window", type=float, default=WINDOW_SECONDS, help="seconds per rate-limit window")
    parser.add_argument("--token-lifetime", type=int, default=TOKEN_LIFETIME, help="access token lifetime, s")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    # SIGTERM ends like Ctrl-C: the context managers stop every process of the deployment
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows = []
    print(" | ".join(COLUMNS), flush=True)
    for store in args.store or ["variable"]:
        for index in range(1, args.runs + 1):
            result = run_many_hosts(store, window_seconds=args.window, token_lifetime=args.token_lifetime)
            rows.append(row(result, index))
            print(" | ".join(str(rows[-1][column]) for column in COLUMNS), flush=True)
            if result.state != "success":
                print(f"  run {result.state}: {result.summary()}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
