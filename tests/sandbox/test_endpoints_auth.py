"""Endpoints, the three auth types, token lifetimes and rotation, rate limits, admin counters."""

from __future__ import annotations

import base64
import time

import pytest
import requests
from requests_oauthlib import OAuth1
from sandbox_helpers import Client, featured

from airflow_provider_xlikes.sandbox import fingerprint

UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}


def refresh(sandbox, refresh_token: str, public: bool = False) -> requests.Response:
    c = sandbox.credentials
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if public:
        data["client_id"] = c["client_id"]
        return requests.post(sandbox.url + "/2/oauth2/token", data=data, timeout=30)
    return requests.post(
        sandbox.url + "/2/oauth2/token", data=data, auth=(c["client_id"], c["client_secret"]), timeout=30
    )


@pytest.mark.x_sandbox(clean=True, liking_users_cap=None)  # exact pages, all 333 likers (X lists 100)
@pytest.mark.parametrize("auth_type", ["bearer", "oauth2_user", "oauth1_user"])
def test_liking_users_pages_match_ground_truth_for_every_auth_type(x_sandbox, auth_type):
    client = Client(x_sandbox, auth_type)
    post = featured(x_sandbox, 333)
    items, bodies = client.page_all(f"/2/tweets/{post}/liking_users", max_results=100)
    assert [u["id"] for u in items] == x_sandbox.admin.likers(post)
    assert len(items) == 333 == len(set(u["id"] for u in items))
    assert [b["meta"]["result_count"] for b in bodies] == [100, 100, 100, 33]
    assert set(items[0]) == {"id", "name", "username"}
    assert "previous_token" not in bodies[0]["meta"] and "previous_token" in bodies[1]["meta"]


def test_liked_tweets_of_me_match_ground_truth_and_default_fields(x_sandbox, user_client):
    me = x_sandbox.user_id
    items, _bodies = user_client.page_all(f"/2/users/{me}/liked_tweets", max_results=40)
    assert [p["id"] for p in items] == x_sandbox.admin.liked(me)
    assert len(items) == 150
    assert all(set(p) == {"id", "text", "edit_history_tweet_ids"} for p in items)
    assert all(p["edit_history_tweet_ids"] == [p["id"]] for p in items)


def test_post_with_no_likes_and_unknown_post(x_sandbox, client):
    assert client.liking_users(featured(x_sandbox, 0)).json() == {"meta": {"result_count": 0}}
    r = client.liking_users("1")
    assert r.status_code == 200 and r.json() == {"meta": {"result_count": 0}}


def test_unknown_user_liked_tweets_is_a_200_with_resource_not_found(client):
    r = client.liked_tweets("12")
    assert r.status_code == 200
    err = r.json()["errors"][0]
    assert err["type"] == "https://api.twitter.com/2/problems/resource-not-found"
    assert err["resource_type"] == "user" and err["value"] == "12" and "data" not in r.json()


