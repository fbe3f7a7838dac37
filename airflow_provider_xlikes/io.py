"""Output writing: records streamed to JSON Lines part files, committed atomically with a manifest.

This module knows nothing about operators: :class:`JsonLinesWriter` takes an
:class:`~airflow.sdk.ObjectStoragePath` (any fsspec backend: ``file://``, ``s3://``, ``gs://`` ...)
and a :class:`RunKey`, so operators, benchmarks and a later resumable or deferrable operator share it.

Layout under the output path ``<base>``::

    <base>/_staging/<partition>/part-00000.jsonl[.gz]   while the run writes (never read)
    <base>/<partition>/part-00000.jsonl[.gz]             committed data (JSON Lines, one record a line)
    <base>/<partition>/errors-00000.jsonl[.gz]           the API's partial ``errors`` of the same pages
    <base>/<partition>/_manifest.json                    written last: the commit

where ``<partition>`` is ``dag_id=<..>/run_id=<..>/task_id=<..>/map_index=<..>``, deterministic per
task instance, so a retry finds (and cleans, or resumes from) its own staging and overwrites its own
committed output instead of adding to it. Paths starting with ``_`` are ignored by Hive-style readers
(Spark, Athena, ...). **Readers trust only the files listed in a ``_manifest.json``**; the manifest is
one object PUT (atomic on object stores) or, on a local file system, a write to a temporary name and
a rename.

Commit protocol (:meth:`JsonLinesWriter.commit`): close the open part; delete the previous manifest of
this partition (a re-run's old output stops being visible); delete files of this partition that the
new run does not have; move the staged parts in; write the manifest; delete the staging directory.
Every step can be repeated after a crash: a part already moved is found in place.

Parts are cut at page boundaries only (every ``part_records`` records), so a checkpoint
(:meth:`JsonLinesWriter.checkpoint`) taken after a part is closed pairs the durable parts with the
cursor of the next page: a resumed run continues from that cursor and never duplicates a record.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import IO, Any, Literal, cast
from urllib.parse import urlsplit

import msgspec
from airflow.sdk import ObjectStoragePath

MANIFEST_NAME = "_manifest.json"
STAGING_DIR = "_staging"
MANIFEST_FORMAT = "airflow-provider-xlikes/manifest/v1"
#: records per part file (50 full pages of 100). Parts are cut at page boundaries, so a part may hold
#: up to one page more. ~1 KB a user or post with all fields: about 5 MB a part before gzip.
DEFAULT_PART_RECORDS = 5_000
Compression = Literal["gzip"] | None
COMPRESSIONS: tuple[Compression, ...] = (None, "gzip")

_LOCAL_PROTOCOLS = ("", "file", "local")
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class OutputError(RuntimeError):
    """The output could not be written or committed as the protocol requires."""


def utcnow_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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

    @property
    def partition(self) -> str:
        return "/".join(
            (
                f"dag_id={_safe(self.dag_id)}",
                f"run_id={_safe(self.run_id)}",
                f"task_id={_safe(self.task_id)}",
                f"map_index={int(self.map_index)}",
            )
        )

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> RunKey:
        ti = context["ti"]
        map_index = getattr(ti, "map_index", -1)
        return cls(
            dag_id=str(ti.dag_id),
            run_id=str(ti.run_id),
            task_id=str(ti.task_id),
            map_index=-1 if map_index is None else int(map_index),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def as_storage_path(path: ObjectStoragePath | str | os.PathLike[str], conn_id: str | None = None) -> ObjectStoragePath:
    """``path`` as an :class:`ObjectStoragePath`; a plain local path becomes ``file://`` + absolute path."""
    if isinstance(path, ObjectStoragePath):
        result = path if conn_id is None or path.conn_id == conn_id else ObjectStoragePath(str(path), conn_id=conn_id)
    else:
        result = ObjectStoragePath(os.fspath(path), conn_id=conn_id)
    if result.protocol in _LOCAL_PROTOCOLS and not str(result).startswith("file://"):
        result = ObjectStoragePath("file://" + os.path.abspath(result.path))
    return result


def asset_uri(path: ObjectStoragePath | str | os.PathLike[str]) -> str:
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
    if protocol in _LOCAL_PROTOCOLS:
        return "file://" + os.path.abspath(location)
    return f"{protocol}://{location}"


