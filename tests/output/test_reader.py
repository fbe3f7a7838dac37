"""The public reader: manifests from XCom or storage, records of either format, errors, includes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from output_helpers import FORMATS, KEY, pages, write_all

from airflow_provider_xlikes.output import (
    MANIFEST_NAME,
    STAGING_DIR,
    Include,
    OutputError,
    OutputWriter,
    RunKey,
    as_storage_path,
    find_manifests,
    iter_errors,
    iter_includes,
    iter_records,
    read_manifest,
)


def committed(base: Path, output_format: str, key: RunKey = KEY, **kwargs: Any) -> dict[str, Any]:
    with OutputWriter(base, key, output_format=output_format, part_records=10, **kwargs) as writer:
        write_all(writer, pages(3, 10), includes=True)
        writer.write_page([], errors=[{"title": "Not Found Error", "resource_id": "404"}])
        return writer.commit({"endpoint": "liking_users"})


@pytest.mark.parametrize("output_format", FORMATS)
@pytest.mark.parametrize("compression", [None, "gzip"])
def test_every_source_of_a_manifest_reads_the_same(tmp_path: Path, output_format: str, compression: Any) -> None:
    manifest = committed(tmp_path, output_format, compression=compression)
    xcom = json.loads(json.dumps(manifest))  # as a downstream task gets it
    for source in (xcom, manifest["manifest"], manifest["location"], as_storage_path(manifest["manifest"])):
        assert read_manifest(source) == manifest
        assert [r["id"] for r in iter_records(source)] == [str(i) for i in range(30)]
        assert list(iter_errors(source)) == [{"title": "Not Found Error", "resource_id": "404"}]
        assert len(list(iter_includes(source))) == 30 + 3
        assert next(iter_includes(source, "media")) == Include("media", {"media_key": "m0", "type": "photo"})


@pytest.mark.parametrize("output_format", FORMATS)
def test_records_stream_part_by_part(tmp_path: Path, output_format: str) -> None:
    manifest = committed(tmp_path, output_format)
    records = iter_records(manifest)
    assert [next(records)["id"] for _ in range(10)] == [str(i) for i in range(10)]  # the first part
    Path(manifest["files"][1].removeprefix("file://")).unlink()  # not opened yet
    with pytest.raises(FileNotFoundError):
        next(records)


def test_a_manifest_of_the_first_layout_reads_as_json_lines(tmp_path: Path) -> None:
    manifest = committed(tmp_path, "jsonl")
    for key in ("output_format", "include_files", "includes"):
        del manifest[key]  # the keys the manifest had before Parquet and includes
    assert [r["id"] for r in iter_records(manifest)] == [str(i) for i in range(30)]
    assert list(iter_includes(manifest)) == []
    assert len(list(iter_errors(manifest))) == 1


def test_what_is_not_a_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="not a manifest"):
        read_manifest({"files": []})
    with pytest.raises(OutputError, match="not a manifest"):
        iter_records({"format": "something/else", "files": []})
    (tmp_path / MANIFEST_NAME).write_text("[1, 2]")
    with pytest.raises(OutputError, match="not a manifest"):
        read_manifest(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_manifest(tmp_path / "missing")


def test_find_manifests_lists_committed_partitions_only(tmp_path: Path) -> None:
    keys = [RunKey("likes", "r1", "collect"), RunKey("likes", "r1", "collect", map_index=0), RunKey("b", "r", "t")]
    for key in keys:
        committed(tmp_path, "jsonl", key)
    crashed = OutputWriter(tmp_path, RunKey("likes", "r2", "collect"), part_records=1).open()
    crashed.write_page([{"id": "1"}])  # staged, never committed
    (tmp_path / STAGING_DIR / MANIFEST_NAME).write_text("{}")  # nothing under staging counts
    found = find_manifests(tmp_path)
    assert found == sorted(as_storage_path(tmp_path) / key.partition / MANIFEST_NAME for key in keys)
    assert sum(read_manifest(path)["record_count"] for path in found) == 90
    assert find_manifests(tmp_path / "nothing-here") == []
