"""Pages, writers that crash, and file listings shared by the output tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow_provider_xlikes.output import OutputWriter, RunKey

KEY = RunKey(dag_id="likes", run_id="manual__2026-01-01T00:00:00+00:00", task_id="collect", map_index=3)
FORMATS = ["jsonl", "parquet"]


def data_suffix(output_format: str, compression: str | None) -> str:
    if output_format == "parquet":
        return ".parquet"
    return ".jsonl.gz" if compression else ".jsonl"


def pages(count: int, size: int, *, start: int = 0) -> list[list[dict[str, Any]]]:
    return [[{"id": str(start + p * size + i), "name": f"u{p}-{i}"} for i in range(size)] for p in range(count)]


def page_includes(batch: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """An ``includes`` object for a page: one pinned post per record, and one media object."""
    return {
        "tweets": [{"id": f"p{r['id']}", "text": "pinned"} for r in batch],
        "media": [{"media_key": f"m{batch[0]['id']}", "type": "photo"}] if batch else [],
    }


def write_all(writer: OutputWriter, batches: list[list[dict[str, Any]]], *, includes: bool = False) -> None:
    for n, batch in enumerate(batches):
        writer.write_page(
            batch,
            includes=page_includes(batch) if includes else None,
            next_token=f"t{n + 1}" if n + 1 < len(batches) else None,
        )


class Crash(RuntimeError):
    pass


def crash_while_writing(writer: OutputWriter, batches: list[list[dict[str, Any]]], **kwargs: Any) -> None:
    """Write ``batches`` inside the writer's block, then die (as a worker would) before the commit."""
    with writer:
        for n, batch in enumerate(batches):
            closed = writer.write_page(
                batch,
                errors=[{"title": "Not Found Error", "resource_id": f"x{n}"}] if kwargs.get("errors") else (),
                includes=page_includes(batch) if kwargs.get("includes") else None,
                next_token=f"t{n + 1}",
            )
            on_close = kwargs.get("on_close")
            if closed is not None and callable(on_close):
                on_close(writer.checkpoint())
        raise Crash("worker died")


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
