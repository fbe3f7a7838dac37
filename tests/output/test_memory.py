"""Memory stays flat: peak memory does not grow with the number of records written, in either format.

Also a script: ``.venv/bin/python tests/output/test_memory.py 100000 1000000`` prints the peaks.
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import pytest
from output_helpers import FORMATS, KEY

from airflow_provider_xlikes.output import DEFAULT_PART_RECORDS, OutputWriter, iter_records

PAGE = 100


def page_of(number: int) -> list[dict[str, Any]]:
    """A page of fresh records as the hook hands them over: users with every field, ~1 KB of JSON each."""
    return [
        {
            "id": str(1_500_000_000_000_000_000 + number * PAGE + i),
            "name": f"User {number}-{i}",
            "username": f"user_{number}_{i}",
            "created_at": "2013-12-14T04:35:55.000Z",
            "description": f"Posts about #xapi and @xdevelopers, page {number}. " + "y" * 120,
            "location": "Someplace",
            "pinned_tweet_id": str(1_600_000_000_000_000_000 + i),
            "profile_image_url": f"https://pbs.twimg.com/profile_images/{number}{i}/normal.jpg",
            "protected": False,
            "public_metrics": {
                "followers_count": i * 7,
                "following_count": i,
                "tweet_count": number,
                "listed_count": 3,
                "like_count": i * 11,
            },
            "url": "https://t.co/abcdefghij",
            "verified": i % 2 == 0,
            "verified_type": "none",
            "entities": {
                "url": {
                    "urls": [
                        {
                            "start": 0,
                            "end": 23,
                            "url": "https://t.co/abcdefghij",
                            "expanded_url": "https://developer.x.com",
                            "display_url": "developer.x.com",
                        }
                    ]
                },
                "description": {
                    "hashtags": [{"start": 17, "end": 22, "tag": "xapi"}],
                    "mentions": [{"start": 27, "end": 39, "username": "xdevelopers"}],
                },
            },
        }
        for i in range(PAGE)
    ]


@contextmanager
def arrow_pool_peak() -> Iterator[list[int]]:
    """Route pyarrow's allocations through a fresh pool; yields a list that receives its peak bytes."""
    import pyarrow as pa

    previous = pa.default_memory_pool()
    pool = pa.proxy_memory_pool(previous)
    pa.set_memory_pool(pool)
    result: list[int] = []
    try:
        yield result
    finally:
        pa.set_memory_pool(previous)
        result.append(int(pool.max_memory() or 0))


def measure_peak(
    base: Path, output_format: str, records: int, compression: Any = None, part_records: int = DEFAULT_PART_RECORDS
) -> dict[str, Any]:
    """Write ``records`` records in pages of 100 and return the peak memory (Python heap, pyarrow pool)."""
    started = time.perf_counter()
    writer = OutputWriter(base, KEY, output_format=output_format, compression=compression, part_records=part_records)
    with writer:
        with arrow_pool_peak() if output_format == "parquet" else nullcontext([0]) as arrow:
            tracemalloc.start()
            for n in range(records // PAGE):
                writer.write_page(page_of(n), next_token=str(n))
            writer.close_part()
            _, python_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        manifest = writer.commit()
    assert manifest["record_count"] == records
    return {
        "format": output_format,
        "records": records,
        "python_peak": python_peak,
        "arrow_peak": arrow[0],
        "seconds": round(time.perf_counter() - started, 2),
    }


def test_memory_stays_flat(tmp_path: Path) -> None:
    record = {"id": "1", "name": "x" * 200, "description": "y" * 500}
    with OutputWriter(tmp_path, KEY, part_records=5_000, compression="gzip") as writer:
        tracemalloc.start()
        for n in range(400):  # 40,000 records, ~30 MB of JSON
            writer.write_page([record] * 100, next_token=str(n))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        manifest = writer.commit()
    assert manifest["record_count"] == 40_000
    assert peak < 5 * 1024 * 1024, peak


@pytest.mark.parametrize("output_format", FORMATS)
def test_peak_memory_does_not_grow_with_the_record_count(tmp_path: Path, output_format: str) -> None:
    # ten times the records (4 vs 40 parts of 1,000, to run in seconds): the peak stays within 1.1x
    small = measure_peak(tmp_path / "small", output_format, 4_000, part_records=1_000)
    large = measure_peak(tmp_path / "large", output_format, 40_000, part_records=1_000)
    assert large["python_peak"] <= 1.1 * small["python_peak"], (small, large)
    assert large["arrow_peak"] <= 1.1 * small["arrow_peak"] + 1024 * 1024, (small, large)


def test_parquet_and_json_lines_hold_the_same_records(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    manifests = {}
    for output_format in FORMATS:
        with OutputWriter(tmp_path / output_format, KEY, output_format=output_format) as writer:
            for n in range(1_000):  # 100,000 records
                writer.write_page(page_of(n), next_token=str(n))
            manifests[output_format] = writer.commit()
    json_ids = [r["id"] for r in iter_records(manifests["jsonl"])]
    parquet_ids = pq.read_table([uri.removeprefix("file://") for uri in manifests["parquet"]["files"]]).column("id")
    assert len(json_ids) == 100_000
    assert parquet_ids.to_pylist() == json_ids
    assert manifests["parquet"]["parts"] == [
        {**p, "name": p["name"].replace(".jsonl", ".parquet"), "bytes": q["bytes"]}
        for p, q in zip(manifests["jsonl"]["parts"], manifests["parquet"]["parts"], strict=True)
    ]


if __name__ == "__main__":
    sizes = [int(arg) for arg in sys.argv[1:]] or [100_000, 1_000_000]
    for output_format in FORMATS:
        for compression in (None, "gzip"):
            for size in sizes:
                with tempfile.TemporaryDirectory() as tmp:
                    figures = measure_peak(Path(tmp), output_format, size, compression)
                print({**figures, "compression": compression})
