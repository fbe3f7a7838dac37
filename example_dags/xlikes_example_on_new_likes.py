"""A DAG that runs when a post gets new likes: an AssetWatcher, no task waiting at all.

``XNewLikesTrigger`` polls the post's first page of liking users in the triggerer and fires once per
batch of new likes; the DAG then reads the event and collects the new likers into
``XLIKES_EXAMPLES_OUTPUT`` (incremental: only what is new since the last run, the first run
collects them all). The post: the post of X's likes quickstart, which every sandbox has too.
"""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_xlikes import XLikingUsersOperator, XNewLikesTrigger

POST_ID = "1354143047324299264"
POKE_INTERVAL = 60  # seconds between polls: one request each
OUTPUT = os.environ.get("XLIKES_EXAMPLES_OUTPUT", "file:///tmp/xlikes-examples")

new_likes = Asset(
    f"x_new_likes_{POST_ID}",
    watchers=[
        AssetWatcher(
            name=f"x_new_likes_{POST_ID}_watcher",
            trigger=XNewLikesTrigger(tweet_id=POST_ID, x_conn_id="x_default", poke_interval=POKE_INTERVAL),
        )
    ],
)

with DAG(
    dag_id="xlikes_example_on_new_likes",
    schedule=[new_likes],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["xlikes", "example"],
    doc_md=__doc__,
) as dag:

    @task
    def what_arrived(triggering_asset_events: Any = None) -> int:
        """The number of new likes the events announced (0 in a manual run)."""
        payloads = [event.extra["payload"] for events in (triggering_asset_events or {}).values() for event in events]
        for payload in payloads:  # {"status": "new_likes", "tweet_id", "count", "newest_ids", "stop"}
            print(f"{payload['count']} new like(s) on {payload['tweet_id']}, newest: {payload['newest_ids'][:3]}")
        return sum(payload["count"] for payload in payloads)

    collect = XLikingUsersOperator(
        task_id="collect_new_likers",
        tweet_id=POST_ID,
        user_fields=["username"],
        incremental=True,
        output_path=f"{OUTPUT}/new_likers",
    )

    what_arrived() >> collect
