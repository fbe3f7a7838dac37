"""The sandbox is as strict as X by default (issue 19): app-only tokens have no user, the paging
quirks come at seeded rates, scopes are enforced, X's 403s are faults, private-likes bodies are
complete, the 24-hour like limit shows only in its 429, and the count lookups agree with the world."""

from __future__ import annotations

import json

import pytest
from sandbox_helpers import Client, featured

PROBLEMS = "https://api.twitter.com/2/problems/"
FORBIDDEN = {"title": "Forbidden", "type": "about:blank", "status": 403, "detail": "Forbidden"}


# ------------------------------------------------------------------------------------ app-only auth
def test_an_app_only_token_has_no_user_behind_it(x_sandbox, client):
    me = x_sandbox.user_id
    r = client.liking_users(featured(x_sandbox, 7))
    assert r.status_code == 200 and len(r.json()["data"]) == 7
    assert client.liked_tweets(me).json() == {"meta": {"result_count": 0}}  # even "its own" user's likes
    for r in (client.get("/2/users/me"), client.request("POST", f"/2/users/{me}/likes", json={"tweet_id": "1"})):
        assert r.status_code == 403 and r.json()["type"] == PROBLEMS + "unsupported-authentication"
    assert client.request("DELETE", f"/2/users/{me}/likes/1").status_code == 403
    assert client.get(f"/2/tweets/{featured(x_sandbox, 7)}").status_code == 200
    assert client.get(f"/2/users/{me}").json()["data"]["id"] == me
    x_sandbox.admin.set_quirks(private_likes="403")
    assert client.liked_tweets(me).json()["type"] == PROBLEMS + "not-authorized-for-resource"


@pytest.mark.x_sandbox(app_only="owner")  # the 2021–22 recordings: the app acts as its owner
def test_the_recorded_permissive_app_only_behaviour_is_a_switch(x_sandbox, client):
    me = x_sandbox.user_id
    assert [p["id"] for p in client.page_all(f"/2/users/{me}/liked_tweets")[0]] == x_sandbox.admin.liked(me)
    assert client.get("/2/users/me").status_code == 403  # never documented for app-only


# ----------------------------------------------------------------------------------- paging quirks
def _listings(sandbox, client: Client) -> list[list[dict]]:
    """The bodies of many listings: likers of 40 posts (10 a page) and my liked posts (5 a page)."""
    posts = sandbox.admin.liked(sandbox.user_id)[:40]
    out = [client.page_all(f"/2/tweets/{p}/liking_users", max_results=10)[1] for p in posts]
    params = {"max_results": 5, "expansions": "referenced_tweets.id,entities.mentions.username"}
    out.append(client.page_all(f"/2/users/{sandbox.user_id}/liked_tweets", **params)[1])
    return out


def test_paging_quirks_are_on_by_default_at_seeded_rates(x_sandbox_factory):
    first, second = x_sandbox_factory(rate_limits=False), x_sandbox_factory(rate_limits=False)
    listings = _listings(first, Client(first, "oauth2_user"))
    assert listings == _listings(second, Client(second, "oauth2_user")), "the same seed, the same pages"
    pages = [b for bodies in listings for b in bodies]
    full_size = {id(b): 5 if bodies is listings[-1] else 10 for bodies in listings for b in bodies}
    inner = [b for bodies in listings for b in bodies[:-1]]
    short = [b for b in inner if b["meta"]["result_count"] < full_size[id(b)]]
    assert all("next_token" in b["meta"] for b in short)
    assert 0.02 < len(short) / len(inner) < 0.25, f"{len(short)} of {len(inner)} pages short"
    long_enough = [bodies for bodies in listings if len(bodies) > 1]
    empty_last = [bodies for bodies in long_enough if bodies[-1] == {"meta": bodies[-1]["meta"]}]
    assert all(set(b[-1]["meta"]) == {"result_count", "previous_token"} for b in empty_last)
    assert 0.05 < len(empty_last) / len(long_enough) < 0.5, f"{len(empty_last)} of {len(long_enough)}"
    assert any("errors" in b and "data" in b for b in pages), "partial errors inside a 200"
    first.admin.set_quirks(clean=True)
    for bodies in _listings(first, Client(first, "oauth2_user")):
        size = 10 if bodies[0]["data"][0].get("username") else 5
        assert all(b["meta"]["result_count"] == size for b in bodies[:-1]) and "data" in bodies[-1]
        assert not any("errors" in b for b in bodies)


