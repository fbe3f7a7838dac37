"""Acceptance of issue #24 on a real multi-host deployment: CeleryExecutor on PostgreSQL and Redis,
two Celery workers as two hosts (own TMPDIR, HOME, lock directory; own mounts and host name where
``unshare`` works), 40 mapped deferrable listings on ONE OAuth 2.0 user token whose access tokens
expire mid-run, with family revocation on reuse (see ``many_hosts_scenario.py``).

Run alone: ``.venv/bin/python -m pytest -q tests/system/test_celery_many_hosts.py``. The tokens and
the rate budget are in the PostgreSQL state store (``state_store_conn_id``), the store that holds
across hosts; the figures (429s, refreshes, the ceiling used) are printed, not asserted. The
single-host default (Variables) on the same deployment is measured by ``benchmarks/many_hosts.py``
(docs/scaling-out.md).
"""

from __future__ import annotations

import pytest
from many_hosts_scenario import LIKERS, PAGE, POSTS, run_many_hosts

from airflow_provider_xlikes.testing.celery_cluster import CeleryCluster, namespace_wrapper


@pytest.mark.slow
def test_mapped_deferrable_listings_on_one_token_across_two_hosts() -> None:
    result = run_many_hosts("postgres")
    print(result.summary())
    assert result.state == "success", result.logs
    assert result.task_states == {"success": len(POSTS)}, result.summary()
    assert result.incomplete == [], result.summary()  # every liker once, in the sandbox's order
    assert set(result.hostnames) == set(result.workers) == {"worker-a", "worker-b"}, result.hostnames
    assert all(window.rejected <= 1 for window in result.windows), result.summary()
    assert result.requests >= len(POSTS) * LIKERS // PAGE  # every page fetched (a 429 or 401 adds one)
    assert result.invalid_grants == 0, result.summary()
    assert result.revoked_families == [], result.summary()
    # the first access token expired mid-run (the run outlives it: at least 5 window resets of 12 s
    # with a 30 s token), and each token was refreshed once: never twice within one lifetime
    assert 1 <= result.refreshes <= result.max_refreshes, result.summary()


HOSTS_DAG = """
import os, socket
import pendulum
from airflow.sdk import DAG, task

with DAG("xlikes_hosts", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    @task
    def where(index, workers):
        tmp = os.environ["TMPDIR"]
        with open(os.path.join(tmp, f"task-{index}"), "w") as marker:
            marker.write("here")
        mine = next(w for w in workers if f"/{w}/" in tmp)
        others = [tmp.replace(f"/{mine}/", f"/{w}/") for w in workers if w != mine]
        return {
            "env": {key: os.environ[key] for key in ("TMPDIR", "HOME", "XLIKES_LOCK_DIR")},
            "worker": mine,
            "host": socket.gethostname(),
            "others_seen": sorted(name for d in others if os.path.isdir(d) for name in os.listdir(d)),
        }

    where.partial(workers=WORKERS).expand(index=list(range(8)))
"""


@pytest.mark.slow
def test_worker_hosts_have_their_own_directories_and_host_names() -> None:
    """The deployment itself: each task sees its worker host's own TMPDIR, HOME and lock directory;
    with namespaces, the worker's host name, and nothing of the other host's temp directory."""
    with CeleryCluster(workers=2, concurrency=1) as cluster:
        run = cluster.run_dag("xlikes_hosts", HOSTS_DAG.replace("WORKERS", repr(cluster.workers)), timeout=180)
        assert run.state == "success", cluster.diagnosis("xlikes_hosts", run.run_id)
        tis = cluster.task_instances("xlikes_hosts", run.run_id)
        seen = [(ti["hostname"], cluster.xcom("xlikes_hosts", run.run_id, "where", ti["map_index"])) for ti in tis]
        # (read before the cluster stops: its home goes with it)
        wrote = {w: bool(list((cluster.host_dir(w) / "tmp").iterdir())) for w in cluster.workers}
    assert {hostname for hostname, _ in seen} == {"worker-a", "worker-b"}  # Airflow's record of the host
    isolated = namespace_wrapper() is not None
    for hostname, where in seen:
        host = cluster.host_dir(where["worker"])
        assert hostname == where["worker"]
        assert where["env"] == {
            "TMPDIR": str(host / "tmp"),
            "HOME": str(host / "home"),
            "XLIKES_LOCK_DIR": str(host / "locks"),
        }
        if isolated:
            assert where["host"] == where["worker"]
            assert where["others_seen"] == []  # the other host's files are not here
    if isolated:  # while both hosts wrote their markers into their own temp directories
        assert all(wrote.values()), wrote
