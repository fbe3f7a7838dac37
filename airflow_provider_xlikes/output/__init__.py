"""Task output in object storage: part files in JSON Lines or Parquet, committed with a manifest.

* :class:`OutputWriter` - the commit protocol (staging, parts cut at page boundaries, checkpoints,
  manifest written last); see :mod:`~airflow_provider_xlikes.output.writer` for the file layout.
* :class:`OutputFormat` - a record format: :class:`JsonLinesFormat` (``"jsonl"``) and
  :class:`ParquetFormat` (``"parquet"``, extra ``[parquet]``; schema rules in
  :mod:`~airflow_provider_xlikes.output.parquet`).
* :func:`read_manifest`, :func:`find_manifests`, :func:`iter_records`, :func:`iter_errors`,
  :func:`iter_includes` - the reader for downstream tasks.

Importing this package does not import pyarrow.
"""

from __future__ import annotations

from airflow_provider_xlikes.exceptions import MissingExtraError, OutputError
from airflow_provider_xlikes.output.base import COMPRESSIONS, Compression, OutputFormat, PartEncoder
from airflow_provider_xlikes.output.formats import DEFAULT_OUTPUT_FORMAT, OUTPUT_FORMATS, get_format
from airflow_provider_xlikes.output.jsonl import JsonLinesFormat
from airflow_provider_xlikes.output.layout import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    OWNER_FILE,
    STAGING_DIR,
    RunKey,
    as_storage_path,
    asset_uri,
    utcnow_iso,
)
from airflow_provider_xlikes.output.parquet import ParquetFormat
from airflow_provider_xlikes.output.reader import (
    Include,
    find_manifests,
    iter_errors,
    iter_includes,
    iter_records,
    read_manifest,
)
from airflow_provider_xlikes.output.writer import DEFAULT_PART_RECORDS, OutputWriter, PartInfo

__all__ = [
    "COMPRESSIONS",
    "DEFAULT_OUTPUT_FORMAT",
    "DEFAULT_PART_RECORDS",
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "OUTPUT_FORMATS",
    "OWNER_FILE",
    "STAGING_DIR",
    "Compression",
    "Include",
    "JsonLinesFormat",
    "MissingExtraError",
    "OutputError",
    "OutputFormat",
    "OutputWriter",
    "ParquetFormat",
    "PartEncoder",
    "PartInfo",
    "RunKey",
    "as_storage_path",
    "asset_uri",
    "find_manifests",
    "get_format",
    "iter_errors",
    "iter_includes",
    "iter_records",
    "read_manifest",
    "utcnow_iso",
]
