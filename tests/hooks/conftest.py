"""Fixtures for hook tests: connections to a sandbox, and a recording waiter."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet

from airflow_provider_xlikes import HttpRetryPolicy, RateLimitPolicy
from airflow_provider_xlikes.hooks.x import XHook

os.environ.setdefault("XLIKES_TOKEN_STORE_KEY", Fernet.generate_key().decode())

FAST_RETRY = HttpRetryPolicy(attempts=4, initial_wait=0.05, max_wait=0.2)


@dataclass
class RecordingWaiter:
    """A real waiter (it sleeps) that also remembers every wait it was asked for."""

    waits: list[tuple[float, str, str]] = field(default_factory=list)

    def __call__(self, seconds: float, *, endpoint: str, reason: str) -> None:
        self.waits.append((seconds, endpoint, reason))
        time.sleep(seconds)


@pytest.fixture
def logs(caplog, capsys) -> Callable[[], str]:
    """Everything logged so far at any level, through stdlib logging or Airflow's structlog output."""
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def _logs() -> str:
        captured = capsys.readouterr()
        seen.append(captured.out + captured.err)
        return caplog.text + "".join(seen)

    return _logs


@pytest.fixture
def waiter() -> RecordingWaiter:
    return RecordingWaiter()


@pytest.fixture
def connect(monkeypatch, tmp_path, waiter) -> Callable[..., XHook]:
    """``connect(sandbox, auth_type, conn_id="x_default", extra=None, **extra) -> XHook`` via AIRFLOW_CONN_*."""

    def _connect(
        sandbox: Any,
        auth_type: str = "bearer",
        conn_id: str = "x_default",
        extra: dict[str, Any] | None = None,
        **more: Any,
    ) -> XHook:
        conn = json.loads(sandbox.conn_json(auth_type))
        if auth_type == "oauth2_user":
            conn["extra"].setdefault("rotation_store", str(tmp_path / "tokens"))
        conn["extra"].update(extra or {}, **more)
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return XHook(
            conn_id,
            waiter=waiter,
            retry=FAST_RETRY,
            rate_limit_policy=RateLimitPolicy(backoff_initial=0.2, margin=0.05),
        )

    return _connect


# ----------------------------------------------------------------- a server that is not like X
Body = bytes | Callable[[dict[str, list[str]]], bytes]


class HostileServer:
    """``HostileServer(body)``: every GET answers 200 with ``body`` (bytes, or a function of the query)."""

    def __init__(self, body: Body) -> None:
        self.body = body
        self.queries: list[dict[str, list[str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
                server.queries.append(query)
                payload = server.body(query) if callable(server.body) else server.body
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., tuple[HostileServer, XHook]]]:
    servers: list[HostileServer] = []

    def start(body: Body, **extra: Any) -> tuple[HostileServer, XHook]:
        server = HostileServer(body)
        servers.append(server)
        conn = {"conn_type": "x", "host": server.url, "password": "hostile-test-token", "extra": extra}
        monkeypatch.setenv("AIRFLOW_CONN_X_HOSTILE", json.dumps(conn))
        return server, XHook("x_hostile", retry=HttpRetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.02))

    yield start
    for server in servers:
        server.stop()
