"""Extra links through a real Airflow's api-server: a mapped listing links each map index to its own
post, a templated user id links its rendered value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import featured

DAG_ID = "xlikes_links"
SOURCE = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_xlikes import XLikedTweetsOperator, XLikingUsersOperator

with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False,
         params={"user": "USER_ID"}) as dag:
    XLikingUsersOperator.partial(task_id="likers", max_records=5, lookup_total=False).expand(tweet_id=POSTS)
    XLikedTweetsOperator(task_id="liked", user_id="{{ params.user }}", max_records=5, lookup_total=False)
"""


@pytest.mark.slow
def test_links_of_mapped_and_templated_task_instances(
    x_sandbox_factory: Any, airflow_cluster_factory: Any, tmp_path: Path
) -> None:
    sandbox = x_sandbox_factory(clean=True)
    posts = [featured(sandbox, 333), featured(sandbox, 7)]
    cluster = airflow_cluster_factory(env={"AIRFLOW_CONN_X_DEFAULT": sandbox.conn_json("oauth2_user")})
    source = SOURCE.replace("DAG_ID", DAG_ID).replace("USER_ID", sandbox.user_id).replace("POSTS", json.dumps(posts))
    run = cluster.run_dag(DAG_ID, source, timeout=180)
    assert run.state == "success", cluster.diagnosis(DAG_ID, run.run_id)

    def links(task_id: str, map_index: int = -1) -> dict[str, Any]:
        path = f"/dags/{DAG_ID}/dagRuns/{run.run_id}/taskInstances/{task_id}/links"
        return dict(cluster.api("GET", path, params={"map_index": map_index})["extra_links"])

    for map_index, post in enumerate(posts):
        assert links("likers", map_index) == {"Post on X": f"https://x.com/i/status/{post}"}
    assert links("liked") == {"User on X": f"https://x.com/i/user/{sandbox.user_id}"}
