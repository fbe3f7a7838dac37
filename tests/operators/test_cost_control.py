"""Cost control in the listing operators (#25): the manifest's and XCom ``meta``'s cost checked
against what the sandbox served, ``max_cost_usd`` stopping before the request that could cross
it, the monthly Post cap failing a task at once, the usage check, and Enterprise-only writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_xlikes import XLikedTweetsOperator, XLikingUsersOperator
from airflow_provider_xlikes.exceptions import XValidationError
from airflow_provider_xlikes.pricing import DEFAULT_PRICES

POST = "1354143047324299264"
HEADER = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import XLikedTweetsOperator, XLikeOperator, XLikingUsersOperator, XUsageOperator

with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
"""


def dag(body: str) -> str:
    return HEADER + "".join(f"    {line}\n" for line in body.strip().splitlines())


def served_cost(sandbox: Any, owned: tuple[str, ...] = ()) -> tuple[dict[str, int], dict[str, int], float]:
    """(data by kind, includes by kind, USD at X's prices) of everything the sandbox served."""
    data: dict[str, int] = {}
    includes: dict[str, int] = {}
    usd = 0.0
    for endpoint, parts in sandbox.admin.served().items():
        for part, into in (("data", data), ("includes", includes)):
            for kind, n in parts[part].items():
                into[kind] = into.get(kind, 0) + n
                usd += n * DEFAULT_PRICES.read_price(kind, owned=endpoint in owned)
    return data, includes, usd


def test_the_manifest_records_resources_and_cost_as_the_sandbox_served_them(
    x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    sandbox = x_sandbox_factory(post_likes=[f"{POST}:50000"], clean=True, partial_errors=0.2)
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("bearer"))
    out = (tmp_path / "likers").as_uri()
    body = f'XLikingUsersOperator(task_id="t", tweet_id="{POST}", expansions="pinned_tweet_id", output_path="{out}")'
    result = run_dag(dag(body))
    assert result.state == "success", result.states()
    manifest = result.xcom("t")
    assert manifest["record_count"] == 100 and manifest["complete"] and manifest["partial"] is None
    assert sandbox.admin.total_requests("liking_users") == 1  # 50,000 likes, 100 listed: one request
    data, includes, usd = served_cost(sandbox)
    cost = manifest["cost"]
    assert cost["resources"] == {"data": data, "includes": includes}
    assert data == {"users": 100, "posts": 1}  # the likers and the count lookup's post
    assert includes["posts"] > 0
    assert cost["estimated_cost_usd"] == pytest.approx(usd)
    assert cost["expected_cost_usd"] == pytest.approx(0.005 + 100 * 0.010)
    assumptions = cost["assumptions"]
    assert assumptions["includes_billed"] is True and "UTC day" in assumptions["daily_deduplication"]
    assert assumptions["prices"]["taken"] == "2026-12-04"
    assert json.loads(Path(manifest["manifest"].removeprefix("file://")).read_text())["cost"] == cost


def test_xcom_meta_records_owned_reads(x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = x_sandbox_factory(me_likes=230, clean=True)
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("oauth1_user"))  # its token names the user
    result = run_dag(dag(f'XLikedTweetsOperator(task_id="t", user_id="{sandbox.user_id}", expansions="author_id")'))
    assert result.state == "success", result.states()
    assert len(result.xcom("t")) == 230
    meta = result.xcom("t", key="meta")
    assert meta["complete"] is True and meta["owned_reads"] is True
    data, includes, usd = served_cost(sandbox, owned=("liked_tweets", "user_lookup"))
    assert meta["resources"] == {"data": data, "includes": includes}
    assert meta["estimated_cost_usd"] == pytest.approx(usd)
    assert usd == pytest.approx((230 + 1 + includes["users"]) * 0.001)


@pytest.mark.parametrize(("limit", "pages"), [(0.35, 3), (0.05, 0)])
def test_max_cost_usd_fails_before_the_request_that_could_cross_it(
    x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch, limit: float, pages: int
) -> None:
    sandbox = x_sandbox_factory(post_likes=[f"{POST}:333"], clean=True)
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("bearer"))
    body = (
        f'XLikingUsersOperator(task_id="t", tweet_id="{POST}", max_results=10, max_cost_usd={limit}, '
        "retries=2, retry_delay=0)"
    )
    result = run_dag(dag(body))
    assert result.states() == {("t", -1): "failed"}  # at once: not up_for_retry
    # lookup $0.005, then pages of 10 users at $0.010: a page more would cross the limit
    assert sandbox.admin.total_requests("liking_users") == pages
    _, _, spent = served_cost(sandbox)
    assert spent <= limit < spent + 10 * 0.010


