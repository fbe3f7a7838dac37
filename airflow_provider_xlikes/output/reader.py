"""Reading committed output: manifests, and the records, errors and includes of the files they list.

For downstream tasks: import-light (pyarrow only when a Parquet part is read), streaming part by part,
and trusting only what a manifest lists. ``manifest`` arguments take a manifest dict (e.g. the XCom of a
collecting task) or the path of a ``_manifest.json`` or of the partition directory holding it.
Parquet rows come back as dicts with every column of their part (a key a record lacked is ``None``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import msgspec
from airflow.sdk import ObjectStoragePath

from airflow_provider_xlikes.exceptions import OutputError
from airflow_provider_xlikes.output.base import OutputFormat
from airflow_provider_xlikes.output.formats import DEFAULT_OUTPUT_FORMAT, get_format, sidecar_format
from airflow_provider_xlikes.output.layout import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    STAGING_DIR,
    StoragePathLike,
    as_storage_path,
    list_files,
)

ManifestSource = Mapping[str, Any] | StoragePathLike

_decoder = msgspec.json.Decoder()


class Include(NamedTuple):
    """One object of a page's ``includes``: its kind (``users``, ``tweets``, ``media`` ...) and itself."""

    kind: str
    object: dict[str, Any]


def read_manifest(source: ManifestSource) -> dict[str, Any]:
    """A manifest: ``source`` itself when it is one (checked), else loaded from its path."""
    if isinstance(source, Mapping):
        manifest: Any = dict(source)
        origin = "the manifest given"
    else:
        storage = as_storage_path(source)
        if storage.name != MANIFEST_NAME:
            storage = storage / MANIFEST_NAME
        manifest = _decoder.decode(storage.read_bytes())
        origin = str(storage)
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise OutputError(f"{origin} is not a manifest of format {MANIFEST_FORMAT}")
    return manifest


def find_manifests(base: StoragePathLike) -> list[ObjectStoragePath]:
    """Every committed manifest under an output location (staging excluded), sorted by path."""
    storage = as_storage_path(base)
    root = storage.path.rstrip("/")
    staging = f"{root}/{STAGING_DIR}/"
    return [
        storage / path[len(root) + 1 :]
        for path in sorted(list_files(storage))
        if path.endswith("/" + MANIFEST_NAME) and not path.startswith(staging)
    ]


def _read_files(uris: list[str], output_format: OutputFormat) -> Iterator[dict[str, Any]]:
    for uri in uris:
        storage = as_storage_path(str(uri))
        with storage.fs.open(storage.path, "rb") as stream:
            yield from output_format.read(stream)


def iter_records(manifest: ManifestSource) -> Iterator[dict[str, Any]]:
    """The records of the data files a manifest lists, part by part, in either output format."""
    loaded = read_manifest(manifest)
    output_format = get_format(loaded.get("output_format") or DEFAULT_OUTPUT_FORMAT, loaded.get("compression"))
    return _read_files(loaded["files"], output_format)


def iter_errors(manifest: ManifestSource) -> Iterator[dict[str, Any]]:
    """The API's partial errors of the pages a manifest covers, as the API sent them."""
    loaded = read_manifest(manifest)
    return _read_files(loaded.get("error_files") or [], sidecar_format(loaded.get("compression")))


def iter_includes(manifest: ManifestSource, kind: str | None = None) -> Iterator[Include]:
    """The ``includes`` objects of the pages a manifest covers (only those of ``kind`` when given)."""
    loaded = read_manifest(manifest)
    lines = _read_files(loaded.get("include_files") or [], sidecar_format(loaded.get("compression")))
    return (Include(line["kind"], line["object"]) for line in lines if kind is None or line["kind"] == kind)
