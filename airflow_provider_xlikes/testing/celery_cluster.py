"""A real multi-host Airflow for tests: CeleryExecutor on PostgreSQL and Redis, workers as hosts.

:class:`CeleryCluster` is an :class:`~.cluster.AirflowCluster` (scheduler, dag-processor,
api-server, triggerer; the same DAG, trigger and XCom helpers) whose metadata database is a
PostgreSQL and whose executor is Celery with a Redis broker, both started by the cluster itself
on free ports (:mod:`.services`). It also runs ``workers`` Celery workers that stand for separate
hosts: each has its own ``HOME``, ``TMPDIR``, ``XLIKES_LOCK_DIR`` and ``AIRFLOW_HOME`` (task logs),
and, where ``unshare`` works (root, or unprivileged user namespaces), its own UTS namespace (its
own host name, which Airflow records as the task instance's ``hostname``) and mount namespace in
which the other hosts' directories are hidden under empty tmpfs mounts. They share what hosts of a
real deployment share: the DAGs folder, the metadata database, the broker, the api-server.

The same PostgreSQL holds a second database, ``xlikes_state``, exposed to every process as the
Airflow connection ``xlikes_state`` (``AIRFLOW_CONN_XLIKES_STATE``): the provider's atomic state
store. Every process (PostgreSQL, Redis, each Airflow process, each worker) runs in its own process
group and is stopped by its PID, also when the test fails.

Use the ``celery_cluster_factory`` fixture of the package's pytest plugin::

    def test_many_hosts(celery_cluster_factory, x_sandbox):
        cluster = celery_cluster_factory(workers=2, env={"AIRFLOW_CONN_X_DEFAULT": x_sandbox.conn_json()})
        run = cluster.run_dag("my_dag", source)
        assert {ti["hostname"] for ti in cluster.task_instances("my_dag", run.run_id)} == set(cluster.workers)
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from airflow_provider_xlikes.testing.cluster import AirflowCluster
from airflow_provider_xlikes.testing.services import PostgresServer, RedisServer

STATE_DATABASE = "xlikes_state"
STATE_CONN_ID = "xlikes_state"
QUEUE = "default"

# runs as: sh -c SCRIPT sh <hostname> <dir to hide>... -- <command>...
_HOST_SCRIPT = """set -e
hostname "$1"; shift
while [ "$1" != "--" ]; do mount -t tmpfs -o size=64k,mode=0700 xlikes-other-host "$1"; shift; done
shift
exec "$@"
"""
_UNSHARE_VARIANTS = (
    ["unshare", "--mount", "--uts", "--fork"],
    ["unshare", "--user", "--map-root-user", "--mount", "--uts", "--fork"],
)


@functools.cache
def namespace_wrapper() -> tuple[str, ...] | None:
    """The ``unshare`` command that gives a process its own host name and mounts here, or None."""
    if shutil.which("unshare") is None:
        return None
    probe = Path(__file__).parent  # any directory: mounted over inside the probe only
    for variant in _UNSHARE_VARIANTS:
        command = [*variant, "--", "sh", "-c", _HOST_SCRIPT, "sh", "xlikes-probe", str(probe), "--", "true"]
        result = subprocess.run(command, capture_output=True, timeout=30, check=False)  # noqa: S603
        if result.returncode == 0:
            return tuple(variant)
    return None


class CeleryCluster(AirflowCluster):
    """A running CeleryExecutor Airflow on PostgreSQL and Redis with ``workers`` worker hosts.

    ``workers``: the worker hosts (named ``worker-a``, ``worker-b`` ...; :attr:`workers`), each with
    ``concurrency`` task slots; ``namespaces``: ``None`` uses ``unshare`` when it works, ``True``
    requires it, ``False`` runs the workers without (their host name then comes from
    ``[core] hostname_callable``, set to the worker's name). ``env`` reaches every process.
    """

    def __init__(
        self,
        *,
        workers: int = 2,
        concurrency: int = 2,
        parallelism: int = 8,
        namespaces: bool | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if not 1 <= workers <= 26:
            raise ValueError(f"workers: 1 to 26 worker hosts, not {workers}")
        super().__init__(parallelism=parallelism, env=env)
        self.postgres = PostgresServer()
        self.redis = RedisServer()
        self.concurrency = concurrency
        self.workers = [f"worker-{chr(ord('a') + i)}" for i in range(workers)]
        wrapper = namespace_wrapper() if namespaces is not False else None
        if namespaces and wrapper is None:
            raise RuntimeError("namespaces=True, but unshare cannot give a process its own mounts and host name here")
        self.namespace_wrapper = wrapper
        self.env.update(
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.uri("airflow"),
                "AIRFLOW__CELERY__BROKER_URL": self.redis.url(),
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.postgres.uri("airflow"),
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(concurrency),
                "AIRFLOW__OPERATORS__DEFAULT_QUEUE": QUEUE,
                f"AIRFLOW_CONN_{STATE_CONN_ID.upper()}": self.postgres.uri(STATE_DATABASE),
            }
        )
        # one Fernet key for every host, as a real deployment needs: each worker has an AIRFLOW_HOME
        # of its own, where Airflow would otherwise write a key of its own into its airflow.cfg
        self.env.setdefault("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())

    @property
    def state_store_url(self) -> str:
        """The ``xlikes_state`` database (also the connection ``xlikes_state`` in every process)."""
        return self.postgres.uri(STATE_DATABASE)

    def host_dir(self, worker: str) -> Path:
        """The directory of a worker host: ``home``, ``tmp``, ``locks``, ``airflow`` (its logs)."""
        return self.home / "hosts" / worker

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 180.0) -> CeleryCluster:
        """PostgreSQL and Redis, the ``airflow`` and ``xlikes_state`` databases, then the Airflow
        processes, then the workers; returns once every worker is ready for tasks."""
        started = time.monotonic()
        try:
            self.postgres.start()
            self.redis.start()
            self.postgres.create_database("airflow")
            self.postgres.create_database(STATE_DATABASE)
        except BaseException:
            self.stop()
            raise
        super().start(timeout)  # stops everything itself when it fails
        try:
            for worker in self.workers:
                self._spawn_worker(worker)
            for worker in self.workers:
                self._wait_for_worker(worker, timeout - (time.monotonic() - started))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, grace: float = 3.0) -> None:
        """The Airflow processes and workers (their process groups), then Redis and PostgreSQL."""
        try:
            super().stop(grace)
        finally:
            self.redis.stop()
            self.postgres.stop()

    def _spawn_worker(self, worker: str) -> None:
        host = self.host_dir(worker)
        dirs = {name: host / name for name in ("home", "tmp", "locks", "airflow")}
        for path in dirs.values():
            path.mkdir(parents=True)
        env = {
            **self.env,
            "HOME": str(dirs["home"]),
            "TMPDIR": str(dirs["tmp"]),
            "XLIKES_LOCK_DIR": str(dirs["locks"]),
            "AIRFLOW_HOME": str(dirs["airflow"]),
        }
        wrapper: list[str] = []
        if self.namespace_wrapper is not None:
            # the others' directories, and the control plane's lock directory, are not this host's
            hidden = [str(self.host_dir(other)) for other in self.workers if other != worker]
            hidden.append(self.env["XLIKES_LOCK_DIR"])
            Path(self.env["XLIKES_LOCK_DIR"]).mkdir(parents=True, exist_ok=True)
            for other in self.workers:
                self.host_dir(other).mkdir(parents=True, exist_ok=True)
            wrapper = [*self.namespace_wrapper, "--", "sh", "-c", _HOST_SCRIPT, "sh", worker, *hidden, "--"]
        else:
            env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = f"{__name__}.worker_hostname"
            env["XLIKES_WORKER_HOSTNAME"] = worker
        args = ["celery", "worker", "--celery-hostname", f"{worker}@{worker}", "--concurrency", str(self.concurrency)]
        args += ["--queues", QUEUE, "--skip-serve-logs", "--without-mingle", "--without-gossip"]
        self._spawn(worker, args, env=env, wrapper=wrapper)

    def _wait_for_worker(self, worker: str, timeout: float) -> None:
        """Until the worker's log says it is ready (connected to the broker, consuming the queue)."""
        log = self.home / f"{worker}.log"
        self.wait_until(f"{worker} not ready", lambda: " ready." in log.read_text(errors="replace"), max(timeout, 10.0))

    # ------------------------------------------------------------------ runs
    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The run's task instances as the REST API gives them (``hostname``, ``state``, ``map_index`` ...)."""
        body = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})
        return list(body["task_instances"])

    def worker_logs(self, tail: int = 3000) -> str:
        """The end of every task log the worker hosts wrote (under their own ``AIRFLOW_HOME``)."""
        parts = []
        for worker in self.workers:
            for path in sorted((self.host_dir(worker) / "airflow" / "logs").rglob("*.log")):
                parts.append(f"----- {worker}: {path.name}\n{path.read_text(errors='replace')[-tail:]}")
        return "\n".join(parts)


def worker_hostname() -> str:
    """``[core] hostname_callable`` of a worker run without namespaces: the worker host's name."""
    return os.environ.get("XLIKES_WORKER_HOSTNAME") or socket.getfqdn()
