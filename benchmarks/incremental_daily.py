"""What a daily incremental run costs in production, beside a peer that re-reads the whole listing.

A post with ``--likers`` likers is collected once (the backfill); then, for each count of
``--new`` likes, ``--days`` "days" each add that many likes at the sandbox and run the same DAG
again (``dag.test()`` on a real Airflow metadata DB, SQLite in a temporary ``AIRFLOW_HOME``):
``XLikingUsersOperator(incremental=True)`` to ``file://`` JSON Lines, ``max_results=100``, the
count lookup on (the default). Per run it reads from the sandbox the requests it answered
(listing pages and the count lookup) and from the manifest the records and the estimated cost
(``cost.estimated_cost_usd``, :mod:`airflow_provider_xlikes.pricing`); the task's seconds are its
task instance's duration. The peer re-reads everything every day (a bare ``requests`` loop over
the whole listing, as a client without incremental state does); its cost is estimated with the
same price table on the records it read.

The sandbox's rate limits are off, so no run waits for a window (a day of up to 7,400 new likes
fits in one 15-minute window of 75 requests; the backfill of a long listing would not).

    .venv/bin/python benchmarks/incremental_daily.py [--likers 10000] [--new 100,1000] [--days 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from scratch import scratch_dir

TEMP_HOME = Path(scratch_dir("xlikes-incremental-bench-"))
os.environ["AIRFLOW_HOME"] = str(TEMP_HOME)
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{TEMP_HOME}/airflow.db"
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(TEMP_HOME / "dags")
os.environ["XLIKES_LOCK_DIR"] = str(TEMP_HOME / "locks")

import pendulum  # noqa: E402
from paging import page_through  # noqa: E402

from airflow_provider_xlikes.endpoints import LIKING_USERS  # noqa: E402
from airflow_provider_xlikes.pricing import DEFAULT_PRICES, format_usd  # noqa: E402
from airflow_provider_xlikes.sandbox import start_sandbox  # noqa: E402

DAG_ID = "xlikes_incremental_daily"
SOURCE = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import XLikingUsersOperator

with DAG("DAG_ID", schedule="@daily", start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    XLikingUsersOperator(
        task_id="likers", tweet_id="POST", incremental=True, max_results=100, output_path="OUTPUT"
    )
"""


def load_dag(post_id: str, output: Path) -> Any:
    folder = TEMP_HOME / "dags"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{DAG_ID}.py"
    source = SOURCE.replace("DAG_ID", DAG_ID).replace("POST", post_id).replace("OUTPUT", output.as_uri())
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(DAG_ID, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def run_once(dag: Any, day: int, sandbox: Any) -> dict[str, Any]:
    """One daily run: its requests at the sandbox, the manifest's records and cost, its seconds."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    listing, total = sandbox.admin.total_requests("liking_users"), sandbox.admin.total_requests()
    started = time.perf_counter()
    dag_run = dag.test(logical_date=pendulum.datetime(2026, 1, 1, tz="UTC").add(days=day))
    wall = time.perf_counter() - started
    if str(dag_run.state) != "success":
        raise RuntimeError(f"day {day}: the run ended {dag_run.state}")
    with create_session() as session:
        ti = session.query(TaskInstance).filter_by(dag_id=DAG_ID, run_id=dag_run.run_id, task_id="likers").one()
        row = (
            session.query(XComModel)
            .filter_by(dag_id=DAG_ID, run_id=dag_run.run_id, task_id="likers", key="return_value")
            .one()
        )
        manifest = row.value if isinstance(row.value, dict) else json.loads(row.value)
        duration = float(ti.duration or 0.0)
    return {
        "records": int(manifest["record_count"]),
        "listing_requests": sandbox.admin.total_requests("liking_users") - listing,
        "requests": sandbox.admin.total_requests() - total,
        "usd": float(manifest["cost"]["estimated_cost_usd"]),
        "task_seconds": duration,
        "dag_test_seconds": wall,
        "stop": manifest["incremental"]["stop"],
    }


def peer_once(sandbox: Any, post_id: str) -> dict[str, Any]:
    """The peer: the whole listing again, in pages of 100."""
    before = sandbox.admin.total_requests("liking_users")
    records, seconds = page_through(sandbox.url, post_id, str(sandbox.credentials["bearer_token"]))
    return {
        "records": records,
        "requests": sandbox.admin.total_requests("liking_users") - before,
        "usd": DEFAULT_PRICES.cost(LIKING_USERS, records),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--likers", type=int, default=10_000, help="likers of the post before the first day")
    parser.add_argument("--new", default="100,1000", help="new likes per day, one series per count")
    parser.add_argument("--days", type=int, default=3, help="daily runs per count")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    from airflow.utils.db import initdb

    initdb()
    rows: list[dict[str, Any]] = []
    with start_sandbox(post_likes=[str(args.likers)], clean=True, liking_users_cap=None, rate_limits=False) as sandbox:
        post_id = str(sandbox.admin.world()["featured_posts"][0]["id"])
        os.environ["AIRFLOW_CONN_X_DEFAULT"] = sandbox.conn_json("bearer")
        dag = load_dag(post_id, TEMP_HOME / "out")
        backfill = run_once(dag, 0, sandbox)
        print(f"backfill: {json.dumps(backfill)}", flush=True)
        day = 0
        for new in (int(n) for n in args.new.split(",")):
            for _ in range(args.days):
                day += 1
                added = sandbox.admin.add_likes(post_id, new)
                ours = run_once(dag, day, sandbox)
                if ours["records"] != len(added):
                    raise RuntimeError(f"day {day}: {ours['records']} records written, {len(added)} likes added")
                peer = peer_once(sandbox, post_id)
                rows.append({"day": day, "new_likes": new, "ours": ours, "peer": peer})
                print(json.dumps(rows[-1]), flush=True)
    print()
    print(
        "| new likes a day | runs | requests a run (listing + lookup) | requests per 100 new likes "
        "| task seconds per 100 new likes | estimated cost a run | the peer: requests, cost a run |"
    )
    print("|---|---|---|---|---|---|---|")
    for new in dict.fromkeys(r["new_likes"] for r in rows):
        series = [r for r in rows if r["new_likes"] == new]

        def med(key: str, side: str = "ours", rows: list[dict[str, Any]] = series) -> float:
            return float(statistics.median(r[side][key] for r in rows))

        seconds = [r["ours"]["task_seconds"] * 100 / new for r in series]
        print(
            f"| {new:,} | {len(series)} | {med('requests'):g} ({med('listing_requests'):g} + "
            f"{med('requests') - med('listing_requests'):g}) | {med('requests') * 100 / new:.3g} | "
            f"{statistics.median(seconds):.3g} ({min(seconds):.3g}-{max(seconds):.3g}) | "
            f"{format_usd(med('usd'))} | {med('requests', 'peer'):g}, {format_usd(med('usd', 'peer'))} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"backfill": backfill, "rows": rows}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
