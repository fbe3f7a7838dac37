"""End to end: the operators in ``dag.test()`` runs on a real Airflow against the offline X API sandbox.

Outputs go to XCom, to a local ``file://`` location and to ``s3://`` on moto's S3 server; what the
runs wrote is read back through the manifests and compared with the sandbox's ground truth.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_xlikes.exceptions import XValidationError
from airflow_provider_xlikes.operators.likes import (
    XCOM_MAX_BYTES,
    XLikedTweetsOperator,
    XLikeOperator,
    XLikingUsersOperator,
    XUnlikeOperator,
    output_asset,
)
from airflow_provider_xlikes.output import (
    MANIFEST_FORMAT,
    STAGING_DIR,
    find_manifests,
    iter_errors,
    iter_includes,
    iter_records,
    read_manifest,
)

HEADER = """
import pendulum
from airflow.sdk import DAG, Asset
from airflow_provider_xlikes.operators.likes import (
    XLikedTweetsOperator, XLikeOperator, XLikingUsersOperator, XUnlikeOperator, output_asset,
)

with DAG("DAG_ID", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False, params=PARAMS) as dag:
"""


def dag_source(body: str, params: dict[str, Any] | None = None) -> str:
    lines = "\n".join("    " + line for line in body.strip().splitlines())
    return HEADER.replace("PARAMS", repr(params or {})) + lines + "\n"


def featured(sandbox: Any) -> dict[int, str]:
    """Featured post ids by exact liker count (default world: 333, 1000, 7, 0)."""
    return {int(p["likers"]): str(p["id"]) for p in sandbox.admin.world()["featured_posts"]}


@pytest.fixture
def bearer(x_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", x_sandbox.conn_json("bearer"))
    return x_sandbox


@pytest.fixture
def user_ctx(x_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", x_sandbox.conn_json("oauth2_user"))
    return x_sandbox


def requests_to(sandbox: Any, endpoint: str) -> int:
    return int(sandbox.admin.request_counts()["by_endpoint"][endpoint])


# --------------------------------------------------------------------------- XCom output
def test_liking_users_to_xcom(bearer: Any, run_dag: Any) -> None:
    posts = featured(bearer)
    result = run_dag(
        dag_source(
            f"""
XLikingUsersOperator(task_id="seven", tweet_id={posts[7]!r}, user_fields=["created_at", "public_metrics"])
XLikingUsersOperator(task_id="none", tweet_id={posts[0]!r})
"""
        )
    )
    assert result.state == "success"
    seven = result.xcom("seven")
    assert [u["id"] for u in seven] == bearer.admin.likers(posts[7])
    assert all({"id", "name", "username", "created_at", "public_metrics"} <= set(u) for u in seven)
    assert all("liked_tweet_id" not in u for u in seven)  # XCom records are the API's, unchanged
    assert result.xcom("none") == []
    assert requests_to(bearer, "liking_users") == 2


@pytest.mark.x_sandbox(clean=True)  # exact pages: no short or empty last page
def test_liked_tweets_to_xcom(user_ctx: Any, run_dag: Any) -> None:
    result = run_dag(
        dag_source(
            f"""
XLikedTweetsOperator(task_id="mine", user_id={user_ctx.user_id!r}, max_records=42, max_results=20,
                     tweet_fields="created_at,author_id")
