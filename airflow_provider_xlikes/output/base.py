"""What a record format is: a name, a file suffix, an encoder of a part's pages, a reader of a part file.

The commit protocol (:mod:`~airflow_provider_xlikes.output.writer`) never looks inside a file; a format
never knows where its files go. A format turns the pages of one part into bytes on a stream it is
handed, and a committed part file back into records.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any, ClassVar, Literal

from airflow_provider_xlikes.exceptions import XValidationError
from airflow_provider_xlikes.pages import Record

Compression = Literal["gzip"] | None
COMPRESSIONS: tuple[Compression, ...] = (None, "gzip")
#: ``compression_level`` values: gzip's (zlib's) 1 (fastest) to 9 (smallest)
COMPRESSION_LEVELS = range(1, 10)
#: the gzip level when ``compression_level`` is ``None``: the fastest. Measured on the likes
#: listings' records (docs/benchmarks.md#compression-levels): level 1 spends 2.6 times less CPU
#: on compression than gzip's usual 6, for files about 21 % larger
DEFAULT_COMPRESSION_LEVEL = 1


def validate_compression(compression: object, compression_level: object = None) -> None:
    """:class:`XValidationError` unless ``compression`` is ``None`` or ``"gzip"`` and
    ``compression_level`` is ``None`` or, with gzip, an integer from 1 to 9."""
    if compression not in COMPRESSIONS:
        raise XValidationError("compression", compression, "None or 'gzip'")
    if compression_level is None:
        return
    if compression != "gzip":
        raise XValidationError("compression_level", compression_level, "None, unless compression='gzip'")
    if type(compression_level) is not int or compression_level not in COMPRESSION_LEVELS:
        raise XValidationError("compression_level", compression_level, "None or an integer from 1 (fastest) to 9")


def with_fields(records: Sequence[Record], fields: Mapping[str, Any] | None) -> Sequence[Record]:
    """``records`` with ``fields`` added to each, ahead of its own keys (a key a record has keeps
    the record's value); ``records`` themselves (no copy) when there are no fields."""
    if not fields:
        return records
    return [{**fields, **record} for record in records]


class PartEncoder(ABC):
    """Encodes the records of one part, page by page, to a binary stream that it does not close."""

    @abstractmethod
    def write(self, records: Sequence[Record], fields: Mapping[str, Any] | None = None) -> None:
        """Encode one page's records, each with ``fields`` added as :func:`with_fields` does."""

    @abstractmethod
    def finish(self) -> None:
        """Write whatever is still buffered (a gzip trailer, a whole Parquet file)."""

    def abort(self) -> None:  # noqa: B027 - most encoders hold nothing that needs dropping
        """Drop what is buffered without writing it (the part is abandoned)."""


class OutputFormat(ABC):
    """A record format of part files: ``name`` (as in the manifest), ``suffix``, encoder and reader."""

    name: ClassVar[str]

    def __init__(self, compression: Compression = None, compression_level: int | None = None) -> None:
        validate_compression(compression, compression_level)
        self.compression: Compression = compression
        #: the gzip level asked for (``None``: :data:`DEFAULT_COMPRESSION_LEVEL`)
        self.compression_level = compression_level

    def __repr__(self) -> str:
        level = "" if self.compression_level is None else f", compression_level={self.compression_level!r}"
        return f"{type(self).__name__}(compression={self.compression!r}{level})"

    @property
    def gzip_level(self) -> int:
        """The gzip level the parts are written with (when ``compression="gzip"``)."""
        return DEFAULT_COMPRESSION_LEVEL if self.compression_level is None else self.compression_level

    @property
    @abstractmethod
    def suffix(self) -> str:
        """File name suffix of a part, compression included (``.jsonl.gz``, ``.parquet``)."""

    @abstractmethod
    def encoder(self, stream: IO[bytes]) -> PartEncoder:
        """A new encoder of one part writing to ``stream``."""

    @abstractmethod
    def read(self, stream: IO[bytes]) -> Iterator[dict[str, Any]]:
        """The records of one part file, streamed from a readable (seekable) binary file."""
