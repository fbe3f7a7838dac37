"""Each quirk of NOTES.md and each injected fault, switched at start and at run time."""

from __future__ import annotations

import json
import time

import pytest
import requests
from sandbox_helpers import Client, featured


def test_short_pages_still_deliver_everything(x_sandbox, client):
    x_sandbox.admin.set_quirks(clean=True, short_pages=True, liking_users_cap=None)  # all 1,000 likers
    post = featured(x_sandbox, 1000)
    items, bodies = client.page_all(f"/2/tweets/{post}/liking_users", max_results=100)
    assert [u["id"] for u in items] == x_sandbox.admin.likers(post)
    counts = [b["meta"]["result_count"] for b in bodies]
    assert all(n < 100 for n in counts) and len(bodies) > 10
    assert all("next_token" in b["meta"] for b in bodies[:-1])
    assert all(b["meta"]["result_count"] == len(b["data"]) for b in bodies)


def test_empty_last_page_has_only_previous_token(x_sandbox, client):
    x_sandbox.admin.set_quirks(clean=True, empty_last_page=True, liking_users_cap=None)  # all 333 likers
    post = featured(x_sandbox, 333)
    items, bodies = client.page_all(f"/2/tweets/{post}/liking_users", max_results=100)
    assert len(items) == 333 and len(bodies) == 5
    last = bodies[-1]
    assert set(last) == {"meta"} and set(last["meta"]) == {"result_count", "previous_token"}
    assert last["meta"]["result_count"] == 0
    assert "next_token" in bodies[-2]["meta"]


@pytest.mark.x_sandbox(clean=True, liking_users_cap=None)  # exact pages, all 333 likers
def test_clean_last_page_has_no_next_token(x_sandbox, client):
    _, bodies = client.page_all(f"/2/tweets/{featured(x_sandbox, 333)}/liking_users")
    assert len(bodies) == 4 and "next_token" not in bodies[-1]["meta"]


@pytest.mark.x_sandbox(clean=True)
def test_partial_errors_in_a_200(x_sandbox, user_client):
    me = x_sandbox.user_id
    params = {"expansions": "referenced_tweets.id,entities.mentions.username", "tweet.fields": "referenced_tweets"}
    assert "errors" not in user_client.liked_tweets(me, **params).json()
    x_sandbox.admin.set_quirks(partial_errors=True)
    r = user_client.liked_tweets(me, **params)
    assert r.status_code == 200
    body = r.json()
    assert body["data"]
    titles = {(e["title"], e["parameter"], e["type"]) for e in body["errors"]}
    problems = "https://api.twitter.com/2/problems/resource-not-found"
    assert ("Not Found Error", "referenced_tweets.id", problems) in titles
    assert ("Forbidden", "entities.mentions.username", problems) in titles  # title and type disagree
    missing = {e["value"] for e in body["errors"] if e["parameter"] == "referenced_tweets.id"}
    assert not missing & {t["id"] for t in body["includes"]["tweets"]}
    users = user_client.liking_users(featured(x_sandbox, 1000), expansions="pinned_tweet_id").json()
    assert any(e["parameter"] == "pinned_tweet_id" for e in users["errors"])


