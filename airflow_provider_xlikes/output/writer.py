"""The output commit protocol: staged part files, checkpoints, a manifest written last.

:class:`OutputWriter` knows the layout (:mod:`~airflow_provider_xlikes.output.layout`) and the protocol;
the record format of the part files is an :class:`~airflow_provider_xlikes.output.base.OutputFormat`
(``output_format="jsonl"`` or ``"parquet"``). Files of one part ``NNNNN`` (in the partition directory)::

    part-NNNNN.jsonl[.gz] | part-NNNNN.parquet   the records of the part's pages
    errors-NNNNN.jsonl[.gz]                      the API's partial ``errors`` of the same pages
    includes-NNNNN.jsonl[.gz]                    the pages' ``includes``: {"kind": "users", "object": {...}} a line
    _manifest.json                               (one per partition) written last: the commit

Errors and includes are JSON Lines in every format (their shapes vary), compressed as the run is
(gzip or not); includes are kept as the API sent them, page by page, so an object referred to from
several pages appears once per page. A part without errors (or includes) has no such file.

Commit protocol (:meth:`OutputWriter.commit`): close the open part; delete the previous manifest of the
partition (a re-run's old output stops being visible); delete files of the partition that the new
run does not have; move the staged files in; write the manifest (one PUT on object stores, a write to
a temporary name and a rename on a local file system); delete the staging directory. Every step can
be repeated after a crash: a file already moved is found in place. **Readers trust only the files a
manifest lists.**

Parts are cut at page boundaries only (once ``part_records`` records are reached), so a checkpoint
(:meth:`OutputWriter.checkpoint`) taken after a part is closed pairs the durable parts with the
cursor of the next page: a run resumed with :meth:`OutputWriter.open` continues from that cursor and
never duplicates a record.

Over 400 lines because the protocol's steps (stage, checkpoint, trim on resume, commit, clean up)
must be read together to see that each can be repeated after a crash.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import IO, Any

import msgspec
from airflow.sdk import ObjectStoragePath

from airflow_provider_xlikes.exceptions import OutputError, XValidationError
from airflow_provider_xlikes.output.base import Compression, OutputFormat, PartEncoder
from airflow_provider_xlikes.output.formats import DEFAULT_OUTPUT_FORMAT, get_format, sidecar_format
from airflow_provider_xlikes.output.layout import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    OWNER_FILE,
    STAGING_DIR,
    RunKey,
    StoragePathLike,
    as_storage_path,
    is_local,
    list_files,
    utcnow_iso,
)
from airflow_provider_xlikes.pages import Record

#: records per part file (50 full pages of 100). Parts are cut at page boundaries, so a part may hold
#: up to one page more. ~1 KB a user or post with all fields: about 5 MB a part before compression.
DEFAULT_PART_RECORDS = 5_000

_encoder = msgspec.json.Encoder()


@dataclass(slots=True)
class PartInfo:
    """One committed or staged part: its file name, counts, and its errors and includes files."""

    name: str
    records: int
    pages: int
    bytes: int | None = None
    errors: int = 0
    errors_name: str | None = None
    includes: int = 0
    includes_name: str | None = None
    #: objects of the part's pages whose broken Unicode was replaced (see ``broken_unicode.py``)
    broken_unicode: int = 0

    @property
    def file_names(self) -> list[str]:
        return [name for name in (self.name, self.errors_name, self.includes_name) if name]

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
            includes=int(data.get("includes") or 0),
            includes_name=data.get("includes_name"),
            broken_unicode=int(data.get("broken_unicode") or 0),
        )


@dataclass
class _StagedFile:
    """A file of the open part being written to staging by a format's encoder."""

    name: str
    raw: IO[bytes]
    encoder: PartEncoder
    count: int = 0

    def write(self, items: Sequence[Record], fields: Mapping[str, Any] | None = None) -> None:
        self.encoder.write(items, fields)
        self.count += len(items)

    def close(self) -> int | None:
        """Finish the encoding and close the file; its size in bytes where the file system tells it."""
        self.encoder.finish()
        size: int | None
        try:
            size = int(self.raw.tell())
        except (OSError, ValueError, AttributeError):
            size = None
        self.raw.close()
        return size

    def discard(self) -> None:
        self.encoder.abort()
        with contextlib.suppress(Exception):
            self.raw.close()