"""
        )
    )
    assert result.state == "success"
    posts = result.xcom("mine")
    assert [p["id"] for p in posts] == user_ctx.admin.liked(user_ctx.user_id)[:42]
    assert all("author_id" in p for p in posts)
    assert requests_to(user_ctx, "liked_tweets") == 3  # 20 + 20 + 2: max_records costs no extra request


@pytest.mark.x_sandbox(clean=True)  # exact pages: no short or empty last page
def test_xcom_limit_fails_early_and_points_to_output_path(user_ctx: Any, run_dag: Any) -> None:
    body = f'XLikedTweetsOperator(task_id="big", user_id="{user_ctx.user_id}", xcom_max_bytes=12000, max_results=10)'
    result = run_dag(dag_source(body))
    assert result.states() == {("big", -1): "failed"}
    assert result.xcom("big") is None
    # the ~150 liked posts expected will not fit at the size of the first 10: stopped after one page of 10
    assert requests_to(user_ctx, "liked_tweets") == 1


@pytest.mark.x_sandbox(clean=True, liking_users_cap=None)  # pages past the 100 likers X lists
def test_without_the_count_lookup_the_xcom_limit_stops_at_the_page_that_crosses_it(bearer: Any, run_dag: Any) -> None:
    posts = featured(bearer)
    body = f'XLikingUsersOperator(task_id="big", tweet_id={posts[1000]!r}, xcom_max_bytes=12000, lookup_total=False)'
    result = run_dag(dag_source(body))
    assert result.states() == {("big", -1): "failed"}
    assert requests_to(bearer, "liking_users") == 2


def test_xcom_is_limited_by_size_only(x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """1,234 liking users with fields are ~150 KB of JSON: well within the default 1 MiB."""
    sandbox = x_sandbox_factory(post_likes=["1354143047324299264:1234"], liking_users_cap=None)  # X lists 100
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("bearer"))
    result = run_dag(
        dag_source(
            'XLikingUsersOperator(task_id="t", tweet_id="1354143047324299264", '
            'user_fields=["created_at", "username", "public_metrics"])'
        )
    )
    assert result.state == "success"
    users = result.xcom("t")
    assert [u["id"] for u in users] == sandbox.admin.likers("1354143047324299264")
    assert 100_000 < len(json.dumps(users)) < XCOM_MAX_BYTES


@pytest.mark.x_sandbox(clean=True)  # exact pages: no short or empty last page
def test_a_failed_xcom_limit_is_not_retried(user_ctx: Any, run_dag: Any) -> None:
    body = (
        f'XLikedTweetsOperator(task_id="big", user_id="{user_ctx.user_id}", xcom_max_bytes=12000, max_results=10, '
        "retries=3)"
    )
    result = run_dag(dag_source(body))
    assert result.states() == {("big", -1): "failed"}  # failed at once, not up_for_retry
    assert requests_to(user_ctx, "liked_tweets") == 1


def test_no_xcom_limit_with_an_object_storage_xcom_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    op = XLikingUsersOperator(task_id="t", tweet_id="20")
    assert op.xcom_limit == XCOM_MAX_BYTES
    monkeypatch.setenv(
        "AIRFLOW__CORE__XCOM_BACKEND", "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend"
    )
    assert op.xcom_limit is None
    assert XLikingUsersOperator(task_id="u", tweet_id="20", xcom_max_bytes=10).xcom_limit == 10


# --------------------------------------------------------------------------- object storage output
@pytest.mark.x_sandbox(clean=True, liking_users_cap=None)  # exact pages, past the 100 likers X lists
def test_liking_users_to_files_read_back(bearer: Any, run_dag: Any, tmp_path: Path) -> None:
    posts = featured(bearer)
    out = tmp_path / "likes"
    result = run_dag(
        dag_source(
            f"""