def test_legacy_error_style_for_429_and_5xx(x_sandbox, client):
    post = featured(x_sandbox, 7)
    x_sandbox.admin.set_faults("rate_limit,count=1", "status,count=1,status=503", "status,count=1,status=500")
    r = client.liking_users(post)
    assert r.status_code == 429 and r.json()["title"] == "Too Many Requests"
    assert r.headers["content-type"].startswith("application/problem+json")
    assert client.liking_users(post).json()["type"] == "about:blank"
    x_sandbox.admin.set_quirks(error_style="legacy")
    x_sandbox.admin.set_faults("rate_limit,count=1", "status,count=1,status=503", "status,count=1,status=500")
    assert client.liking_users(post).json() == {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
    assert client.liking_users(post).json() == {"errors": [{"code": 130, "message": "Over capacity"}]}
    r = client.liking_users(post)
    assert r.status_code == 500 and r.json() == {"errors": [{"code": 131, "message": "Internal error"}]}
    assert client.liking_users(post).status_code == 200


def test_rate_limit_headers_on_401_switch(x_sandbox):
    url = f"{x_sandbox.url}/2/tweets/{featured(x_sandbox, 7)}/liking_users"
    assert "x-rate-limit-limit" not in requests.get(url, timeout=30).headers
    x_sandbox.admin.set_quirks(rate_limit_headers_on_401=True)
    r = requests.get(url, timeout=30)
    assert r.status_code == 401 and "x-rate-limit-limit" in r.headers


def test_app_only_refused_for_the_gets(x_sandbox, client, user_client):
    post = featured(x_sandbox, 7)
    assert client.liking_users(post).status_code == 200
    x_sandbox.admin.set_quirks(app_only="refuse")
    for r in (client.liking_users(post), client.liked_tweets(x_sandbox.user_id)):
        assert r.status_code == 403
        body = r.json()
        assert body["type"] == "https://api.twitter.com/2/problems/unsupported-authentication"
        assert "OAuth 2.0 User Context" in body["detail"]
    assert client.get(f"/2/tweets/{post}").status_code == 200  # the lookups allow app-only in the specs
    assert user_client.liking_users(post).status_code == 200
    assert Client(x_sandbox, "oauth1_user").liking_users(post).status_code == 200


@pytest.mark.x_sandbox(clean=True)  # exact pages
@pytest.mark.parametrize(("mode", "status"), [("empty", 200), ("403", 403), ("404", 404), ("public", 200)])
def test_private_likes(x_sandbox, user_client, mode, status):
    x_sandbox.admin.set_quirks(private_likes=mode)
    other = x_sandbox.admin.likers(featured(x_sandbox, 7))[0]
    r = user_client.liked_tweets(other)
    assert r.status_code == status
    if mode == "empty":
        assert r.json() == {"meta": {"result_count": 0}}
    elif mode == "public":
        ids = [p["id"] for p in user_client.page_all(f"/2/users/{other}/liked_tweets")[0]]
        assert ids == x_sandbox.admin.liked(other) and featured(x_sandbox, 7) in ids
    else:
        assert r.json()["status"] == status
    assert user_client.liked_tweets(x_sandbox.user_id).json()["meta"]["result_count"] == 100  # own likes visible


def test_mutations_can_be_invisible(x_sandbox, user_client):
    x_sandbox.admin.set_quirks(mutations_visible=False)
    me, post = x_sandbox.user_id, featured(x_sandbox, 7)
    assert user_client.request("POST", f"/2/users/{me}/likes", json={"tweet_id": post}).json()["data"]["liked"]
    assert len(user_client.liking_users(post).json()["data"]) == 7
    x_sandbox.admin.set_quirks(mutations_visible=True)
    assert len(user_client.liking_users(post).json()["data"]) == 8


def test_reset_restores_quirks_and_mutations(x_sandbox, user_client):
    me, post = x_sandbox.user_id, featured(x_sandbox, 7)
    user_client.request("POST", f"/2/users/{me}/likes", json={"tweet_id": post})
    x_sandbox.admin.set_quirks(naming="post", short_pages=True)
    x_sandbox.admin.reset()
    assert x_sandbox.admin.quirks()["naming"] == "tweet" and x_sandbox.admin.quirks()["short_pages"] == 0.1
    assert len(x_sandbox.admin.likers(post)) == 7
    assert x_sandbox.admin.reset(clean=True)["short_pages"] == 0.0


def test_bad_quirk_or_fault_is_rejected_by_admin(x_sandbox):
    assert requests.post(f"{x_sandbox.url}/_sandbox/quirks", json={"nope": 1}, timeout=30).status_code == 400
    assert requests.post(f"{x_sandbox.url}/_sandbox/quirks", json={"naming": "x"}, timeout=30).status_code == 400
    r = requests.post(f"{x_sandbox.url}/_sandbox/faults", json={"faults": [{"kind": "boom"}]}, timeout=30)
    assert r.status_code == 400


def test_5xx_burst_for_one_endpoint(x_sandbox, client, user_client):
    post = featured(x_sandbox, 7)
    x_sandbox.admin.set_faults({"kind": "status", "count": 2, "status": 502, "endpoint": "liking_users"})
    assert user_client.get("/2/users/me").status_code == 200  # other endpoints unaffected
    assert [client.liking_users(post).status_code for _ in range(3)] == [502, 502, 200]
    assert x_sandbox.admin.faults() == []
    assert x_sandbox.admin.request_counts()["by_status"] == {"200": 2, "502": 2}


def test_fault_after_and_unlimited(x_sandbox, client):
    post = featured(x_sandbox, 7)
    x_sandbox.admin.set_faults("status,count=0,after=2,status=500")
    assert [client.liking_users(post).status_code for _ in range(5)] == [200, 200, 500, 500, 500]
    assert x_sandbox.admin.faults()[0]["remaining"] is None
    x_sandbox.admin.clear_faults()
    assert client.liking_users(post).status_code == 200


def test_connection_reset(x_sandbox, client):
    post = featured(x_sandbox, 7)
    x_sandbox.admin.set_faults("reset,count=1")
    with pytest.raises(requests.ConnectionError):
        client.liking_users(post)
    assert client.liking_users(post).status_code == 200


def test_slow_response(x_sandbox, client):
    post = featured(x_sandbox, 7)
    x_sandbox.admin.set_faults("slow,count=1,delay=0.6")
    start = time.perf_counter()
    assert client.liking_users(post).status_code == 200
    assert time.perf_counter() - start >= 0.6
    x_sandbox.admin.set_faults("slow,count=1,delay=1.5")
    url = f"{x_sandbox.url}/2/tweets/{post}/liking_users"
    headers = {"Authorization": "Bearer " + x_sandbox.credentials["bearer_token"]}
    with pytest.raises(requests.Timeout):
        requests.get(url, timeout=0.5, headers=headers)


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
def test_broken_json_bodies(x_sandbox, client, kind):
    post = featured(x_sandbox, 7)
    good = client.liking_users(post).content
    x_sandbox.admin.set_faults(f"{kind},count=1")
    r = client.liking_users(post)
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)
    if kind == "truncated":
        assert good.startswith(r.content) and len(r.content) < len(good)
    assert client.liking_users(post).json()


