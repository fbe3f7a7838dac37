"""Wait for new likes on a post with the sensor, then process the new likers.

The deferrable sensor polls the post's liking users in the triggerer (no worker is held while it
waits) and returns the likers new since its last successful run (on its first run: since it
started). ``profile`` then works on them. The post comes from the ``post_id`` param (default: the
post of X's likes quickstart, which every sandbox has too).
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_xlikes import XLikesSensor

POKE_INTERVAL = 60  # seconds between polls: one request each

with DAG(
    dag_id="xlikes_example_wait_for_likes",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"post_id": Param("1354143047324299264", type="string", description="the post to watch")},
    tags=["xlikes", "example"],
    doc_md=__doc__,
) as dag:
    new_likers = XLikesSensor(
        task_id="new_likers",
        tweet_id="{{ params.post_id }}",
        user_fields=["username", "public_metrics"],
        deferrable=True,
        poke_interval=POKE_INTERVAL,
        timeout=24 * 3600,
        soft_fail=True,  # a day without a new like: skipped, not failed
    )

    @task
    def profile(likers: list[dict[str, Any]]) -> dict[str, Any]:
        """The new likers' usernames, and their reach (followers, summed)."""
        return {
            "usernames": [user["username"] for user in likers],
            "followers": sum(user.get("public_metrics", {}).get("followers_count", 0) for user in likers),
        }

    profile(new_likers.output)
