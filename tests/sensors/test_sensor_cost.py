"""Cost control on XLikesSensor (#25): ``max_cost_usd`` counts every poll of the wait (poke,
reschedule, trigger) and stops it before the request that could cross the budget, checked at the
sandbox (requests it served, the cost of what it served); what the wait cost is in its XCom.

Arithmetic of the budget tests: a featured post with 333 likers, pages of ``max_results=10`` users
at $0.010 each, an app-only bearer connection (nothing owned): every poll is one request of at
most $0.10. With ``max_cost_usd=0.35`` the baseline and two polls are sent ($0.30); the next could
reach $0.40, so it is not.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import featured
from operators.test_cost_control import served_cost

from airflow_provider_xlikes import XLikesSensor, XValidationError
from airflow_provider_xlikes.incremental import Head
from airflow_provider_xlikes.pricing import CostMeter
from airflow_provider_xlikes.triggers.new_likes import XLikesSensorTrigger

pytestmark = pytest.mark.x_sandbox(clean=True)

SOURCE = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import XLikesSensor

with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    XLikesSensor(task_id="wait", poke_interval=0.2, timeout=60, max_results=10, retries=2, retry_delay=0, BODY)
"""
MODES = {
    "poke": 'mode="poke", deferrable=False',
    "reschedule": 'mode="reschedule", deferrable=False',
    "deferrable": "deferrable=True",
}
PAGE_USD = 10 * 0.010


@pytest.fixture
def conn(x_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", x_sandbox.conn_json("bearer"))
    return x_sandbox


def _run(sensor_dag: Any, body: str) -> Any:
    return sensor_dag(SOURCE.replace("BODY", body)).run()


@pytest.mark.parametrize("mode", list(MODES))
def test_the_budget_stops_the_wait_before_crossing_it_in_each_mode(
    conn: Any, sensor_dag: Any, mode: str, capfd: pytest.CaptureFixture[str]
) -> None:
    post = featured(conn, 333)
    result = _run(sensor_dag, f'tweet_id="{post}", {MODES[mode]}, max_cost_usd=0.35')
    assert result.states() == {("wait", -1): "failed"}  # at once: not up_for_retry, not a timeout
    # the baseline and two polls; every poll of every poke process (and of the trigger) was counted
    assert conn.admin.total_requests("liking_users") == 3
    _, _, spent = served_cost(conn)
    assert spent == pytest.approx(3 * PAGE_USD)
    assert spent <= 0.35 < spent + PAGE_USD  # 0 requests over the budget
    out = capfd.readouterr()
    text = out.out + out.err
    assert "XBudgetExhaustedError" in text
    assert "max_cost_usd=0.35" in text and "spent ~$0.300" in text and "may cost up to $0.100" in text


@pytest.mark.parametrize(
    ("mode", "how"),
    [
        ("poke", 'on_budget_exhausted="skip"'),
        ("deferrable", 'on_budget_exhausted="skip"'),
        ("deferrable", "soft_fail=True"),
    ],
)
def test_on_budget_exhausted_skip_or_soft_fail_ends_the_wait_skipped(
    conn: Any, sensor_dag: Any, mode: str, how: str
) -> None:
    post = featured(conn, 333)
    result = _run(sensor_dag, f'tweet_id="{post}", {MODES[mode]}, max_cost_usd=0.25, {how}')
    assert result.states() == {("wait", -1): "skipped"}
    assert conn.admin.total_requests("liking_users") == 2
    assert served_cost(conn)[2] <= 0.25


def test_the_count_lookup_is_budgeted_too(conn: Any, sensor_dag: Any) -> None:
    post = featured(conn, 7)
    # the baseline page ($0.070: 7 likers), then count lookups of $0.005 each: the seventh could cross
    body = f'tweet_id="{post}", min_count=100, mode="poke", deferrable=False, max_cost_usd=0.1025'
    result = _run(sensor_dag, body)
    assert result.states() == {("wait", -1): "failed"}
    lookups = conn.admin.total_requests("post_lookup")
    assert conn.admin.total_requests("liking_users") == 1 and lookups == 6
    spent = served_cost(conn)[2]
    assert spent == pytest.approx(0.07 + 6 * 0.005) and spent <= 0.1025 < spent + 0.005


@pytest.mark.parametrize("mode", ["reschedule", "deferrable"])
def test_what_the_wait_cost_is_in_its_xcom_and_manifest(
    conn: Any, sensor_dag: Any, when_polled: Any, tmp_path: Path, mode: str
) -> None:
    post = featured(conn, 333)
    added: list[str] = []
    when_polled("liking_users", 2, lambda: added.extend(conn.admin.add_likes(post, 3)))
    out = (tmp_path / "likes").as_uri()
    body = f'tweet_id="{post}", {MODES[mode]}, max_cost_usd=5, output_path="{out}"'
    result = _run(sensor_dag, body)
    assert result.state == "success", result.states()
    data, includes, usd = served_cost(conn)
    cost = result.xcom("wait", key="likes_scan")["cost"]
    assert cost["resources"] == {"data": data, "includes": includes}
    assert cost["billed_requests"] == conn.admin.total_requests("liking_users") >= 3
    assert cost["estimated_cost_usd"] == pytest.approx(usd)
    assert cost["max_cost_usd"] == 5 and cost["owned_reads"] is False
    assert "UTC day" in cost["assumptions"]["daily_deduplication"]  # as the operators report it
    manifest = result.xcom("wait")
    assert manifest["cost"] == cost and manifest["record_count"] == 3


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"max_cost_usd": -0.01}, "max_cost_usd"),
        ({"max_cost_usd": "5"}, "max_cost_usd"),
        ({"max_cost_usd": float("nan")}, "max_cost_usd"),
        ({"max_cost_usd": float("inf")}, "max_cost_usd"),
        ({"max_cost_usd": True}, "max_cost_usd"),
        ({"on_budget_exhausted": "commit"}, "on_budget_exhausted"),
        ({"on_budget_exhausted": None}, "on_budget_exhausted"),
    ],
)
def test_bad_budget_values_are_rejected_at_construction(conn: Any, kwargs: dict[str, Any], parameter: str) -> None:
    for target in ({"tweet_id": "20"}, {"user_id": "12"}):
        with pytest.raises(XValidationError) as raised:
            XLikesSensor(task_id="wait", **target, **kwargs)
        assert raised.value.parameter == parameter and parameter in str(raised.value)
        if parameter == "on_budget_exhausted":
            assert raised.value.allowed_values == ("fail", "skip")
    assert conn.admin.total_requests() == 0


