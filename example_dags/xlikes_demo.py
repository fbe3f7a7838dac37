"""The demo DAG: collect likes into a local folder, then unlike and like again the newest liked post.

``bash scripts/demo.sh`` runs it against the offline X API sandbox (see README). Against the real
API, set the ``x_default`` connection and ``XLIKES_DEMO_OUTPUT`` (any ``ObjectStoragePath`` URI,
e.g. ``s3://aws_default@my-bucket/x``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pendulum
from airflow.sdk import DAG, task

try:
    from airflow.sdk.exceptions import AirflowSkipException
except ImportError:  # Airflow 3.1 keeps it in airflow.exceptions
    from airflow.exceptions import AirflowSkipException  # type: ignore[no-redef,attr-defined,unused-ignore]

from airflow_provider_xlikes.hooks.x import XHook
from airflow_provider_xlikes.operators.likes import (
    XLikedTweetsOperator,
    XLikeOperator,
    XLikingUsersOperator,
    XUnlikeOperator,
    output_asset,
)
from airflow_provider_xlikes.output import iter_records

OUTPUT = os.environ.get("XLIKES_DEMO_OUTPUT", "file:///tmp/xlikes-demo-output")
#: posts to collect the likers of (the first one is the post of X's likes quickstart)
POSTS = ["1354143047324299264", "1460323737035677698", "1519781379172495360"]

with DAG(
    dag_id="xlikes_demo",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["xlikes", "demo"],
    doc_md=__doc__,
) as dag:

    @task
    def authenticated_user() -> str:
        """Who the connection acts for (``GET /2/users/me``)."""
        return XHook("x_default").authenticated_user_id

    me = authenticated_user()

    # one mapped task per post; every record carries the post it was collected for
    liking_users = XLikingUsersOperator.partial(
        task_id="liking_users",
        user_fields=["created_at", "username", "verified", "public_metrics"],
        expansions=["pinned_tweet_id"],
        tweet_fields=["created_at"],
        join_includes=True,
        output_path=f"{OUTPUT}/liking_users",
        compression="gzip",
        outlets=[output_asset(f"{OUTPUT}/liking_users")],
    ).expand(tweet_id=POSTS)

    liked_tweets = XLikedTweetsOperator(
        task_id="liked_tweets",
        user_id=me,
        tweet_fields=["created_at", "public_metrics", "author_id"],
        expansions=["author_id"],
        user_fields=["username"],
        join_includes=True,
        output_path=f"{OUTPUT}/liked_tweets",
    )

    @task
    def newest_liked(manifest: dict[str, Any]) -> str:
        """The post the user liked last: one that exists wherever the demo runs (read from the listing)."""
        for record in iter_records(manifest):
            return str(record["id"])
        raise AirflowSkipException("the user has liked no post: nothing to unlike and like again")

    post = newest_liked(liked_tweets.output)
    # the likes end as they began: the post is unliked, then liked again
    unlike = XUnlikeOperator(task_id="unlike", tweet_id=post)
    like = XLikeOperator(task_id="like", tweet_id=post)

    @task
    def report(mapped: Sequence[dict[str, Any]], liked: dict[str, Any], relike: dict[str, Any]) -> dict[str, Any]:
        """One line per output, and the totals (also the XCom of this task)."""
        # the mapped task's manifests, read by index: iterating the lazy sequence would ask for one
        # item past the end (Airflow logs that as an error)
        likers = [mapped[i] for i in range(len(mapped))]
        summary = {
            "liking_users": {m["tweet_id"]: m["record_count"] for m in likers},
            "liked_tweets": liked["record_count"],
            "files": [f for m in [*likers, liked] for f in m["files"]],
            "unliked_and_liked_again": relike,
        }
        for manifest in [*likers, liked]:
            print(f"{manifest['endpoint']}: {manifest['record_count']} records in {len(manifest['files'])} file(s)")
        return summary

    liking_users >> unlike >> like
    report(liking_users.output, liked_tweets.output, like.output)


if __name__ == "__main__":
    dag.test()