XLikingUsersOperator(
    task_id="collect",
    tweet_id="{{{{ params.post }}}}",
    user_fields="{{{{ params.fields }}}}",
    output_path="file://{out}",
    compression="gzip",
    part_records=250,
)
""",
            params={"post": posts[1000], "fields": "created_at,verified"},
        )
    )
    assert result.state == "success"
    manifest = result.xcom("collect")
    truth = bearer.admin.likers(posts[1000])
    assert manifest["format"] == MANIFEST_FORMAT
    assert manifest["endpoint"] == "liking_users"
    assert manifest["tweet_id"] == posts[1000]
    assert manifest["record_count"] == 1000
    assert manifest["pages"] == 10
    assert manifest["errors"] == 0
    assert manifest["complete"] is True
    assert manifest["parameters"]["user_fields"] == ["created_at", "verified"]
    assert set(manifest["window"]) == {"started_at", "finished_at"}
    assert len(manifest["files"]) == 4  # 250 records a part, cut at page boundaries: 300, 300, 300, 100
    assert all(f.startswith(f"file://{out}/dag_id=") and f.endswith(".jsonl.gz") for f in manifest["files"])

    records = list(iter_records(read_manifest(manifest["manifest"])))
    ids = [r["id"] for r in records]
    assert ids == truth  # same ids, same order (newest like first), no duplicates
    assert len(set(ids)) == len(ids)
    assert {r["liked_tweet_id"] for r in records} == {posts[1000]}
    assert not (out / STAGING_DIR).exists()

    # the output location is the task's outlet: an asset event carries the manifest
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        events = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == f"file://{out}")
            .all()
        )
        assert [e.extra["manifest"] for e in events] == [manifest["manifest"]]
        assert events[0].extra["record_count"] == 1000


def test_liking_users_to_s3_with_joins_and_partial_errors(bearer: Any, run_dag: Any, s3_bucket: str) -> None:
    bearer.admin.set_quirks(partial_errors=True, short_pages=True, empty_last_page=True, liking_users_cap=None)
    posts = featured(bearer)
    uri = f"s3://aws_default@{s3_bucket}/likes/liking_users"
    result = run_dag(
        dag_source(
            f"""
XLikingUsersOperator(
    task_id="collect",
    tweet_id={posts[333]!r},
    user_fields=["pinned_tweet_id"],
    expansions=["pinned_tweet_id"],
    tweet_fields=["created_at"],
    join_includes=True,
    output_path={uri!r},
    part_records=100,
)
"""
        )
    )
    assert result.state == "success"
    manifest = result.xcom("collect")
    assert all(f.startswith(f"s3://aws_default@{s3_bucket}/likes/liking_users/dag_id=") for f in manifest["files"])
    records = list(iter_records(manifest))
    assert [r["id"] for r in records] == bearer.admin.likers(posts[333])
    assert manifest["record_count"] == 333
    # pinned posts that were found are joined; the deleted ones are partial errors, counted and kept
    joined = [r for r in records if "includes" in r]
    assert joined
    assert all(r["includes"]["pinned_tweet"]["id"] == r["pinned_tweet_id"] for r in joined)
    missing = [r for r in records if "pinned_tweet_id" in r and "includes" not in r]
    assert missing
    assert manifest["errors"] >= len({r["pinned_tweet_id"] for r in missing})
    errors = list(iter_errors(manifest))
    assert len(errors) == manifest["errors"]
    assert {r["pinned_tweet_id"] for r in missing} <= {str(e.get("resource_id") or e.get("value")) for e in errors}
    # staging is gone from the bucket; the manifest is found by a reader listing the location
    assert [str(m) for m in find_manifests(uri)] == [manifest["manifest"]]


def test_liked_tweets_to_s3_with_author_join(user_ctx: Any, run_dag: Any, s3_bucket: str) -> None:
    uri = f"s3://aws_default@{s3_bucket}/likes/liked"
    result = run_dag(
        dag_source(
            f"""
