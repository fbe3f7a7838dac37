"""The gzip level of the output (``compression_level``), and Parquet parts built column by column:
every record round-trips, whatever keys and types its pages bring."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
from output_helpers import KEY

from airflow_provider_xlikes.exceptions import XValidationError
from airflow_provider_xlikes.output import OutputWriter, get_format, iter_records
from airflow_provider_xlikes.output.base import DEFAULT_COMPRESSION_LEVEL

#: gzip's header byte XFL (RFC 1952) as Python's gzip writes it: 4 at level 1, 2 at level 9, else 0
XFL = {1: 4, 9: 2}


def users(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "id": str(1_000_000 + start + n),
            "name": f"User {n} Zoë",
            "username": f"user{start + n}",
            "created_at": "2021-07-22T00:32:28.000Z",
            "public_metrics": {"followers_count": n * 7, "following_count": n, "tweet_count": 3, "listed_count": 0},
            "verified": n % 20 == 0,
        }
        for n in range(count)
    ]


def write(tmp_path: Path, pages: list[list[dict[str, Any]]], **kwargs: Any) -> dict[str, Any]:
    with OutputWriter(tmp_path, KEY, **kwargs) as writer:
        for n, page in enumerate(pages):
            writer.write_page(page, next_token=f"t{n}", fields={"liking_user_id": "20"})
        return writer.commit()


@pytest.mark.parametrize("level", [None, 1, 6, 9])
def test_json_lines_are_gzipped_at_the_level_asked_for(tmp_path: Path, level: int | None) -> None:
    pages = [users(100, start=100 * p) for p in range(3)]
    manifest = write(tmp_path, pages, compression="gzip", compression_level=level, part_records=200)
    assert list(iter_records(manifest)) == [{"liking_user_id": "20", **r} for page in pages for r in page]
    for uri in manifest["files"]:
        header = Path(uri.removeprefix("file://")).read_bytes()[:10]
        assert header[8] == XFL.get(level or DEFAULT_COMPRESSION_LEVEL, 0)
        gzip.decompress(Path(uri.removeprefix("file://")).read_bytes())  # a whole gzip stream


def test_parquet_gzip_takes_the_level_and_snappy_takes_none(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    pages = [users(100, start=100 * p) for p in range(3)]
    expected = [{"liking_user_id": "20", **r} for page in pages for r in page]
    sizes = {}
    for level in (1, 9):
        manifest = write(
            tmp_path / str(level), pages, output_format="parquet", compression="gzip", compression_level=level
        )
        assert list(iter_records(manifest)) == expected
        sizes[level] = Path(manifest["files"][0].removeprefix("file://")).read_bytes()
    assert sizes[1] != sizes[9]  # the level reached the codec
    with pytest.raises(XValidationError) as caught:
        OutputWriter(tmp_path, KEY, output_format="parquet", compression_level=3)
    assert caught.value.parameter == "compression_level"


@pytest.mark.parametrize(
    ("compression", "level"),
    [(None, 1), ("gzip", 0), ("gzip", 10), ("gzip", "3"), ("gzip", 3.0), ("gzip", True), ("gzip", -1)],
)
def test_a_bad_compression_level_is_refused_naming_the_parameter_and_the_levels(
    compression: Any, level: Any, tmp_path: Path
) -> None:
    for make in (
        lambda: OutputWriter(tmp_path, KEY, compression=compression, compression_level=level),
        lambda: get_format("jsonl", compression, level),
    ):
        with pytest.raises(XValidationError) as caught:
            make()
        assert caught.value.parameter == "compression_level"
        assert "None" in caught.value.allowed
        if compression == "gzip":
            assert "1" in caught.value.allowed and "9" in caught.value.allowed
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_parquet_parts_keep_every_key_and_type_that_changes_between_pages(tmp_path: Path) -> None:
    """Keys that appear in a later page, keys a page lacks, a column whose type differs between
    pages (kept as JSON text), a record with its own value of a field: all read back as sent."""
    pq = pytest.importorskip("pyarrow.parquet")
    from airflow_provider_xlikes.output.parquet import JSON_COLUMNS_KEY

    first = [{"id": "1", "count": 1, "meta": {"a": 1}}, {"id": "2", "count": 2}]
    second = [{"id": "3", "count": "many", "late": [1, 2]}, {"id": "4", "liking_user_id": "own", "meta": {"b": "x"}}]
    third = [{"id": "5", "empty": {}}, {"id": "6", "count": None, "meta": {"a": 2, "b": "y"}}]
    manifest = write(tmp_path, [first, second, third], output_format="parquet")
    part = pq.ParquetFile(manifest["files"][0].removeprefix("file://"))
    names = part.schema_arrow.names
    assert names == ["liking_user_id", "id", "count", "meta", "late", "empty"]  # first-seen order, fields first
    assert part.schema_arrow.metadata[JSON_COLUMNS_KEY] == b'["count","empty"]'
    records = list(iter_records(manifest))
    sent = [{"liking_user_id": "20", **r} for r in first + second + third]
    for got, want in zip(records, sent, strict=True):
        assert set(got) == set(names)
        assert {k: v for k, v in got.items() if k in want} == {
            k: ({"a": None, "b": None, **v} if k == "meta" else v) for k, v in want.items()
        }
        assert all(got[k] is None for k in set(names) - set(want))
    assert records[3]["liking_user_id"] == "own"


def test_parquet_round_trips_many_parts_of_quickstart_records(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    pages = [users(100, start=100 * p) for p in range(12)]
    manifest = write(tmp_path, pages, output_format="parquet", part_records=500)
    assert len(manifest["files"]) == 3  # parts cut at page boundaries: 500, 500, 200
    assert list(iter_records(manifest)) == [{"liking_user_id": "20", **r} for page in pages for r in page]
