"""The output writer on a real local file system and on a real S3 API (moto's server)."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from pathlib import Path

import pytest
from airflow.sdk import ObjectStoragePath

from airflow_provider_xlikes.io import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    STAGING_DIR,
    JsonLinesWriter,
    OutputError,
    RunKey,
    as_storage_path,
    asset_uri,
    find_manifests,
    iter_manifest_records,
    read_manifest,
)

KEY = RunKey(dag_id="likes", run_id="manual__2026-01-01T00:00:00+00:00", task_id="collect", map_index=3)


def pages(count: int, size: int, *, start: int = 0) -> list[list[dict[str, object]]]:
    return [[{"id": str(start + p * size + i), "name": f"u{p}-{i}"} for i in range(size)] for p in range(count)]


def write_all(writer: JsonLinesWriter, batches: list[list[dict[str, object]]]) -> None:
    for n, batch in enumerate(batches):
        writer.write_page(batch, next_token=f"t{n + 1}" if n + 1 < len(batches) else None)


class Crash(RuntimeError):
    pass


def crash_while_writing(writer: JsonLinesWriter, batches: list[list[dict[str, object]]], **kwargs: object) -> None:
    """Write ``batches`` inside the writer's block, then die (as a worker would) before the commit."""
    with writer:
        for n, batch in enumerate(batches):
            closed = writer.write_page(batch, next_token=f"t{n + 1}")
            on_close = kwargs.get("on_close")
            if closed is not None and callable(on_close):
                on_close(writer.checkpoint())
        raise Crash("worker died")


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_local_round_trip(tmp_path: Path, compression: str | None) -> None:
    writer = JsonLinesWriter(str(tmp_path / "out"), KEY, part_records=25, compression=compression)  # type: ignore[arg-type]
    with writer:
        write_all(writer, pages(7, 10))
        manifest = writer.commit({"endpoint": "liking_users", "tweet_id": "20"})

    suffix = ".jsonl.gz" if compression else ".jsonl"
    # parts are cut at page boundaries once 25 records are reached: 30 + 30 + 10
    assert [p["records"] for p in manifest["parts"]] == [30, 30, 10]
    assert manifest["record_count"] == 70
    assert manifest["pages"] == 7
    assert manifest["errors"] == 0
    assert manifest["format"] == MANIFEST_FORMAT
    assert manifest["tweet_id"] == "20"
    assert manifest["run"] == {"dag_id": "likes", "run_id": KEY.run_id, "task_id": "collect", "map_index": 3}
    assert all(uri.startswith("file:///") and uri.endswith(suffix) for uri in manifest["files"])
    part_dir = tmp_path / "out" / "dag_id=likes"
    names = files_under(part_dir)
    assert len(names) == 4  # three parts and the manifest; staging is gone
    assert not (tmp_path / "out" / STAGING_DIR).exists()
    assert "map_index=3" in manifest["location"]
    assert ":" not in manifest["location"].removeprefix("file://")  # run id made path-safe

    records = list(iter_manifest_records(manifest))
    assert [r["id"] for r in records] == [str(i) for i in range(70)]
    assert read_manifest(manifest["manifest"]) == manifest
    assert read_manifest(manifest["location"]) == manifest
    if compression:
        first = Path(manifest["files"][0].removeprefix("file://"))
        assert gzip.decompress(first.read_bytes()).count(b"\n") == 30


def test_errors_are_written_beside_the_data(tmp_path: Path) -> None:
    writer = JsonLinesWriter(tmp_path, KEY, part_records=2)
    with writer:
        writer.write_page([{"id": "1"}, {"id": "2"}], errors=[{"title": "Not Found Error", "resource_id": "9"}])
        writer.write_page([{"id": "3"}], errors=[])
        manifest = writer.commit()
    assert manifest["errors"] == 1
    assert len(manifest["error_files"]) == 1
    assert manifest["parts"][0]["errors_name"] == "errors-00000.jsonl"
    assert list(iter_manifest_records(manifest, errors=True)) == [{"title": "Not Found Error", "resource_id": "9"}]


def test_empty_listing_commits_a_manifest_without_files(tmp_path: Path) -> None:
    with JsonLinesWriter(tmp_path, KEY) as writer:
        writer.write_page([], next_token=None)
        manifest = writer.commit()
    assert manifest["files"] == []
    assert manifest["record_count"] == 0
    assert manifest["pages"] == 1
    assert find_manifests(tmp_path) == [as_storage_path(tmp_path) / KEY.partition / MANIFEST_NAME]


def test_crashed_attempt_leaves_nothing_where_readers_look(tmp_path: Path) -> None:
    writer = JsonLinesWriter(tmp_path, KEY, part_records=10)
    with pytest.raises(Crash):
        crash_while_writing(writer, pages(3, 10))
    assert find_manifests(tmp_path) == []
    assert not (tmp_path / KEY.partition).exists()
    assert files_under(tmp_path / STAGING_DIR)  # staged parts kept for the retry

    # the retry (no checkpoint) starts clean: no duplicates
    with JsonLinesWriter(tmp_path, KEY, part_records=10) as retry:
        write_all(retry, pages(3, 10))
        manifest = retry.commit()
    ids = [r["id"] for r in iter_manifest_records(manifest)]
    assert len(ids) == len(set(ids)) == 30
    assert not (tmp_path / STAGING_DIR).exists()


