"""Real PostgreSQL and Redis servers for tests, from the machine's Debian packages.

Each server runs in a temporary directory on a free loopback port of its own, in its own process
group, and is stopped by its PID (SIGTERM, a wait, SIGKILL to the group), also when a test fails.
PostgreSQL refuses to run as root: under root the server runs as the ``postgres`` user of the
Debian package, on a data directory it owns. ``scripts/system_packages.sh`` installs the packages
(``postgresql``, ``redis-server``) when they are missing.

Use the fixtures of the package's pytest plugin (``postgres_server``, session scope) or the classes
as context managers::

    with PostgresServer() as pg:
        pg.create_database("xlikes_state")
        env["AIRFLOW_CONN_XLIKES_STATE"] = pg.uri("xlikes_state")
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from airflow_provider_xlikes.testing.processes import free_port, spawn, stop_groups

__all__ = ["PostgresServer", "RedisServer", "postgres_binaries"]


def postgres_binaries() -> Path | None:
    """The directory of ``initdb`` and ``postgres`` of the newest installed PostgreSQL, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"server not listening on {port} within {timeout:.0f} s")
        time.sleep(0.1)


class PostgresServer:
    """A PostgreSQL server of its own (``initdb`` in a temp dir, trust auth on loopback)."""

    user = "postgres"

    def __init__(self) -> None:
        binaries = postgres_binaries()
        if binaries is None:
            raise RuntimeError("PostgreSQL is not installed: bash scripts/system_packages.sh")
        self.bin = binaries
        self.dir = Path(tempfile.mkdtemp(prefix="xlikes-postgres-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._as_root = os.geteuid() == 0

    def _command(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if self._as_root else list(args)

    def start(self, timeout: float = 60.0) -> PostgresServer:
        data = self.dir / "data"
        try:
            if self._as_root:
                shutil.chown(self.dir, "postgres", "postgres")
            subprocess.run(  # noqa: S603 - the machine's own initdb
                self._command(str(self.bin / "initdb"), "-D", str(data), "-U", self.user, "-A", "trust", "-E", "UTF8"),
                check=True,
                capture_output=True,
                timeout=120,
            )
            log = self.dir / "postgres.log"
            self.proc = spawn(
                self._command(
                    str(self.bin / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(self.port),
                    "-h",
                    "127.0.0.1",
                    "-k",
                    str(self.dir),
                    "-c",
                    "max_connections=300",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                ),
                env=os.environ,
                log=log,
            )
            _wait_for_port(self.port, self.proc, log, timeout)
            self._wait_until_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.execute("SELECT 1")
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None:
            stop_groups([self.proc], grace=5.0)
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def uri(self, database: str = "postgres") -> str:
        """``postgresql://postgres@127.0.0.1:<port>/<database>`` (an Airflow connection URI too)."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> Any:
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=database)

    def execute(self, sql: str, database: str = "postgres") -> list[tuple[Any, ...]]:
        """Run one statement in autocommit mode; returns its rows (none for statements without)."""
        conn = self.connect(database)
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall()) if cursor.description else []
        finally:
            conn.close()

    def create_database(self, name: str) -> str:
        """Create the database ``name``; returns its URI."""
        self.execute(f'CREATE DATABASE "{name}"')
        return self.uri(name)


class RedisServer:
    """A Redis server of its own (no persistence) on a free loopback port."""

    def __init__(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("Redis is not installed: bash scripts/system_packages.sh")
        self.executable = executable
        self.dir = Path(tempfile.mkdtemp(prefix="xlikes-redis-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> RedisServer:
        log = self.dir / "redis.log"
        try:
            self.proc = spawn(
                [
                    self.executable,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.dir),
                ],
                env=os.environ,
                log=log,
            )
            _wait_for_port(self.port, self.proc, log, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_groups([self.proc], grace=5.0)
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"
