"""Processes of a test deployment: each started in its own process group, stopped by its PID.

Stopping a group is SIGTERM to the group, a wait, then SIGKILL to the group (the children a
process left behind die with it: LocalExecutor workers, Celery pool processes, task supervisors,
PostgreSQL back ends).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(args: Sequence[str], *, env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``args`` in a new session (its own process group), stdout and stderr to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own executables
            list(args),
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop_groups(processes: Iterable[subprocess.Popen[bytes]], grace: float = 3.0) -> None:
    """SIGTERM to each process's group, wait up to ``grace`` seconds, SIGKILL the groups, reap."""
    procs = list(processes)
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group: whatever the process started, too
        proc.wait()