def test_clean_is_a_fixture_option(x_sandbox_factory):
    quirks = x_sandbox_factory(clean=True).admin.quirks()
    assert (quirks["short_pages"], quirks["empty_last_page"], quirks["partial_errors"]) == (0, 0, 0)
    quirks = x_sandbox_factory(clean=True, short_pages=0.5).admin.quirks()  # explicit quirks win
    assert (quirks["short_pages"], quirks["empty_last_page"]) == (0.5, 0)


# ------------------------------------------------------------------------------------------- scopes
@pytest.mark.parametrize(
    ("scopes", "reads", "writes"),
    [("tweet.read users.read offline.access", 403, 403), ("tweet.read users.read like.read", 200, 403)],
)
def test_scopes_are_enforced_with_the_real_error(x_sandbox_factory, scopes, reads, writes):
    sandbox = x_sandbox_factory(scopes=scopes)
    user = Client(sandbox, "oauth2_user")
    me, post = sandbox.user_id, featured(sandbox, 7)
    for r in (user.liking_users(post), user.liked_tweets(me)):
        assert r.status_code == reads
        if reads == 403:
            assert r.json() == FORBIDDEN and r.headers["content-type"] == "application/problem+json"
    r = user.request("POST", f"/2/users/{me}/likes", json={"tweet_id": post})
    assert r.status_code == writes and r.json() == FORBIDDEN
    assert user.get("/2/users/me").status_code == 200  # tweet.read users.read suffice
    assert user.get(f"/2/tweets/{post}").status_code == 200
    assert Client(sandbox, "oauth1_user").liking_users(post).status_code == 200  # no scopes in OAuth 1.0a


# ------------------------------------------------------------------------------------- X's 403s
def test_client_forbidden_fault(x_sandbox, client):
    x_sandbox.admin.set_faults("client_forbidden,endpoint=liking_users")
    r = client.liking_users(featured(x_sandbox, 7))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == PROBLEMS + "client-forbidden" and body["title"] == "Client Forbidden"
    assert body["reason"] == "client-not-enrolled" and body["required_enrollment"] == "Appropriate Level of API Access"
    assert body["client_id"].isdigit() and body["registration_url"].startswith("https://")
    assert client.liking_users(featured(x_sandbox, 7)).status_code == 200


def test_usage_capped_fault_is_a_429_with_room_in_the_window_or_a_403(x_sandbox, user_client):
    x_sandbox.admin.set_faults("usage_capped", "usage_capped,status=403")
    r = user_client.liked_tweets(x_sandbox.user_id)
    assert r.status_code == 429 and int(r.headers["x-rate-limit-remaining"]) > 0
    body = r.json()
    assert body["type"] == PROBLEMS + "usage-capped" and body["title"] == "UsageCapExceeded"
    assert (body["period"], body["scope"]) == ("Monthly", "Product")
    assert body["detail"] == "Usage cap exceeded: Monthly product cap"
    assert user_client.liked_tweets(x_sandbox.user_id).status_code == 403


@pytest.mark.parametrize(("mode", "kind"), [("403", "not-authorized-for-resource"), ("404", "resource-not-found")])
def test_private_likes_bodies_carry_what_the_spec_requires(x_sandbox, user_client, mode, kind):
    x_sandbox.admin.set_quirks(private_likes=mode)
    other = x_sandbox.admin.likers(featured(x_sandbox, 7))[0]
    body = user_client.liked_tweets(other).json()
    assert body["type"] == PROBLEMS + kind and body["status"] == int(mode)
    assert (body["resource_type"], body["parameter"], body["value"], body["resource_id"]) == (
        "user",
        "id",
        other,
        other,
    )
    assert ("section" in body) == (mode == "403")


