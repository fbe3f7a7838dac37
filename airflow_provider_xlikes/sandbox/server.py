"""Running the sandbox with uvicorn: in this process (CLI), or in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import threading
from collections.abc import Generator
from typing import Any

import uvicorn

from airflow_provider_xlikes.sandbox.app import SandboxApp
from airflow_provider_xlikes.sandbox.config import SandboxConfig
from airflow_provider_xlikes.sandbox.connections import conn_json
from airflow_provider_xlikes.sandbox.faults import TRANSPORTS


def _tracking(base: Any) -> type[asyncio.Protocol]:
    """Subclass a uvicorn HTTP protocol so the app can find (and reset) a request's connection."""

    class TrackingProtocol(base):  # type: ignore[misc]
        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._xl_key = (self.server, self.client)
            TRANSPORTS[self._xl_key] = transport

        def connection_lost(self, exc: Exception | None) -> None:
            TRANSPORTS.pop(getattr(self, "_xl_key", None), None)  # type: ignore[arg-type]
            super().connection_lost(exc)

    return TrackingProtocol


def http_protocol(impl: str) -> type[asyncio.Protocol]:
    """The uvicorn protocol class for ``impl`` (``auto`` prefers httptools)."""
    if impl in ("auto", "httptools"):
        try:
            from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

            return _tracking(HttpToolsProtocol)
        except ImportError:
            if impl == "httptools":
                raise
    from uvicorn.protocols.http.h11_impl import H11Protocol

    return _tracking(H11Protocol)


class _Server(uvicorn.Server):
    """uvicorn server whose signal handling we do ourselves (clean exit code 0)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def credentials_of(app: SandboxApp) -> dict[str, Any]:
    """All secrets a client needs, plus the authenticated user's id and username."""
    cfg = app.state.config
    return {
        "bearer_token": cfg.bearer_token,
        "api_key": cfg.api_key,
        "api_secret": cfg.api_secret,
        "client_id": cfg.client_id,
        "client_secret": cfg.client_secret,
        "refresh_token": cfg.refresh_token,
        "oauth2_access_token": app.state.auth.initial_access_token,
        "consumer_key": cfg.consumer_key,
        "consumer_secret": cfg.consumer_secret,
        "access_token": cfg.oauth1_access_token,
        "access_token_secret": cfg.access_token_secret,
        "user_id": app.state.world.ids.me_id,
        "username": app.state.world.me_username,
    }


def make_server(config: SandboxConfig, app: SandboxApp) -> _Server:
    uv_config = uvicorn.Config(
        app,
        http=http_protocol(config.http),
        lifespan="off",
        log_level=config.log_level,
        access_log=False,
        timeout_graceful_shutdown=2,
        timeout_keep_alive=30,
    )
    return _Server(uv_config)


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is optional
        return asyncio.new_event_loop()


def announce(url: str, credentials: dict[str, Any]) -> str:
    """The text printed at start: URL and ready-to-use connection values."""
    lines = [
        f"X API sandbox listening on {url}",
        f"authenticated user: @{credentials['username']} (id {credentials['user_id']})",
        f"admin API: {url}/_sandbox/world",
        "Airflow connection values (AIRFLOW_CONN_X_DEFAULT), one per auth type:",
    ]
    for auth_type in ("bearer", "oauth2_user", "oauth1_user"):
        lines.append(f"  {auth_type}: AIRFLOW_CONN_X_DEFAULT='{conn_json(url, credentials, auth_type)}'")
    return "\n".join(lines)


def serve(config: SandboxConfig, ready_file: str | None = None, quiet: bool = False) -> int:
    """Run the sandbox in this process until SIGINT/SIGTERM; returns the exit code."""
    sock = bind_socket(config.host, config.port)
    app = SandboxApp(config)
    server = make_server(config, app)
    url = url_of(sock)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, setattr, server, "should_exit", True)
        task = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.005)
        if server.started:
            credentials = credentials_of(app)
            if not quiet:
                print(announce(url, credentials), flush=True)
            if ready_file:
                tmp = ready_file + ".tmp"
                with open(tmp, "w", encoding="utf-8") as fh:
                    json.dump({"url": url, "pid": os.getpid(), "credentials": credentials}, fh)
                os.replace(tmp, ready_file)
        await task

    loop = _new_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
        sock.close()
    return 0 if server.started else 1


class SandboxThread:
    """A sandbox served from a background thread of this process (fast to start; shares the GIL)."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._sock = bind_socket(config.host, config.port)
        self.url = url_of(self._sock)
        self.app = SandboxApp(config)
        self._server = make_server(config, self.app)
        self._thread = threading.Thread(target=self._run, name="xlikes-sandbox", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        loop = _new_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:
            self._error = exc
        finally:
            loop.close()

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = threading.Event()
        waited = 0.0
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"sandbox thread failed to start: {self._error!r}")
            if waited > timeout:
                raise TimeoutError("sandbox thread did not start")
            deadline.wait(0.005)
            waited += 0.005

    @property
    def credentials(self) -> dict[str, Any]:
        return credentials_of(self.app)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
