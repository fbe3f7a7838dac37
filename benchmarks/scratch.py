"""Scratch directories of a benchmark run: made with :func:`tempfile.mkdtemp`, removed when the
process that made them exits (Airflow homes, SQLite databases, pre-rendered pages, output)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile


def scratch_dir(prefix: str) -> str:
    """A new directory under the temp folder, removed at this process's exit (not a forked child's)."""
    path = tempfile.mkdtemp(prefix=prefix)
    owner = os.getpid()

    def remove() -> None:
        if os.getpid() == owner:
            shutil.rmtree(path, ignore_errors=True)

    atexit.register(remove)
    return path


def scratch_airflow_home(prefix: str = "xlikes-bench-home-") -> None:
    """``AIRFLOW_HOME`` in a scratch directory, unless the caller set one."""
    if "AIRFLOW_HOME" not in os.environ:
        os.environ["AIRFLOW_HOME"] = scratch_dir(prefix)
