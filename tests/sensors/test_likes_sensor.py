"""XLikesSensor under ``dag.test()`` against the sandbox, whose admin API adds likes while it waits.

The sandbox is clean (exact pages); pokes are 0.2 s apart. Likes are added from a thread once the
sensor has sent its first request (its baseline), so they are new to it whichever mode it runs in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import featured

from airflow_provider_xlikes import XLikesSensor, XValidationError
from airflow_provider_xlikes.output import iter_records

pytestmark = pytest.mark.x_sandbox(clean=True, liking_users_cap=None)  # listings past the 100 likers X lists

SOURCE = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import XLikesSensor

with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    XLikesSensor(task_id="wait", poke_interval=0.2, timeout=TIMEOUT, BODY)
"""
MODES = {
    "poke": 'mode="poke", deferrable=False',
    "reschedule": 'mode="reschedule", deferrable=False',
    "deferrable": "deferrable=True",
}


@pytest.fixture
def conn(x_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", x_sandbox.conn_json("oauth2_user"))
    return x_sandbox


def _dag(sensor_dag: Any, body: str, timeout: float = 30) -> Any:
    return sensor_dag(SOURCE.replace("TIMEOUT", str(timeout)).replace("BODY", body))


def _ids(records: list[dict[str, Any]]) -> list[str]:
    return [record["id"] for record in records]


@pytest.mark.parametrize("mode", list(MODES))
def test_new_likers_in_each_mode_are_returned_exactly(conn: Any, sensor_dag: Any, when_polled: Any, mode: str) -> None:
    post = featured(conn, 333)
    added: list[str] = []
    when_polled("liking_users", 1, lambda: added.extend(conn.admin.add_likes(post, 3)))
    result = _dag(sensor_dag, f'tweet_id="{post}", {MODES[mode]}').run()
    assert result.state == "success", result.states()
    assert _ids(result.xcom("wait")) == added  # newest first, none lost, none twice
    scan = result.xcom("wait", key="likes_scan")
    assert scan["stop"] == "head" and scan["new_count"] == 3 and scan["condition"] == "new_likes"


def test_the_next_run_returns_the_likes_added_since_the_last_successful_one(
    conn: Any, sensor_dag: Any, when_polled: Any
) -> None:
    post = featured(conn, 333)
    dag = _dag(sensor_dag, f'tweet_id="{post}", mode="poke", deferrable=False')
    when_polled("liking_users", 1, lambda: conn.admin.add_likes(post, 2))
    assert dag.run().state == "success"
    between = conn.admin.add_likes(post, 150)  # while no sensor runs: more than a page
    conn.admin.remove_likes(post, user_ids=[between[0]])  # one of them unliked again
    before = conn.admin.total_requests("liking_users")
    second = dag.run()
    assert second.state == "success", second.states()
    assert _ids(second.xcom("wait")) == between[1:]
    assert conn.admin.total_requests("liking_users") - before == 2  # one poke: pages 1 and 2


def test_min_count_in_reschedule_mode_uses_the_count_lookup(conn: Any, sensor_dag: Any, when_polled: Any) -> None:
    post = featured(conn, 7)
    added: list[str] = []
    when_polled("post_lookup", 2, lambda: added.extend(conn.admin.add_likes(post, 5)))
    result = _dag(sensor_dag, f'tweet_id="{post}", min_count=10, mode="reschedule", deferrable=False').run()
    assert result.state == "success", result.states()
    assert _ids(result.xcom("wait")) == added
    assert result.xcom("wait", key="likes_scan")["like_count"] == 12
    counts = conn.admin.request_counts()["by_endpoint"]
    assert counts["liking_users"] == 2  # the baseline, then the records once the count was reached


def test_user_ids_deferrable_waits_in_the_trigger_until_all_liked(
    conn: Any, sensor_dag: Any, when_polled: Any, tmp_path: Path
) -> None:
    post = featured(conn, 7)
    likers = conn.admin.likers(post)
    already = likers[3]
    wanted = [u for u in conn.admin.likers(featured(conn, 333)) if u not in likers][:2]  # not liking it yet
    when_polled("liking_users", 2, lambda: conn.admin.add_likes(post, user_ids=wanted[:1]))
    when_polled("liking_users", 4, lambda: conn.admin.add_likes(post, user_ids=wanted[1:]))
    out = (tmp_path / "likes").as_uri()
    body = f'tweet_id="{post}", user_ids=["{already}", *{wanted!r}], deferrable=True, output_path="{out}"'
    result = _dag(sensor_dag, body).run()
    assert result.state == "success", result.states()
    manifest = result.xcom("wait")
    records = list(iter_records(manifest))
    assert [r["id"] for r in records] == wanted[::-1]
    assert all(r["liked_tweet_id"] == post for r in records)
    assert manifest["sensor"]["condition"] == "user_ids" and manifest["record_count"] == 2
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session

    with create_session() as session:
        classes = {row.classpath for row in session.query(Trigger).all()}
    assert "airflow_provider_xlikes.triggers.new_likes.XLikesSensorTrigger" in classes


def test_a_users_new_liked_posts(conn: Any, sensor_dag: Any, when_polled: Any) -> None:
    me = conn.user_id
    post = featured(conn, 7)
    when_polled("liked_tweets", 1, lambda: conn.admin.add_likes(post, user_ids=[me]))
    result = _dag(sensor_dag, f'user_id="{me}", tweet_fields=["public_metrics"], mode="poke", deferrable=False').run()
    assert result.state == "success", result.states()
    (record,) = result.xcom("wait")
    assert record["id"] == post and "public_metrics" in record


@pytest.mark.parametrize(("mode", "soft_fail", "state"), [("poke", True, "skipped"), ("deferrable", False, "failed")])
def test_no_new_likes_times_out_or_soft_fails(
    conn: Any, sensor_dag: Any, mode: str, soft_fail: bool, state: str
) -> None:
    post = featured(conn, 333)
    result = _dag(sensor_dag, f'tweet_id="{post}", {MODES[mode]}, soft_fail={soft_fail}', timeout=2).run()
    assert result.states()[("wait", -1)] == state
    assert result.xcom("wait") is None


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({}, "tweet_id"),
        ({"tweet_id": "1", "user_id": "2"}, "tweet_id"),
        ({"tweet_id": "12a"}, "tweet_id"),
        ({"tweet_id": "1", "min_count": 0}, "min_count"),
        ({"tweet_id": "1", "user_ids": ["1", "x"]}, "user_ids"),
        ({"tweet_id": "1", "user_ids": []}, "user_ids"),
        ({"user_id": "1", "user_ids": ["2"]}, "user_ids"),
        ({"tweet_id": "1", "min_count": 3, "user_ids": ["2"]}, "min_count"),
        ({"tweet_id": "1", "user_fields": ["nope"]}, "user_fields"),
        ({"user_id": "1", "max_results": 2}, "max_results"),
    ],
)
def test_bad_arguments_fail_at_once_naming_the_parameter(kwargs: dict[str, Any], parameter: str) -> None:
    with pytest.raises(XValidationError) as info:
        XLikesSensor(task_id="wait", **kwargs)
    assert info.value.parameter == parameter


def test_bad_templated_ids_fail_before_any_request(conn: Any, sensor_dag: Any) -> None:
    body = 'tweet_id="{{ \'not-an-id\' }}", mode="poke", deferrable=False, retries=3'
    result = _dag(sensor_dag, body).run()
    assert result.states()[("wait", -1)] == "failed"  # not up for retry: the input cannot get better
    assert conn.admin.total_requests() == 0
