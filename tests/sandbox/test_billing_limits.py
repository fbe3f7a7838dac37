"""X as it is billed and limited in 2026 (#25): the 100-liker cap, the monthly Post cap
(usage-capped, ``GET /2/usage/tweets``), the Enterprise-only writes, and the resources served."""

from __future__ import annotations

import pytest
from sandbox_helpers import Client, featured, validate

from airflow_provider_xlikes.sandbox.config import build_arg_parser, config_from_args


def test_liking_users_ends_after_100_accounts_while_like_count_stays_real(x_sandbox_factory):
    sb = x_sandbox_factory(post_likes=["1:50000"], clean=True)
    client = Client(sb)
    page = client.liking_users("1", max_results=100).json()
    assert page["meta"] == {"result_count": 100}
    assert len(page["data"]) == 100
    items, bodies = client.page_all("/2/tweets/1/liking_users", max_results=30)
    assert len(items) == 100 and len(bodies) == 4
    assert [u["id"] for u in items] == sb.admin.likers("1", limit=50_000)[:100]
    lookup = client.get("/2/tweets/1", **{"tweet.fields": "public_metrics"}).json()
    assert lookup["data"]["public_metrics"]["like_count"] == 50_000


@pytest.mark.x_sandbox(clean=True, liking_users_cap=None)  # the marker lifts the cap
def test_marker_lifts_the_cap(x_sandbox, client):
    items, _ = client.page_all(f"/2/tweets/{featured(x_sandbox, 333)}/liking_users")
    assert len(items) == 333


def test_factory_and_command_line_lift_the_cap(x_sandbox_factory):
    sb = x_sandbox_factory(post_likes=["1:250"], clean=True, liking_users_cap=None)
    items, _ = Client(sb).page_all("/2/tweets/1/liking_users")
    assert len(items) == 250
    parser = build_arg_parser()
    assert config_from_args(parser.parse_args(["--liking-users-cap", "none"])).quirks.liking_users_cap is None
    assert config_from_args(parser.parse_args(["--liking-users-cap", "7"])).quirks.liking_users_cap == 7
    assert config_from_args(parser.parse_args([])).quirks.liking_users_cap == 100
    with pytest.raises(ValueError, match="liking_users_cap"):
        config_from_args(parser.parse_args(["--liking-users-cap", "-1"]))


@pytest.mark.x_sandbox(clean=True, monthly_post_cap=120)
def test_usage_capped_as_x_sends_it_once_the_cycle_is_spent(x_sandbox):
    me = x_sandbox.admin.world()["me"]["id"]
    user = Client(x_sandbox, "oauth2_user")
    first = user.liked_tweets(me, max_results=100)
    assert first.status_code == 200 and len(first.json()["data"]) == 100
    second = user.liked_tweets(me, max_results=100, pagination_token=first.json()["meta"]["next_token"])
    assert second.status_code == 200  # 100 < 120: served (and billed) whole
    third = user.liked_tweets(me, max_results=100)
    assert third.status_code == 429
    body = third.json()
    assert body["type"] == "https://api.twitter.com/2/problems/usage-capped"
    assert body["title"] == "UsageCapExceeded" and body["period"] == "Monthly"
    assert int(third.headers["x-rate-limit-remaining"]) > 0  # the window still shows room
    # users are not Posts: liking_users goes on
    assert user.liking_users(featured(x_sandbox, 7)).status_code == 200
    assert x_sandbox.admin.usage()["post_reads"] == 150


def test_usage_endpoint_follows_what_was_served(x_sandbox, client, user_client):
    posts = [p["id"] for p in x_sandbox.admin.world()["featured_posts"]]
    for post in posts:
        assert client.get(f"/2/tweets/{post}").status_code == 200
    usage = client.get("/2/usage/tweets", **{"usage.fields": "daily_project_usage,project_usage"})
    assert usage.status_code == 200, usage.text
    data = usage.json()["data"]
    assert data["project_usage"] == len(posts)
    assert data["project_cap"] == 2_000_000
    assert [int(day["usage"]) for day in data["daily_project_usage"]["usage"]] == [len(posts)]
    for naming in ("tweet", "post"):  # v2.159 types the counts as integers, v2.167 as strings
        x_sandbox.admin.set_quirks(naming=naming)
        fields = {"usage.fields": "daily_project_usage,daily_client_app_usage"}
        validate(naming, "/2/usage/tweets", "get", client.get("/2/usage/tweets", **fields).json())
    x_sandbox.admin.set_quirks(naming="tweet")
    x_sandbox.admin.set_post_reads(1_999_000)
    assert client.get("/2/usage/tweets").json()["data"]["project_usage"] == 1_999_000
    # bearer only; days 1-90
    refused = user_client.get("/2/usage/tweets")
    assert refused.status_code == 403 and refused.json()["type"].endswith("/unsupported-authentication")
    assert client.get("/2/usage/tweets", days="0").status_code == 400
    assert int(usage.headers["x-rate-limit-limit"]) == 50


@pytest.mark.x_sandbox(self_serve=True)
def test_self_serve_app_gets_the_enterprise_only_403_on_writes(x_sandbox, user_client):
    me = x_sandbox.admin.world()["me"]["id"]
    post = featured(x_sandbox, 7)
    liked = user_client.request("POST", f"/2/users/{me}/likes", json={"tweet_id": post})
    assert liked.status_code == 403 and liked.json()["type"].endswith("/client-forbidden")
    unliked = user_client.request("DELETE", f"/2/users/{me}/likes/{post}")
    assert unliked.status_code == 403
    assert user_client.liking_users(post).status_code == 200  # reads are not affected
    x_sandbox.admin.set_quirks(self_serve=False)
    assert user_client.request("POST", f"/2/users/{me}/likes", json={"tweet_id": post}).json() == {
        "data": {"liked": True}
    }


@pytest.mark.x_sandbox(clean=True)
def test_admin_counts_the_resources_served(x_sandbox, user_client):
    me = x_sandbox.admin.world()["me"]["id"]
    user_client.liked_tweets(me, max_results=10, expansions="author_id")
    user_client.liking_users(featured(x_sandbox, 333), max_results=100)
    served = x_sandbox.admin.served()
    assert served["liked_tweets"]["data"] == {"posts": 10}
    assert 1 <= served["liked_tweets"]["includes"]["users"] <= 10
    assert served["liking_users"]["data"] == {"users": 100}