def test_rerun_replaces_the_previous_output_of_the_same_task_instance(tmp_path: Path) -> None:
    with JsonLinesWriter(tmp_path, KEY, part_records=10) as first:
        write_all(first, pages(5, 10))
        first.commit()
    with JsonLinesWriter(tmp_path, KEY, part_records=10) as second:
        write_all(second, pages(2, 10, start=1000))
        manifest = second.commit()
    assert files_under(tmp_path / KEY.partition) == sorted([MANIFEST_NAME, "part-00000.jsonl", "part-00001.jsonl"])
    assert [r["id"] for r in iter_manifest_records(manifest)] == [str(1000 + i) for i in range(20)]


def test_resume_from_checkpoint_never_duplicates(tmp_path: Path) -> None:
    batches = pages(6, 10)
    writer = JsonLinesWriter(tmp_path, KEY, part_records=20).open()
    saved: list[dict[str, object]] = []
    with pytest.raises(Crash):  # page 5 is staged in an open part when the worker dies
        crash_while_writing(writer, batches[:5], on_close=lambda c: saved.append(json.loads(json.dumps(c))))
    checkpoint = saved[-1]  # survived as JSON
    assert checkpoint["next_token"] == "t4"
    assert checkpoint["record_count"] == 40

    resumed = JsonLinesWriter(tmp_path, KEY, part_records=20).open(checkpoint)
    assert resumed.next_token == "t4"
    with resumed:
        for n, batch in enumerate(batches[4:], start=4):
            resumed.write_page(batch, next_token=f"t{n + 1}" if n < 5 else None)
        manifest = resumed.commit()
    ids = [r["id"] for r in iter_manifest_records(manifest)]
    assert ids == [str(i) for i in range(60)]
    assert manifest["pages"] == 6


def test_interrupted_commit_can_be_repeated(tmp_path: Path) -> None:
    writer = JsonLinesWriter(tmp_path, KEY, part_records=10).open()
    write_all(writer, pages(3, 10))
    writer.close_part()
    checkpoint = writer.checkpoint()
    # simulate a crash in the middle of commit: one part already moved, no manifest yet
    (tmp_path / KEY.partition).mkdir(parents=True)
    (tmp_path / STAGING_DIR / KEY.partition / "part-00000.jsonl").rename(tmp_path / KEY.partition / "part-00000.jsonl")
    manifest = JsonLinesWriter(tmp_path, KEY, part_records=10).open(checkpoint).commit()
    assert manifest["record_count"] == 30
    assert len(list(iter_manifest_records(manifest))) == 30


def test_checkpoint_of_another_partition_is_refused(tmp_path: Path) -> None:
    other = RunKey("likes", "r2", "collect")
    with pytest.raises(OutputError):
        JsonLinesWriter(tmp_path, KEY).open({"partition": other.partition, "parts": []})


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="part_records"):
        JsonLinesWriter("/tmp/x", KEY, part_records=0)
    with pytest.raises(ValueError, match="compression"):
        JsonLinesWriter("/tmp/x", KEY, compression="zstd")  # type: ignore[arg-type]


def test_memory_stays_flat(tmp_path: Path) -> None:
    record = {"id": "1", "name": "x" * 200, "description": "y" * 500}
    with JsonLinesWriter(tmp_path, KEY, part_records=5_000, compression="gzip") as writer:
        tracemalloc.start()
        for n in range(400):  # 40,000 records, ~30 MB of JSON
            writer.write_page([record] * 100, next_token=str(n))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        manifest = writer.commit()
    assert manifest["record_count"] == 40_000
    assert peak < 5 * 1024 * 1024, peak


def test_asset_uri_drops_the_connection_id(tmp_path: Path) -> None:
    assert asset_uri("s3://aws_default@bucket/likes/") == "s3://bucket/likes"
    assert asset_uri(str(tmp_path)) == f"file://{tmp_path}"
    assert asset_uri(f"file://{tmp_path}") == f"file://{tmp_path}"


def test_s3_round_trip(s3_bucket: str) -> None:
    base = ObjectStoragePath(f"s3://aws_default@{s3_bucket}/likes")
    writer = JsonLinesWriter(base, KEY, part_records=10, compression="gzip")
    with pytest.raises(Crash):
        crash_while_writing(writer, pages(2, 10))
    with JsonLinesWriter(base, KEY, part_records=10, compression="gzip") as retry:
        write_all(retry, pages(3, 10))
        manifest = retry.commit({"endpoint": "liked_tweets"})
    assert all(uri.startswith(f"s3://aws_default@{s3_bucket}/likes/dag_id=likes/") for uri in manifest["files"])
    assert len(manifest["files"]) == 3
    assert [r["id"] for r in iter_manifest_records(manifest)] == [str(i) for i in range(30)]
    keys = sorted(str(p) for p in base.fs.find(f"{s3_bucket}/likes"))
    assert not [k for k in keys if f"/{STAGING_DIR}/" in k]
    assert len(keys) == 4
    found = find_manifests(base)
    assert [str(m) for m in found] == [manifest["manifest"]]
    assert read_manifest(found[0])["record_count"] == 30