# --------------------------------------------------------------------------- the trigger's state
def _spent_state(post: Any, conn: Any, usd: float, requests: int) -> dict[str, Any]:
    """A wait's state as the sensor hands it over: the head of the post's likers and what it spent."""
    head = Head.of(conn.admin.likers(post)[:10]).to_json()
    meter = CostMeter()
    meter.usd, meter.requests, meter.data["users"] = usd, requests, requests * 10
    return {"baseline": head, "head": head, "found": [], "cost": meter.to_json()}


def _trigger_after_the_baseline(conn: Any, poke_interval: float) -> XLikesSensorTrigger:
    """The trigger of a wait on a post of 333 likers whose sensor took the baseline ($0.10 spent),
    with ``max_cost_usd=0.35``."""
    post = featured(conn, 333)
    return XLikesSensorTrigger(
        state=_spent_state(post, conn, PAGE_USD, 1),
        tweet_id=post,
        poke_interval=poke_interval,
        deadline=time.time() + 60,
        max_results=10,
        max_cost_usd=0.35,
    )


def test_the_trigger_goes_on_counting_from_the_state_and_stops_before_crossing(conn: Any) -> None:
    trigger = _trigger_after_the_baseline(conn, poke_interval=0.1)

    async def first_event() -> Any:
        async for event in trigger.run():
            return event.payload
        return None

    payload = asyncio.run(first_event())
    assert payload["status"] == "budget_exhausted", payload
    assert conn.admin.total_requests("liking_users") == 2  # $0.20, $0.30; not the poll to $0.40
    assert "max_cost_usd=0.35" in payload["detail"] and "spent ~$0.300" in payload["detail"]
    assert payload["state"]["cost"]["usd"] == pytest.approx(0.3) and payload["state"]["cost"]["requests"] == 3