@pytest.mark.parametrize(
    ("path", "param", "value", "message"),
    [
        (
            "/2/tweets/{post}/liking_users",
            "max_results",
            "0",
            "The `max_results` query parameter value [0] is not between 1 and 100",
        ),
        (
            "/2/tweets/{post}/liking_users",
            "max_results",
            "101",
            "The `max_results` query parameter value [101] is not between 1 and 100",
        ),
        (
            "/2/users/{me}/liked_tweets",
            "max_results",
            "3",
            "The `max_results` query parameter value [3] is not between 5 and 100",
        ),
        (
            "/2/tweets/{post}/liking_users",
            "pagination_token",
            "7140dibdnow9c7btw3z2vwioavpvutgzrzm9icis4ndix",
            "The `pagination_token` query parameter value [7140dibdnow9c7btw3z2vwioavpvutgzrzm9icis4ndix] is not valid",
        ),
    ],
)
def test_invalid_parameters_get_the_real_problem_shape(x_sandbox, client, path, param, value, message):
    path = path.format(post=featured(x_sandbox, 1000), me=x_sandbox.user_id)
    r = client.get(path, **{param: value})
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json() == {
        "errors": [{"parameters": {param: [value]}, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


def test_bad_path_ids_are_400(client):
    for path in (
        "/2/tweets/abc/liking_users",
        "/2/tweets/12345678901234567890/liking_users",
        "/2/users/-5/liked_tweets",
    ):
        r = client.get(path)
        assert r.status_code == 400, path
        assert r.json()["errors"][0]["message"].endswith("does not match ^[0-9]{1,19}$")


@pytest.mark.x_sandbox(liking_users_cap=None)  # a next_token of a post with more than 100 likers
def test_a_token_of_one_post_is_rejected_for_another(x_sandbox, client):
    token = client.liking_users(featured(x_sandbox, 1000)).json()["meta"]["next_token"]
    assert client.liking_users(featured(x_sandbox, 333), pagination_token=token).status_code == 400
    assert client.liking_users(featured(x_sandbox, 1000), pagination_token=token[:-1]).status_code == 400
    # tokens are opaque and leave the base32/base36 alphabets
    assert any(ch.isupper() for ch in token) or len(token) > 30


@pytest.mark.x_sandbox(daily_limit_headers=True)
@pytest.mark.parametrize("auth_type", ["oauth2_user", "oauth1_user"])
def test_like_and_unlike_change_both_listings(x_sandbox, auth_type):
    client = Client(x_sandbox, auth_type)
    me = x_sandbox.user_id
    post = featured(x_sandbox, 7)
    r = client.request("POST", f"/2/users/{me}/likes", json={"tweet_id": post})
    assert r.status_code == 200 and r.json() == {"data": {"liked": True}}
    assert r.headers["x-rate-limit-limit"] == "50"
    assert r.headers["x-user-limit-24hour-limit"] == "1000"
    likers = [u["id"] for u in client.liking_users(post).json()["data"]]
    assert likers[0] == me and len(likers) == 8
    liked = client.liked_tweets(me, max_results=5).json()
    assert liked["data"][0]["id"] == post and x_sandbox.admin.liked(me)[0] == post
    # liking twice is a no-op success
    assert client.request("POST", f"/2/users/{me}/likes", json={"tweet_id": post}).json() == {"data": {"liked": True}}
    assert len(x_sandbox.admin.likers(post)) == 8
    r = client.request("DELETE", f"/2/users/{me}/likes/{post}")
    assert r.status_code == 200 and r.json() == {"data": {"liked": False}}
    assert me not in x_sandbox.admin.likers(post) and len(x_sandbox.admin.likers(post)) == 7
    assert post not in x_sandbox.admin.liked(me)
    # unliking a post that is not liked succeeds
    assert client.request("DELETE", f"/2/users/{me}/likes/{post}").json() == {"data": {"liked": False}}


def test_unliking_a_base_like_removes_me_from_its_likers(x_sandbox, user_client):
    me = x_sandbox.user_id
    post = x_sandbox.admin.liked(me)[10]
    assert me in x_sandbox.admin.likers(post)
    assert user_client.request("DELETE", f"/2/users/{me}/likes/{post}").json() == {"data": {"liked": False}}
    assert me not in x_sandbox.admin.likers(post)
    assert post not in [p["id"] for p in user_client.page_all(f"/2/users/{me}/liked_tweets")[0]]
    assert len(x_sandbox.admin.liked(me)) == 149


def test_likes_mutations_are_refused_for_other_users_and_app_only(x_sandbox, client, user_client):
    other = x_sandbox.admin.likers(featured(x_sandbox, 7))[0]
    r = user_client.request("POST", f"/2/users/{other}/likes", json={"tweet_id": featured(x_sandbox, 7)})
    assert r.status_code == 403
    r = client.request("POST", f"/2/users/{x_sandbox.user_id}/likes", json={"tweet_id": featured(x_sandbox, 7)})
    assert r.status_code == 403
    assert r.json()["type"] == "https://api.twitter.com/2/problems/unsupported-authentication"
    r = user_client.request("POST", f"/2/users/{x_sandbox.user_id}/likes", json={"tweet": "1"})
    assert r.status_code == 400


def test_users_me_user_context_only(x_sandbox, client):
    for auth_type in ("oauth2_user", "oauth1_user"):
        r = Client(x_sandbox, auth_type).get("/2/users/me", **{"user.fields": "created_at,public_metrics"})
        assert r.status_code == 200
        data = r.json()["data"]
        assert data["id"] == x_sandbox.user_id and data["username"] == x_sandbox.credentials["username"]
        assert data["public_metrics"]["like_count"] == 150
    r = client.get("/2/users/me")
    assert r.status_code == 403
    assert r.json()["type"] == "https://api.twitter.com/2/problems/unsupported-authentication"


def test_401_shape_and_no_rate_limit_headers(x_sandbox):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}):
        r = requests.get(f"{x_sandbox.url}/2/tweets/{featured(x_sandbox, 7)}/liking_users", headers=headers, timeout=30)
        assert r.status_code == 401
        assert r.json() == UNAUTHORIZED
        assert not any(h.startswith("x-rate-limit") for h in r.headers)


def test_oauth1_signatures_are_verified(x_sandbox):
    c = x_sandbox.credentials
    url = f"{x_sandbox.url}/2/users/me"
    good = OAuth1(c["consumer_key"], c["consumer_secret"], c["access_token"], c["access_token_secret"])
    assert requests.get(url, auth=good, timeout=30).status_code == 200
    # signed with query parameters too
    assert requests.get(url, params={"user.fields": "created_at"}, auth=good, timeout=30).status_code == 200
    bad_secret = OAuth1(c["consumer_key"], "wrong", c["access_token"], c["access_token_secret"])
    bad_token_secret = OAuth1(c["consumer_key"], c["consumer_secret"], c["access_token"], "wrong")
    unknown_consumer = OAuth1("nobody", c["consumer_secret"], c["access_token"], c["access_token_secret"])
    unknown_token = OAuth1(c["consumer_key"], c["consumer_secret"], "nobody", c["access_token_secret"])
    for auth in (bad_secret, bad_token_secret, unknown_consumer, unknown_token):
        r = requests.get(url, auth=auth, timeout=30)
        assert r.status_code == 401 and r.json() == UNAUTHORIZED
    # a signature for another URL (query tampered after signing) fails
    req = requests.Request("GET", url, params={"user.fields": "created_at"}, auth=good).prepare()
    req.url = req.url.replace("created_at", "description")
    assert requests.Session().send(req).status_code == 401
    # replaying the exact same signed request (same nonce) fails
    req = requests.Request("GET", url, auth=good).prepare()
    assert requests.Session().send(req).status_code == 200
    assert requests.Session().send(req).status_code == 401


def test_app_only_token_endpoint(x_sandbox):
    c = x_sandbox.credentials
    url = x_sandbox.url + "/oauth2/token"
    r = requests.post(url, data={"grant_type": "client_credentials"}, auth=(c["api_key"], c["api_secret"]), timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert Client(x_sandbox, "bearer", body["access_token"]).liking_users(featured(x_sandbox, 7)).status_code == 200
    r = requests.post(url, data={"grant_type": "client_credentials"}, auth=(c["api_key"], "wrong"), timeout=30)
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == 99


def test_refresh_rotates_and_old_refresh_token_is_invalid_grant(x_sandbox):
    c = x_sandbox.credentials
    r = refresh(x_sandbox, c["refresh_token"])
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 7200
    assert set(body) == {"token_type", "expires_in", "access_token", "scope", "refresh_token"}
    assert "like.write" in body["scope"].split() and "offline.access" in body["scope"].split()
    assert body["refresh_token"] != c["refresh_token"] and len(body["access_token"]) >= 40
    assert Client(x_sandbox, "oauth2_user", body["access_token"]).get("/2/users/me").status_code == 200
    again = refresh(x_sandbox, c["refresh_token"])
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant", "error_description": "Value passed for the token was invalid."}
    # without revoke_family_on_reuse the newest tokens keep working
    assert Client(x_sandbox, "oauth2_user", body["access_token"]).get("/2/users/me").status_code == 200
    second = refresh(x_sandbox, body["refresh_token"])
    assert second.status_code == 200 and second.json()["refresh_token"] not in (
        body["refresh_token"],
        c["refresh_token"],
    )


def test_token_endpoint_client_authentication(x_sandbox):
    c = x_sandbox.credentials
    wrong = requests.post(
        x_sandbox.url + "/2/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": c["refresh_token"]},
        auth=(c["client_id"], "wrong"),
        timeout=30,
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "unauthorized_client"
    # a confidential client must use Basic auth
    assert refresh(x_sandbox, c["refresh_token"], public=True).status_code == 401
    assert refresh(x_sandbox, c["refresh_token"]).status_code == 200


def test_public_client_refresh(x_sandbox_factory):
    sandbox = x_sandbox_factory(client_secret=None)
    r = refresh(sandbox, sandbox.credentials["refresh_token"], public=True)
    assert r.status_code == 200
    assert "client_secret" not in sandbox.conn_json("oauth2_user")


def test_family_revocation_on_reuse(x_sandbox_factory):
    sandbox = x_sandbox_factory(revoke_family_on_reuse=True)
    c = sandbox.credentials
    first = refresh(sandbox, c["refresh_token"]).json()
    second = refresh(sandbox, first["refresh_token"]).json()
    for token in (c["oauth2_access_token"], first["access_token"], second["access_token"]):
        assert Client(sandbox, "oauth2_user", token).get("/2/users/me").status_code == 200
    assert refresh(sandbox, c["refresh_token"]).json()["error"] == "invalid_grant"  # reuse of a rotated token
    for token in (c["oauth2_access_token"], first["access_token"], second["access_token"]):
        assert Client(sandbox, "oauth2_user", token).get("/2/users/me").status_code == 401
    assert refresh(sandbox, second["refresh_token"]).json()["error"] == "invalid_grant"
    tokens = sandbox.admin.tokens()
    assert tokens["revoked_families"] == [0]
    assert (tokens["refreshes"], tokens["invalid_grants"]) == (2, 2)  # the admin API counts both outcomes
    # reset brings the configured credentials back
    sandbox.admin.reset()
    assert Client(sandbox, "oauth2_user").get("/2/users/me").status_code == 200
    assert refresh(sandbox, c["refresh_token"]).status_code == 200


def test_access_tokens_expire(x_sandbox_factory):
    sandbox = x_sandbox_factory(token_lifetime=1)
    token = refresh(sandbox, sandbox.credentials["refresh_token"]).json()
    assert token["expires_in"] == 1
    client = Client(sandbox, "oauth2_user", token["access_token"])
    assert client.get("/2/users/me").status_code == 200
    time.sleep(1.2)
    r = client.get("/2/users/me")
    assert r.status_code == 401 and r.json() == UNAUTHORIZED
    assert Client(sandbox, "oauth2_user").get("/2/users/me").status_code == 401  # the initial one too


def test_expiry_with_the_admin_clock(x_sandbox, user_client):
    assert user_client.get("/2/users/me").status_code == 200
    x_sandbox.admin.advance_clock(7199)
    assert user_client.get("/2/users/me").status_code == 200
    x_sandbox.admin.advance_clock(2)
    assert user_client.get("/2/users/me").status_code == 401


def test_rate_limit_window_boundary(x_sandbox_factory):
    sandbox = x_sandbox_factory(window_seconds=2)
    client = Client(sandbox)
    post = featured(sandbox, 7)
    first = client.liking_users(post)
    reset_at = int(first.headers["x-rate-limit-reset"])
    remaining = [int(first.headers["x-rate-limit-remaining"])]
    for _ in range(74):
        r = client.liking_users(post)
        assert r.status_code == 200
        remaining.append(int(r.headers["x-rate-limit-remaining"]))
    assert remaining == list(range(74, -1, -1))
    r = client.liking_users(post)
    assert r.status_code == 429
    assert r.json() == {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }
    assert r.headers["x-rate-limit-remaining"] == "0" and int(r.headers["x-rate-limit-reset"]) == reset_at
    # other endpoints have their own buckets
    assert client.liked_tweets(sandbox.user_id).status_code == 200
    time.sleep(max(0.0, reset_at - time.time()) + 0.1)
    r = client.liking_users(post)
    assert r.status_code == 200 and r.headers["x-rate-limit-remaining"] == "74"
    assert int(r.headers["x-rate-limit-reset"]) > reset_at


@pytest.mark.parametrize("daily_headers", [False, True])
def test_likes_have_15_minute_and_24_hour_limits(x_sandbox_factory, daily_headers):
    """No recording shows ``x-user-limit-24hour-*``: by default only a 429 whose 15-minute window
    still has room tells that the day's 1,000 likes are spent; the headers are a switch."""
    # the sandbox's clock steps over each spent 15-minute window (no real time: a loaded machine
    # cannot make the day's window end before its 1,000 likes are sent)
    window = 30.0
    sandbox = x_sandbox_factory(window_seconds=window, daily_limit_headers=daily_headers)  # 24 h: 48 min
    client = Client(sandbox, "oauth2_user")
    me, post = sandbox.user_id, featured(sandbox, 7)
    ok = windows = 0
    for _ in range(1100):
        r = client.request("POST", f"/2/users/{me}/likes", json={"tweet_id": post})
        assert ("x-user-limit-24hour-limit" in r.headers) == daily_headers
        if r.status_code == 429:
            if r.headers["x-rate-limit-remaining"] != "0":  # not the 15-minute window: the day's
                break
            sandbox.admin.advance_clock(window)
            windows += 1
            continue
        assert r.status_code == 200
        ok += 1
    assert windows == 20  # 50 likes per 15-minute window, the last one spent with the day
    assert ok == 1000
    assert r.status_code == 429 and r.json()["title"] == "Too Many Requests"
    if daily_headers:
        assert r.headers["x-user-limit-24hour-limit"] == "1000" and r.headers["x-user-limit-24hour-remaining"] == "0"


def test_request_counters_by_endpoint_and_token(x_sandbox):
    c = x_sandbox.credentials
    post = featured(x_sandbox, 7)
    Client(x_sandbox).liking_users(post)
    Client(x_sandbox).liking_users(post)
    Client(x_sandbox, "oauth1_user").liked_tweets(x_sandbox.user_id)
    Client(x_sandbox, "oauth2_user").get("/2/users/me")
    x_sandbox.admin.world()  # admin requests are not counted
    counts = x_sandbox.admin.request_counts()
    assert counts["total"] == 4 == x_sandbox.admin.total_requests()
    assert x_sandbox.admin.total_requests("liking_users") == 2
    assert counts["by_token"][fingerprint(c["bearer_token"])] == {"liking_users": 2}
    assert counts["by_token"][fingerprint(c["access_token"])] == {"liked_tweets": 1}
    assert counts["by_token"][fingerprint(c["oauth2_access_token"])] == {"users_me": 1}
    assert fingerprint("abc") == "ba7816bf8f01"
    x_sandbox.admin.reset()
    assert x_sandbox.admin.total_requests() == 0


def test_world_is_deterministic_and_serves_no_credentials(x_sandbox, x_sandbox_factory):
    other = x_sandbox_factory()
    assert other.admin.world() == x_sandbox.admin.world()
    post = featured(other, 1000)
    assert other.admin.likers(post) == x_sandbox.admin.likers(post)
    text = str(x_sandbox.admin.world()) + str(x_sandbox.admin.request_counts())
    for secret in (
        "bearer_token",
        "api_secret",
        "client_secret",
        "refresh_token",
        "consumer_secret",
        "access_token_secret",
        "oauth2_access_token",
    ):
        assert x_sandbox.credentials[secret] not in text
    seeded = x_sandbox_factory(seed=7, post_likes="1000")
    assert seeded.admin.likers(featured(seeded, 1000)) != x_sandbox.admin.likers(post)


def test_ids_look_real(x_sandbox):
    ids = x_sandbox.admin.likers(featured(x_sandbox, 1000))
    assert all(i.isdigit() and 1 <= len(i) <= 19 for i in ids)
    assert any(len(i) == 19 for i in ids) and any(len(i) <= 10 for i in ids)
    assert all(len(p) in (18, 19) for p in x_sandbox.admin.liked(x_sandbox.user_id))


def test_basic_auth_header_is_not_bearer(x_sandbox):
    token = base64.b64encode(b"sandbox-api-key:sandbox-api-secret").decode()
    r = requests.get(f"{x_sandbox.url}/2/users/me", headers={"Authorization": f"Basic {token}"}, timeout=30)
    assert r.status_code == 401