@dataclass
class _OpenPart:
    index: int
    data: _StagedFile
    errors: _StagedFile | None = None
    includes: _StagedFile | None = None
    pages: int = 0
    broken_unicode: int = 0

    @property
    def files(self) -> list[_StagedFile]:
        return [f for f in (self.data, self.errors, self.includes) if f is not None]


class OutputWriter:
    """Writes pages to part files under a staging directory and commits them with a manifest.

    Memory stays flat: JSON Lines parts are encoded page by page, a Parquet part is buffered until it
    closes. Use as a context manager::

        with OutputWriter(ObjectStoragePath("s3://aws_default@bucket/likes"), run_key) as writer:
            for page in pages:
                writer.write_page(page.data, errors=page.errors, includes=page.includes,
                                  next_token=page.next_token)
            manifest = writer.commit({"endpoint": "liking_users"})

    Leaving the block with an exception abandons the open part and keeps the staging for a retry.

    :param base: output location (``ObjectStoragePath`` or URI; ``s3://<conn_id>@bucket/key`` names the
        connection).
    :param run_key: the task instance writing (its partition).
    :param output_format: ``"jsonl"`` or ``"parquet"`` (see :data:`~.formats.OUTPUT_FORMATS`).
    :param part_records: records after which a part is closed (at the next page boundary).
    :param compression: ``None`` or ``"gzip"`` (Parquet: ``None`` is snappy, ``"gzip"`` gzip).
    :param compression_level: with gzip, 1 (fastest, the default when ``None``) to 9 (smallest).
    :param conn_id: storage connection, when not given in the URI.
    """

    def __init__(
        self,
        base: StoragePathLike,
        run_key: RunKey,
        *,
        output_format: str = DEFAULT_OUTPUT_FORMAT,
        part_records: int = DEFAULT_PART_RECORDS,
        compression: Compression = None,
        conn_id: str | None = None,
        compression_level: int | None = None,
    ) -> None:
        if isinstance(part_records, bool) or not isinstance(part_records, int) or part_records < 1:
            raise XValidationError("part_records", part_records, "a positive integer")
        self.format: OutputFormat = get_format(output_format, compression, compression_level)
        self.sidecar_format = sidecar_format(compression, compression_level)
        self.base = as_storage_path(base, conn_id)
        self.run_key = run_key
        self.part_records = part_records
        self.compression: Compression = compression
        self.parts: list[PartInfo] = []
        self.record_count = 0
        self.page_count = 0
        self.error_count = 0
        self.include_count = 0
        self.broken_unicode = 0
        self.next_token: str | None = None
        self.started_at: str | None = None
        self._staging_path = self.staging_dir.path.rstrip("/")
        self._open_part: _OpenPart | None = None
        self._pending_token: str | None = None
        self._opened = False

    def __repr__(self) -> str:
        return f"<OutputWriter {self.format.name} {self.final_dir} parts={len(self.parts)} records={self.record_count}>"

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
    def _fs(self) -> Any:
        return self.base.fs

    # ------------------------------------------------------------------ lifecycle
    def open(self, checkpoint: Mapping[str, Any] | None = None) -> OutputWriter:
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
        if is_local(self.base):
            self._fs.makedirs(self.staging_dir.path, exist_ok=True)
        # who this staging belongs to: a later run of the task finds it by this file (see staged_runs)
        (self.staging_dir / OWNER_FILE).write_bytes(msgspec.json.encode(self.run_key.to_dict()))
        return self

    def staged_runs(self) -> list[RunKey]:
        """Other task instances of this task (other runs, other map indexes) with staging left here.

        The caller decides which of them never came back (their task instance is not running) and
        removes their staging with :meth:`remove_staging_of`.
        """
        prefix = self.base / STAGING_DIR / self.run_key.partition.split("/", 1)[0]
        found: list[RunKey] = []
        for path in list_files(prefix):
            if not path.endswith("/" + OWNER_FILE):
                continue
            try:
                owner = RunKey(**msgspec.json.decode(self._fs.cat_file(path)))
            except (msgspec.DecodeError, TypeError, FileNotFoundError):
                continue
            if owner.task_id == self.run_key.task_id and owner != self.run_key:
                found.append(owner)
        return found

    def remove_staging_of(self, run_key: RunKey) -> None:
        """Delete the staging of another task instance (never this writer's own)."""
        if run_key == self.run_key:
            raise OutputError("a writer does not remove its own staging")
        self._remove_tree(self.base / STAGING_DIR / run_key.partition)

    def _restore(self, checkpoint: Mapping[str, Any]) -> None:
        if checkpoint.get("partition") not in (None, self.run_key.partition):
            raise OutputError(f"checkpoint belongs to {checkpoint.get('partition')!r}, not {self.run_key.partition!r}")
        for key, mine in (("output_format", self.format.name), ("compression", self.compression)):
            if key in checkpoint and checkpoint[key] != mine:
                raise OutputError(f"checkpoint was written with {key}={checkpoint[key]!r}, this writer has {mine!r}")
        self.parts = [PartInfo.from_dict(p) for p in checkpoint.get("parts") or []]
        self.record_count = int(checkpoint.get("record_count") or 0)
        self.page_count = int(checkpoint.get("pages") or 0)
        self.error_count = int(checkpoint.get("errors") or 0)
        self.include_count = int(checkpoint.get("includes") or 0)
        self.broken_unicode = int(checkpoint.get("broken_unicode") or 0)
        self.next_token = checkpoint.get("next_token")
        self.started_at = checkpoint.get("started_at") or self.started_at
        keep = {name for part in self.parts for name in part.file_names} | {OWNER_FILE}
        for path in list_files(self.staging_dir):
            if path.rsplit("/", 1)[-1] not in keep:
                self._fs.rm(path)
        for name in sorted(keep - {OWNER_FILE}):
            if not self._exists(self.staging_dir / name) and not self._exists(self.final_dir / name):
                raise OutputError(f"checkpointed file {name} is missing from {self.staging_dir}")

    def __enter__(self) -> OutputWriter:
        if not self._opened:
            self.open()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()

    def abort(self) -> None:
        """Abandon the open part without recording it; the staging stays for a retry to clean or resume."""
        part, self._open_part = self._open_part, None
        if part is not None:
            for staged in part.files:
                staged.discard()

    # ------------------------------------------------------------------ writing
    def write_page(
        self,
        records: Iterable[Record],
        *,
        errors: Sequence[Record] = (),
        includes: Mapping[str, Sequence[Record]] | None = None,
        next_token: str | None = None,
        fields: Mapping[str, Any] | None = None,
        broken_unicode: int = 0,
    ) -> PartInfo | None:
        """Append one page: its records, its partial errors and its ``includes`` (objects by kind).

        Records are passed to the format as they are (a list is not copied); ``fields`` are added to
        each record as written, ahead of its own keys (e.g. the id the page was collected for; a key
        a record has keeps the record's value), without copying the records where the format can.
        ``next_token`` is the cursor of the page after this one; it enters :meth:`checkpoint` only
        once the part holding this page is closed. ``broken_unicode``: the page's objects whose
        broken Unicode was replaced (``Page.broken_unicode``), counted with the part. Returns the
        part closed by this call, if any.
        """
        if not self._opened:
            raise OutputError("open() the writer first")
        page = records if isinstance(records, Sequence) else list(records)
        included = [{"kind": kind, "object": obj} for kind, objects in (includes or {}).items() for obj in objects]
        part = self._open_part
        if part is None:
            if not page and not errors and not included:
                # nothing to store and nothing pending: the cursor is durable at once
                self.page_count += 1
                self.next_token = next_token
                return None
            index = len(self.parts)
            part = self._open_part = _OpenPart(index, self._stage(f"part-{index:05d}", self.format))
        part.data.write(page, fields)
        if errors:
            part.errors = part.errors or self._stage(f"errors-{part.index:05d}", self.sidecar_format)
            part.errors.write(errors)
        if included:
            part.includes = part.includes or self._stage(f"includes-{part.index:05d}", self.sidecar_format)
            part.includes.write(included)
        part.pages += 1
        part.broken_unicode += broken_unicode
        self._pending_token = next_token
        if part.data.count >= self.part_records:
            return self.close_part()
        return None

    def close_part(self) -> PartInfo | None:
        """Close the open part durably (a checkpoint may record it from now on); None if none is open."""
        part, self._open_part = self._open_part, None
        if part is None:
            return None
        info = PartInfo(name=part.data.name, records=part.data.count, pages=part.pages, bytes=part.data.close())
        info.broken_unicode = part.broken_unicode
        if part.errors is not None:
            part.errors.close()
            info.errors, info.errors_name = part.errors.count, part.errors.name
        if part.includes is not None:
            part.includes.close()
            info.includes, info.includes_name = part.includes.count, part.includes.name
        self.parts.append(info)
        self.record_count += info.records
        self.page_count += info.pages
        self.error_count += info.errors
        self.include_count += info.includes
        self.broken_unicode += info.broken_unicode
        self.next_token = self._pending_token
        return info

    def checkpoint(self) -> dict[str, Any]:
        """JSON state of the durable parts and the cursor after them (not the open part)."""
        return {
            "partition": self.run_key.partition,
            "output_format": self.format.name,
            "compression": self.compression,
            "parts": [p.to_dict() for p in self.parts],
            "record_count": self.record_count,
            "pages": self.page_count,
            "errors": self.error_count,
            "includes": self.include_count,
            "broken_unicode": self.broken_unicode,
            "next_token": self.next_token,
            "started_at": self.started_at,
        }

    def _stage(self, stem: str, output_format: OutputFormat) -> _StagedFile:
        name = stem + output_format.suffix
        # a plain file system path: no ObjectStoragePath (and its parse caches) per file while writing
        raw: IO[bytes] = self._fs.open(f"{self._staging_path}/{name}", "wb")
        return _StagedFile(name=name, raw=raw, encoder=output_format.encoder(raw))

    # ------------------------------------------------------------------ commit
    def commit(self, metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Move the staged files into place and write the manifest last. Returns the manifest.

        ``metadata`` (endpoint, parameters, ids, time window ...) is merged into the manifest.
        """
        if not self._opened:
            raise OutputError("open() the writer first")
        self.close_part()
        fs = self._fs
        final = self.final_dir
        names = [name for part in self.parts for name in part.file_names]
        # 1. the previous manifest of this partition goes first: from here on nothing stale is visible
        if self._exists(self.manifest_path):
            fs.rm(self.manifest_path.path)
        # 2. files of an earlier run of this task instance that this run does not have
        wanted = set(names)
        for path in list_files(final):
            if path.rsplit("/", 1)[-1] not in wanted:
                fs.rm(path)
        # 3. staged files into place (a file moved by an interrupted commit is already there)
        if is_local(self.base):
            fs.makedirs(final.path, exist_ok=True)
        for name in names:
            staged, target = self.staging_dir / name, final / name
            if self._exists(staged):
                fs.mv(staged.path, target.path)
            elif not self._exists(target):
                raise OutputError(f"file {name} is neither staged in {self.staging_dir} nor committed in {final}")
        # 4. the manifest, last
        manifest: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            **dict(metadata or {}),
            "output_format": self.format.name,
            "files": [str(final / part.name) for part in self.parts],
            "error_files": [str(final / part.errors_name) for part in self.parts if part.errors_name],
            "include_files": [str(final / part.includes_name) for part in self.parts if part.includes_name],
            "record_count": self.record_count,
            "pages": self.page_count,
            "errors": self.error_count,
            "includes": self.include_count,
            "broken_unicode": self.broken_unicode,
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
        if is_local(self.base):
            tmp = self.final_dir / f".{MANIFEST_NAME}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp.path, self.manifest_path.path)
        else:
            self.manifest_path.write_bytes(data)

    # ------------------------------------------------------------------ fs helpers
    def _exists(self, path: ObjectStoragePath) -> bool:
        return bool(self._fs.exists(path.path))

    def _remove_tree(self, directory: ObjectStoragePath) -> None:
        for path in list_files(directory):
            self._fs.rm(path)
        if is_local(self.base):
            # drop the now empty directories up to <base>/_staging
            stop = os.path.normpath(self.base.path)
            current = os.path.normpath(directory.path)
            while current.startswith(stop + os.sep) and current != stop:
                try:
                    os.rmdir(current)
                except OSError:
                    break
                current = os.path.dirname(current)
