"""A triggerer killed (SIGKILL) and started again while a listing is deferred: the listing resumes
from its cursor, and no request is sent twice (apache/airflow#67945 is about deferred work re-sent
after a triggerer restart). Real scheduler, dag-processor, api-server and triggerer; afterwards the
connection's secrets (canaries) are searched for in every file the deployment wrote (its logs,
task logs, metadata database), where masking is Airflow's and not ``dag.test()``'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_provider_xlikes.output import iter_records

POST = "1354143047324299264"
LIKERS = 8_000  # 80 pages: 75 in the first window, the rest after a deferral
DAG_ID = "xlikes_triggerer_restart"


@pytest.mark.slow
@pytest.mark.reliability
def test_a_triggerer_killed_while_a_listing_is_deferred_resends_nothing(
    x_sandbox_factory: Any, airflow_cluster_factory: Any, tmp_path: Any, record_reliability: Any
) -> None:
    sandbox = x_sandbox_factory(
        window_seconds=20, rate_limit_key="token", clean=True, post_likes=[f"{POST}:{LIKERS}"], liking_users_cap=None
    )
    cluster = airflow_cluster_factory(
        parallelism=2,
        env={
            "AIRFLOW_CONN_X_DEFAULT": sandbox.conn_json("bearer"),
            # the restarted triggerer takes the killed one's triggers once its heartbeat (every
            # second here) is this old (default 30 s)
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "6",
        },
    )
    cluster.write_dag(
        DAG_ID,
        f'''
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import XLikingUsersOperator

with DAG("{DAG_ID}", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    XLikingUsersOperator(
        task_id="likers", tweet_id="{POST}", deferrable=True, defer_after=2,
        output_path={(tmp_path / "out").as_uri()!r}, part_records=2000,
    )
''',
    )
    run_id = cluster.trigger(DAG_ID)

    def deferred() -> bool:
        assert cluster.run_state(DAG_ID, run_id) not in ("success", "failed"), cluster.diagnosis(DAG_ID, run_id)
        return cluster.task_states(DAG_ID, run_id).get(("likers", -1)) == "deferred"

    cluster.wait_until("the listing deferred", deferred, timeout=120)
    before = sandbox.admin.total_requests("liking_users")
    cluster.kill_and_restart("triggerer")
    state = cluster.wait_for_run(DAG_ID, run_id, timeout=240)
    after = sandbox.admin.total_requests("liking_users") - before

    manifest = cluster.xcom(DAG_ID, run_id, "likers")
    ids, truth = [r["id"] for r in iter_records(manifest)], sandbox.admin.likers(POST, limit=LIKERS)
    pages = LIKERS // 100
    record_reliability(
        "kill",
        f"triggerer SIGKILLed and restarted while the listing was deferred (after {before} of {pages} pages)",
        retry_requests=after,
        resent=before + after - pages,
        lost=len(set(truth) - set(ids)),
        duplicated=len(ids) - len(set(ids)),
    )
    identifiers = ("user_id", "client_id", "username", "api_key", "consumer_key")  # not secrets
    secrets = {
        k: v for k, v in sandbox.credentials.items() if k not in identifiers and isinstance(v, str) and len(v) > 8
    }
    files = [p for p in Path(cluster.home).rglob("*") if p.is_file()]
    # the names of the secrets found, never their values
    found = sorted({f"{p.name}: {k}" for p in files for k, v in secrets.items() if v.encode() in p.read_bytes()})
    record_reliability(
        "canary",
        f"real scheduler, api-server, triggerer: {len(files)} files it wrote (logs, task logs, metadata DB)",
        secrets=len(secrets),
        found=len(found),
    )
    assert found == []
    # the search can find what the deployment wrote: the post id is in the task logs and the database
    assert [p.name for p in files if POST.encode() in p.read_bytes()], "the searched files hold no trace of the run"
    assert state == "success", cluster.diagnosis(DAG_ID, run_id)
    assert before < pages  # killed while pages were left
    assert before + after == pages  # each page once: nothing re-sent after the restart
    assert ids == truth
    assert manifest["complete"] is True and manifest["record_count"] == LIKERS