XLikedTweetsOperator(
    task_id="collect",
    user_id={user_ctx.user_id!r},
    tweet_fields="author_id,created_at",
    user_fields="username",
    expansions="author_id",
    join_includes=True,
    output_path={uri!r},
    compression="gzip",
)
"""
        )
    )
    assert result.state == "success"
    manifest = result.xcom("collect")
    records = list(iter_records(manifest))
    assert [r["id"] for r in records] == user_ctx.admin.liked(user_ctx.user_id)
    assert manifest["user_id"] == user_ctx.user_id
    assert all(r["liking_user_id"] == user_ctx.user_id for r in records)
    assert all(r["includes"]["author"]["id"] == r["author_id"] for r in records)


def test_rerun_of_the_same_task_instance_replaces_its_output(bearer: Any, tmp_path: Path) -> None:
    """A retry (same dag_id/run_id/task_id/map_index) overwrites its own output: no duplicates."""
    from airflow_provider_xlikes.output import OutputWriter, RunKey

    posts = featured(bearer)
    key = RunKey("d", "r", "t")
    stale = OutputWriter(tmp_path, key, part_records=2).open()
    stale.write_page([{"id": "stale"}] * 5, next_token="x")  # a crashed first attempt
    stale.abort()
    from airflow_provider_xlikes.hooks.x import XHook

    with OutputWriter(tmp_path, key, part_records=2) as writer:
        for page in XHook().iter_liking_users(posts[7], max_results=3):
            writer.write_page(page.data, errors=page.errors, next_token=page.next_token)
        manifest = writer.commit()
    assert [r["id"] for r in iter_records(manifest)] == bearer.admin.likers(posts[7])


# --------------------------------------------------------------------------- mapping and rate limits
def test_mapped_listing_tasks_share_one_table(
    x_sandbox_factory: Any, run_dag: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a short rate-limit window so the mapped tasks (136 requests) run into the 75-request limit
    sandbox = x_sandbox_factory(window_seconds=2, liking_users_cap=None)  # pages past the 100 likers X lists
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("bearer"))
    posts = featured(sandbox)
    out = tmp_path / "table"
    result = run_dag(
        dag_source(
            f"""
XLikingUsersOperator.partial(
    task_id="collect", output_path="file://{out}", max_results=10, outlets=[output_asset("file://{out}")]
).expand(tweet_id={sorted(posts.values())!r})
"""
        )
    )
    assert result.state == "success", result.states()
    assert sorted(result.states().values()) == ["success"] * 4
    manifests = [read_manifest(m) for m in find_manifests(out)]
    assert sorted(m["tweet_id"] for m in manifests) == sorted(posts.values())
    assert sorted(m["run"]["map_index"] for m in manifests) == [0, 1, 2, 3]
    table = [r for m in manifests for r in iter_records(m)]
    by_post: dict[str, list[str]] = {}
    for record in table:
        by_post.setdefault(record["liked_tweet_id"], []).append(record["id"])
    for count, post in posts.items():
        assert by_post.get(post, []) == sandbox.admin.likers(post), count
    counts = sandbox.admin.request_counts()
    assert counts["by_endpoint"]["liking_users"] >= 136
    # the shared x-rate-limit-remaining is respected: at most one 429 per task (a task starting blind
    # into an exhausted window), never a storm
    assert counts["by_status"].get("429", 0) <= 4, counts


# --------------------------------------------------------------------------- like / unlike
def test_like_and_unlike(user_ctx: Any, run_dag: Any) -> None:
    me = user_ctx.user_id
    liked = user_ctx.admin.liked(me)
    chosen = liked[:3]
    result = run_dag(dag_source(f'XUnlikeOperator(task_id="unlike", tweet_id={chosen!r})'))
    assert result.state == "success"
    assert result.xcom("unlike") == {t: {"liked": False, "applied": True} for t in chosen}
    assert not set(chosen) & set(user_ctx.admin.liked(me))

    # unliking again (not liked) succeeds; liking back, mapped, with one already liked among them
    result = run_dag(
        dag_source(
            f"""
