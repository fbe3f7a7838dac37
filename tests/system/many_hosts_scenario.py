"""The many-hosts scenario of issue #24, shared by the acceptance test and the benchmark.

40 mapped deferrable listings (``XLikingUsersOperator.partial(deferrable=True, max_results=10)
.expand(tweet_id=...)``) on ONE OAuth 2.0 user token, on a :class:`CeleryCluster` (PostgreSQL,
Redis, two Celery workers as two hosts), against a sandbox with short rate-limit windows, access
tokens that expire mid-run and family revocation on reuse. 40 posts of 100 likers at 10 per page
are 400 requests: six windows of 75. :func:`run_many_hosts` returns what the sandbox and Airflow saw.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from window_meter import WindowMeter, WindowUse

from airflow_provider_xlikes.endpoints import LIKING_USERS
from airflow_provider_xlikes.sandbox import start_sandbox
from airflow_provider_xlikes.testing.celery_cluster import STATE_CONN_ID, CeleryCluster

POSTS = [str(1_910_000_000_000_000_000 + i) for i in range(40)]
LIKERS = 100  # X lists at most 100 likers of a post (2026)
PAGE = 10
WINDOW_SECONDS = 12.0
TOKEN_LIFETIME = 30  # seconds: the run takes several lifetimes
DEFER_AFTER = 2.0  # waits for a window's reset longer than this defer (all of them, with 12 s windows)
WINDOW_LIMIT = LIKING_USERS.window_limit or 75
#: the stores a connection can name: Airflow Variables (the default), or the PostgreSQL database
#: of the ``state_store_conn_id`` connection (the cluster's ``xlikes_state``)
STORES = ("variable", "postgres")
DAG_ID = "xlikes_many_hosts"
TASK_ID = "likers"
DAG_SOURCE = f'''
import pendulum
from airflow.sdk import DAG

from airflow_provider_xlikes import XLikingUsersOperator

with DAG("{DAG_ID}", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    XLikingUsersOperator.partial(
        task_id="{TASK_ID}", deferrable=True, defer_after={DEFER_AFTER}, max_results={PAGE}, retries=0
    ).expand(tweet_id={POSTS!r})
'''


@dataclass
class ManyHostsResult:
    """What one run of the scenario did: Airflow's view, the sandbox's counters, the windows."""

    store: str
    state: str
    task_states: Counter[str]
    hostnames: Counter[str]
    incomplete: list[str]
    """Posts whose task output was not every liker once, in the sandbox's order."""
    windows: list[WindowUse]
    requests: int
    rejected: int
    refreshes: int
    invalid_grants: int
    revoked_families: list[int]
    window_seconds: float
    token_lifetime: int
    wall_seconds: float
    token_seconds: float
    """From the moment the sandbox issued the first access token to the end of the run."""
    cluster_start_seconds: float
    workers: list[str] = field(default_factory=list)
    logs: str = ""

    @property
    def succeeded(self) -> int:
        return self.task_states.get("success", 0)

    @property
    def max_refreshes(self) -> int:
        """At most one refresh per access token lifetime: a token is refreshed when
        ``min(60 s, lifetime / 10)`` of it is left (the hook's margin), never before."""
        return int(self.token_seconds / (self.token_lifetime - min(60.0, self.token_lifetime / 10)))

    def ceiling_use(self) -> str:
        """Requests per full window over the limit (the first and last windows left out), as a share."""
        full = self.windows[1:-1]
        return f"{sum(w.requests for w in full) / (WINDOW_LIMIT * len(full)):.0%}" if full else "n/a"

    def summary(self) -> str:
        return (
            f"store={self.store} state={self.state} tasks succeeded {self.succeeded}/{len(POSTS)}"
            f" {dict(self.task_states)} hosts {dict(self.hostnames)} incomplete {len(self.incomplete)};"
            f" 429s {self.rejected} (per window: {[w.rejected for w in self.windows]}); requests {self.requests};"
            f" refreshes {self.refreshes} (at most {self.max_refreshes} in {self.token_seconds:.0f} s);"
            f" invalid_grant {self.invalid_grants}; revoked families {self.revoked_families};"
            f" ceiling use {self.ceiling_use()}; run {self.wall_seconds:.1f} s;"
            f" cluster start {self.cluster_start_seconds:.1f} s"
        )


