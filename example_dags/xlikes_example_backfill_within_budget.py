"""A backfill of a user's liked posts kept within a cost budget.

X bills reads per resource returned (a post read: $0.005 in 2026, the user's own likes as owned
reads: $0.001; see docs/cost-and-limits.md). ``max_cost_usd`` stops the listing before the request
whose page could cross ``MAX_COST_USD``; with ``on_budget_exhausted="commit"`` what was read is
committed and the manifest says it is partial and why. ``max_records`` bounds the run as well. The
task defers while a rate-limit window resets and resumes where it stopped. Liked posts are listed
for the authenticated user only: the connection needs user context (``oauth2_user`` or
``oauth1_user``).
"""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_xlikes import XHook, XLikedTweetsOperator

OUTPUT = os.environ.get("XLIKES_EXAMPLES_OUTPUT", "file:///tmp/xlikes-examples")
MAX_COST_USD = 0.50  # about 500 of one's own liked posts at $0.001
MAX_RECORDS = 1_000

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
        max_cost_usd=MAX_COST_USD,
        on_budget_exhausted="commit",
        deferrable=True,
        output_path=f"{OUTPUT}/backfill",
    )

    @task
    def report(manifest: dict[str, Any]) -> dict[str, Any]:
        return {
            "posts": manifest["record_count"],
            "requests": manifest["pages"],
            "complete": manifest["complete"],
            "estimated_cost_usd": manifest["cost"]["estimated_cost_usd"],
            "stopped_by": (manifest.get("partial") or {}).get("reason"),
        }

    report(backfill.output)
