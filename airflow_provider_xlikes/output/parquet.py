"""Parquet part files (pyarrow; install the extra ``airflow-provider-xlikes[parquet]``).

pyarrow is imported when a :class:`ParquetFormat` is created (never by importing this package), and a
missing pyarrow raises :class:`~airflow_provider_xlikes.output.errors.MissingExtraError` naming the extra.

A part is buffered (references to the records of its pages, at most ``part_records`` plus one page)
and written as one Parquet file when it closes. **Schema rules**, per part file:

* the columns are the union of the top-level keys of all records of the part, in first-seen order;
* each column's type is what pyarrow infers from the JSON values of *all* records of the part
  (``pa.array`` of the column): strings stay strings (ids included), integers ``int64``, integers
  mixed with floats ``double``, booleans ``bool``, objects ``struct`` (the union of their keys, e.g.
  ``public_metrics``, ``entities``), arrays ``list``; a column that is null in every record is ``null``;
* a key missing from a record reads back as null (``None``) - as does a missing struct field;
* a column pyarrow cannot type as one Arrow type (e.g. a string in one record and a number in another)
  or cannot write to Parquet (an object with no keys, ``{}``) is stored as JSON text (``string``) and
  listed in the file's schema metadata key ``airflow-provider-xlikes.json_columns``; the reader of this
  package decodes it back, other readers see the JSON text;
* the columns, and their types, may differ between the parts of one run (a field only some records
  have): unify when reading several parts, e.g. ``pyarrow.dataset.dataset(files, schema=
  pa.unify_schemas([...], promote_options="permissive"))``, or
  :func:`~airflow_provider_xlikes.output.reader.iter_records`, which yields dicts part by part.

Compression: ``None`` → Parquet ``snappy`` (pyarrow's default), ``"gzip"`` → Parquet ``gzip``; the
codec is inside the file, whose name is always ``part-NNNNN.parquet``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

import msgspec

from airflow_provider_xlikes.exceptions import MissingExtraError
from airflow_provider_xlikes.output.base import Compression, OutputFormat, PartEncoder, Record, with_fields

JSON_COLUMNS_KEY = b"airflow-provider-xlikes.json_columns"
PARQUET_CODECS: dict[Compression, str] = {None: "snappy", "gzip": "gzip"}
#: rows decoded at a time when reading a part
READ_BATCH_ROWS = 1_000

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def import_pyarrow() -> tuple[Any, Any]:
    """``(pyarrow, pyarrow.parquet)``, or :class:`MissingExtraError` naming the ``parquet`` extra."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as error:
        raise MissingExtraError("pyarrow", "parquet", "Parquet output") from error
    return pyarrow, pyarrow.parquet


def _writable(pa: Any, arrow_type: Any) -> bool:
    """False when Parquet cannot store ``arrow_type``: a struct with no fields, at any depth."""
    if pa.types.is_struct(arrow_type):
        fields = [arrow_type.field(i).type for i in range(arrow_type.num_fields)]
        return bool(fields) and all(_writable(pa, field) for field in fields)
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return _writable(pa, arrow_type.value_type)
    return True


def records_to_table(records: Sequence[Record], runs: Sequence[tuple[int, Mapping[str, Any]]] = ()) -> Any:
    """The records as one ``pyarrow.Table`` by the schema rules of this module.

    ``runs``: ``(count, fields)`` over the records in order (all of them: one run without fields
    when empty); each run's records get its fields as columns ahead of their own keys, none of them
    having those keys (see :func:`~airflow_provider_xlikes.output.base.with_fields`).
    """
    pa, _ = import_pyarrow()
    parts: list[tuple[Sequence[Record], Mapping[str, Any]]] = []
    start = 0
    for count, fields in runs or [(len(records), {})]:
        parts.append((records[start : start + count], fields))
        start += count
    columns: dict[str, Any] = {}
    json_columns: list[str] = []
    for key in dict.fromkeys(key for part, fields in parts for key in (*fields, *(k for r in part for k in r))):
        values = [
            value
            for part, fields in parts
            for value in ([fields[key]] * len(part) if key in fields else [record.get(key) for record in part])
        ]
        try:
            array = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            array = None
        if array is None or not _writable(pa, array.type):
            array = pa.array([None if v is None else _encoder.encode(v).decode() for v in values], type=pa.string())
            json_columns.append(key)
        columns[key] = array
    metadata = {JSON_COLUMNS_KEY: _encoder.encode(json_columns)} if json_columns else None
    return pa.table(columns, metadata=metadata)


class _ParquetEncoder(PartEncoder):
    def __init__(self, stream: IO[bytes], codec: str) -> None:
        self._stream = stream
        self._codec = codec
        self._records: list[Record] = []
        #: (count, fields) of the records in order: fields become columns, the records are not copied
        self._runs: list[tuple[int, Mapping[str, Any]]] = []

    def write(self, records: Sequence[Record], fields: Mapping[str, Any] | None = None) -> None:
        if fields and any(key in record for key in fields for record in records):
            records, fields = with_fields(records, fields), None  # the records' own values win
        fields = fields or {}
        if self._runs and self._runs[-1][1] == fields:
            self._runs[-1] = (self._runs[-1][0] + len(records), fields)
        else:
            self._runs.append((len(records), fields))
        self._records.extend(records)

    def finish(self) -> None:
        _, pq = import_pyarrow()
        table = records_to_table(self._records, self._runs)
        self._records, self._runs = [], []
        pq.write_table(table, self._stream, compression=self._codec)

    def abort(self) -> None:
        self._records, self._runs = [], []


class ParquetFormat(OutputFormat):
    """Parquet (``.parquet``): one file a part, nested fields as structs and lists (see module docs)."""

    name = "parquet"

    def __init__(self, compression: Compression = None) -> None:
        super().__init__(compression)
        import_pyarrow()  # fail now, before anything is fetched, when the extra is missing

    @property
    def suffix(self) -> str:
        return ".parquet"

    @property
    def codec(self) -> str:
        return PARQUET_CODECS[self.compression]

    def encoder(self, stream: IO[bytes]) -> PartEncoder:
        return _ParquetEncoder(stream, self.codec)

    def read(self, stream: IO[bytes]) -> Iterator[dict[str, Any]]:
        _, pq = import_pyarrow()
        part = pq.ParquetFile(stream)
        metadata = part.schema_arrow.metadata or {}
        json_columns: list[str] = _decoder.decode(metadata[JSON_COLUMNS_KEY]) if JSON_COLUMNS_KEY in metadata else []
        for batch in part.iter_batches(batch_size=READ_BATCH_ROWS):
            for row in batch.to_pylist():
                for column in json_columns:
                    if row[column] is not None:
                        row[column] = _decoder.decode(row[column])
                yield row
