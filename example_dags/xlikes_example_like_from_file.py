"""Like and unlike the posts a file lists (Enterprise-only on the real X API since 2026-04-20).

X removed likes and unlikes from every self-serve API tier on 2026-04-20: on a self-serve app the
writes answer 403 ``client-forbidden``; an Enterprise app (or the sandbox) performs them. The file
(``likes_file`` param; default ``likes_to_apply.csv`` beside this DAG) has a line ``ACTION,POST_ID``
per post, ``like`` or ``unlike``; likes are sent first, then unlikes, at most 1,000 a task (X's
24-hour limit), waiting out the 50-per-15-minutes window. Each task's XCom says what happened to
each post: ``{post_id: {"liked": bool, "applied": bool}}``. The connection needs user context
(``oauth2_user`` or ``oauth1_user``).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, ObjectStoragePath, Param, task

from airflow_provider_xlikes import XLikeOperator, XUnlikeOperator

DEFAULT_FILE = (Path(__file__).parent / "likes_to_apply.csv").as_uri()
BATCH = 1_000  # ids per task: X allows 1,000 likes per user per 24 hours

with DAG(
    dag_id="xlikes_example_like_from_file",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"likes_file": Param(DEFAULT_FILE, type="string", description="ObjectStoragePath URI of the CSV")},
    tags=["xlikes", "example"],
    doc_md=__doc__,
) as dag:

    @task
    def batches(action: str, params: dict[str, Any]) -> list[list[str]]:
        """The ids to ``action`` (``like`` or ``unlike``) in the file, in batches of at most ``BATCH``."""
        ids: list[str] = []
        with ObjectStoragePath(params["likes_file"]).open("r") as handle:
            for row in csv.reader(line for line in handle if line.strip() and not line.startswith("#")):
                verb, post_id = (cell.strip() for cell in row)
                if verb not in ("like", "unlike"):
                    raise ValueError(f"likes_file: the action must be 'like' or 'unlike', not {verb!r}")
                if verb == action:
                    ids.append(post_id)
        return [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]

    # one task per batch; no batch (nothing to like) is a skipped task, not a failure
    like = XLikeOperator.partial(task_id="like").expand(tweet_id=batches.override(task_id="to_like")("like"))
    unlike = XUnlikeOperator.partial(task_id="unlike", trigger_rule="none_failed").expand(
        tweet_id=batches.override(task_id="to_unlike")("unlike")
    )
    like >> unlike
