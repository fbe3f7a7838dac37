"""JSON Lines part files: one record a line, gzip optional. A page is encoded in one msgspec call."""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any, cast

import msgspec

from airflow_provider_xlikes.output.base import Compression, OutputFormat, PartEncoder, with_fields
from airflow_provider_xlikes.pages import Record

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class _JsonLinesEncoder(PartEncoder):
    def __init__(self, stream: IO[bytes], compression: Compression, level: int) -> None:
        self._raw = stream
        self._stream: IO[bytes] = stream
        if compression == "gzip":
            gz = gzip.GzipFile(filename="", fileobj=stream, mode="wb", compresslevel=level, mtime=0)
            self._stream = cast(IO[bytes], gz)

    def write(self, records: Sequence[Record], fields: Mapping[str, Any] | None = None) -> None:
        # the page as it is (no record copied), in one call: b'{..}\n{..}\n'
        if fields and records and all(records) and not any(key in record for key in fields for record in records):
            # fields ahead of each record's keys, spliced into the page's bytes: a raw newline is
            # always a line's end (msgspec escapes those in strings), so each b"\n{" starts a record
            prefix = _encoder.encode(fields)[:-1] + b","
            lines = _encoder.encode_lines(records)
            self._stream.write(prefix + lines[1:].replace(b"\n{", b"\n" + prefix))
            return
        self._stream.write(_encoder.encode_lines(with_fields(records, fields)))

    def finish(self) -> None:
        if self._stream is not self._raw:
            self._stream.close()  # the gzip trailer goes into the raw stream, which stays open

    def abort(self) -> None:
        if self._stream is not self._raw:
            with contextlib.suppress(Exception):
                self._stream.close()


class JsonLinesFormat(OutputFormat):
    """JSON Lines (``.jsonl``, or ``.jsonl.gz`` with ``compression="gzip"``, at ``compression_level``):
    records byte for byte as JSON."""

    name = "jsonl"

    @property
    def suffix(self) -> str:
        return ".jsonl.gz" if self.compression == "gzip" else ".jsonl"

    def encoder(self, stream: IO[bytes]) -> PartEncoder:
        return _JsonLinesEncoder(stream, self.compression, self.gzip_level)

    def read(self, stream: IO[bytes]) -> Iterator[dict[str, Any]]:
        source: IO[bytes] = stream
        if self.compression == "gzip":
            source = cast(IO[bytes], gzip.GzipFile(fileobj=stream, mode="rb"))
        for line in source:
            if line.strip():
                yield _decoder.decode(line)
