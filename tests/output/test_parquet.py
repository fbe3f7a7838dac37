"""Parquet part files: nested fields, string ids, the union schema of a part, the optional pyarrow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from output_helpers import KEY

from airflow_provider_xlikes.exceptions import XPermanentError
from airflow_provider_xlikes.output import MissingExtraError, OutputWriter, ParquetFormat, iter_records
from airflow_provider_xlikes.output.parquet import JSON_COLUMNS_KEY

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
ds = pytest.importorskip("pyarrow.dataset")

USER = {
    "id": "1234567890123456789",
    "username": "xdevelopers",
    "public_metrics": {"followers_count": 10, "following_count": 2, "tweet_count": 3, "listed_count": 4},
    "entities": {
        "url": {"urls": [{"start": 0, "end": 23, "url": "https://t.co/x", "expanded_url": "https://x.com"}]},
        "description": {"hashtags": [{"start": 1, "end": 5, "tag": "api"}]},
    },
    "verified": False,
}


def write_parquet(tmp_path: Path, *pages: list[dict[str, Any]], part_records: int = 1_000) -> dict[str, Any]:
    with OutputWriter(tmp_path, KEY, output_format="parquet", part_records=part_records) as writer:
        for page in pages:
            writer.write_page(page)
        return writer.commit()


def part_paths(manifest: dict[str, Any]) -> list[str]:
    return [uri.removeprefix("file://") for uri in manifest["files"]]


def test_nested_fields_are_structs_and_lists_and_ids_stay_strings(tmp_path: Path) -> None:
    manifest = write_parquet(tmp_path, [USER, {**USER, "id": "7"}])
    table = pq.read_table(part_paths(manifest)[0])
    schema = table.schema
    assert schema.field("id").type == pa.string()
    assert schema.field("public_metrics").type == pa.struct(
        [(name, pa.int64()) for name in ("followers_count", "following_count", "tweet_count", "listed_count")]
    )
    urls = schema.field("entities").type.field("url").type.field("urls").type
    assert pa.types.is_list(urls)
    assert urls.value_type.field("expanded_url").type == pa.string()
    assert schema.field("verified").type == pa.bool_()
    assert table.column("id").to_pylist() == ["1234567890123456789", "7"]
    assert list(iter_records(manifest)) == [USER, {**USER, "id": "7"}]


def test_the_schema_is_the_union_of_all_records_of_the_part(tmp_path: Path) -> None:
    rows = [
        {"id": "1", "name": "a"},
        {"id": "2", "pinned_tweet_id": "99", "public_metrics": {"followers_count": 1}},
        {"id": "3", "public_metrics": {"tweet_count": 5}, "withheld": {"country_codes": ["DE"]}},
    ]
    # the three records arrive in two pages of one part: the last page's keys are not lost either
    manifest = write_parquet(tmp_path, rows[:2], rows[2:])
    assert len(manifest["files"]) == 1
    schema = pq.read_schema(part_paths(manifest)[0])
    assert schema.names == ["id", "name", "pinned_tweet_id", "public_metrics", "withheld"]
    assert schema.field("public_metrics").type == pa.struct(
        [("followers_count", pa.int64()), ("tweet_count", pa.int64())]
    )
    assert schema.field("withheld").type == pa.struct([("country_codes", pa.list_(pa.string()))])
    back = list(iter_records(manifest))
    assert back[0] == {"id": "1", "name": "a", "pinned_tweet_id": None, "public_metrics": None, "withheld": None}
    assert back[1]["public_metrics"] == {"followers_count": 1, "tweet_count": None}
    assert back[2]["withheld"] == {"country_codes": ["DE"]}


def test_columns_pyarrow_cannot_type_are_kept_as_json_text(tmp_path: Path) -> None:
    rows = [
        {"id": "1", "mixed": 1, "empty": {}, "fine": 1},
        {"id": "2", "mixed": "one", "empty": {}, "fine": 2.5},
        {"id": "3", "mixed": None, "empty": None, "fine": None},
    ]
    manifest = write_parquet(tmp_path, rows)
    part = pq.ParquetFile(part_paths(manifest)[0])
    assert part.schema_arrow.metadata[JSON_COLUMNS_KEY] == b'["mixed","empty"]'
    assert part.schema_arrow.field("mixed").type == pa.string()
    assert part.schema_arrow.field("fine").type == pa.float64()  # ints mixed with floats: double
    assert pq.read_table(part_paths(manifest)[0]).column("mixed").to_pylist() == ["1", '"one"', None]
    assert [r["mixed"] for r in iter_records(manifest)] == [1, "one", None]
    assert [r["empty"] for r in iter_records(manifest)] == [{}, {}, None]


def test_parts_of_one_run_may_differ_and_readers_unify(tmp_path: Path) -> None:
    manifest = write_parquet(
        tmp_path,
        [{"id": "1", "name": "a"}],
        [{"id": "2", "public_metrics": {"followers_count": 3}}],
        part_records=1,
    )
    paths = part_paths(manifest)
    schemas = [pq.read_schema(p) for p in paths]
    assert [s.names for s in schemas] == [["id", "name"], ["id", "public_metrics"]]
    unified = pa.unify_schemas(schemas, promote_options="permissive")
    table = ds.dataset(paths, format="parquet", schema=unified).to_table()
    assert table.column("id").to_pylist() == ["1", "2"]
    assert table.column("name").to_pylist() == ["a", None]
    assert [r["id"] for r in iter_records(manifest)] == ["1", "2"]


def test_missing_pyarrow_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now raises ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'airflow-provider-xlikes\[parquet\]'") as caught:
        OutputWriter(tmp_path, KEY, output_format="parquet")
    assert caught.value.extra == "parquet"
    assert isinstance(caught.value, ImportError)
    assert isinstance(caught.value, XPermanentError)  # a retry cannot install it
    with pytest.raises(MissingExtraError):
        ParquetFormat()
    with OutputWriter(tmp_path, KEY) as writer:  # JSON Lines needs no pyarrow
        writer.write_page([{"id": "1"}])
        assert [r["id"] for r in iter_records(writer.commit())] == ["1"]


def test_the_package_and_json_lines_do_not_import_pyarrow(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from airflow_provider_xlikes.output import OutputWriter, RunKey, iter_records\n"
        f"with OutputWriter({str(tmp_path)!r}, RunKey('d', 'r', 't')) as writer:\n"
        "    writer.write_page([{'id': '1'}])\n"
        "    manifest = writer.commit()\n"
        "assert [r['id'] for r in iter_records(manifest)] == ['1']\n"
        "print('pyarrow' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False", result.stderr
