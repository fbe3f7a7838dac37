"""Progress a user can read: the expected total from one count lookup, a line per page with the
quota left and the time to go, and an XCom that will not fit failing after its first page."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_xlikes.progress import ListingProgress, format_duration
from airflow_provider_xlikes.rate_limits import RateLimit

POST = "1354143047324299264"
SOURCE = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import XLikedTweetsOperator, XLikingUsersOperator

with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    BODY
"""


def _run(run_dag: Any, body: str) -> Any:
    return run_dag(SOURCE.replace("BODY", body))


def test_the_progress_line_of_the_issue_example() -> None:
    progress = ListingProgress(expected=50_000, page_size=100, window_seconds=900)
    now = 1_000_000.0
    quota = RateLimit(limit=75, remaining=63, reset_at=now + 14 * 60)
    # 488 requests left: 63 now, then 425 at 75 a window: 6 more windows, the last one's pages take seconds
    assert progress.line(12, 1_200, quota, now=now) == (
        "page 12: 1,200 of ~50,000 (2.4 %), 63/75 requests left in this window, about 1 h 29 min to go"
    )
    assert progress.line(500, 49_990, quota, now=now) == (
        "page 500: 49,990 of ~50,000 (100.0 %), 63/75 requests left in this window, finishing in this window"
    )
    resumed = ListingProgress(expected=50_000, page_size=100, window_seconds=900, pages_before=104)
    assert resumed.line(1, 10_500, None, now=now) == "page 105: 10,500 of ~50,000 (21.0 %)"
    unknown = ListingProgress(expected=None, page_size=100, window_seconds=900)
    assert unknown.line(3, 300, None, now=now) == "page 3: 300 records so far"


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.4, "0 s"), (40, "40 s"), (61, "2 min"), (3600, "1 h"), (5_880, "1 h 38 min")]
)
def test_durations_are_written_to_the_unit_that_matters(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_each_page_says_how_far_the_listing_is_and_the_lookup_costs_one_request(
    x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    sandbox = x_sandbox_factory(me_likes=350, clean=True)
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("oauth2_user"))
    result = _run(run_dag, f'XLikedTweetsOperator(task_id="t", user_id="{sandbox.user_id}")')
    assert result.state == "success", result.states()
    assert len(result.xcom("t")) == 350
    out = capfd.readouterr()
    text = out.out + out.err
    assert "like_count 350, expecting ~350 records" in text
    assert "page 1: 100 of ~350 (28.6 %), 74/75 requests left in this window" in text
    assert "page 4: 350 of ~350 (100.0 %), 71/75 requests left in this window, finishing in this window" in text
    counts = sandbox.admin.request_counts()["by_endpoint"]
    assert counts["user_lookup"] == 1 and counts["liked_tweets"] == 4


def test_a_post_with_many_likes_is_expected_to_list_its_100_likers_in_one_request(
    x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    sandbox = x_sandbox_factory(post_likes=[f"{POST}:50000"], clean=True)
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("bearer"))
    result = _run(run_dag, f'XLikingUsersOperator(task_id="t", tweet_id="{POST}", xcom_max_bytes=20_000)')
    assert result.state == "success", result.states()  # ~100 records expected, not 50,000: no XCom alarm
    assert [u["id"] for u in result.xcom("t")] == sandbox.admin.likers(POST, limit=50_000)[:100]
    out = capfd.readouterr()
    text = out.out + out.err
    assert "like_count 50,000, expecting ~100 records" in text and "X lists at most 100 per id" in text
    assert "page 1: 100 of ~100 (100.0 %)" in text
    counts = sandbox.admin.request_counts()["by_endpoint"]
    assert counts["post_lookup"] == 1 and counts["liking_users"] == 1


def test_a_refused_count_lookup_is_skipped_with_a_log_line(
    x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    sandbox = x_sandbox_factory(
        post_likes=[f"{POST}:150"],
        clean=True,
        faults=["client_forbidden,endpoint=post_lookup"],
        liking_users_cap=None,  # two pages: past the 100 likers X lists
    )
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("bearer"))
    result = _run(run_dag, f'XLikingUsersOperator(task_id="t", tweet_id="{POST}")')
    assert result.state == "success", result.states()
    assert [u["id"] for u in result.xcom("t")] == sandbox.admin.likers(POST)
    out = capfd.readouterr()
    text = out.out + out.err
    assert "No expected total for liking_users " + POST + ": the count lookup was refused" in text
    assert "page 2: 150 records so far" in text


def test_a_listing_that_will_not_fit_into_xcom_fails_after_one_page(
    x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    sandbox = x_sandbox_factory(me_likes=30_000, clean=True)  # a heavy liker: liked_tweets pages on
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("oauth2_user"))
    result = _run(
        run_dag,
        f'XLikedTweetsOperator(task_id="t", user_id="{sandbox.user_id}", xcom_max_bytes=200_000, retries=2, '
        "retry_delay=0)",
    )
    assert result.state == "failed"
    assert sandbox.admin.request_counts()["by_endpoint"]["liked_tweets"] == 1  # not 12, and not retried
    out = capfd.readouterr()
    text = out.out + out.err
    assert "XComTooLargeError" in text
    assert "for the ~30,000 records expected" in text and "set output_path" in text


def test_without_the_lookup_no_count_request_is_sent(
    x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = x_sandbox_factory(post_likes=[f"{POST}:120"], clean=True)
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("bearer"))
    result = _run(run_dag, f'XLikingUsersOperator(task_id="t", tweet_id="{POST}", lookup_total=False)')
    assert result.state == "success", result.states()
    assert sandbox.admin.request_counts()["by_endpoint"].get("post_lookup", 0) == 0


@pytest.mark.parametrize(("log_seconds", "pages_logged"), [(3600.0, [1, 4]), (0.0, [1, 2, 3, 4])])
def test_progress_is_logged_for_the_first_and_last_page_and_every_few_seconds_between(
    x_sandbox_factory: Any,
    run_dag: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    log_seconds: float,
    pages_logged: list[int],
) -> None:
    from airflow_provider_xlikes import progress

    monkeypatch.setattr(progress, "PROGRESS_LOG_SECONDS", log_seconds)
    sandbox = x_sandbox_factory(post_likes=[f"{POST}:350"], clean=True, liking_users_cap=None)  # 4 pages
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("bearer"))
    result = _run(run_dag, f'XLikingUsersOperator(task_id="t", tweet_id="{POST}", lookup_total=False)')
    assert result.state == "success", result.states()
    out = capfd.readouterr()
    text = out.out + out.err
    logged = [n for n in range(1, 5) if f"page {n}: " in text]
    assert logged == pages_logged


def test_a_listing_stopped_before_its_end_logs_its_last_page(
    x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from airflow_provider_xlikes import progress

    monkeypatch.setattr(progress, "PROGRESS_LOG_SECONDS", 3600.0)
    sandbox = x_sandbox_factory(post_likes=[f"{POST}:350"], clean=True, liking_users_cap=None)  # 3 pages
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("bearer"))
    result = _run(run_dag, f'XLikingUsersOperator(task_id="t", tweet_id="{POST}", lookup_total=False, max_records=250)')
    assert result.state == "success", result.states()
    assert len(result.xcom("t")) == 250
    out = capfd.readouterr()
    text = out.out + out.err
    assert "page 1: 100 records so far" in text
    assert "page 2: " not in text
    assert "page 3: 250 records so far" in text
