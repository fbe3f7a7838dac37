"""The record formats by name (``output_format=`` of the writer and the operators; ``output_format`` of a manifest)."""

from __future__ import annotations

from airflow_provider_xlikes.exceptions import XValidationError
from airflow_provider_xlikes.output.base import Compression, OutputFormat
from airflow_provider_xlikes.output.jsonl import JsonLinesFormat
from airflow_provider_xlikes.output.parquet import ParquetFormat

FORMATS: dict[str, type[OutputFormat]] = {cls.name: cls for cls in (JsonLinesFormat, ParquetFormat)}
#: accepted ``output_format`` names
OUTPUT_FORMATS: tuple[str, ...] = tuple(FORMATS)
DEFAULT_OUTPUT_FORMAT = JsonLinesFormat.name


def get_format(name: object, compression: Compression = None, compression_level: int | None = None) -> OutputFormat:
    """The format called ``name`` with ``compression`` (at ``compression_level``); :class:`XValidationError`
    for an unknown one."""
    cls = FORMATS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise XValidationError("output_format", name, OUTPUT_FORMATS)
    return cls(compression, compression_level)


def sidecar_format(compression: Compression = None, compression_level: int | None = None) -> OutputFormat:
    """The format of the errors and includes files beside the parts: JSON Lines in every output format."""
    return JsonLinesFormat(compression, compression_level)
