"""A user's liked posts, incremental, with authors and referenced posts joined, as Parquet.

Each run collects only the posts liked since the last committed run (the first run is a full
backfill) into Parquet files under ``XLIKES_EXAMPLES_OUTPUT``. Every post carries ``includes``:
its ``author``, and the posts it quotes or replies to (each with its own author). Liked posts are
listed for the authenticated user only: the connection needs user context (``oauth2_user`` or
``oauth1_user``). Parquet needs ``pip install "airflow-provider-xlikes[parquet]"``.
"""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_xlikes import XHook, XLikedTweetsOperator, iter_records

OUTPUT = os.environ.get("XLIKES_EXAMPLES_OUTPUT", "file:///tmp/xlikes-examples")

with DAG(
    dag_id="xlikes_example_liked_posts_parquet",
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["xlikes", "example"],
    doc_md=__doc__,
) as dag:

    @task
    def me() -> str:
        """Who the connection acts for (``GET /2/users/me``)."""
        return XHook("x_default").authenticated_user_id

    liked = XLikedTweetsOperator(
        task_id="liked_posts",
        user_id=me(),
        tweet_fields=["created_at", "public_metrics"],
        user_fields=["username"],
        expansions=["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"],
        join_includes=True,  # the id fields the joins need are asked for too
        incremental=True,
        output_format="parquet",
        output_path=f"{OUTPUT}/liked_posts",
    )

    @task
    def new_posts_by_author(manifest: dict[str, Any]) -> dict[str, int]:
        """How many of the newly liked posts each author wrote."""
        authors: dict[str, int] = {}
        for post in iter_records(manifest):
            author = (post.get("includes") or {}).get("author", {}).get("username", "(unknown)")
            authors[author] = authors.get(author, 0) + 1
        return authors

    new_posts_by_author(liked.output)
