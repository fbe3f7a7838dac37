"""The commit protocol, in both output formats, on a real local file system and on a real S3 API (moto)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath
from output_helpers import FORMATS, KEY, Crash, crash_while_writing, data_suffix, files_under, pages, write_all

from airflow_provider_xlikes.exceptions import XValidationError
from airflow_provider_xlikes.output import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    OWNER_FILE,
    STAGING_DIR,
    OutputError,
    OutputWriter,
    RunKey,
    as_storage_path,
    asset_uri,
    find_manifests,
    iter_errors,
    iter_includes,
    iter_records,
    read_manifest,
)


@pytest.fixture(params=FORMATS)
def output_format(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_local_round_trip(tmp_path: Path, output_format: str, compression: Any) -> None:
    writer = OutputWriter(
        str(tmp_path / "out"), KEY, output_format=output_format, part_records=25, compression=compression
    )
    with writer:
        write_all(writer, pages(7, 10))
        manifest = writer.commit({"endpoint": "liking_users", "tweet_id": "20"})

    suffix = data_suffix(output_format, compression)
    # parts are cut at page boundaries once 25 records are reached: 30 + 30 + 10
    assert [p["records"] for p in manifest["parts"]] == [30, 30, 10]
    assert manifest["record_count"] == 70
    assert manifest["pages"] == 7
    assert manifest["errors"] == 0
    assert manifest["includes"] == 0
    assert manifest["error_files"] == manifest["include_files"] == []
    assert manifest["format"] == MANIFEST_FORMAT
    assert manifest["output_format"] == output_format
    assert manifest["compression"] == compression
    assert manifest["tweet_id"] == "20"
    assert manifest["run"] == {"dag_id": "likes", "run_id": KEY.run_id, "task_id": "collect", "map_index": 3}
    assert all(uri.startswith("file:///") and uri.endswith(suffix) for uri in manifest["files"])
    part_dir = tmp_path / "out" / "dag_id=likes"
    names = files_under(part_dir)
    assert len(names) == 4  # three parts and the manifest; staging is gone
    assert not (tmp_path / "out" / STAGING_DIR).exists()
    assert "map_index=3" in manifest["location"]
    assert ":" not in manifest["location"].removeprefix("file://")  # run id made path-safe

    records = list(iter_records(manifest))
    assert [r["id"] for r in records] == [str(i) for i in range(70)]
    assert records[0] == {"id": "0", "name": "u0-0"}
    assert read_manifest(manifest["manifest"]) == manifest
    assert read_manifest(manifest["location"]) == manifest
    first = Path(manifest["files"][0].removeprefix("file://"))
    if compression and output_format == "jsonl":
        assert gzip.decompress(first.read_bytes()).count(b"\n") == 30
    if output_format == "parquet":
        import pyarrow.parquet as pq

        codec = pq.ParquetFile(first).metadata.row_group(0).column(0).compression
        assert codec == ("GZIP" if compression else "SNAPPY")


def test_manifest_keys(tmp_path: Path, output_format: str) -> None:
    with OutputWriter(tmp_path, KEY, output_format=output_format) as writer:
        write_all(writer, pages(1, 3), includes=True)
        manifest = writer.commit({"endpoint": "liked_tweets"})
    assert set(manifest) == {
        "format", "endpoint", "output_format", "files", "error_files", "include_files", "record_count", "pages",
        "errors", "includes", "broken_unicode", "compression", "parts", "run", "location", "manifest", "started_at",
        "committed_at",
    }  # fmt: skip
    assert manifest["parts"] == [
        {
            "name": f"part-00000{data_suffix(output_format, None)}",
            "records": 3,
            "pages": 1,
            "bytes": manifest["parts"][0]["bytes"],
            "errors": 0,
            "errors_name": None,
            "includes": 4,
            "includes_name": "includes-00000.jsonl",
            "broken_unicode": 0,
        }
    ]
    assert manifest["parts"][0]["bytes"] > 0


def test_errors_are_written_beside_the_data(tmp_path: Path, output_format: str) -> None:
    writer = OutputWriter(tmp_path, KEY, output_format=output_format, part_records=2)
    with writer:
        writer.write_page([{"id": "1"}, {"id": "2"}], errors=[{"title": "Not Found Error", "resource_id": "9"}])
        writer.write_page([{"id": "3"}], errors=[])
        manifest = writer.commit()
    assert manifest["errors"] == 1
    assert len(manifest["error_files"]) == 1
    assert manifest["parts"][0]["errors_name"] == "errors-00000.jsonl"
    assert manifest["parts"][1]["errors_name"] is None
    assert list(iter_errors(manifest)) == [{"title": "Not Found Error", "resource_id": "9"}]


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_includes_are_written_beside_the_data(tmp_path: Path, output_format: str, compression: Any) -> None:
    users = [{"id": "1", "pinned_tweet_id": "p1"}, {"id": "2"}]
    with OutputWriter(tmp_path, KEY, output_format=output_format, part_records=2, compression=compression) as writer:
        writer.write_page(users, includes={"tweets": [{"id": "p1", "text": "hi"}]}, next_token="a")
        writer.write_page([{"id": "3"}], includes={"users": [{"id": "7"}], "media": [{"media_key": "3_1"}]})
        writer.write_page([{"id": "4"}])
        manifest = writer.commit()
    sidecar = ".jsonl.gz" if compression else ".jsonl"
    assert manifest["includes"] == 3
    assert [p["includes_name"] for p in manifest["parts"]] == [f"includes-00000{sidecar}", f"includes-00001{sidecar}"]
    assert [p["includes"] for p in manifest["parts"]] == [1, 2]
    assert [uri.rsplit("/", 1)[1] for uri in manifest["include_files"]] == [
        f"includes-00000{sidecar}",
        f"includes-00001{sidecar}",
    ]
    assert [tuple(i) for i in iter_includes(manifest)] == [
        ("tweets", {"id": "p1", "text": "hi"}),
        ("users", {"id": "7"}),
        ("media", {"media_key": "3_1"}),
    ]
    assert [i.object["id"] for i in iter_includes(manifest, "users")] == ["7"]
    assert list(iter_includes(manifest, "places")) == []
    first = Path(manifest["include_files"][0].removeprefix("file://"))
    raw = gzip.decompress(first.read_bytes()) if compression else first.read_bytes()
    assert raw == b'{"kind":"tweets","object":{"id":"p1","text":"hi"}}\n'


def test_records_may_be_any_iterable_and_a_list_is_not_copied(
    tmp_path: Path, output_format: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_xlikes.output import jsonl

    encoded: list[object] = []

    class Watching:
        def encode_lines(self, items: object) -> bytes:
            encoded.append(items)
            return real.encode_lines(items)

    real = jsonl._encoder
    monkeypatch.setattr(jsonl, "_encoder", Watching())
    page = [{"id": "1"}, {"id": "2"}]
    with OutputWriter(tmp_path, KEY, output_format=output_format) as writer:
        writer.write_page(page, next_token="a")
        writer.write_page(({"id": str(i)} for i in (3, 4)), next_token=None)
        manifest = writer.commit()
    assert [r["id"] for r in iter_records(manifest)] == ["1", "2", "3", "4"]
    if output_format == "jsonl":
        assert encoded[0] is page  # the page itself, encoded in one call


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_fields_go_ahead_of_each_records_keys_and_the_page_is_not_copied(
    tmp_path: Path, output_format: str, compression: Any
) -> None:
    fields = {"liking_user_id": "20"}
    plain = [{"id": "1", "bio": "two\nlines, {braces}\n{"}, {"id": "2", "name": "Zoë"}]
    odd = [{"id": "3", "liking_user_id": "kept"}, {}]  # a record with the key keeps its value
    copies = [dict(r) for r in plain + odd]
    with OutputWriter(tmp_path, KEY, output_format=output_format, compression=compression) as writer:
        writer.write_page(plain, next_token="a", fields=fields)
        writer.write_page(odd, next_token=None, fields=fields)
        manifest = writer.commit()
    assert plain + odd == copies  # the pages handed over are left as they were
    records = list(iter_records(manifest))
    expected = [{**fields, **r} for r in copies]
    if output_format == "jsonl":
        assert records == expected
        assert [list(r) for r in records] == [list(r) for r in expected]  # the fields come first
    else:
        assert [(r["liking_user_id"], r["id"]) for r in records] == [
            (e["liking_user_id"], e.get("id")) for e in expected
        ]


def test_a_page_of_errors_only_opens_a_part(tmp_path: Path, output_format: str) -> None:
    with OutputWriter(tmp_path, KEY, output_format=output_format) as writer:
        writer.write_page([], errors=[{"title": "Forbidden"}], includes={"users": []}, next_token="n")
        manifest = writer.commit()
    assert manifest["record_count"] == 0
    assert len(manifest["files"]) == 1
    assert list(iter_records(manifest)) == []
    assert list(iter_errors(manifest)) == [{"title": "Forbidden"}]
    assert manifest["include_files"] == []


def test_empty_listing_commits_a_manifest_without_files(tmp_path: Path, output_format: str) -> None:
    with OutputWriter(tmp_path, KEY, output_format=output_format) as writer:
        writer.write_page([], next_token=None)
        manifest = writer.commit()
    assert manifest["files"] == []
    assert manifest["record_count"] == 0
    assert manifest["pages"] == 1
    assert find_manifests(tmp_path) == [as_storage_path(tmp_path) / KEY.partition / MANIFEST_NAME]


def test_staging_is_invisible_and_the_manifest_comes_last(tmp_path: Path, output_format: str) -> None:
    writer = OutputWriter(tmp_path, KEY, output_format=output_format, part_records=10).open()
    write_all(writer, pages(3, 10), includes=True)
    writer.close_part()
    assert find_manifests(tmp_path) == []
    assert not (tmp_path / KEY.partition).exists()
    staged = files_under(tmp_path / STAGING_DIR / KEY.partition)
    assert OWNER_FILE in staged  # whose staging this is, for the cleanup by a later run
    staged.remove(OWNER_FILE)
    assert len(staged) == 6  # three parts and their includes
    moved: list[str] = []
    fs = writer.base.fs
    real_mv = fs.mv

    def watching_mv(source: str, target: str, **kwargs: Any) -> None:
        assert not (tmp_path / KEY.partition / MANIFEST_NAME).exists()  # no manifest while files move
        moved.append(target.rsplit("/", 1)[1])
        real_mv(source, target, **kwargs)

    fs.mv = watching_mv
    try:
        manifest = writer.commit()
    finally:
        del fs.mv
    assert sorted(moved) == staged
    assert files_under(tmp_path / KEY.partition) == sorted([*staged, MANIFEST_NAME])
    assert manifest["record_count"] == 30


def test_crashed_attempt_leaves_nothing_where_readers_look(tmp_path: Path, output_format: str) -> None:
    writer = OutputWriter(tmp_path, KEY, output_format=output_format, part_records=10)
    with pytest.raises(Crash):
        crash_while_writing(writer, pages(3, 10), errors=True, includes=True)
    assert find_manifests(tmp_path) == []
    assert not (tmp_path / KEY.partition).exists()
    assert files_under(tmp_path / STAGING_DIR)  # staged parts kept for the retry

    # the retry (no checkpoint) starts clean: no duplicates
    with OutputWriter(tmp_path, KEY, output_format=output_format, part_records=10) as retry:
        write_all(retry, pages(3, 10))
        manifest = retry.commit()
    ids = [r["id"] for r in iter_records(manifest)]
    assert len(ids) == len(set(ids)) == 30
    assert manifest["error_files"] == manifest["include_files"] == []
    assert not (tmp_path / STAGING_DIR).exists()


def test_rerun_replaces_the_previous_output_of_the_same_task_instance(tmp_path: Path, output_format: str) -> None:
    with OutputWriter(tmp_path, KEY, output_format=output_format, part_records=10) as first:
        write_all(first, pages(5, 10), includes=True)
        first.commit()
    with OutputWriter(tmp_path, KEY, output_format=output_format, part_records=10) as second:
        write_all(second, pages(2, 10, start=1000))
        manifest = second.commit()
    suffix = data_suffix(output_format, None)
    assert files_under(tmp_path / KEY.partition) == sorted(
        [MANIFEST_NAME, f"part-00000{suffix}", f"part-00001{suffix}"]
    )
    assert [r["id"] for r in iter_records(manifest)] == [str(1000 + i) for i in range(20)]


def test_resume_from_checkpoint_never_duplicates(tmp_path: Path, output_format: str) -> None:
    batches = pages(6, 10)
    writer = OutputWriter(tmp_path, KEY, output_format=output_format, part_records=20).open()
    saved: list[dict[str, Any]] = []
    with pytest.raises(Crash):  # page 5 is staged in an open part when the worker dies
        crash_while_writing(
            writer, batches[:5], errors=True, includes=True, on_close=lambda c: saved.append(json.loads(json.dumps(c)))
        )
    checkpoint = saved[-1]  # survived as JSON
    assert checkpoint["next_token"] == "t4"
    assert checkpoint["record_count"] == 40
    assert checkpoint["output_format"] == output_format
    assert [p["includes_name"] for p in checkpoint["parts"]] == ["includes-00000.jsonl", "includes-00001.jsonl"]
    assert [p["errors_name"] for p in checkpoint["parts"]] == ["errors-00000.jsonl", "errors-00001.jsonl"]

    resumed = OutputWriter(tmp_path, KEY, output_format=output_format, part_records=20).open(checkpoint)
    assert resumed.next_token == "t4"
    with resumed:
        for n, batch in enumerate(batches[4:], start=4):
            resumed.write_page(batch, next_token=f"t{n + 1}" if n < 5 else None)
        manifest = resumed.commit()
    ids = [r["id"] for r in iter_records(manifest)]
    assert ids == [str(i) for i in range(60)]
    assert manifest["pages"] == 6
    assert [e["resource_id"] for e in iter_errors(manifest)] == ["x0", "x1", "x2", "x3"]
    assert manifest["errors"] == 4
    assert [i.object["id"] for i in iter_includes(manifest, "tweets")] == [f"p{i}" for i in range(40)]


def test_crash_and_resume_gives_the_output_of_an_uninterrupted_run(tmp_path: Path, output_format: str) -> None:
    batches = pages(9, 10)

    def page_kwargs(n: int) -> dict[str, Any]:
        return {
            "errors": [{"title": "Not Found Error", "resource_id": f"x{n}"}] if n % 3 == 0 else (),
            "includes": {"users": [{"id": f"u{n}"}]},
            "next_token": f"t{n + 1}" if n + 1 < len(batches) else None,
        }

    def write(writer: OutputWriter, start: int, stop: int) -> None:
        for n in range(start, stop):
            writer.write_page(batches[n], **page_kwargs(n))

    def output(base: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        return {
            "files": files_under(base / KEY.partition),
            "records": list(iter_records(manifest)),
            "errors": list(iter_errors(manifest)),
            "includes": list(iter_includes(manifest)),
            "counts": [manifest[k] for k in ("record_count", "pages", "errors", "includes")],
            "parts": [{k: v for k, v in p.items() if k != "bytes"} for p in manifest["parts"]],
        }

    with OutputWriter(tmp_path / "straight", KEY, output_format=output_format, part_records=25) as straight:
        write(straight, 0, 9)
        expected = output(tmp_path / "straight", straight.commit())

    crashed = OutputWriter(tmp_path / "crashed", KEY, output_format=output_format, part_records=25).open()
    checkpoints: list[dict[str, Any]] = []
    with pytest.raises(Crash), crashed:
        for n in range(7):  # two parts closed (pages 0-2, 3-5), page 6 open when the worker dies
            if crashed.write_page(batches[n], **page_kwargs(n)) is not None:
                checkpoints.append(json.loads(json.dumps(crashed.checkpoint())))
        raise Crash("worker died")
    assert [c["next_token"] for c in checkpoints] == ["t3", "t6"]

    resumed = OutputWriter(tmp_path / "crashed", KEY, output_format=output_format, part_records=25)
    with resumed.open(checkpoints[-1]):
        assert resumed.next_token == "t6"
        write(resumed, 6, 9)
        actual = output(tmp_path / "crashed", resumed.commit())
    assert actual == expected
    ids = [r["id"] for r in actual["records"]]
    assert ids == [str(i) for i in range(90)]


def test_interrupted_commit_can_be_repeated(tmp_path: Path, output_format: str) -> None:
    writer = OutputWriter(tmp_path, KEY, output_format=output_format, part_records=10).open()
    write_all(writer, pages(3, 10), includes=True)
    writer.close_part()
    checkpoint = writer.checkpoint()
    # simulate a crash in the middle of commit: one part already moved, no manifest yet
    name = f"part-00000{data_suffix(output_format, None)}"
    (tmp_path / KEY.partition).mkdir(parents=True)
    (tmp_path / STAGING_DIR / KEY.partition / name).rename(tmp_path / KEY.partition / name)
    manifest = OutputWriter(tmp_path, KEY, output_format=output_format, part_records=10).open(checkpoint).commit()
    assert manifest["record_count"] == 30
    assert len(list(iter_records(manifest))) == 30
    assert len(list(iter_includes(manifest))) == 30 + 3


def test_checkpoint_of_another_partition_is_refused(tmp_path: Path) -> None:
    other = RunKey("likes", "r2", "collect")
    with pytest.raises(OutputError):
        OutputWriter(tmp_path, KEY).open({"partition": other.partition, "parts": []})


def test_checkpoint_of_another_format_is_refused(tmp_path: Path) -> None:
    writer = OutputWriter(tmp_path, KEY, part_records=1).open()
    writer.write_page([{"id": "1"}])
    checkpoint = writer.checkpoint()
    with pytest.raises(OutputError, match="output_format='jsonl'"):
        OutputWriter(tmp_path, KEY, output_format="parquet").open(checkpoint)
    with pytest.raises(OutputError, match="compression=None"):
        OutputWriter(tmp_path, KEY, compression="gzip").open(checkpoint)


def test_checkpointed_file_that_vanished_is_an_error(tmp_path: Path) -> None:
    writer = OutputWriter(tmp_path, KEY, part_records=1).open()
    writer.write_page([{"id": "1"}], includes={"users": [{"id": "2"}]})
    checkpoint = writer.checkpoint()
    (tmp_path / STAGING_DIR / KEY.partition / "includes-00000.jsonl").unlink()
    with pytest.raises(OutputError, match=r"includes-00000\.jsonl"):
        OutputWriter(tmp_path, KEY).open(checkpoint)


def test_protocol_violations() -> None:
    writer = OutputWriter("/tmp/x", KEY)
    with pytest.raises(OutputError, match="open"):
        writer.write_page([{"id": "1"}])
    with pytest.raises(OutputError, match="open"):
        writer.commit()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="part_records"):
        OutputWriter("/tmp/x", KEY, part_records=0)
    with pytest.raises(ValueError, match="compression"):
        OutputWriter("/tmp/x", KEY, compression="zstd")  # type: ignore[arg-type]
    for kwargs, parameter in (
        ({"part_records": 0}, "part_records"),
        ({"part_records": True}, "part_records"),
        ({"compression": "zstd"}, "compression"),
        ({"output_format": "csv"}, "output_format"),
        ({"output_format": "parquet", "compression": "snappy"}, "compression"),
    ):
        with pytest.raises(XValidationError) as caught:
            OutputWriter("/tmp/x", KEY, **kwargs)  # type: ignore[arg-type]
        assert caught.value.parameter == parameter
    with pytest.raises(XValidationError) as caught:
        OutputWriter("/tmp/x", KEY, output_format="csv")
    assert caught.value.allowed_values == ("jsonl", "parquet")


def test_asset_uri_drops_the_connection_id(tmp_path: Path) -> None:
    assert asset_uri("s3://aws_default@bucket/likes/") == "s3://bucket/likes"
    assert asset_uri(str(tmp_path)) == f"file://{tmp_path}"
    assert asset_uri(f"file://{tmp_path}") == f"file://{tmp_path}"


def test_run_key_partition_is_hive_style_and_path_safe() -> None:
    assert KEY.partition.startswith("dag_id=likes/run_id=manual__2026-01-01T00_00_00_00_00_")
    assert KEY.partition.endswith("/task_id=collect/map_index=3")
    assert RunKey("d", "r", "t").partition == "dag_id=d/run_id=r/task_id=t/map_index=-1"
    assert RunKey("d", "a:b", "t").partition != RunKey("d", "a_b", "t").partition


def test_s3_round_trip(s3_bucket: str, output_format: str) -> None:
    base = ObjectStoragePath(f"s3://aws_default@{s3_bucket}/likes")
    writer = OutputWriter(base, KEY, output_format=output_format, part_records=10, compression="gzip")
    with pytest.raises(Crash):
        crash_while_writing(writer, pages(2, 10), includes=True)
    with OutputWriter(base, KEY, output_format=output_format, part_records=10, compression="gzip") as retry:
        write_all(retry, pages(3, 10))
        manifest = retry.commit({"endpoint": "liked_tweets"})
    assert all(uri.startswith(f"s3://aws_default@{s3_bucket}/likes/dag_id=likes/") for uri in manifest["files"])
    assert all(uri.endswith(data_suffix(output_format, "gzip")) for uri in manifest["files"])
    assert len(manifest["files"]) == 3
    assert [r["id"] for r in iter_records(manifest)] == [str(i) for i in range(30)]
    keys = sorted(str(p) for p in base.fs.find(f"{s3_bucket}/likes"))
    assert not [k for k in keys if f"/{STAGING_DIR}/" in k]
    assert len(keys) == 4
    found = find_manifests(base)
    assert [str(m) for m in found] == [manifest["manifest"]]
    assert read_manifest(found[0])["record_count"] == 30


def test_s3_errors_includes_and_resume(s3_bucket: str, output_format: str) -> None:
    base = ObjectStoragePath(f"s3://aws_default@{s3_bucket}/likes")
    batches = pages(4, 10)
    saved: list[dict[str, Any]] = []
    writer = OutputWriter(base, KEY, output_format=output_format, part_records=20, compression="gzip")
    with pytest.raises(Crash):
        crash_while_writing(writer, batches[:3], errors=True, includes=True, on_close=saved.append)
    resumed = OutputWriter(base, KEY, output_format=output_format, part_records=20, compression="gzip")
    with resumed.open(saved[-1]):
        for n in (2, 3):
            resumed.write_page(
                batches[n],
                errors=[{"title": "Not Found Error", "resource_id": f"x{n}"}],
                includes={"tweets": [{"id": f"p{r['id']}", "text": "pinned"} for r in batches[n]]},
                next_token=None if n == 3 else f"t{n + 1}",
            )
        manifest = resumed.commit()
    assert [r["id"] for r in iter_records(manifest)] == [str(i) for i in range(40)]
    assert [e["resource_id"] for e in iter_errors(manifest)] == ["x0", "x1", "x2", "x3"]
    assert [i.object["id"] for i in iter_includes(manifest, "tweets")] == [f"p{i}" for i in range(40)]
    assert [i.object["media_key"] for i in iter_includes(manifest, "media")] == ["m0", "m10"]
    assert all(uri.endswith(".jsonl.gz") for uri in manifest["error_files"] + manifest["include_files"])
    keys = sorted(str(p).rsplit("/", 1)[1] for p in base.fs.find(f"{s3_bucket}/likes"))
    assert len(keys) == 7  # two parts, their errors and includes, the manifest
