"""How much of a deferrable collection's wall time holds a worker, on a real Airflow.

Starts the sandbox (time-scaled windows of ``--window`` seconds, 75 requests each) and a real
Airflow (scheduler with LocalExecutor, dag-processor, api-server, triggerer), then runs one
deferrable ``XLikingUsersOperator`` to files over a post whose likers need ``--windows`` windows.
The worker time comes from the task instance's own records: its log's task-runner markers (one
``Pre Execute`` to ``endgroup`` stretch per task process, the first and one per resume) against
its ``start_date``..``end_date``. On X a window is 15 minutes; the worker time per resume does not
grow with it, so the share measured here with shorter windows is an upper bound.

    .venv/bin/python benchmarks/worker_occupancy.py [--window 120] [--windows 3]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scratch import scratch_dir

from airflow_provider_xlikes.output import iter_records
from airflow_provider_xlikes.sandbox import start_sandbox
from airflow_provider_xlikes.testing.cluster import AirflowCluster

POST = "1354143047324299264"
DAG_ID = "xlikes_worker_occupancy"
DAG = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import XLikingUsersOperator

with DAG("{dag_id}", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    XLikingUsersOperator(task_id="likers", tweet_id="{post}", deferrable=True, output_path={output!r})
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=120.0, help="seconds per rate-limit window")
    parser.add_argument("--windows", type=int, default=3, help="windows the listing needs")
    args = parser.parse_args()
    likers = (75 * (args.windows - 1) + 40) * 100  # the last window only partly used
    output = Path(scratch_dir("xlikes-occupancy-")) / "likers"
    sandbox = start_sandbox(
        window_seconds=args.window, clean=True, post_likes=[f"{POST}:{likers}"], liking_users_cap=None
    )
    try:
        with AirflowCluster(parallelism=2, env={"AIRFLOW_CONN_X_DEFAULT": sandbox.conn_json("bearer")}) as cluster:
            source = DAG.format(dag_id=DAG_ID, post=POST, output=output.as_uri())
            run = cluster.run_dag(DAG_ID, source, timeout=args.window * (args.windows + 2) + 120)
            if run.state != "success":
                raise SystemExit(f"run {run.state}:\n{cluster.logs()}")
            run_id, elapsed = run.run_id, run.seconds
            occupancy = cluster.worker_occupancy(DAG_ID, run_id, "likers")
            records = sum(1 for _ in iter_records(cluster.xcom(DAG_ID, run_id, "likers")))
        counts = sandbox.admin.request_counts()
    finally:
        sandbox.stop()
    result = {
        "window_seconds": args.window,
        "likers": likers,
        "records_written": records,
        "requests": counts["by_endpoint"].get("liking_users", 0),
        "429s": counts["by_status"].get("429", 0),
        "task_processes": occupancy.runs,
        "worker_seconds": round(occupancy.worker_seconds, 1),
        "task_wall_seconds": round(occupancy.wall_seconds, 1),
        "run_wall_seconds": round(elapsed, 1),
        "worker_share": round(occupancy.share, 4),
    }
    print(json.dumps(result, indent=2))
    print(
        f"| {args.window:.0f} s windows | {likers:,} likers | {occupancy.runs} task processes | "
        f"{occupancy.worker_seconds:.1f} s of worker time in {occupancy.wall_seconds:.0f} s | "
        f"**{occupancy.share:.1%}** | {result['429s']} 429s |"
    )


if __name__ == "__main__":
    main()
