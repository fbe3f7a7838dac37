"""A backfill of a user's liked posts that stops at ``max_records``: its cost is bounded up front.

X bills reads per resource returned (a post read: $0.005 in 2026, see the docs on cost and limits),
so ``max_records`` caps what one run can cost: at most ``MAX_RECORDS`` posts, read in
``MAX_RECORDS / 100`` requests, never one more. The task defers while a rate-limit window resets
and resumes where it stopped; the manifest says whether the listing was read to its end
(``complete``). Liked posts are listed for the authenticated user only: the connection needs user
context (``oauth2_user`` or ``oauth1_user``).
"""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_xlikes import XHook, XLikedTweetsOperator

OUTPUT = os.environ.get("XLIKES_EXAMPLES_OUTPUT", "file:///tmp/xlikes-examples")
MAX_RECORDS = 1_000  # at $0.005 a post: at most $5 for one run

with DAG(
    dag_id="xlikes_example_backfill_within_budget",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["xlikes", "example"],
    doc_md=__doc__,
) as dag:

    @task
    def me() -> str:
        return XHook("x_default").authenticated_user_id

    backfill = XLikedTweetsOperator(
        task_id="backfill",
        user_id=me(),
        tweet_fields=["created_at", "author_id"],
        max_records=MAX_RECORDS,
        deferrable=True,
        output_path=f"{OUTPUT}/backfill",
    )

    @task
    def report(manifest: dict[str, Any]) -> dict[str, Any]:
        return {"posts": manifest["record_count"], "requests": manifest["pages"], "complete": manifest["complete"]}

    report(backfill.output)
