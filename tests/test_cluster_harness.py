"""The test cluster's waits ride out an api-server that stalls (a real HTTP server that does).

Airflow's api-server holds every request for seconds while it starts its first task (3 s on a
quiet machine here, 5 to 7 s under load; calls have timed out after 30 s with two suites running):
a wait for a run must ask again, not fail.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from airflow_provider_xlikes.testing.cluster import AirflowCluster

RUN_PATH = "/api/v2/dags/d/dagRuns/r"


class _StallingApi(ThreadingHTTPServer):
    """Answers the run's state; its first ``stalls`` answers come after ``stall`` seconds."""

    daemon_threads = True

    def __init__(self, stalls: int, stall: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stalls, self.stall, self.requests = stalls, stall, 0


class _Handler(BaseHTTPRequestHandler):
    server: _StallingApi

    def do_GET(self) -> None:  # http.server calls it by this name
        self.server.requests += 1
        if self.server.requests <= self.server.stalls:
            time.sleep(self.server.stall)
        body = json.dumps({"state": "success"} if self.path == RUN_PATH else {}).encode()
        self.send_response(200 if self.path == RUN_PATH else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stalling_cluster(request: pytest.FixtureRequest) -> Iterator[tuple[AirflowCluster, _StallingApi]]:
    stalls, stall = request.param
    server = _StallingApi(stalls, stall)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    cluster = AirflowCluster()  # not started: its REST calls go to the stalling server
    cluster.url = f"http://127.0.0.1:{server.server_address[1]}"
    cluster.api_timeout = 0.3
    try:
        yield cluster, server
    finally:
        cluster.stop()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("stalling_cluster", [(2, 1.0)], indirect=True)
def test_a_wait_asks_again_after_a_stalled_call(stalling_cluster: tuple[AirflowCluster, _StallingApi]) -> None:
    cluster, server = stalling_cluster
    assert cluster.wait_for_run("d", "r", timeout=30) == "success"
    assert server.requests == 3  # two timed out, the third answered


@pytest.mark.parametrize("stalling_cluster", [(1000, 1.0)], indirect=True)
def test_a_wait_that_never_gets_an_answer_names_the_last_error(
    stalling_cluster: tuple[AirflowCluster, _StallingApi],
) -> None:
    cluster, _ = stalling_cluster
    with pytest.raises(TimeoutError, match=r"run r of d not finished within 2 s \(last API error: ReadTimeout"):
        cluster.wait_for_run("d", "r", timeout=2)