unlike_again = XUnlikeOperator(task_id="unlike_again", tweet_id={chosen[0]!r}, user_id={me!r})
like = XLikeOperator.partial(task_id="like").expand(tweet_id={[*chosen, liked[5]]!r})
unlike_again >> like
"""
        )
    )
    assert result.state == "success", result.states()
    assert result.xcom("unlike_again") == {chosen[0]: {"liked": False, "applied": True}}
    assert [result.xcom("like", i) for i in range(4)] == [
        {t: {"liked": True, "applied": True}} for t in [*chosen, liked[5]]
    ]
    assert set(chosen) <= set(user_ctx.admin.liked(me))
    assert requests_to(user_ctx, "likes_create") == 4


def test_like_of_a_missing_post_fails_after_the_others(user_ctx: Any, run_dag: Any) -> None:
    featured_post = featured(user_ctx)[7]
    result = run_dag(dag_source(f'XLikeOperator(task_id="like", tweet_id=["1", {featured_post!r}])'))
    assert result.states() == {("like", -1): "failed"}
    assert result.xcom("like", key="results") == {
        "1": {"liked": False, "applied": False},
        featured_post: {"liked": True, "applied": True},
    }


def test_likes_wait_for_the_window_instead_of_hitting_it(
    x_sandbox_factory: Any, run_dag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = x_sandbox_factory(window_seconds=2, me_likes=120)
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("oauth2_user"))
    chosen = sandbox.admin.liked(sandbox.user_id)[:60]  # more than the 50 per window
    result = run_dag(dag_source(f'XUnlikeOperator(task_id="unlike", tweet_id={chosen!r})'))
    assert result.state == "success"
    counts = sandbox.admin.request_counts()
    assert counts["by_endpoint"]["likes_delete"] == 60
    assert "429" not in counts["by_status"], counts


# --------------------------------------------------------------------------- bad input
def test_templated_bad_input_is_rejected_before_any_request(user_ctx: Any, run_dag: Any, tmp_path: Path) -> None:
    posts = featured(user_ctx)
    result = run_dag(
        dag_source(
            f"""
XLikingUsersOperator(task_id="bad_id", tweet_id="{{{{ params.bad_id }}}}")
XLikingUsersOperator(task_id="bad_field", tweet_id={posts[7]!r}, user_fields="{{{{ params.bad_field }}}}")
XLikingUsersOperator(task_id="bad_expansion", tweet_id={posts[7]!r}, expansions="{{{{ params.tweet_exp }}}}")
XLikedTweetsOperator(task_id="bad_user", user_id="{{{{ params.bad_id }}}}", output_path="file://{tmp_path}")
XLikedTweetsOperator(task_id="bad_media", user_id={user_ctx.user_id!r}, media_fields="{{{{ params.bad_field }}}}")
XLikingUsersOperator(task_id="bad_path", tweet_id={posts[7]!r}, output_path="{{{{ params.empty }}}}")
XLikeOperator(task_id="bad_like", tweet_id=["{{{{ params.good }}}}", "{{{{ params.bad_id }}}}"])
XUnlikeOperator(task_id="bad_unlike_user", tweet_id={posts[7]!r}, user_id="{{{{ params.bad_id }}}}")
""",
            params={
                "bad_id": "12a",
                "bad_field": "id,no_such_field",
                "tweet_exp": "author_id",
                "empty": " ",
                "good": posts[7],
            },
        )
    )
    states = result.states()
    assert len(states) == 8
    assert set(states.values()) == {"failed"}, states
    assert user_ctx.admin.request_counts()["total"] == 0


@pytest.mark.parametrize(
    ("factory", "parameter"),
    [
        (lambda: XLikingUsersOperator(task_id="t", tweet_id="abc"), "tweet_id"),
        (lambda: XLikingUsersOperator(task_id="t", tweet_id=20, max_results=101), "max_results"),
        (lambda: XLikedTweetsOperator(task_id="t", user_id="1", max_results=4), "max_results"),
        (lambda: XLikingUsersOperator(task_id="t", tweet_id="20", max_records=0), "max_records"),
        (lambda: XLikingUsersOperator(task_id="t", tweet_id="20", user_fields=["nope"]), "user_fields"),
        (lambda: XLikedTweetsOperator(task_id="t", user_id="1", poll_fields="nope"), "poll_fields"),
        (lambda: XLikingUsersOperator(task_id="t", tweet_id="20", expansions="author_id"), "expansions"),
        (lambda: XLikingUsersOperator(task_id="t", tweet_id="20", compression="zip"), "compression"),  # type: ignore[arg-type]
        (lambda: XLikingUsersOperator(task_id="t", tweet_id="20", compression_level=1), "compression_level"),
        (
            lambda: XLikedTweetsOperator(task_id="t", user_id="1", compression="gzip", compression_level=10),
            "compression_level",
        ),
        (lambda: XLikingUsersOperator(task_id="t", tweet_id="20", part_records=0), "part_records"),
        (lambda: XLikingUsersOperator(task_id="t", tweet_id="20", xcom_max_bytes=0), "xcom_max_bytes"),
        (lambda: XLikingUsersOperator(task_id="t", tweet_id="20\n"), "tweet_id"),
        (lambda: XLikingUsersOperator(task_id="t", tweet_id="20", user_fields=5), "user_fields"),
        (lambda: XLikingUsersOperator(task_id="t", tweet_id="20", user_fields=[1]), "user_fields"),
        (lambda: XLikingUsersOperator(task_id="t", tweet_id="20", output_path=""), "output_path"),
        (lambda: XLikeOperator(task_id="t", tweet_id=[]), "tweet_id"),
        (lambda: XLikeOperator(task_id="t", tweet_id=["1", "x"]), "tweet_id"),
        (lambda: XLikeOperator(task_id="t", tweet_id=[str(i) for i in range(1, 1002)]), "tweet_id"),
        (lambda: XUnlikeOperator(task_id="t", tweet_id="1", user_id="me"), "user_id"),
    ],
)
def test_static_bad_input_is_rejected_when_the_dag_is_parsed(factory: Any, parameter: str) -> None:
    with pytest.raises(XValidationError) as excinfo:
        factory()
    assert excinfo.value.parameter == parameter


def test_templated_values_are_not_checked_at_parse_time() -> None:
    op = XLikingUsersOperator(
        task_id="t", tweet_id="{{ params.post }}", user_fields="{{ params.f }}", output_path="{{ params.out }}"
    )
    assert op.outlets == []  # a templated location cannot be an outlet at parse time: pass outlets=
    static = XLikingUsersOperator(task_id="s", tweet_id="20", output_path="s3://aws_default@bucket/likes/")
    assert [a.uri for a in static.outlets] == ["s3://bucket/likes"]
    assert output_asset("s3://aws_default@bucket/likes").uri == "s3://bucket/likes"
    assert Counter(XLikeOperator.template_fields) == Counter(["x_conn_id", "tweet_id", "user_id"])
    assert Counter(XLikingUsersOperator.template_fields) == Counter(
        ["x_conn_id", "tweet_id", "user_fields", "tweet_fields", "expansions", "output_path"]
    )


def test_partial_errors_reach_xcom_too(bearer: Any, run_dag: Any) -> None:
    bearer.admin.set_quirks(partial_errors=True, liking_users_cap=None)  # all 333 likers (X lists 100)
    posts = featured(bearer)
    result = run_dag(
        dag_source(
            f"""
