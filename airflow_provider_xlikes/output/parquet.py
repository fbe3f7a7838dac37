"""Parquet part files (pyarrow; install the extra ``airflow-provider-xlikes[parquet]``).

pyarrow is imported when a :class:`ParquetFormat` is created (never by importing this package), and a
missing pyarrow raises :class:`~airflow_provider_xlikes.exceptions.MissingExtraError` naming the extra.

A part is buffered column by column (:class:`ColumnBuffer`: the values of its pages' records, at
most ``part_records`` plus one page; the records themselves are not kept) and written as one
Parquet file when it closes. **Schema rules**, per part file:

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

Compression: ``None`` → Parquet ``snappy`` (pyarrow's default), ``"gzip"`` → Parquet ``gzip`` at
``compression_level`` (default 1, the fastest); the codec is inside the file, whose name is always
``part-NNNNN.parquet``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any

import msgspec

from airflow_provider_xlikes.exceptions import MissingExtraError
from airflow_provider_xlikes.output.base import Compression, OutputFormat, PartEncoder, with_fields
from airflow_provider_xlikes.pages import Record

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


class ColumnBuffer:
    """The records of one part, column by column, by the schema rules of this module.

    Each page is split into its keys' value lists as it is added, so no record of the part stays
    alive until the part closes: 5,000 records held per part were promoted to the collector's oldest
    generation and set off full collections over every object of the task process.
    """

    def __init__(self) -> None:
        #: values by column, in first-seen order; every list holds one value a row (``None``: missing)
        self.columns: dict[str, list[Any]] = {}
        self.rows = 0

    def add(self, records: Sequence[Record], fields: Mapping[str, Any] | None = None) -> None:
        """One page's records, each with ``fields`` as columns ahead of its own keys (see
        :func:`~airflow_provider_xlikes.output.base.with_fields`; a record's own value wins)."""
        if fields and any(key in record for key in fields for record in records):
            records, fields = with_fields(records, fields), None
        count = len(records)
        if not count:
            return
        fields = fields or {}
        first = records[0]
        keys: Iterable[str] = first
        if len(set().union(*records)) != len(first):  # a record has a key the first one lacks
            keys = dict.fromkeys(key for record in records for key in record)
        for key in (*fields, *keys):
            column = self.columns.get(key)
            if column is None:
                column = self.columns[key] = [None] * self.rows
            if key in fields:
                column.extend([fields[key]] * count)
            else:
                column.extend([record.get(key) for record in records])
        self.rows += count
        for column in self.columns.values():
            if len(column) < self.rows:  # a key this page's records do not have
                column.extend([None] * (self.rows - len(column)))

    def to_table(self) -> Any:
        """The buffered rows as one ``pyarrow.Table``: a column pyarrow cannot type as one writable
        Arrow type is stored as JSON text and named in the schema metadata."""
        pa, _ = import_pyarrow()
        columns: dict[str, Any] = {}
        json_columns: list[str] = []
        for key, values in self.columns.items():
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


def records_to_table(records: Sequence[Record], fields: Mapping[str, Any] | None = None) -> Any:
    """``records`` (each with ``fields``) as one ``pyarrow.Table`` by the schema rules of this module."""
    buffer = ColumnBuffer()
    buffer.add(records, fields)
    return buffer.to_table()


class _ParquetEncoder(PartEncoder):
    def __init__(self, stream: IO[bytes], codec: str, level: int | None) -> None:
        self._stream = stream
        self._codec = codec
        self._level = level
        self._buffer = ColumnBuffer()

    def write(self, records: Sequence[Record], fields: Mapping[str, Any] | None = None) -> None:
        self._buffer.add(records, fields)

    def finish(self) -> None:
        _, pq = import_pyarrow()
        table, self._buffer = self._buffer.to_table(), ColumnBuffer()
        pq.write_table(table, self._stream, compression=self._codec, compression_level=self._level)

    def abort(self) -> None:
        self._buffer = ColumnBuffer()


class ParquetFormat(OutputFormat):
    """Parquet (``.parquet``): one file a part, nested fields as structs and lists (see module docs)."""

    name = "parquet"

    def __init__(self, compression: Compression = None, compression_level: int | None = None) -> None:
        super().__init__(compression, compression_level)
        import_pyarrow()  # fail now, before anything is fetched, when the extra is missing

    @property
    def suffix(self) -> str:
        return ".parquet"

    @property
    def codec(self) -> str:
        return PARQUET_CODECS[self.compression]

    def encoder(self, stream: IO[bytes]) -> PartEncoder:
        return _ParquetEncoder(stream, self.codec, self.gzip_level if self.compression == "gzip" else None)

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
