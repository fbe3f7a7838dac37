"""A real Airflow for tests: scheduler (LocalExecutor), dag-processor, api-server and triggerer.

Each process runs in its own process group with a temporary ``AIRFLOW_HOME`` (SQLite metadata DB,
its own DAGs folder) and is stopped at teardown, also when the test fails: SIGTERM to the group,
a wait, then SIGKILL to the group (the scheduler ignores SIGTERM and its workers would be orphaned,
which the scheduler ignores). The REST API needs no login (SimpleAuthManager, all admins).

Use the ``airflow_cluster_factory`` fixture of the package's pytest plugin::

    def test_my_dag(airflow_cluster_factory, x_sandbox):
        cluster = airflow_cluster_factory(env={"AIRFLOW_CONN_X_DEFAULT": x_sandbox.conn_json()})
        cluster.write_dag("my_dag", source)          # a file in the cluster's DAGs folder
        run_id = cluster.trigger("my_dag")           # waits until the DAG is parsed first
        assert cluster.wait_for_run("my_dag", run_id, timeout=120) == "success"
        cluster.xcom("my_dag", run_id, "task", map_index=0)

or :class:`AirflowCluster` as a context manager. ``cluster.logs()`` returns the tail of every
process's output (failure messages include it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import requests

from airflow_provider_xlikes.testing.processes import free_port, spawn, stop_groups

T = TypeVar("T")

#: the processes of a cluster, and their command lines (after ``airflow``)
PROCESSES: dict[str, list[str]] = {
    "api-server": ["api-server", "--port", "{port}"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer"],
}
FINISHED_STATES = ("success", "failed")


def _moment(iso: Any) -> float:
    return datetime.fromisoformat(str(iso).replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class FinishedRun:
    """A DAG run that ended: its id, ``success`` or ``failed``, and the seconds from trigger to end."""

    run_id: str
    state: str
    seconds: float


@dataclass(frozen=True)
class WorkerOccupancy:
    """The worker time of a task instance: ``runs`` task processes (the first, then one per resume
    after a deferral) that ran ``worker_seconds`` in all, within ``wall_seconds``."""

    worker_seconds: float
    wall_seconds: float
    runs: int

    @property
    def share(self) -> float:
        return self.worker_seconds / self.wall_seconds if self.wall_seconds > 0 else 1.0


class AirflowCluster:
    """A running Airflow: start it, write DAGs, trigger runs, wait for them, read their XComs."""

    def __init__(self, *, parallelism: int = 4, env: Mapping[str, str] | None = None) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="xlikes-airflow-cluster-"))
        self.dags_folder = self.home / "dags"
        self.dags_folder.mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{self.port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API_AUTH__JWT_SECRET": "xlikes-test-cluster-" + "s" * 64,
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
            "XLIKES_LOCK_DIR": str(self.home / "locks"),
            # log servers on ports of their own: two clusters (two suites) at once must not clash
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            **(env or {}),
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.session = requests.Session()
        # a REST call's read timeout; a wait (for a DAG, a run) asks again after one, until its own
        # timeout: Airflow's api-server can stall for seconds (its first task start holds it 3 s
        # on a quiet machine here, 5 to 7 s under load; calls have timed out after 30 s)
        self.api_timeout = 30.0

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 120.0) -> AirflowCluster:
        """``airflow db migrate``, then every process; returns once the API reports them healthy."""
        try:
            self._airflow("db", "migrate")
            for name, args in PROCESSES.items():
                self._spawn(name, [arg.format(port=self.port) for arg in args])
            self._wait_until_healthy(timeout)
            # all-admins mode hands out a token without credentials; Airflow 3.1 wants one on every call
            token = self.session.get(f"{self.url}/auth/token", timeout=10).json()["access_token"]
            self.session.headers["Authorization"] = f"Bearer {token}"
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM to every process group, wait up to ``grace`` seconds, SIGKILL the groups left
        (LocalExecutor workers and task processes too); its home (database, logs, DAGs) goes too."""
        stop_groups(self.processes.values(), grace)
        self.session.close()
        shutil.rmtree(self.home, ignore_errors=True)

    def kill_and_restart(self, name: str) -> None:
        """SIGKILL the process group of ``name`` (``"triggerer"`` ...), as a lost host loses it,
        then start it again; the new process takes over once the old one's heartbeat is stale."""
        proc = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        self._spawn(name, [arg.format(port=self.port) for arg in PROCESSES[name]])

    def __enter__(self) -> AirflowCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _airflow(self, *args: str) -> None:
        result = subprocess.run(  # noqa: S603 - our own airflow executable
            [self._executable(), *args], env=self.env, capture_output=True, text=True, timeout=300, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")

    @staticmethod
    def _executable() -> str:
        return str(Path(sys.executable).with_name("airflow"))

    def _spawn(
        self, name: str, args: list[str], env: Mapping[str, str] | None = None, wrapper: Sequence[str] = ()
    ) -> None:
        """``airflow <args>`` (behind ``wrapper``, e.g. ``unshare ...``) in its own process group."""
        command = [*wrapper, self._executable(), *args]
        self.processes[name] = spawn(command, env=env or self.env, log=self.home / f"{name}.log")

    def _wait_until_healthy(self, timeout: float) -> None:
        components = ("metadatabase", "scheduler", "dag_processor", "triggerer")
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            with contextlib.suppress(requests.RequestException, ValueError):
                health = self.session.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
                if all((health.get(c) or {}).get("status") == "healthy" for c in components):
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"Airflow not healthy within {timeout:.0f} s\n{self.logs()}")
            time.sleep(0.5)

    def _check_alive(self) -> None:
        dead = {name: proc.returncode for name, proc in self.processes.items() if proc.poll() is not None}
        if dead:
            raise RuntimeError(f"Airflow processes exited: {dead}\n{self.logs()}")

    def logs(self, tail: int = 3000) -> str:
        """The last ``tail`` characters of every process's output."""
        parts = []
        for name in self.processes:
            text = (self.home / f"{name}.log").read_text(encoding="utf-8", errors="replace")
            parts.append(f"----- {name}\n{text[-tail:]}")
        return "\n".join(parts)

    # ------------------------------------------------------------------ DAGs and runs
    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """A REST API call (``/api/v2`` + ``path``); returns the decoded JSON, raises on 4xx/5xx."""
        response = self.session.request(method, f"{self.url}/api/v2{path}", timeout=self.api_timeout, **kwargs)
        response.raise_for_status()
        return response.json()

    def write_dag(self, name: str, source: str) -> Path:
        """Write ``source`` (dedented) as ``<name>.py`` into the DAGs folder."""
        path = self.dags_folder / f"{name}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    def wait_for_dag(self, dag_id: str, timeout: float = 60.0) -> None:
        """Until the dag-processor has parsed ``dag_id`` (it lists the folder every 2 s)."""
        self.wait_until(f"DAG {dag_id} not parsed", lambda: self._status(f"/dags/{dag_id}") == 200, timeout)

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None, timeout: float = 60.0) -> str:
        """Trigger a run of ``dag_id`` (once it is parsed); returns its run id."""
        self.wait_for_dag(dag_id, timeout)
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": dict(conf or {})})
        return str(run["dag_run_id"])

    def run_dag(self, dag_id: str, source: str, timeout: float = 300.0) -> FinishedRun:
        """Write ``source`` as ``dag_id``'s file, trigger a run once it is parsed, wait until it ends."""
        self.write_dag(dag_id, source)
        self.wait_for_dag(dag_id)
        started = time.monotonic()
        run_id = self.trigger(dag_id)
        state = self.wait_for_run(dag_id, run_id, timeout=timeout)
        return FinishedRun(run_id, state, time.monotonic() - started)

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300.0) -> str:
        """Until the run is finished; returns ``success`` or ``failed``; raises after ``timeout``."""

        def finished() -> str | None:
            state = self.run_state(dag_id, run_id)
            return state if state in FINISHED_STATES else None

        return self.wait_until(f"run {run_id} of {dag_id} not finished", finished, timeout)

    def task_states(self, dag_id: str, run_id: str) -> dict[tuple[str, int], str]:
        """``{(task_id, map_index): state}`` of the run's task instances."""
        body = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})
        return {(ti["task_id"], ti["map_index"]): str(ti["state"]) for ti in body["task_instances"]}

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, key: str = "return_value") -> Any:
        """A task instance's XCom value, deserialized."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.api("GET", path, params={"map_index": map_index, "deserialize": True, "stringify": False})["value"]

    def task_log(
        self, dag_id: str, run_id: str, task_id: str, try_number: int = 1, map_index: int = -1
    ) -> list[dict[str, Any]]:
        """The structured log events of one try of a task instance (every deferral's resume included)."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        content = self.api("GET", path, params={"full_content": True, "map_index": map_index})["content"]
        return [event for event in content if isinstance(event, dict) and event.get("timestamp")]

    def diagnosis(self, dag_id: str, run_id: str) -> str:
        """What a failed assertion on a run should show: every try of each task instance that did
        not succeed (state and log), then the tail of every process's output."""
        parts = []
        try:
            for (task_id, map_index), state in sorted(self.task_states(dag_id, run_id).items()):
                if state not in ("success", "skipped"):
                    parts.append(self.task_history(dag_id, run_id, task_id, map_index))
        except requests.RequestException as exc:
            parts.append(f"(task instances of {run_id} not readable: {exc})")
        return "\n".join([*parts, self.logs()])

    def task_history(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
        """Every try of a task instance, its state and its log's events (to explain a failed
        assertion: which try did what)."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        ti = self.api("GET", path if map_index < 0 else f"{path}/{map_index}")
        lines = [f"{task_id}: state {ti['state']}, try {ti['try_number']}"]
        for try_number in range(1, int(ti["try_number"]) + 1):
            lines.append(f"----- try {try_number}")
            try:
                events = self.task_log(dag_id, run_id, task_id, try_number, map_index)
            except requests.RequestException as exc:
                lines.append(f"(no log: {exc})")
                continue
            for event in events:
                extra = {k: v for k, v in event.items() if k not in ("timestamp", "event", "level", "logger")}
                lines.append(f"{event.get('timestamp')} {event.get('level', '')} {event.get('event')} {extra or ''}")
        return "\n".join(lines)

    def worker_occupancy(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> WorkerOccupancy:
        """How long a task instance held a worker, from its own records: the time its task processes
        ran (each from its log's ``Pre Execute`` to its last ``endgroup``) against the task instance's
        ``start_date`` to ``end_date``."""
        ti = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
        events = self.task_log(dag_id, run_id, task_id, try_number)
        segments: list[list[float]] = []
        for event in events:  # the triggerer's lines are in between: only task-runner markers count
            if event.get("event") == "::group::Pre Execute":
                segments.append([_moment(event["timestamp"])] * 2)
            elif event.get("event") == "::endgroup::" and segments:
                segments[-1][1] = _moment(event["timestamp"])
        wall = _moment(ti["end_date"]) - _moment(ti["start_date"])
        worker = sum(end - start for start, end in segments)
        return WorkerOccupancy(worker_seconds=worker, wall_seconds=wall, runs=len(segments))

    def _status(self, path: str) -> int:
        try:
            return self.session.get(f"{self.url}/api/v2{path}", timeout=10).status_code
        except requests.RequestException:
            return 0

    def wait_until(self, what: str, done: Callable[[], T | None], timeout: float = 120.0) -> T:
        """Until ``done()`` returns something true, which it returns. An API call that fails or
        stalls (a loaded machine) is asked again until ``timeout``; then a ``TimeoutError`` names
        ``what``, the last API error and every process's output."""
        deadline = time.monotonic() + timeout
        last_error = ""
        while True:
            try:
                if value := done():
                    return value
            except requests.RequestException as exc:
                last_error = f" (last API error: {exc!r})"
            self._check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} within {timeout:.0f} s{last_error}\n{self.logs()}")
            time.sleep(0.5)
