"""What the hook's HTTP path keeps while doing less per request: proxies from the environment (read
once per host) and from the session, retries logged attempt by attempt, the wait after a 429."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from helpers import featured

from airflow_provider_xlikes import RateLimitPolicy
from airflow_provider_xlikes.hooks.x import XHook
from airflow_provider_xlikes.rate_limits import RESET_RESOLUTION

PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
NO_PROXY_VARIABLES = ("NO_PROXY", "no_proxy")


class ForwardProxy:
    """A real HTTP forward proxy on a loopback port: it relays each request and remembers its URL."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy.urls.append(self.path)  # a proxy is sent the absolute URL
                target = urlsplit(self.path)
                upstream = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
                skip = {"proxy-connection", "connection", "host"}
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                upstream.request("GET", f"{target.path}?{target.query}" if target.query else target.path, None, headers)
                response = upstream.getresponse()
                body = response.read()
                upstream.close()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def listing_requests(self) -> int:
        return sum(1 for url in self.urls if "/liking_users" in url)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ForwardProxy]:
    """A forward proxy, with no proxy set by the environment yet."""
    for name in PROXY_VARIABLES + NO_PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    server = ForwardProxy()
    yield server
    server.stop()


@pytest.mark.x_sandbox(liking_users_cap=None)  # pages all 1,000 likers (X lists 100)
def test_the_proxy_the_environment_names_carries_every_request(x_sandbox, connect, proxy, monkeypatch) -> None:
    post = featured(x_sandbox, 1000)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    hook = connect(x_sandbox)
    ids = [user["id"] for user in hook.get_liking_users(post)]
    monkeypatch.delenv("HTTP_PROXY")
    assert ids == x_sandbox.admin.likers(post)
    assert proxy.listing_requests() == 10


@pytest.mark.x_sandbox(liking_users_cap=None)  # pages all 1,000 likers (X lists 100)
def test_no_proxy_keeps_a_host_off_the_proxy(x_sandbox, connect, proxy, monkeypatch) -> None:
    post = featured(x_sandbox, 1000)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    hook = connect(x_sandbox)
    assert len(hook.get_liking_users(post)) == 1000
    assert proxy.listing_requests() == 0


@pytest.mark.x_sandbox(liking_users_cap=None)  # pages all 1,000 likers (X lists 100)
def test_a_proxy_set_on_the_session_is_used_from_the_next_request_on(x_sandbox, connect, proxy) -> None:
    post = featured(x_sandbox, 1000)
    hook = connect(x_sandbox)
    pages = hook.iter_liking_users(post)
    first = next(pages)
    hook.get_conn().proxies = {"http": proxy.url}
    ids = [user["id"] for page in [first, *pages] for user in page.data]
    assert ids == x_sandbox.admin.likers(post)
    assert proxy.listing_requests() == 9


def test_retries_are_logged_attempt_by_attempt(x_sandbox, connect, logs) -> None:
    x_sandbox.admin.set_faults({"kind": "status", "count": 2, "status": 503, "endpoint": "liking_users"})
    hook = connect(x_sandbox)
    post = featured(x_sandbox, 7)
    assert [u["id"] for u in hook.get_liking_users(post)] == x_sandbox.admin.likers(post)
    text = logs()
    assert "failed (XServerError, attempt 1 of 4); retrying in" in text
    assert "failed (XServerError, attempt 2 of 4); retrying in" in text
    assert "attempt 3 of 4" not in text
    assert x_sandbox.admin.total_requests("liking_users") == 3


def test_a_connection_reset_on_the_first_attempt_is_retried(x_sandbox, connect, logs) -> None:
    x_sandbox.admin.set_faults({"kind": "reset", "count": 1, "endpoint": "liking_users"})
    hook = connect(x_sandbox)
    assert len(hook.get_liking_users(featured(x_sandbox, 7))) == 7
    assert "attempt 1 of 4" in logs()
    assert x_sandbox.admin.total_requests("liking_users") == 2


def test_a_429_whose_reset_has_passed_waits_the_headers_resolution(monkeypatch) -> None:
    """A server clock behind this one: its 429 names a reset already past here. The hook waits one
    second (the header's resolution) and goes on, instead of asking again at once."""
    page = json.dumps({"data": [{"id": "1", "name": "a", "username": "a"}], "meta": {"result_count": 1}}).encode()
    answers: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = 429 if not answers else 200
            answers.append(status)
            body = b'{"title": "Too Many Requests"}' if status == 429 else page
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-rate-limit-limit", "75")
            self.send_header("x-rate-limit-remaining", "0" if status == 429 else "74")
            self.send_header(
                "x-rate-limit-reset", str(int(time.time()) - 10 if status == 429 else int(time.time()) + 900)
            )
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    waits: list[tuple[float, str]] = []
    try:
        conn = {"conn_type": "x", "host": f"http://127.0.0.1:{server.server_address[1]}", "password": "token"}
        monkeypatch.setenv("AIRFLOW_CONN_X_SKEWED", json.dumps(conn))
        hook = XHook(
            "x_skewed",
            waiter=lambda seconds, *, endpoint, reason: waits.append((seconds, reason)),
            rate_limit_policy=RateLimitPolicy(),
        )
        assert [u["id"] for u in hook.get_liking_users("20")] == ["1"]
    finally:
        server.shutdown()
        server.server_close()
    assert answers == [429, 200]
    assert waits == [(RESET_RESOLUTION, "HTTP 429")]