XLikingUsersOperator(task_id="t", tweet_id={posts[333]!r}, user_fields="pinned_tweet_id",
                     expansions="pinned_tweet_id", join_includes=True)
"""
        )
    )
    assert result.state == "success"
    users = result.xcom("t")
    errors = result.xcom("t", key="errors")
    assert len(users) == 333
    assert errors
    assert any("includes" in u for u in users)


def test_output_path_as_object_storage_path(bearer: Any, run_dag: Any, tmp_path: Path) -> None:
    posts = featured(bearer)
    result = run_dag(
        dag_source(
            f"""
from airflow.sdk import ObjectStoragePath
XLikingUsersOperator(task_id="t", tweet_id={posts[7]!r}, output_path=ObjectStoragePath("file://{tmp_path}/osp"))
"""
        )
    )
    assert result.state == "success"
    manifest = result.xcom("t")
    assert [r["id"] for r in iter_records(manifest)] == bearer.admin.likers(posts[7])


def readme_example() -> str:
    """The first Python block of docs/operators.md, as a user would copy it."""
    page = (Path(__file__).resolve().parents[2] / "docs/operators.md").read_text()
    section = page[page.index("## The operators") :]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.x_sandbox(liking_users_cap=None)  # all 333 likers (X lists 100)
def test_readme_example(user_ctx: Any, run_dag: Any, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_X_USER_ID", user_ctx.user_id)
    post = featured(user_ctx)[333]
    source = (
        readme_example()
        .replace('"x_likes"', '"DAG_ID"')
        .replace("my-bucket", s3_bucket)
        .replace("1354143047324299264", post)
    )
    result = run_dag(source)
    assert result.state == "success", result.states()
    likers = result.xcom("likers")
    assert [r["id"] for r in iter_records(likers)] == user_ctx.admin.likers(post)
    assert likers["asset"] == f"s3://{s3_bucket}/x/liking_users"
    liked = result.xcom("liked")
    assert liked["record_count"] == len(user_ctx.admin.liked(user_ctx.user_id))


# --------------------------------------------------------------------------- nothing the API returned is dropped
def test_includes_are_kept_without_joining_in_files_and_in_xcom(user_ctx: Any, run_dag: Any, tmp_path: Path) -> None:
    out = (tmp_path / "liked").as_uri()
    result = run_dag(
        dag_source(
            f"""