def test_max_cost_usd_commits_what_was_read_and_says_why(
    x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    sandbox = x_sandbox_factory(post_likes=[f"{POST}:333"], clean=True)
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("bearer"))
    out = (tmp_path / "likers").as_uri()
    result = run_dag(
        dag(
            f'XLikingUsersOperator(task_id="files", tweet_id="{POST}", max_results=10, max_cost_usd=0.35, '
            f'on_budget_exhausted="commit", output_path="{out}")\n'
            f'XLikingUsersOperator(task_id="xcom", tweet_id="{POST}", max_results=10, max_cost_usd=0.35, '
            'on_budget_exhausted="commit")'
        )
    )
    assert result.state == "success", result.states()
    manifest = result.xcom("files")
    assert manifest["record_count"] == 30 and manifest["complete"] is False
    assert manifest["partial"]["reason"] == "max_cost_usd" and manifest["partial"]["max_cost_usd"] == 0.35
    assert manifest["partial"]["records"] == 30 and manifest["partial"]["next_token"]  # where to go on from
    assert [u["id"] for u in result.xcom("xcom")] == sandbox.admin.likers(POST)[:30]
    meta = result.xcom("xcom", key="meta")
    assert meta["complete"] is False and meta["partial"]["reason"] == "max_cost_usd"
    assert meta["estimated_cost_usd"] == pytest.approx(0.005 + 30 * 0.010)
    assert meta["estimated_cost_usd"] <= 0.35
    assert sandbox.admin.total_requests("liking_users") == 6  # 3 per task, none over


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"max_cost_usd": -1}, "max_cost_usd"),
        ({"max_cost_usd": "5"}, "max_cost_usd"),
        ({"max_cost_usd": float("nan")}, "max_cost_usd"),
        ({"max_cost_usd": True}, "max_cost_usd"),
        ({"on_budget_exhausted": "skip"}, "on_budget_exhausted"),
    ],
)
def test_bad_budget_values_are_rejected_at_construction(x_sandbox: Any, kwargs: dict[str, Any], parameter: str) -> None:
    for operator, source in ((XLikingUsersOperator, {"tweet_id": POST}), (XLikedTweetsOperator, {"user_id": "12"})):
        with pytest.raises(XValidationError) as raised:
            operator(task_id="t", **source, **kwargs)
        assert raised.value.parameter == parameter
        assert parameter in str(raised.value)
    if parameter == "on_budget_exhausted":
        assert "'fail'" in str(raised.value) or "fail" in raised.value.allowed
    assert x_sandbox.admin.total_requests() == 0


def test_a_spent_post_cap_fails_the_task_at_once(
    x_sandbox: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", x_sandbox.conn_json("oauth2_user"))
    x_sandbox.admin.set_post_reads(2_000_000)
    body = f'XLikedTweetsOperator(task_id="t", user_id="{x_sandbox.user_id}", retries=3, retry_delay=0)'
    result = run_dag(dag(body))
    assert result.states() == {("t", -1): "failed"}  # not up_for_retry
    assert x_sandbox.admin.total_requests("liked_tweets") == 1
    out = capfd.readouterr()
    assert "XUsageCappedError" in out.out + out.err and "Post cap is spent" in out.out + out.err


@pytest.mark.parametrize(("min_remaining", "state"), [(1_000, "success"), (1_500_000, "failed")])
def test_the_usage_operator_checks_the_cycle_before_a_backfill(
    x_sandbox: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch, min_remaining: int, state: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", x_sandbox.conn_json("bearer"))
    x_sandbox.admin.set_post_reads(600_000)
    result = run_dag(dag(f'XUsageOperator(task_id="usage", min_remaining={min_remaining}, retries=2)'))
    assert result.states() == {("usage", -1): state}
    assert x_sandbox.admin.total_requests("usage_tweets") == 1
    if state == "success":
        usage = result.xcom("usage")
        assert usage["project_usage"] == 600_000 and usage["remaining"] == 1_400_000


@pytest.mark.x_sandbox(self_serve=True)
def test_a_like_from_a_self_serve_app_fails_naming_enterprise(
    x_sandbox: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", x_sandbox.conn_json("oauth2_user"))
    post = next(p["id"] for p in x_sandbox.admin.world()["featured_posts"] if p["base_likers"] == 7)
    result = run_dag(dag(f'XLikeOperator(task_id="like", tweet_id="{post}", retries=2)'))
    assert result.states() == {("like", -1): "failed"}
    assert x_sandbox.admin.total_requests("likes_create") == 1
    out = capfd.readouterr()
    assert "need an Enterprise app" in out.out + out.err
