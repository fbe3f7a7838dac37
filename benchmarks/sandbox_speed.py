"""Is the sandbox fast enough not to be what a benchmark measures?

Pages 100,000 likers (max_results=100, 1,000 pages) with a bare ``requests.Session`` loop, first
from the sandbox (a subprocess), then from a minimal server (also a subprocess, same uvicorn HTTP
implementation) that serves the same 1,000 pages pre-rendered as bytes. Prints records/s of both
and the ratio sandbox / pre-rendered (target: >= 0.85).

    /tmp/venv/bin/python benchmarks/sandbox_speed.py [--records 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any
from urllib.parse import parse_qs

import requests

from airflow_provider_xlikes.sandbox import SandboxConfig, start_sandbox


def page_through(base_url: str, post_id: str, token: str) -> tuple[int, float]:
    """The bare client loop: returns (records, seconds)."""
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{base_url}/2/tweets/{post_id}/liking_users"
    params: dict[str, Any] = {"max_results": 100}
    records = 0
    start = time.perf_counter()
    while True:
        r = session.get(url, params=params, headers=headers)
        r.raise_for_status()
        body = r.json()
        records += len(body.get("data", ()))
        next_token = body["meta"].get("next_token")
        if not next_token:
            break
        params["pagination_token"] = next_token
    elapsed = time.perf_counter() - start
    session.close()
    return records, elapsed


def serve_static(pages_file: str, port_file: str, http: str) -> None:
    """Minimal server: the pre-rendered pages keyed by pagination_token, nothing else."""
    import asyncio
    import socket

    import uvicorn

    with open(pages_file, encoding="utf-8") as fh:
        raw = json.load(fh)
    pages = {k: v.encode() for k, v in raw.items()}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        token = parse_qs(scope["query_string"].decode()).get("pagination_token", [""])[0]
        body = pages[token]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    with open(port_file + ".tmp", "w") as fh:
        fh.write(str(sock.getsockname()[1]))
    os.replace(port_file + ".tmp", port_file)
    config = uvicorn.Config(app, http=http, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(server.serve(sockets=[sock]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--http", default="httptools", choices=["h11", "httptools"])
    parser.add_argument("--serve-static", nargs=2, metavar=("PAGES", "PORT_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_static:
        serve_static(args.serve_static[0], args.serve_static[1], args.http)
        return

    # clean: exact pages of 100, as in the ratio's definition (the quirks cost nothing on this path)
    config = SandboxConfig(post_likes=[str(args.records)], rate_limits=False, http=args.http).with_overrides(clean=True)
    with start_sandbox(config) as sandbox:
        post_id = sandbox.admin.world()["featured_posts"][0]["id"]
        token = sandbox.credentials["bearer_token"]
        # pre-render: the very same pages, fetched once, keyed by the token that requested them
        pages: dict[str, str] = {}
        session = requests.Session()
        params: dict[str, Any] = {"max_results": 100}
        current = ""
        while True:
            r = session.get(
                f"{sandbox.url}/2/tweets/{post_id}/liking_users",
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
            r.raise_for_status()
            pages[current] = r.text
            current = r.json()["meta"].get("next_token", "")
            if not current:
                break
            params["pagination_token"] = current
        session.close()
        workdir = tempfile.mkdtemp(prefix="xlikes-bench-")
        pages_file = os.path.join(workdir, "pages.json")
        port_file = os.path.join(workdir, "port")
        with open(pages_file, "w", encoding="utf-8") as fh:
            json.dump(pages, fh)
        static = subprocess.Popen(
            [sys.executable, __file__, "--http", args.http, "--serve-static", pages_file, port_file]
        )
        try:
            while not os.path.exists(port_file):
                time.sleep(0.01)
            with open(port_file) as fh:
                static_url = f"http://127.0.0.1:{fh.read().strip()}"
            for _ in range(50):
                try:
                    requests.get(static_url + "/2/tweets/1/liking_users", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.05)
            best_sandbox = best_static = 0.0
            ratios: list[float] = []
            for round_ in range(1, args.rounds + 1):
                n1, t1 = page_through(sandbox.url, post_id, token)
                n2, t2 = page_through(static_url, post_id, token)
                assert n1 == n2 == args.records, (n1, n2)
                best_sandbox = max(best_sandbox, n1 / t1)
                best_static = max(best_static, n2 / t2)
                ratios.append(t2 / t1)
                print(
                    f"round {round_}: sandbox {n1 / t1:,.0f} records/s ({t1:.2f} s), "
                    f"pre-rendered {n2 / t2:,.0f} records/s ({t2:.2f} s)"
                )
        finally:
            static.terminate()
            static.wait()
    print(f"pages: {len(pages)} x max_results=100, http={args.http}")
    print(f"sandbox:      {best_sandbox:,.0f} records/s (best of {args.rounds})")
    print(f"pre-rendered: {best_static:,.0f} records/s (best of {args.rounds})")
    print(
        f"ratio sandbox/pre-rendered: {best_sandbox / best_static:.2f} best-of (target >= 0.85); "
        f"per round: {', '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f}"
    )


if __name__ == "__main__":
    main()