@dataclass
class PartInfo:
    """One committed or staged part: its file name, record and page counts, and its errors file."""

    name: str
    records: int
    pages: int
    bytes: int | None = None
    errors: int = 0
    errors_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PartInfo:
        return cls(
            name=str(data["name"]),
            records=int(data["records"]),
            pages=int(data["pages"]),
            bytes=None if data.get("bytes") is None else int(data["bytes"]),
            errors=int(data.get("errors") or 0),
            errors_name=data.get("errors_name"),
        )


@dataclass
class _OpenPart:
    name: str
    raw: IO[bytes]
    stream: IO[bytes]
    records: int = 0
    pages: int = 0
    errors: list[bytes] = field(default_factory=list)


class JsonLinesWriter:
    """Streams records to JSON Lines part files under a staging directory; commits them with a manifest.

    Memory stays flat: records are encoded one by one into the open part (gzip optional); only the
    partial errors of the open part are held until it closes. Use as a context manager::

        with JsonLinesWriter(ObjectStoragePath("s3://aws_default@bucket/likes"), run_key) as writer:
            for page in pages:
                writer.write_page(page.data, errors=page.errors, next_token=page.next_token)
            manifest = writer.commit({"endpoint": "liking_users"})

    Leaving the block with an exception closes the open part and keeps the staging for a retry.

    :param base: output location (``ObjectStoragePath`` or URI; ``s3://<conn_id>@bucket/key`` names the
        connection).
    :param run_key: the task instance writing (its partition).
    :param part_records: records after which a part is closed (at the next page boundary).
    :param compression: ``None`` or ``"gzip"``.
    :param conn_id: storage connection, when not given in the URI.
    """

    def __init__(
        self,
        base: ObjectStoragePath | str,
        run_key: RunKey,
        *,
        part_records: int = DEFAULT_PART_RECORDS,
        compression: Compression = None,
        conn_id: str | None = None,
    ) -> None:
        if isinstance(part_records, bool) or not isinstance(part_records, int) or part_records < 1:
            raise ValueError(f"part_records must be a positive integer, not {part_records!r}")
        if compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {list(COMPRESSIONS)}, not {compression!r}")
        self.base = as_storage_path(base, conn_id)
        self.run_key = run_key
        self.part_records = part_records
        self.compression: Compression = compression
        self.parts: list[PartInfo] = []
        self.record_count = 0
        self.page_count = 0
        self.error_count = 0
        self.next_token: str | None = None
        self.started_at: str | None = None
        self._open_part: _OpenPart | None = None
        self._pending_token: str | None = None
        self._opened = False

    def __repr__(self) -> str:
        return f"<JsonLinesWriter {self.final_dir} parts={len(self.parts)} records={self.record_count}>"

    # ------------------------------------------------------------------ locations
    @property
    def staging_dir(self) -> ObjectStoragePath:
        return self.base / STAGING_DIR / self.run_key.partition

    @property
    def final_dir(self) -> ObjectStoragePath:
        return self.base / self.run_key.partition

    @property
    def manifest_path(self) -> ObjectStoragePath:
        return self.final_dir / MANIFEST_NAME

    @property
    def _suffix(self) -> str:
        return ".jsonl.gz" if self.compression == "gzip" else ".jsonl"

    @property
    def _fs(self) -> Any:
        return self.base.fs

    @property
    def _local(self) -> bool:
        return self.base.protocol in _LOCAL_PROTOCOLS

    # ------------------------------------------------------------------ lifecycle
    def open(self, checkpoint: Mapping[str, Any] | None = None) -> JsonLinesWriter:
        """Prepare the staging directory: emptied for a fresh run, or trimmed to ``checkpoint``'s parts.

        A checkpoint (from :meth:`checkpoint`, kept by the caller e.g. in ``task_state_store``) restores
        the counts and the cursor; staged files not listed in it (a part being written at the crash)
        are deleted, so nothing is duplicated.
        """
        if self._opened:
            raise OutputError("writer already opened")
        self._opened = True
        self.started_at = utcnow_iso()
        if checkpoint is None:
            self._remove_tree(self.staging_dir)
        else:
            self._restore(checkpoint)
        if self._local:
            self._fs.makedirs(self.staging_dir.path, exist_ok=True)
        return self

    def _restore(self, checkpoint: Mapping[str, Any]) -> None:
        if checkpoint.get("partition") not in (None, self.run_key.partition):
            raise OutputError(f"checkpoint belongs to {checkpoint.get('partition')!r}, not {self.run_key.partition!r}")
        self.parts = [PartInfo.from_dict(p) for p in checkpoint.get("parts") or []]
        self.record_count = int(checkpoint.get("record_count") or 0)
        self.page_count = int(checkpoint.get("pages") or 0)
        self.error_count = int(checkpoint.get("errors") or 0)
        self.next_token = checkpoint.get("next_token")
        self.started_at = checkpoint.get("started_at") or self.started_at
        keep = {name for part in self.parts for name in (part.name, part.errors_name) if name}
        for path in self._files(self.staging_dir):
            if path.rsplit("/", 1)[-1] not in keep:
                self._fs.rm(path)
        for part in self.parts:
            for name in (part.name, part.errors_name):
                if name and not self._exists(self.staging_dir / name) and not self._exists(self.final_dir / name):
                    raise OutputError(f"checkpointed part {name} is missing from {self.staging_dir}")

    def __enter__(self) -> JsonLinesWriter:
        if not self._opened:
            self.open()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()

    def abort(self) -> None:
        """Close the open part without recording it; the staging stays for a retry to clean or resume."""
        part, self._open_part = self._open_part, None
        if part is not None:
            for stream in (part.stream, part.raw):
                with contextlib.suppress(Exception):
                    stream.close()

    # ------------------------------------------------------------------ writing
    def write_page(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        errors: Sequence[Mapping[str, Any]] = (),
        next_token: str | None = None,
    ) -> PartInfo | None:
        """Append one page's records (and its partial errors) to the open part.

        ``next_token`` is the cursor of the page after this one; it enters :meth:`checkpoint` only once
        the part holding this page is closed. Returns the part closed by this call, if any.
        """
        if not self._opened:
            raise OutputError("open() the writer first")
        part = self._open_part
        if part is None:
            iterator = iter(records)
            first = next(iterator, None)
            if first is None and not errors:
                # nothing to store and nothing pending: the cursor is durable at once
                self.page_count += 1
                self.next_token = next_token
                return None
            part = self._open_part = self._new_part()
            records = iterator if first is None else _chain_first(first, iterator)
        for record in records:
            part.stream.write(_encoder.encode(record))
            part.stream.write(b"\n")
            part.records += 1
        part.errors.extend(_encoder.encode(error) for error in errors)
        part.pages += 1
        self._pending_token = next_token
        if part.records >= self.part_records:
            return self.close_part()
        return None

    def close_part(self) -> PartInfo | None:
        """Close the open part durably (a checkpoint may record it from now on); None if none is open."""
        part, self._open_part = self._open_part, None
        if part is None:
            return None
        if part.stream is not part.raw:
            part.stream.close()  # flushes the gzip trailer into raw
        size: int | None
        try:
            size = int(part.raw.tell())
        except (OSError, ValueError, AttributeError):
            size = None
        part.raw.close()
        info = PartInfo(name=part.name, records=part.records, pages=part.pages, bytes=size)
        if part.errors:
            info.errors = len(part.errors)
            info.errors_name = part.name.replace("part-", "errors-", 1)
            self._write_bytes(self.staging_dir / info.errors_name, b"".join(e + b"\n" for e in part.errors))
        self.parts.append(info)
        self.record_count += info.records
        self.page_count += info.pages
        self.error_count += info.errors
        self.next_token = self._pending_token
        return info

    def checkpoint(self) -> dict[str, Any]:
        """JSON state of the durable parts and the cursor after them (not the open part)."""
        return {
            "partition": self.run_key.partition,
            "parts": [p.to_dict() for p in self.parts],
            "record_count": self.record_count,
            "pages": self.page_count,
            "errors": self.error_count,
            "next_token": self.next_token,
            "started_at": self.started_at,
        }

    def _new_part(self) -> _OpenPart:
        name = f"part-{len(self.parts):05d}{self._suffix}"
        raw: IO[bytes] = self._fs.open((self.staging_dir / name).path, "wb")
        stream: IO[bytes] = raw
        if self.compression == "gzip":
            stream = cast(IO[bytes], gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=6, mtime=0))
        return _OpenPart(name=name, raw=raw, stream=stream)

    def _write_bytes(self, path: ObjectStoragePath, data: bytes) -> None:
        with self._fs.open(path.path, "wb") as raw:
            if self.compression == "gzip":
                with gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz:
                    gz.write(data)
            else:
                raw.write(data)

    # ------------------------------------------------------------------ commit
    def commit(self, metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Move the staged parts into place and write the manifest last. Returns the manifest.

        ``metadata`` (endpoint, parameters, ids, time window ...) is merged into the manifest.
        """
        if not self._opened:
            raise OutputError("open() the writer first")
        self.close_part()
        fs = self._fs
        final = self.final_dir
        names = [name for part in self.parts for name in (part.name, part.errors_name) if name]
        # 1. the previous manifest of this partition goes first: from here on nothing stale is visible
        if self._exists(self.manifest_path):
            fs.rm(self.manifest_path.path)
        # 2. files of an earlier run of this task instance that this run does not have
        wanted = set(names)
        for path in self._files(final):
            if path.rsplit("/", 1)[-1] not in wanted:
                fs.rm(path)
        # 3. staged parts into place (a part moved by an interrupted commit is already there)
        if self._local:
            fs.makedirs(final.path, exist_ok=True)
        for name in names:
            staged, target = self.staging_dir / name, final / name
            if self._exists(staged):
                fs.mv(staged.path, target.path)
            elif not self._exists(target):
                raise OutputError(f"part {name} is neither staged in {self.staging_dir} nor committed in {final}")
        # 4. the manifest, last
        manifest: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            **dict(metadata or {}),
            "files": [str(final / part.name) for part in self.parts],
            "error_files": [str(final / part.errors_name) for part in self.parts if part.errors_name],
            "record_count": self.record_count,
            "pages": self.page_count,
            "errors": self.error_count,
            "compression": self.compression,
            "parts": [p.to_dict() for p in self.parts],
            "run": self.run_key.to_dict(),
            "location": str(final),
            "manifest": str(self.manifest_path),
            "started_at": self.started_at,
            "committed_at": utcnow_iso(),
        }
        self._write_manifest(manifest)
        # 5. staging is no longer needed
        self._remove_tree(self.staging_dir)
        return manifest

    def _write_manifest(self, manifest: Mapping[str, Any]) -> None:
        data = msgspec.json.format(_encoder.encode(manifest), indent=2) + b"\n"
        if self._local:
            tmp = self.final_dir / f".{MANIFEST_NAME}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp.path, self.manifest_path.path)
        else:
            self.manifest_path.write_bytes(data)

    # ------------------------------------------------------------------ fs helpers
    def _exists(self, path: ObjectStoragePath) -> bool:
        return bool(self._fs.exists(path.path))

    def _files(self, directory: ObjectStoragePath) -> list[str]:
        try:
            found = self._fs.find(directory.path)
        except FileNotFoundError:
            return []
        return [str(p) for p in found]

    def _remove_tree(self, directory: ObjectStoragePath) -> None:
        fs = self._fs
        for path in self._files(directory):
            fs.rm(path)
        if self._local:
            # drop the now empty directories up to <base>/_staging
            stop = os.path.normpath(self.base.path)
            current = os.path.normpath(directory.path)
            while current.startswith(stop + os.sep) and current != stop:
                try:
                    os.rmdir(current)
                except OSError:
                    break
                current = os.path.dirname(current)


def _chain_first(first: Mapping[str, Any], rest: Iterator[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    yield first
    yield from rest


# ---------------------------------------------------------------------- reading
def read_manifest(path: ObjectStoragePath | str) -> dict[str, Any]:
    """Load one ``_manifest.json`` (a path to the file, or to the partition directory holding it)."""
    storage = as_storage_path(path)
    if storage.name != MANIFEST_NAME:
        storage = storage / MANIFEST_NAME
    manifest = _decoder.decode(storage.read_bytes())
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise OutputError(f"{storage} is not a manifest of format {MANIFEST_FORMAT}")
    return manifest


def find_manifests(base: ObjectStoragePath | str) -> list[ObjectStoragePath]:
    """Every committed manifest under an output location (staging excluded), sorted by path."""
    storage = as_storage_path(base)
    try:
        found = storage.fs.find(storage.path)
    except FileNotFoundError:
        return []
    staging = storage.path.rstrip("/") + "/" + STAGING_DIR + "/"
    return [
        storage / str(path)[len(storage.path.rstrip("/")) + 1 :]
        for path in sorted(found)
        if str(path).endswith("/" + MANIFEST_NAME) and not str(path).startswith(staging)
    ]


def _iter_lines(uri: str, compression: Compression) -> Iterator[dict[str, Any]]:
    storage = as_storage_path(uri)
    with storage.fs.open(storage.path, "rb") as raw:
        stream: IO[bytes] = raw
        if compression == "gzip":
            stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
        for line in stream:
            if line.strip():
                yield _decoder.decode(line)


def iter_manifest_records(manifest: Mapping[str, Any], *, errors: bool = False) -> Iterator[dict[str, Any]]:
    """Stream the records (or, with ``errors=True``, the partial errors) of the files a manifest lists."""
    compression = manifest.get("compression")
    for uri in manifest["error_files" if errors else "files"]:
        yield from _iter_lines(str(uri), compression)