def x_connection(sandbox: Any, store: str) -> str:
    """The sandbox's OAuth 2.0 user connection, with its state in ``store``."""
    if store not in STORES:
        raise ValueError(f"store: one of {STORES}, not {store!r}")
    conn = json.loads(sandbox.conn_json("oauth2_user"))
    if store == "postgres":
        conn["extra"]["state_store_conn_id"] = STATE_CONN_ID
    return json.dumps(conn)


def run_many_hosts(
    store: str,
    *,
    workers: int = 2,
    concurrency: int = 2,
    window_seconds: float = WINDOW_SECONDS,
    token_lifetime: int = TOKEN_LIFETIME,
    timeout: float = 420.0,
) -> ManyHostsResult:
    """Start the sandbox and the cluster, run the mapped DAG once, stop everything; the figures.

    Every process is stopped also when this fails (or is interrupted): the cluster and the sandbox
    are context managers.
    """
    sandbox = start_sandbox(
        window_seconds=window_seconds,
        token_lifetime=token_lifetime,
        revoke_family_on_reuse=True,
        clean=True,
        post_likes=[f"{post}:{LIKERS}" for post in POSTS],
    )
    try:
        started = time.monotonic()
        cluster = CeleryCluster(
            workers=workers, concurrency=concurrency, env={"AIRFLOW_CONN_X_DEFAULT": x_connection(sandbox, store)}
        )
        with cluster:
            cluster_start = time.monotonic() - started
            cluster.write_dag(DAG_ID, DAG_SOURCE)
            cluster.wait_for_dag(DAG_ID)
            sandbox.admin.reset()  # counters, windows and the first access token start now
            token_issued = time.monotonic()
            with WindowMeter(sandbox) as meter:
                run_started = time.monotonic()
                run_id = cluster.trigger(DAG_ID)
                state = cluster.wait_for_run(DAG_ID, run_id, timeout=timeout)
                wall = time.monotonic() - run_started
            token_seconds = time.monotonic() - token_issued
            tis = cluster.task_instances(DAG_ID, run_id)
            incomplete = []
            for ti in tis:
                post = POSTS[ti["map_index"]]
                records = (
                    cluster.xcom(DAG_ID, run_id, TASK_ID, map_index=ti["map_index"])
                    if ti["state"] == "success"
                    else None
                )
                if not records or [r["id"] for r in records] != sandbox.admin.likers(post):
                    incomplete.append(post)
            logs = "" if state == "success" else f"{cluster.logs()}\n{cluster.worker_logs(1500)}"
        counts = sandbox.admin.request_counts()
        tokens = sandbox.admin.tokens()
        return ManyHostsResult(
            store=store,
            state=state,
            task_states=Counter(str(ti["state"]) for ti in tis),
            hostnames=Counter(str(ti["hostname"]) for ti in tis),
            incomplete=incomplete,
            windows=meter.report(),
            requests=int(counts["by_endpoint"]["liking_users"]),
            rejected=int(counts["by_status"].get("429", 0)),
            refreshes=int(tokens["refreshes"]),
            invalid_grants=int(tokens["invalid_grants"]),
            revoked_families=list(tokens["revoked_families"]),
            window_seconds=window_seconds,
            token_lifetime=token_lifetime,
            wall_seconds=wall,
            token_seconds=token_seconds,
            cluster_start_seconds=cluster_start,
            workers=list(cluster.workers),
            logs=logs,
        )
    finally:
        sandbox.stop()