# ------------------------------------------------------------------------------- 24-hour like limit
def test_no_24_hour_headers_unless_switched_on(x_sandbox, user_client):
    me, post = x_sandbox.user_id, featured(x_sandbox, 7)
    r = user_client.request("POST", f"/2/users/{me}/likes", json={"tweet_id": post})
    assert r.headers["x-rate-limit-limit"] == "50" and not any("24hour" in h for h in r.headers)
    x_sandbox.admin.set_quirks(daily_limit_headers=True)
    r = user_client.request("POST", f"/2/users/{me}/likes", json={"tweet_id": post})
    assert r.headers["x-user-limit-24hour-limit"] == "1000" and r.headers["x-user-limit-24hour-remaining"] == "998"


# ----------------------------------------------------------------------------------- count lookups
def _like_count(client: Client, post_id: str) -> int:
    r = client.get(f"/2/tweets/{post_id}", **{"tweet.fields": "public_metrics"})
    assert r.status_code == 200, r.text
    return int(r.json()["data"]["public_metrics"]["like_count"])


def test_post_lookup_like_count_is_the_worlds_liker_count(x_sandbox, client, user_client):
    me = x_sandbox.user_id
    ordinary = x_sandbox.admin.liked(me)[5]
    for post in (featured(x_sandbox, 1000), featured(x_sandbox, 0), ordinary):
        assert _like_count(client, post) == len(x_sandbox.admin.likers(post))
    post = featured(x_sandbox, 7)
    r = client.get(f"/2/tweets/{post}", **{"tweet.fields": "public_metrics,created_at"})
    assert r.headers["x-rate-limit-limit"] == "900"  # its own limit, not the listings' 75
    assert set(r.json()["data"]) == {"id", "text", "edit_history_tweet_ids", "public_metrics", "created_at"}
    x_sandbox.admin.add_likes(post, 5)
    user_client.request("POST", f"/2/users/{me}/likes", json={"tweet_id": post})
    assert _like_count(client, post) == 13
    x_sandbox.admin.remove_likes(post, 2)
    user_client.request("DELETE", f"/2/users/{me}/likes/{ordinary}")
    assert _like_count(client, post) == 11 and _like_count(client, ordinary) == len(x_sandbox.admin.likers(ordinary))
    assert client.get("/2/tweets/1").json()["errors"][0]["type"] == PROBLEMS + "resource-not-found"


def test_user_lookup_like_count_is_the_users_liked_count(x_sandbox, client, user_client):
    me, post = x_sandbox.user_id, featured(x_sandbox, 7)
    liker = x_sandbox.admin.likers(post)[0]
    for user in (me, liker):
        body = client.get(f"/2/users/{user}", **{"user.fields": "public_metrics"}).json()
        assert body["data"]["public_metrics"]["like_count"] == len(x_sandbox.admin.liked(user))
    user_client.request("POST", f"/2/users/{me}/likes", json={"tweet_id": post})
    body = client.get(f"/2/users/{me}", **{"user.fields": "public_metrics"}).json()
    assert body["data"]["public_metrics"]["like_count"] == 151
    body = client.get("/2/users/12").json()
    assert "data" not in body and body["errors"][0]["resource_type"] == "user"


def test_the_lookups_follow_the_post_naming(x_sandbox, client):
    x_sandbox.admin.set_quirks(naming="post")
    post = featured(x_sandbox, 7)
    data = client.get(f"/2/tweets/{post}", **{"post.fields": "public_metrics"}).json()["data"]
    assert "edit_history_post_ids" in data and "repost_count" in data["public_metrics"]
    assert json.dumps(data).count("retweet") == 0
