"""What the paging benchmarks share: the payload shapes, the bare client loop, and a server of pre-rendered pages.

``SHAPES`` are the two payloads every paging figure is measured on: ``realistic``, the user fields
of X's likes quickstart and of this package's examples (``created_at``, ``username``, ``verified``,
``public_metrics``), and ``minimal``, X's default ``id``, ``name`` and ``username``.
``page_through`` is the baseline every client is measured against: a bare ``requests.Session``
loop with ``max_results=100``. ``PrerenderedServer`` serves the very pages a sandbox rendered, as
bytes keyed by ``pagination_token``, from its own subprocess (the same uvicorn HTTP stack as the
sandbox): nothing is computed per request, so it is not what a client benchmark measures.

    python benchmarks/paging.py serve PAGES_JSON PORT_FILE [--http httptools]   # the server alone
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

import requests
from scratch import scratch_dir

PAGE_SIZE = 100
#: ``user.fields`` by payload shape (empty: X's default fields only)
SHAPES: dict[str, tuple[str, ...]] = {
    "realistic": ("created_at", "username", "verified", "public_metrics"),
    "minimal": (),
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def liking_users_url(base_url: str, post_id: str) -> str:
    return f"{base_url.rstrip('/')}/2/tweets/{post_id}/liking_users"


def first_params(user_fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """The query of a listing's first page: ``max_results`` and the shape's ``user.fields``."""
    return {"max_results": PAGE_SIZE, **({"user.fields": ",".join(user_fields)} if user_fields else {})}


def page_through(base_url: str, post_id: str, token: str, user_fields: tuple[str, ...] = ()) -> tuple[int, float]:
    """The bare client loop: returns (records, seconds)."""
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}"}
    url = liking_users_url(base_url, post_id)
    params = first_params(user_fields)
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


def fetch_pages(base_url: str, post_id: str, token: str, user_fields: tuple[str, ...] = ()) -> dict[str, str]:
    """Every page of a listing, fetched once, keyed by the token that requested it (``""``: the first)."""
    pages: dict[str, str] = {}
    with requests.Session() as session:
        params = first_params(user_fields)
        current = ""
        while True:
            r = session.get(
                liking_users_url(base_url, post_id), params=params, headers={"Authorization": f"Bearer {token}"}
            )
            r.raise_for_status()
            pages[current] = r.text
            current = r.json()["meta"].get("next_token", "")
            if not current:
                return pages
            params["pagination_token"] = current


def serve_static(pages_file: str, port_file: str, http: str) -> None:
    """Minimal server: the pre-rendered pages keyed by pagination_token, nothing else (a token it
    does not have, or no pages at all: a 404 with X's error shape)."""
    import asyncio

    import uvicorn

    with open(pages_file, encoding="utf-8") as fh:
        raw = json.load(fh)
    pages = {k: v.encode() for k, v in raw.items()}
    # X sends its rate-limit headers with every page; these never run out (as the sandbox's with
    # rate_limits=False), so that a client keeping a budget pages on without waiting
    reset = str(int(time.time()) + 24 * 3600).encode()
    rate_limit = [(b"x-rate-limit-limit", b"75"), (b"x-rate-limit-remaining", b"75"), (b"x-rate-limit-reset", reset)]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        token = parse_qs(scope["query_string"].decode()).get("pagination_token", [""])[0]
        body = pages.get(token)
        status = 200 if body is not None else 404
        if body is None:
            body = json.dumps({"title": "Not Found Error", "detail": f"no page {token!r}", "status": 404}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    *rate_limit,
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
    loop: asyncio.AbstractEventLoop
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(server.serve(sockets=[sock]))


class PrerenderedServer:
    """``pages`` (from :func:`fetch_pages`) served by a subprocess; ``url`` once started."""

    def __init__(self, pages: dict[str, str], http: str = "httptools") -> None:
        self.workdir = scratch_dir("xlikes-bench-")
        self.pages_file = os.path.join(self.workdir, "pages.json")
        self.port_file = os.path.join(self.workdir, "port")
        with open(self.pages_file, "w", encoding="utf-8") as fh:
            json.dump(pages, fh)
        self.http = http
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PrerenderedServer:
        command = [sys.executable, __file__, "serve", self.pages_file, self.port_file, "--http", self.http]
        self._proc = subprocess.Popen(command)
        while not os.path.exists(self.port_file):
            if self._proc.poll() is not None:
                raise RuntimeError(f"the pre-rendered server exited with {self._proc.returncode}")
            time.sleep(0.01)
        with open(self.port_file) as fh:
            self.url = f"http://127.0.0.1:{fh.read().strip()}"
        for _ in range(100):
            try:
                requests.get(self.url + "/2/tweets/1/liking_users", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("the pre-rendered server does not answer")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve pre-rendered pages (a JSON object token -> body)")
    serve.add_argument("pages_file")
    serve.add_argument("port_file")
    serve.add_argument("--http", default="httptools", choices=["h11", "httptools"])
    args = parser.parse_args()
    serve_static(args.pages_file, args.port_file, args.http)


if __name__ == "__main__":
    main()
