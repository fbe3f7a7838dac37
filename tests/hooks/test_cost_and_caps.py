"""The hook against X as it is billed and limited in 2026 (#25): the 100-liker cap, the cost of
what was read, the connection's prices, the monthly Post cap and ``GET /2/usage/tweets``, and the
Enterprise-only writes."""

from __future__ import annotations

import pytest
from helpers import featured

from airflow_provider_xlikes.exceptions import XForbiddenError, XUsageCappedError, XValidationError
from airflow_provider_xlikes.pricing import DEFAULT_PRICES
from airflow_provider_xlikes.version_compat import AirflowFailException


def test_a_post_with_50000_likes_lists_its_100_likers_in_one_request(x_sandbox_factory, connect) -> None:
    sandbox = x_sandbox_factory(post_likes=["1:50000"], clean=True)
    hook = connect(sandbox)
    users = hook.get_liking_users("1")
    assert [u["id"] for u in users] == sandbox.admin.likers("1", limit=50_000)[:100]
    assert sandbox.admin.total_requests("liking_users") == 1
    assert hook.like_count(hook_endpoint("liking_users"), "1") == 50_000
    assert hook.expected_total(hook_endpoint("liking_users"), "1") == 100


def hook_endpoint(name: str):
    from airflow_provider_xlikes.endpoints import ENDPOINTS

    return ENDPOINTS[name]


@pytest.mark.x_sandbox(clean=True)
def test_the_cost_meter_counts_what_the_sandbox_served(x_sandbox, connect) -> None:
    hook = connect(x_sandbox, "oauth1_user")  # the access token names the user: owned reads, no request
    me = x_sandbox.user_id
    posts = hook.get_liked_tweets(me, expansions="author_id", max_results=50)
    users = hook.get_liking_users(featured(x_sandbox, 333), expansions="pinned_tweet_id")
    served = x_sandbox.admin.served()
    assert len(posts) == 150 and len(users) == 100
    assert hook.costs.data == {"posts": 150, "users": 100}
    included = {kind: sum(p["includes"].get(kind, 0) for p in served.values()) for kind in ("users", "posts")}
    assert dict(hook.costs.includes) == {k: v for k, v in included.items() if v}
    owned = 150 * 0.001 + served["liked_tweets"]["includes"].get("users", 0) * 0.001
    others = 100 * 0.010 + served["liking_users"]["includes"].get("posts", 0) * 0.005
    assert hook.costs.usd == pytest.approx(owned + others)
    assert hook.costs.requests == x_sandbox.admin.total_requests()


def test_prices_from_the_connection_replace_x_published_ones(x_sandbox, connect) -> None:
    hook = connect(x_sandbox, prices={"users": 0.002, "includes_billed": False})
    hook.get_liking_users(featured(x_sandbox, 7))
    assert hook.costs.usd == pytest.approx(7 * 0.002)
    assert hook.costs.prices.source == "connection extra 'prices'"
    assert DEFAULT_PRICES.read["users"] == 0.010


@pytest.mark.parametrize(
    ("prices", "named"),
    [
        ({"posts": -0.001}, "extra prices.posts"),
        ({"posts": "cheap"}, "extra prices.posts"),
        ({"includes_billed": "no"}, "extra prices.includes_billed"),
        ({"post": 0.004}, "extra prices key 'post'"),
        ("not json", "extra prices"),
    ],
)
def test_bad_prices_are_rejected_before_any_request(x_sandbox, connect, prices, named) -> None:
    hook = connect(x_sandbox, prices=prices)
    with pytest.raises(XValidationError) as raised:
        hook.get_liking_users(featured(x_sandbox, 7))
    assert raised.value.parameter == named
    assert x_sandbox.admin.total_requests() == 0


def test_usage_capped_fails_at_once_without_waiting_or_retrying(x_sandbox, connect, waiter) -> None:
    hook = connect(x_sandbox, "oauth2_user")
    x_sandbox.admin.set_post_reads(2_000_000)  # the cycle's cap is spent
    with pytest.raises(XUsageCappedError) as raised:
        hook.get_liked_tweets(x_sandbox.user_id)
    assert isinstance(raised.value, AirflowFailException)
    assert raised.value.status == 429 and raised.value.period == "Monthly"
    assert "Post cap is spent" in str(raised.value) and "get_usage" in str(raised.value)
    assert x_sandbox.admin.total_requests("liked_tweets") == 1
    assert waiter.waits == []
    # the count lookup of a liking_users listing (a post) is capped too, and fails the same way
    with pytest.raises(XUsageCappedError):
        hook.expected_total(hook_endpoint("liking_users"), featured(x_sandbox, 7))


def test_usage_capped_fault_maps_like_the_real_cap(x_sandbox, connect) -> None:
    x_sandbox.admin.set_faults("usage_capped")
    with pytest.raises(XUsageCappedError):
        connect(x_sandbox).get_liking_users(featured(x_sandbox, 7))
    assert x_sandbox.admin.total_requests("liking_users") == 1


def test_get_usage_reports_what_the_sandbox_served(x_sandbox, connect) -> None:
    hook = connect(x_sandbox)  # bearer: X serves usage to app-only tokens only
    for post in x_sandbox.admin.world()["featured_posts"]:
        hook.like_count(hook_endpoint("liking_users"), post["id"])
    usage = hook.get_usage(daily=True)
    posts = len(x_sandbox.admin.world()["featured_posts"])
    assert usage["project_usage"] == posts == x_sandbox.admin.usage()["post_reads"]
    assert usage["project_cap"] == 2_000_000 and usage["remaining"] == 2_000_000 - posts
    assert [int(day["usage"]) for day in usage["daily_project_usage"]["usage"]] == [posts]
    with pytest.raises(XValidationError):
        hook.get_usage(days=91)
    assert x_sandbox.admin.total_requests("usage_tweets") == 1


def test_get_usage_with_a_user_token_names_the_auth_that_works(x_sandbox, connect) -> None:
    with pytest.raises(XForbiddenError) as raised:
        connect(x_sandbox, "oauth2_user").get_usage()
    assert raised.value.working_auth_types == ("bearer",)
    assert "auth_type 'bearer'" in str(raised.value)


@pytest.mark.x_sandbox(self_serve=True)
def test_a_self_serve_app_is_told_that_likes_need_enterprise(x_sandbox, connect) -> None:
    hook = connect(x_sandbox, "oauth2_user")
    for write in (hook.like, hook.unlike):
        with pytest.raises(XForbiddenError) as raised:
            write(featured(x_sandbox, 7), user_id=x_sandbox.user_id)
        assert raised.value.enterprise_only and raised.value.reason == "client-forbidden"
        assert "Enterprise" in str(raised.value) and "self-serve" in str(raised.value)
    counts = x_sandbox.admin.request_counts()["by_endpoint"]
    assert counts["likes_create"] == 1 and counts["likes_delete"] == 1  # not retried
