"""Nothing lost: a record with broken Unicode is kept and counted, an unusable output location
fails before any request, and a listing emits no deprecation warning of the provider's own.

Each case runs the operators in ``dag.test()`` against the sandbox, which counts every request.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_xlikes.output import iter_records, read_manifest

POST = "1354143047324299264"
HEADER = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import XLikingUsersOperator

with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
"""
#: what the half emoji the sandbox sends (``broken_unicode``) is kept as
REPLACEMENT = "\ufffd"


@pytest.fixture
def sandbox(x_sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    sandbox = x_sandbox_factory(post_likes=[f"{POST}:333"], clean=True, liking_users_cap=None)
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("bearer"))
    return sandbox


@pytest.mark.reliability
@pytest.mark.parametrize("output", ["jsonl", "parquet", "xcom"])
def test_a_record_with_half_an_emoji_is_kept_and_counted(
    sandbox: Any, run_dag: Any, tmp_path: Path, output: str, record_reliability: Any
) -> None:
    sandbox.admin.set_faults(
        "broken_unicode,endpoint=liking_users,after=1,count=0"
    )  # the first user of pages 2-4, every time
    args = "" if output == "xcom" else f", output_path={(tmp_path / 'out').as_uri()!r}, output_format={output!r}"
    result = run_dag(HEADER + f'    XLikingUsersOperator(task_id="likers", tweet_id="{POST}"{args})\n')
    assert result.state == "success"
    if output == "xcom":
        records = result.xcom("likers")
        counted = result.xcom("likers", key="meta")["broken_unicode"]
    else:
        manifest = result.xcom("likers")
        records = list(iter_records(manifest))
        counted = manifest["broken_unicode"]
        assert read_manifest(manifest["manifest"])["broken_unicode"] == 3  # as committed
    ids, expected = [r["id"] for r in records], sandbox.admin.likers(POST)
    record_reliability(
        "hostile",
        f"operator to {output}: the first record of pages 2-4 with half an emoji (every attempt)",
        requests=sandbox.admin.total_requests("liking_users"),
        outcome=f"{result.state}: {len(ids) - len(set(expected) - set(ids))} of {len(expected)} records kept, "
        f"broken_unicode={counted}",
    )
    assert ids == expected  # nothing lost, nothing twice
    broken = [i for i, r in enumerate(records) if REPLACEMENT in r["name"]]
    assert broken == [100, 200, 300]  # the first record of pages 2, 3 and 4
    assert all(records[i]["name"].startswith(REPLACEMENT) for i in broken)
    assert counted == 3
    assert sandbox.admin.total_requests("liking_users") == 4  # no page asked twice


@pytest.mark.reliability
def test_an_unwritable_output_path_fails_before_any_request(
    sandbox: Any, run_dag: Any, capfd: pytest.CaptureFixture[str], record_reliability: Any
) -> None:
    result = run_dag(
        HEADER + f'    XLikingUsersOperator(task_id="likers", tweet_id="{POST}", output_path="file:///proc/xlikes")\n'
    )
    assert result.states() == {("likers", -1): "failed"}
    out = "".join(capfd.readouterr())
    record_reliability(
        "bad_input",
        "operator: output_path='file:///proc/xlikes' (unwritable)",
        error="XValidationError" if "XValidationError" in out else "other",
        names_the_parameter="'output_path'" in out,
        requests_sent=sandbox.admin.total_requests(),
    )
    assert "XValidationError" in out and "'output_path'" in out and "file:///proc/xlikes" in out
    assert "FileNotFoundError" not in out.split("XValidationError", 1)[0]  # no bare error raised first
    assert sandbox.admin.total_requests() == 0  # not even the count lookup


def test_a_listing_emits_no_deprecation_warning_of_the_providers_modules(
    x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an app token minted from the keys (the token endpoint's retries) and a page answered 503 (the
    # API's retries): every retry policy the provider builds is built in this run
    sandbox = x_sandbox_factory(post_likes=[f"{POST}:333"], clean=True, liking_users_cap=None)
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("bearer_keys"))
    sandbox.admin.set_faults("status,endpoint=liking_users,after=1,count=1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_dag(HEADER + f'    XLikingUsersOperator(task_id="likers", tweet_id="{POST}")\n')
    assert result.state == "success"
    assert sandbox.admin.request_counts()["by_endpoint"]["app_token"] >= 1
    assert sandbox.admin.total_requests("liking_users") == 5  # 4 pages, one of them twice
    ours = [
        f"{w.filename}:{w.lineno}: {w.message}"
        for w in caught
        if issubclass(w.category, DeprecationWarning) and "airflow_provider_xlikes" in w.filename
    ]
    assert ours == []