XLikedTweetsOperator(task_id="files", user_id={user_ctx.user_id!r}, tweet_fields=["author_id"],
                     expansions=["author_id"], output_path={out!r}, part_records=50)
XLikedTweetsOperator(task_id="xcom", user_id={user_ctx.user_id!r}, tweet_fields=["author_id"],
                     expansions=["author_id"])
"""
        )
    )
    assert result.state == "success", result.states()
    manifest = result.xcom("files")
    records = list(iter_records(manifest))
    assert records and all("includes" not in r for r in records)  # not joined
    assert manifest["include_files"] and manifest["includes"] > 0
    authors = {i.object["id"] for i in iter_includes(manifest) if i.kind == "users"}
    assert {r["author_id"] for r in records} <= authors  # every author the API sent is kept
    included = result.xcom("xcom", key="includes")
    assert {u["id"] for u in included["users"]} == authors
    assert len({u["id"] for u in included["users"]}) == len(included["users"])  # each object once in XCom


@pytest.mark.slow
def test_parquet_output_reads_back_with_pyarrow_to_the_same_ids(
    x_sandbox_factory: Any, run_dag: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    sandbox = x_sandbox_factory(post_likes=["1354143047324299264:100000"], rate_limits=False, liking_users_cap=None)
    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", sandbox.conn_json("bearer"))
    body = ""
    for name, fmt in (("as_json", "jsonl"), ("as_parquet", "parquet")):
        out = (tmp_path / name).as_uri()
        body += (
            f'XLikingUsersOperator(task_id={name!r}, tweet_id="1354143047324299264", output_format={fmt!r}, '
            f'user_fields=["created_at", "public_metrics"], output_path={out!r})\n'
        )
    result = run_dag(dag_source(body))
    assert result.state == "success", result.states()
    as_json, as_parquet = result.xcom("as_json"), result.xcom("as_parquet")
    json_ids = [r["id"] for r in iter_records(as_json)]
    parquet_ids: list[str] = []
    for uri in as_parquet["files"]:
        table = pq.read_table(uri.removeprefix("file://"))
        assert table.schema.field("id").type == "string"
        assert table.schema.field("public_metrics").type.num_fields >= 4  # nested: a struct, not text
        parquet_ids += table.column("id").to_pylist()
    assert len(json_ids) == 100_000
    assert parquet_ids == json_ids
    assert as_parquet["output_format"] == "parquet" and all(f.endswith(".parquet") for f in as_parquet["files"])


def test_an_output_path_no_file_system_serves_fails_before_any_request(bearer: Any, run_dag: Any) -> None:
    result = run_dag(dag_source('XLikingUsersOperator(task_id="t", tweet_id="20", output_path="ftp:/", retries=2)'))
    assert result.states() == {("t", -1): "failed"}
    assert requests_to(bearer, "liking_users") == 0


def test_output_format_is_checked_when_the_dag_is_parsed() -> None:
    with pytest.raises(XValidationError) as info:
        XLikingUsersOperator(task_id="t", tweet_id="20", output_format="csv")
    assert info.value.parameter == "output_format"
    assert "parquet" in str(info.value)
