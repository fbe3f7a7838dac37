"""The command line (start, printed connection values, clean exit) and flat memory at 1,000,000 likes."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import psutil
import pytest
import requests
from sandbox_helpers import featured


def start_cli(*args: str) -> tuple[subprocess.Popen[str], str, dict[str, dict], float]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_xlikes.sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    url, conns = "", {}
    while len(conns) < 3:
        line = proc.stdout.readline()
        assert line, f"exited early: {proc.wait()}"
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            url = m.group(1)
        m = re.match(r"\s+(\w+): AIRFLOW_CONN_X_DEFAULT='(.*)'$", line)
        if m:
            conns[m.group(1)] = json.loads(m.group(2))
    return proc, url, conns, time.perf_counter() - start


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_connections_and_exits_cleanly(sig):
    proc, url, conns, elapsed = start_cli("--post-likes", "5,0", "--me-likes", "3", "--window-seconds", "3")
    try:
        assert elapsed < 60, f"took {elapsed:.1f}s to start"  # a hang, not a speed figure (load moves that)
        assert set(conns) == {"bearer", "oauth2_user", "oauth1_user"}
        assert conns["bearer"] == {
            "conn_type": "x",
            "host": url,
            "password": "sandbox-bearer-token",
            "extra": {"auth_type": "bearer"},
        }
        extra = conns["oauth2_user"]["extra"]
        assert extra["client_id"] == "sandbox-client-id" and extra["refresh_token"] == "sandbox-refresh-token"
        assert set(conns["oauth1_user"]["extra"]) == {
            "auth_type",
            "consumer_key",
            "consumer_secret",
            "access_token",
            "access_token_secret",
        }
        world = requests.get(url + "/_sandbox/world", timeout=10).json()
        assert [p["likers"] for p in world["featured_posts"]] == [5, 0] and world["me"]["liked_count"] == 3
        r = requests.get(f"{url}/2/users/me", headers={"Authorization": f"Bearer {extra['access_token']}"}, timeout=10)
        assert r.status_code == 200
        r = requests.get(
            f"{url}/2/tweets/{world['featured_posts'][0]['id']}/liking_users",
            headers={"Authorization": "Bearer sandbox-bearer-token"},
            timeout=10,
        )
        assert r.status_code == 200 and len(r.json()["data"]) == 5
        proc.send_signal(sig)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_flags_for_quirks_and_faults():
    proc, url, conns, _ = start_cli(
        "--naming",
        "post",
        "--field-param",
        "tweet",
        "--short-pages",
        "--clean",
        "--partial-errors",
        "0.5",
        "--app-only",
        "owner",
        "--daily-limit-headers",
        "--private-likes",
        "404",
        "--fault",
        "status,count=1,status=504",
        "--no-rate-limits",
        "--public-client",
        "--bearer-token",
        "tok-1",
    )
    try:
        quirks = requests.get(url + "/_sandbox/quirks", timeout=10).json()
        assert quirks["naming"] == "post" and quirks["field_param"] == "tweet" and quirks["short_pages"]
        assert quirks["private_likes"] == "404"
        # --clean switches the paging quirks off; the ones given explicitly win
        assert (quirks["short_pages"], quirks["empty_last_page"], quirks["partial_errors"]) == (1.0, 0.0, 0.5)
        assert quirks["app_only"] == "owner" and quirks["daily_limit_headers"]
        assert "client_secret" not in conns["oauth2_user"]["extra"] and conns["bearer"]["password"] == "tok-1"
        assert requests.get(url + "/_sandbox/faults", timeout=10).json()["faults"][0]["status"] == 504
        r = requests.get(f"{url}/2/users/me", headers={"Authorization": "Bearer tok-1"}, timeout=10)
        assert r.status_code == 504
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0


def test_cli_rejects_bad_flags():
    out = subprocess.run(
        [sys.executable, "-m", "airflow_provider_xlikes.sandbox", "--post-likes", "x:y"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 2 and "featured post" in out.stderr


def test_sandbox_module_does_not_import_airflow():
    code = (
        "import sys, airflow_provider_xlikes.sandbox.__main__, airflow_provider_xlikes.sandbox.server, "
        "airflow_provider_xlikes.testing.pytest_plugin; print('airflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


def test_in_thread_variant():
    from airflow_provider_xlikes.sandbox import start_sandbox_thread

    with start_sandbox_thread(post_likes="3") as sandbox:
        r = requests.get(
            f"{sandbox.url}/2/tweets/{featured(sandbox, 3)}/liking_users",
            headers={"Authorization": "Bearer sandbox-bearer-token"},
            timeout=10,
        )
        assert [u["id"] for u in r.json()["data"]] == sandbox.admin.likers(featured(sandbox, 3))


@pytest.mark.slow
def test_memory_is_flat_while_paging_a_million_likes(x_sandbox_factory):
    sandbox = x_sandbox_factory(
        post_likes="1000000", rate_limits=False, clean=True, liking_users_cap=None
    )  # exact pages
    post = featured(sandbox, 1_000_000)
    proc = psutil.Process(sandbox.pid)
    session = requests.Session()
    headers = {"Authorization": f"Bearer {sandbox.credentials['bearer_token']}"}
    params: dict[str, object] = {"max_results": 100}
    seen = 0
    samples: dict[int, int] = {}
    last_ids: list[str] = []
    while True:
        body = session.get(
            f"{sandbox.url}/2/tweets/{post}/liking_users", params=params, headers=headers, timeout=30
        ).json()
        ids = [u["id"] for u in body.get("data", [])]
        seen += len(ids)
        if seen % 100_000 == 0:
            samples[seen] = proc.memory_info().rss
            assert ids != last_ids
        last_ids = ids
        token = body["meta"].get("next_token")
        if not token:
            break
        params["pagination_token"] = token
    assert seen == 1_000_000
    assert sandbox.admin.request_counts()["by_endpoint"]["liking_users"] == 10_000
    growth = samples[1_000_000] - samples[200_000]
    print({k: v // 1024 for k, v in samples.items()})
    assert growth < 8 * 1024 * 1024, f"RSS grew by {growth / 1e6:.1f} MB from 200k to 1M likes"