@pytest.mark.parametrize("headers", [True, False])
def test_429_burst_with_and_without_headers(x_sandbox, client, headers):
    post = featured(x_sandbox, 7)
    x_sandbox.admin.set_faults({"kind": "rate_limit", "count": 2, "headers": headers})
    for _ in range(2):
        r = client.liking_users(post)
        assert r.status_code == 429
        assert ("x-rate-limit-reset" in r.headers) == headers
        if headers:
            assert r.headers["x-rate-limit-remaining"] == "0"
    assert client.liking_users(post).status_code == 200


def test_faults_given_at_start(x_sandbox_factory):
    sandbox = x_sandbox_factory(faults=["status,count=1,status=503"], naming="post", short_pages=True)
    client = Client(sandbox)
    post = featured(sandbox, 1000)
    assert client.liking_users(post).status_code == 503
    body = client.liking_users(post, **{"tweet.fields": "created_at"}, expansions="pinned_tweet_id").json()
    assert body["meta"]["result_count"] < 100 and "posts" in body["includes"]
    sandbox.admin.reset()  # reset re-arms the faults given at start
    assert client.liking_users(post).status_code == 503


def test_broken_unicode_puts_half_an_emoji_into_the_first_record(x_sandbox, client):
    post = featured(x_sandbox, 7)
    good = client.liking_users(post).json()
    x_sandbox.admin.set_faults("broken_unicode,count=1")
    r = client.liking_users(post)
    assert r.status_code == 200
    body = json.loads(r.content)  # still JSON: Python's decoder reads the unpaired surrogate
    assert body["data"][0]["name"] == "\ud83d" + good["data"][0]["name"]
    assert body["data"][1:] == good["data"][1:]
    assert client.liking_users(post).json() == good  # count=1: the next answer is whole again
