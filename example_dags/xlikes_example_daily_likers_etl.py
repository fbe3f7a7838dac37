"""Daily ETL: the liking users of a list of posts into object storage, then a task that reads them.

One mapped task per post writes JSON Lines (gzip) under ``XLIKES_EXAMPLES_OUTPUT`` (any
``ObjectStoragePath`` URI, e.g. ``s3://aws_default@my-bucket/x``; default a local folder) and
returns its manifest; ``summarize`` reads every post's records back through the manifests.
The posts come from the ``post_ids`` param (default: the post of X's likes quickstart, which every
sandbox has too). X lists at most 100 liking users per post, for all time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_xlikes import XLikingUsersOperator, iter_records, output_asset

OUTPUT = os.environ.get("XLIKES_EXAMPLES_OUTPUT", "file:///tmp/xlikes-examples")
LIKERS = f"{OUTPUT}/daily_likers"

with DAG(
    dag_id="xlikes_example_daily_likers_etl",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"post_ids": Param(["1354143047324299264"], type="array", description="posts to collect")},
    tags=["xlikes", "example"],
    doc_md=__doc__,
) as dag:

    @task
    def posts(params: dict[str, Any]) -> list[str]:
        return [str(post_id) for post_id in params["post_ids"]]

    likers = XLikingUsersOperator.partial(
        task_id="liking_users",
        user_fields=["created_at", "username", "public_metrics"],
        output_path=LIKERS,
        compression="gzip",
        outlets=[output_asset(LIKERS)],  # a mapped task names its asset itself
    ).expand(tweet_id=posts())

    @task
    def summarize(manifests: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Likers per post and the accounts that liked more than one of them."""
        per_post: dict[str, int] = {}
        seen: dict[str, int] = {}
        for i in range(len(manifests)):  # by index: the lazy sequence of a mapped task's XComs
            manifest = manifests[i]
            per_post[manifest["tweet_id"]] = manifest["record_count"]
            for record in iter_records(manifest):
                seen[record["id"]] = seen.get(record["id"], 0) + 1
        return {"likers_per_post": per_post, "liked_several": sorted(u for u, n in seen.items() if n > 1)}

    summarize(likers.output)
