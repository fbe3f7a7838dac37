"""Where output lives: the partition of a task instance, its staging, its manifest; path helpers.

Layout under an output location ``<base>``::

    <base>/_staging/<partition>/...      files of the run still being written (never read)
    <base>/<partition>/...               committed files
    <base>/<partition>/_manifest.json    written last: the commit, and the list readers trust

``<partition>`` is ``dag_id=<..>/run_id=<..>/task_id=<..>/map_index=<..>`` (Hive style), deterministic
per task instance, so a retry finds its own staging and overwrites its own committed output. A DAG
run with a partition key (a partitioned timetable, Airflow 3.2+) writes under
``dag_id=<..>/partition_key=<..>/run_id=<..>/...``. Paths starting with ``_`` are ignored by
Hive-style readers (Spark, Athena, ...).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import pendulum
from airflow.sdk import ObjectStoragePath

from airflow_provider_xlikes.version_compat import storage_conn_id, storage_path

MANIFEST_NAME = "_manifest.json"
STAGING_DIR = "_staging"
#: in each staging folder: the RunKey it belongs to (JSON), so a later run can tell whose it is
OWNER_FILE = "_owner.json"
MANIFEST_FORMAT = "airflow-provider-xlikes/manifest/v1"
LOCAL_PROTOCOLS = ("", "file", "local")
StoragePathLike = ObjectStoragePath | str | os.PathLike[str]

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def utcnow_iso() -> str:
    return pendulum.now("UTC").replace(microsecond=0).to_iso8601_string()


def _safe(value: str) -> str:
    """A path segment: ``[A-Za-z0-9._-]`` kept, others ``_``; a hash keeps altered values unique."""
    cleaned = _SAFE.sub("_", value)
    if cleaned == value and value not in ("", ".", ".."):
        return value
    digest = hashlib.sha1(value.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{cleaned}_{digest}"


@dataclass(frozen=True)
class RunKey:
    """Identifies one task instance's output: the partition it writes, its staging and its manifest."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1
    #: the DAG run's partition key (partitioned timetables, Airflow 3.2+), ``None`` without one
    partition_key: str | None = None

    @property
    def partition(self) -> str:
        return "/".join(
            (
                f"dag_id={_safe(self.dag_id)}",
                *(() if self.partition_key is None else (f"partition_key={_safe(self.partition_key)}",)),
                f"run_id={_safe(self.run_id)}",
                f"task_id={_safe(self.task_id)}",
                f"map_index={int(self.map_index)}",
            )
        )

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> RunKey:
        ti = context["ti"]
        map_index = getattr(ti, "map_index", -1)
        partition_key = getattr(context.get("dag_run"), "partition_key", None)  # Airflow 3.2+
        return cls(
            dag_id=str(ti.dag_id),
            run_id=str(ti.run_id),
            task_id=str(ti.task_id),
            map_index=-1 if map_index is None else int(map_index),
            partition_key=None if partition_key is None else str(partition_key),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON (owner files, the manifest's ``run``); ``partition_key`` only where the run has one."""
        data = asdict(self)
        if self.partition_key is None:
            del data["partition_key"]
        return data


def as_storage_path(path: StoragePathLike, conn_id: str | None = None) -> ObjectStoragePath:
    """``path`` as an :class:`ObjectStoragePath`; a plain local path becomes ``file://`` + absolute path."""
    if isinstance(path, ObjectStoragePath):
        result = path if conn_id is None or storage_conn_id(path) == conn_id else storage_path(str(path), conn_id)
    else:
        result = storage_path(os.fspath(path), conn_id)
    if result.protocol in LOCAL_PROTOCOLS and not str(result).startswith("file://"):
        result = ObjectStoragePath("file://" + os.path.abspath(result.path))
    return result


def asset_uri(path: StoragePathLike) -> str:
    """The Asset URI of an output location: scheme and path, without the connection id.

    ``s3://aws_default@bucket/likes`` → ``s3://bucket/likes``; a local path → ``file:///abs/path``.
    Pure string work (no file system, no connection lookup), so it is safe at DAG parse time.
    """
    if isinstance(path, ObjectStoragePath):
        protocol, location = path.protocol or "file", path.path
    else:
        text = os.fspath(path)
        parts = urlsplit(text)
        if len(parts.scheme) > 1:  # not a Windows drive letter
            protocol = parts.scheme
            location = parts.netloc.rpartition("@")[2] + parts.path
        else:
            protocol, location = "file", text
    location = location.rstrip("/")
    if protocol in LOCAL_PROTOCOLS:
        return "file://" + os.path.abspath(location)
    return f"{protocol}://{location}"


def is_local(path: ObjectStoragePath) -> bool:
    return path.protocol in LOCAL_PROTOCOLS


def list_files(directory: ObjectStoragePath) -> list[str]:
    """File system paths (without protocol) of every file under ``directory``; none if it is missing."""
    try:
        found = directory.fs.find(directory.path)
    except FileNotFoundError:
        return []
    return [str(p) for p in found]
