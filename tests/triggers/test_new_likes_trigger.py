"""The triggers of issue 16 run in an event loop against the sandbox, without Airflow around them."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from helpers import featured
from reliability import check_canary

from airflow_provider_xlikes import XNewLikesTrigger, XValidationError
from airflow_provider_xlikes.incremental import Head
from airflow_provider_xlikes.triggers.new_likes import XLikesSensorTrigger

pytestmark = pytest.mark.x_sandbox(clean=True)


@pytest.fixture
def conn(x_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", x_sandbox.conn_json("bearer"))  # no token store: no DB
    return x_sandbox


def _rebuilt(trigger: Any) -> Any:
    classpath, kwargs = trigger.serialize()
    module, name = classpath.rsplit(".", 1)
    cls = getattr(__import__(module, fromlist=[name]), name)
    assert cls is type(trigger)
    return cls(**kwargs)


@pytest.mark.reliability
def test_triggers_serialize_small_json_without_secrets_and_rebuild_equal(conn: Any, record_reliability: Any) -> None:
    watcher = XNewLikesTrigger(tweet_id="20", x_conn_id="x_default", poke_interval=5)
    sensor = XLikesSensorTrigger(
        state={"baseline": ["3", "2"], "head": ["4", "3"], "found": ["9"]},
        tweet_id="20",
        user_ids=["9", "10"],
        poke_interval=2,
        exponential_backoff=True,
        deadline=time.time() + 60,
    )
    for trigger in (watcher, sensor):
        _, kwargs = trigger.serialize()
        text = json.dumps(kwargs)  # plain JSON
        assert len(text) < 1000
        secrets = [v for v in conn.credentials.values() if isinstance(v, str) and len(v) > 8]
        case = f"{type(trigger).__name__}: its serialized kwargs (the triggerer's database row)"
        check_canary(record_reliability, case, secrets, text)
        assert _rebuilt(trigger).serialize() == trigger.serialize()


def test_bad_trigger_arguments_name_the_parameter() -> None:
    for kwargs, parameter in (
        ({}, "tweet_id"),
        ({"tweet_id": "1", "user_id": "2"}, "tweet_id"),
        ({"user_id": "x"}, "user_id"),
        ({"tweet_id": "1", "poke_interval": 0}, "poke_interval"),
    ):
        with pytest.raises(XValidationError) as info:
            XNewLikesTrigger(**kwargs)
        assert info.value.parameter == parameter


async def _events(trigger: Any, count: int, during: Any, timeout: float = 20.0) -> tuple[list[Any], int]:
    """The first ``count`` events of ``trigger`` (``during()`` runs once it has taken its baseline),
    and how often a ticker ran meanwhile (the event loop was never blocked)."""
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(ticker())
    events: list[Any] = []
    runner = trigger.run()
    try:
        async with asyncio.timeout(timeout):
            while len(events) < count:
                events.append(await runner.__anext__())
                if len(events) < count:
                    await asyncio.to_thread(during, len(events))
    finally:
        stop.set()
        await ticking
        await runner.aclose()
    return events, ticks


def test_the_watcher_fires_once_per_batch_of_new_likes_with_count_and_newest_ids(conn: Any) -> None:
    post = featured(conn, 333)
    trigger = XNewLikesTrigger(tweet_id=post, poke_interval=0.2)
    batches: list[list[str]] = []

    async def scenario() -> tuple[list[Any], int]:
        runner_task = asyncio.create_task(_events(trigger, 2, lambda n: batches.append(conn.admin.add_likes(post, 2))))
        while conn.admin.total_requests("liking_users") < 1:  # the baseline
            await asyncio.sleep(0.05)
        batches.append(await asyncio.to_thread(conn.admin.add_likes, post, 12))
        return await runner_task

    before = conn.admin.likers(post)
    events, ticks = asyncio.run(scenario())
    first, second = (event.payload for event in events)
    assert first == {
        "status": "new_likes",
        "tweet_id": post,
        "count": 12,
        "newest_ids": batches[0][:10],
        "stop": "head",
    }
    assert second["count"] == 2 and second["newest_ids"] == batches[1]  # the head moved on: no repeat
    assert conn.admin.likers(post) == batches[1] + batches[0] + before
    assert ticks > 20  # the requests ran in threads: the loop kept ticking


def test_the_sensor_trigger_times_out_and_reports_errors(conn: Any) -> None:
    post = featured(conn, 7)
    state = {"baseline": Head.of(conn.admin.likers(post)).to_json(), "head": [], "found": []}
    state["head"] = state["baseline"]
    trigger = XLikesSensorTrigger(state=state, tweet_id=post, poke_interval=0.2, deadline=time.time() + 1)
    events, _ = asyncio.run(_events(trigger, 1, lambda n: None))
    payload = events[0].payload
    assert payload["status"] == "timeout" and payload["tweet_id"] == post
    assert payload["state"]["baseline"] == state["baseline"]  # the wait's state, what it spent included
    assert payload["state"]["cost"]["requests"] == conn.admin.total_requests("liking_users") > 0
    conn.admin.set_quirks(app_only="refuse")  # a bearer token is refused now: a retry cannot fix that
    refused = XLikesSensorTrigger(state=state, tweet_id=post, poke_interval=0.2, deadline=time.time() + 10)
    events, _ = asyncio.run(_events(refused, 1, lambda n: None))
    assert events[0].payload["status"] == "error" and events[0].payload["error_type"] == "XForbiddenError"


@pytest.mark.parametrize(("backoff", "fewest", "most"), [(False, 5, 15), (True, 2, 4)])
def test_the_sensor_trigger_honours_poke_interval_and_exponential_backoff(
    conn: Any, backoff: bool, fewest: int, most: int
) -> None:
    post = featured(conn, 7)
    head = Head.of(conn.admin.likers(post)).to_json()
    trigger = XLikesSensorTrigger(
        state={"baseline": head, "head": head, "found": []},
        tweet_id=post,
        poke_interval=0.1,
        exponential_backoff=backoff,
        deadline=time.time() + 1.5,
    )
    events, _ = asyncio.run(_events(trigger, 1, lambda n: None))
    polls = conn.admin.total_requests("liking_users")
    assert events[0].payload["status"] == "timeout"
    assert fewest <= polls <= most  # 0.1 s apart (plus each request), or after 0.1, 0.2, 0.4, 0.8 s
