"""What an output format costs on its own: the CPU seconds and bytes of encoding pages to part files.

The pages are fetched once from the sandbox (``fetch``: the realistic payload of ``paging.SHAPES``
by default) and saved; ``encode`` decodes them and times (CPU seconds of the process,
``time.process_time``) only their encoding through a format's part encoder into memory, a part
every 5,000 records as the writer cuts them, with the page's source field as the operator adds
it. ``levels`` runs every gzip level of interest in interleaved rounds and prints a table.

    python benchmarks/output_encoding.py fetch PAGES.json [--records 100000] [--shape realistic]
    python benchmarks/output_encoding.py encode PAGES.json --format jsonl [--gzip] [--level N]
    python benchmarks/output_encoding.py levels PAGES.json [--rounds 5]

``encode`` prints one JSON object (``seconds``, ``bytes``, ``records``); it passes a level only
when ``--level`` is given, so that it runs with an earlier version of the package too and two
versions can be timed as whole processes against each other.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from airflow_provider_xlikes.output import Compression

PART_RECORDS = 5_000
SOURCE_FIELD = {"liking_user_id": "1354143047324299264"}


def fetch(path: Path, records: int, shape: str) -> None:
    from paging import SHAPES, fetch_pages

    from airflow_provider_xlikes.sandbox import start_sandbox

    with start_sandbox(
        post_likes=[str(records)], clean=True, liking_users_cap=None, rate_limits=False, naming="post"
    ) as sandbox:
        post_id = str(sandbox.admin.world()["featured_posts"][0]["id"])
        pages = fetch_pages(sandbox.url, post_id, str(sandbox.credentials["bearer_token"]), SHAPES[shape])
    path.write_text(json.dumps([json.loads(body)["data"] for body in pages.values()]), encoding="utf-8")


def encode(
    pages: list[list[dict[str, Any]]], output_format: str, compression: Compression, level: int | None
) -> dict[str, Any]:
    from airflow_provider_xlikes.output import get_format

    # a level only where one is asked for: the call works with a package that has no levels, too
    fmt = get_format(output_format, compression) if level is None else get_format(output_format, compression, level)
    written = 0
    started = time.process_time()
    stream, encoder, in_part = io.BytesIO(), None, 0  # a part's stream, encoder and records so far
    for page in pages:
        if encoder is None:
            stream = io.BytesIO()
            encoder, in_part = fmt.encoder(stream), 0
        encoder.write(page, SOURCE_FIELD)
        in_part += len(page)
        if in_part >= PART_RECORDS:
            encoder.finish()
            written += stream.tell()
            encoder = None
    if encoder is not None:
        encoder.finish()
        written += stream.tell()
    return {"seconds": time.process_time() - started, "bytes": written, "records": sum(len(p) for p in pages)}


#: the variants of ``levels``: (label, format, compression, level)
VARIANTS: list[tuple[str, str, Compression, int | None]] = [
    ("JSON Lines", "jsonl", None, None),
    ("JSON Lines, gzip level 1 (default)", "jsonl", "gzip", 1),
    ("JSON Lines, gzip level 3", "jsonl", "gzip", 3),
    ("JSON Lines, gzip level 6 (the default before)", "jsonl", "gzip", 6),
    ("JSON Lines, gzip level 9", "jsonl", "gzip", 9),
    ("Parquet, snappy (default)", "parquet", None, None),
    ("Parquet, gzip level 1 (default)", "parquet", "gzip", 1),
    ("Parquet, gzip level 6", "parquet", "gzip", 6),
]


def levels(pages: list[list[dict[str, Any]]], rounds: int) -> None:
    seconds: dict[str, list[float]] = {label: [] for label, *_ in VARIANTS}
    sizes: dict[str, int] = {}
    for number in range(rounds):
        shift = number % len(VARIANTS)
        for label, output_format, compression, level in [*VARIANTS[shift:], *VARIANTS[:shift]]:
            result = encode(pages, output_format, compression, level)
            seconds[label].append(result["seconds"])
            sizes[label] = result["bytes"]
    records = sum(len(p) for p in pages)
    base = sizes["JSON Lines, gzip level 6 (the default before)"]
    print(f"{records:,} records, {rounds} rounds; CPU ms per 100,000 records (min, median, max); bytes")
    print("| output | CPU ms per 100,000 records | MiB | size / gzip level 6 |")
    print("|---|---|---|---|")
    for label, values in seconds.items():
        per = [v * 100_000 / records * 1000 for v in values]
        print(
            f"| {label} | {statistics.median(per):.0f} ({min(per):.0f}-{max(per):.0f}) | "
            f"{sizes[label] / 2**20:.2f} | {sizes[label] / base:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("fetch")
    command.add_argument("pages", type=Path)
    command.add_argument("--records", type=int, default=100_000)
    command.add_argument("--shape", default="realistic")
    command = sub.add_parser("encode")
    command.add_argument("pages", type=Path)
    command.add_argument("--format", choices=["jsonl", "parquet"], default="jsonl")
    command.add_argument("--gzip", action="store_true")
    command.add_argument("--level", type=int)
    command = sub.add_parser("levels")
    command.add_argument("pages", type=Path)
    command.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.command == "fetch":
        fetch(args.pages, args.records, args.shape)
        return
    pages = msgspec.json.decode(args.pages.read_bytes())  # as the hook decodes a page
    if args.command == "encode":
        print(json.dumps(encode(pages, args.format, "gzip" if args.gzip else None, args.level)))
    else:
        levels(pages, args.rounds)


if __name__ == "__main__":
    main()
