"""A task killed (SIGKILL) inside the commit, at each of its steps, and run again: no page that was
durably written is asked again, and the output is exactly that of an uninterrupted run.

The DAG file wraps the steps of ``OutputWriter.commit`` so that the try told to (environment
variable ``XLIKES_TEST_PAUSE_AT``) stops there and says so; the test then kills its process group
with SIGKILL, as a lost worker would be, and starts the next try in the same DAG run.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from test_resume_after_crash import POST, KillableDag

from airflow_provider_xlikes.output import iter_records
from airflow_provider_xlikes.version_compat import AIRFLOW_V_3_3_PLUS

PAUSE = """
import os, time
from airflow_provider_xlikes.output.writer import OutputWriter

def _pause(point):
    if os.environ.get("XLIKES_TEST_PAUSE_AT") == point:
        with open(os.environ["XLIKES_TEST_PAUSED"], "w") as marker:
            marker.write(point)
        time.sleep(600)

_commit, _write_manifest = OutputWriter.commit, OutputWriter._write_manifest

def _paused_commit(self, metadata=None):
    self.close_part()  # what commit() does first
    _pause("part closed")
    manifest = _commit(self, metadata)
    _pause("committed")
    return manifest

def _paused_write_manifest(self, manifest):
    _pause("parts moved")
    _write_manifest(self, manifest)
    _pause("manifest written")

OutputWriter.commit = _paused_commit
OutputWriter._write_manifest = _paused_write_manifest
"""
#: the steps of the commit a try is killed at, in order. Before Airflow 3.3 the checkpoint lives in
#: the staging folder, which the commit's last step removes: a kill after it re-runs the listing.
KILL_POINTS = ("part closed", "parts moved", "manifest written") + (("committed",) if AIRFLOW_V_3_3_PLUS else ())


def _kill_when_paused(proc: Any, marker: Path, point: str) -> None:
    try:
        deadline = time.monotonic() + 180
        while not (marker.exists() and marker.read_text() == point):
            assert proc.poll() is None, proc.communicate()[0].decode()[-3000:]
            assert time.monotonic() < deadline, f"the try never reached {point!r}"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    marker.unlink()


@pytest.fixture
def killable(x_sandbox_factory: Any, airflow_db: None, tmp_path: Path) -> KillableDag:
    # 1,700 likers: 17 pages, parts of 5 pages; the last part (2 pages) is still open at the commit
    sandbox = x_sandbox_factory(post_likes=[f"{POST}:1700"], clean=True, liking_users_cap=None)
    return KillableDag(sandbox, tmp_path / "out", prelude=PAUSE)


@pytest.mark.slow
@pytest.mark.reliability
def test_a_task_killed_at_each_step_of_the_commit_sends_no_page_again(
    killable: KillableDag, tmp_path: Path, record_reliability: Any
) -> None:
    sandbox, marker = killable.sandbox, tmp_path / "paused"
    run_id = killable.new_run()
    resent: dict[str, int] = {}
    for point in KILL_POINTS:
        before = sandbox.admin.total_requests()
        proc = killable.start(run_id, XLIKES_TEST_PAUSE_AT=point, XLIKES_TEST_PAUSED=str(marker))
        _kill_when_paused(proc, marker, point)
        if point != KILL_POINTS[0]:
            resent[point] = sandbox.admin.total_requests() - before
    before = sandbox.admin.total_requests()
    output = killable.run(run_id)
    resent["(final try)"] = sandbox.admin.total_requests() - before
    manifest = killable.manifest(run_id)
    ids, expected = [r["id"] for r in iter_records(manifest)], sandbox.admin.likers(POST)
    for number, (point, count) in enumerate(resent.items(), start=1):
        record_reliability(
            "kill",
            f"SIGKILL in the commit, try {number}: killed at {KILL_POINTS[number - 1]!r}, retried",
            retry_requests=count,
            resent=count,
            lost=len(set(expected) - set(ids)),
            duplicated=len(ids) - len(set(ids)),
        )
    assert sandbox.admin.total_requests("liking_users") == 17, output[-3000:]  # each page once, in the first try
    assert resent == dict.fromkeys(resent, 0), output[-3000:]  # no request at all: not even the count lookup
    assert ids == expected  # the same ids as an uninterrupted run, none twice
    assert manifest["record_count"] == 1700
    assert [p["pages"] for p in manifest["parts"]] == [5, 5, 5, 2]
    assert [p for p in killable.out.rglob("*") if "_staging" in p.parts and p.is_file()] == []
