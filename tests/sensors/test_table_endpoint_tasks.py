"""A listing endpoint added in the endpoint table (``GET /2/users/{id}/bookmarks``, declared in
``hooks/test_endpoint_table.py``) is collected by an operator subclass that only names it, and
watched by a sensor subclass that only names it: no other module of the provider is touched (the
hook's side is in ``hooks/test_endpoint_table.py``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import featured
from hooks.test_endpoint_table import BOOKMARKS, sandbox_with_bookmarks

from airflow_provider_xlikes import XLikesSensor, XValidationError
from airflow_provider_xlikes.output import find_manifests, iter_records, read_manifest

__all__ = ["sandbox_with_bookmarks"]  # the fixture


def _documented_subclasses() -> str:
    """The two subclasses as docs/development.md shows them ("Adding a listing endpoint")."""
    text = (Path(__file__).parents[2] / "docs" / "development.md").read_text(encoding="utf-8")
    match = re.search(r"```python\n(class XBookmarksOperator.*?)```", text, re.S)
    assert match is not None, "docs/development.md no longer shows the subclasses"
    return match.group(1)


DAG = f"""
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import BaseXListingOperator, XLikesSensor
from hooks.test_endpoint_table import BOOKMARKS

{_documented_subclasses()}

with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    BODY
"""


@pytest.fixture
def me(sandbox_with_bookmarks: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The sandbox's own user, behind the ``x_default`` connection (bookmarks are their owner's only)."""
    conn = json.loads(sandbox_with_bookmarks.conn_json("oauth2_user"))
    conn["extra"]["rotation_store"] = str(tmp_path / "tokens")
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", json.dumps(conn))
    return str(sandbox_with_bookmarks.user_id)


def test_a_three_line_operator_collects_the_new_endpoint_mapped(
    sandbox_with_bookmarks: Any, me: str, sensor_dag: Any, tmp_path: Path
) -> None:
    sandbox, out = sandbox_with_bookmarks, tmp_path / "bookmarks"
    body = f"""XBookmarksOperator.partial(
        task_id="collect", output_path="file://{out}", tweet_fields=["created_at"], max_results=100
    ).expand(user_id=["{me}"])"""
    result = sensor_dag(DAG.replace("BODY", body)).run()
    assert result.state == "success", result.states()
    (manifest,) = [read_manifest(m) for m in find_manifests(out)]
    records = list(iter_records(manifest))
    assert [r["id"] for r in records] == sandbox.admin.liked(me)  # served from the likes world
    assert len(records) == 250 and all(r["bookmarked_by_user_id"] == me and "created_at" in r for r in records)
    assert manifest["endpoint"] == "bookmarks" and manifest["user_id"] == me
    assert sandbox.admin.request_counts()["by_endpoint"]["bookmarks"] == 3


@pytest.mark.parametrize("mode", ['mode="poke", deferrable=False', "deferrable=True"])
def test_a_sensor_subclass_waits_for_new_records_of_the_new_endpoint(
    sandbox_with_bookmarks: Any, me: str, sensor_dag: Any, mode: str
) -> None:
    from sensors.conftest import WhenPolled

    sandbox = sandbox_with_bookmarks
    post = featured(sandbox, 7)
    when_polled = WhenPolled(sandbox)
    when_polled("bookmarks", 2, lambda: sandbox.admin.add_likes(post, user_ids=[me]))
    try:
        body = f'XNewBookmarksSensor(task_id="wait", user_id="{me}", poke_interval=0.2, timeout=60, {mode})'
        result = sensor_dag(DAG.replace("BODY", body)).run()
    finally:
        when_polled.close()
    assert not when_polled.errors, when_polled.errors
    assert result.state == "success", result.states()
    assert [record["id"] for record in result.xcom("wait")] == [post]  # the new one, with its source field
    assert sandbox.admin.request_counts()["by_endpoint"]["bookmarks"] >= 3


def test_the_sensor_refuses_what_the_new_endpoint_cannot_do(sandbox_with_bookmarks: Any) -> None:
    class XNewBookmarksSensor(XLikesSensor):
        endpoint = BOOKMARKS

    with pytest.raises(XValidationError, match="bookmarks lists by user_id"):
        XNewBookmarksSensor(task_id="wait", tweet_id="20")
    with pytest.raises(XValidationError, match="bookmarks has no count"):
        XNewBookmarksSensor(task_id="wait", user_id="12", min_count=5)
    with pytest.raises(XValidationError, match="user_ids"):
        XNewBookmarksSensor(task_id="wait", user_id="12", user_ids=["3"])
    assert sandbox_with_bookmarks.admin.total_requests() == 0
