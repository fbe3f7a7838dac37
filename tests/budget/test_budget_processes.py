"""Several processes on one token share its windows through the Variable store: no 429 storm."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import migrated_airflow_db
from window_meter import WindowMeter

WORKER = Path(__file__).with_name("listing_worker.py")
POSTS = [str(1_800_000_000_000_000_000 + i) for i in range(4)]


@pytest.mark.slow
def test_processes_on_one_token_take_at_most_one_429_per_window(x_sandbox_factory, tmp_path) -> None:
    migrated_airflow_db()  # the Variables live in this test process's metadata DB
    sandbox = x_sandbox_factory(
        window_seconds=4,
        rate_limit_key="token",
        clean=True,
        post_likes=[f"{post}:600" for post in POSTS],
        liking_users_cap=None,  # pages past the 100 likers X lists
    )
    env = {**os.environ, "AIRFLOW_CONN_X_DEFAULT": sandbox.conn_json("bearer")}
    with WindowMeter(sandbox) as meter:
        workers = [
            subprocess.Popen(
                [sys.executable, str(WORKER), post, "10", str(tmp_path / post)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for post in POSTS
        ]
        errors = [worker.communicate(timeout=120)[1] for worker in workers]
    for worker, err in zip(workers, errors, strict=True):
        assert worker.returncode == 0, err.decode()[-3000:]
    collected = [json.loads((tmp_path / post).read_text()) for post in POSTS]
    assert collected == [sandbox.admin.likers(post) for post in POSTS]
    counts = sandbox.admin.request_counts()
    assert counts["by_endpoint"]["liking_users"] == 4 * 60 + counts["by_status"].get("429", 0)
    windows = meter.report()
    print(
        "windows (requests, 429s):", [(w.requests, w.rejected) for w in windows], "ceiling use", meter.ceiling_use(75)
    )
    assert len(windows) >= 4  # 240 requests: more than three windows of 75
    assert all(window.rejected <= 1 for window in windows), windows
    # the share of the ceiling used is a speed figure (load moves it): benchmarks/, not here