def test_a_trigger_rebuilt_from_its_serialized_form_keeps_what_was_spent(conn: Any) -> None:
    first = _trigger_after_the_baseline(conn, poke_interval=0.5)

    async def until_one_poll() -> None:
        runner = asyncio.ensure_future(anext(first.run()))
        while first.serialize()[1]["state"]["cost"]["requests"] < 2:  # the poll is counted in the state
            assert not runner.done(), runner.result()
            await asyncio.sleep(0.01)
        assert not runner.done()  # it sleeps until its next poll
        runner.cancel()  # the triggerer stops (a restart, a move to another triggerer)

    asyncio.run(until_one_poll())
    assert conn.admin.total_requests("liking_users") == 1
    _, kwargs = first.serialize()
    assert kwargs["max_cost_usd"] == 0.35 and kwargs["state"]["cost"]["usd"] >= 0.2
    rebuilt = XLikesSensorTrigger(**kwargs)

    async def first_event() -> Any:
        async for event in rebuilt.run():
            return event.payload
        return None

    payload = asyncio.run(first_event())
    assert payload["status"] == "budget_exhausted"
    assert conn.admin.total_requests("liking_users") == 2  # both triggers together: none over the budget
    assert payload["state"]["cost"]["usd"] == pytest.approx(0.3)  # the sensor's $0.10 and two polls


# --------------------------------------------------------------------------- a try lost after its request
LOST_SAVE = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import XLikesSensor


class TryFailedUnderIt(XLikesSensor):
    '''The state saved after the wait's second request is lost with its try, as when Airflow fails
    the try under a running poke (the task state store answers "task instance not found").'''

    lost = False

    def poke(self, context):
        self._wait = None  # each rescheduled poke is a new process: it knows only what was saved
        return super().poke(context)

    def _save_wait(self, context, target, wait):
        if not TryFailedUnderIt.lost and wait.cost and wait.cost["requests"] == 2:
            TryFailedUnderIt.lost = True
            self._wait = None  # the next try is a new process: it knows only what was saved
            raise RuntimeError("API_SERVER_ERROR: 404 Task instance not found")
        super()._save_wait(context, target, wait)


with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    TryFailedUnderIt(
        task_id="wait", tweet_id="POST", mode="reschedule", deferrable=False, poke_interval=0.2, timeout=60,
        max_results=10, retries=2, retry_delay=0, max_cost_usd=0.35, on_budget_exhausted="skip",
    )
"""


def test_a_try_lost_after_its_request_still_counts_it(conn: Any, sensor_dag: Any) -> None:
    """Each request's worst case is saved before it is sent: the try after a lost one cannot count
    too little, so the wait still sends no request that could cross the budget."""
    post = featured(conn, 333)
    result = sensor_dag(LOST_SAVE.replace("POST", str(post))).run()
    assert result.states() == {("wait", -1): "skipped"}
    # the baseline, the poll whose try was lost ($0.20 with it), one more poll ($0.30); not a fourth
    assert conn.admin.total_requests("liking_users") == 3
    assert served_cost(conn)[2] == pytest.approx(3 * PAGE_USD)


def test_a_try_lost_after_its_request_keeps_the_baseline(conn: Any, sensor_dag: Any, when_polled: Any) -> None:
    """What is saved before a request keeps the wait's baseline: likes that came after it are still
    new to the try after a lost one (not taken into a new baseline)."""
    post = featured(conn, 333)
    added: list[str] = []
    when_polled("liking_users", 1, lambda: added.extend(conn.admin.add_likes(post, 3)))
    result = sensor_dag(LOST_SAVE.replace("POST", str(post))).run()
    assert result.states() == {("wait", -1): "success"}
    assert [user["id"] for user in result.xcom("wait")] == added
