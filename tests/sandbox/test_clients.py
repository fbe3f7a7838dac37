"""Real clients against the sandbox: X's likes quickstart (curl) and tweepy's Client and Paginator."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess

import pytest
import requests
import tweepy
from sandbox_helpers import DATA, featured

QUICKSTART = (DATA / "likes-quickstart.txt").read_text(encoding="utf-8")
CURLS = re.findall(r'curl "https://api\.x\.com.*?-H "Authorization: Bearer \$BEARER_TOKEN "', QUICKSTART, re.S)


def intended(command: str) -> str:
    """The command as meant: the page rendering put `` \\<newline>`` inside the quoted URL, which
    leaves spaces in it after the shell joins the lines; a reader removes them."""
    return re.sub(r"\s*\\\n", "", command.split(" \\\n-H ")[0]) + " \\\n-H " + command.split(" \\\n-H ")[1]


def run_curl(command: str, url: str, token: str) -> tuple[int, dict]:
    command = command.replace("https://api.x.com", url)  # only the host changes
    if shutil.which("curl"):
        out = subprocess.run(
            ["bash", "-c", command + " -sS -w '\\n%{http_code}'"],
            capture_output=True,
            text=True,
            env={**os.environ, "BEARER_TOKEN": token},
            timeout=30,
            check=False,
        )
        body, _, status = out.stdout.rpartition("\n")
        return int(status), json.loads(body) if body else {}
    # no curl binary: the same URL and header with requests
    words = shlex.split(command.replace("\\\n", " ").replace("$BEARER_TOKEN", token))
    r = requests.get(words[1], headers=dict([words[3].split(": ", 1)]), timeout=30)
    return r.status_code, r.json()


def test_the_quickstart_has_three_curl_calls():
    assert len(CURLS) == 3


@pytest.mark.skipif(not shutil.which("curl"), reason="needs the curl binary")
def test_the_verbatim_quickstart_commands_fail_in_curl_itself(x_sandbox):
    """As published, the URLs contain spaces and curl refuses them (exit 3) before sending anything,
    against the real API as against the sandbox; the sandbox gets no request."""
    for command in CURLS:
        out = subprocess.run(
            ["bash", "-c", command.replace("https://api.x.com", x_sandbox.url)],
            capture_output=True,
            text=True,
            env={**os.environ, "BEARER_TOKEN": "x"},
            timeout=30,
            check=False,
        )
        assert out.returncode == 3, out.stderr
    assert x_sandbox.admin.total_requests() == 0


@pytest.mark.x_sandbox(liking_users_cap=None)  # the quickstart's post has 333 likers, X lists 100 since 2026
def test_quickstart_liking_users(x_sandbox):
    status, body = run_curl(intended(CURLS[0]), x_sandbox.url, x_sandbox.credentials["bearer_token"])
    assert status == 200
    assert body["data"] and body["meta"]["result_count"] == len(body["data"]) and body["meta"]["next_token"]
    for user in body["data"]:
        assert set(user) == {"id", "name", "username", "created_at", "verified"}
    ids = [u["id"] for u in body["data"]]  # a page may come short (the default quirks)
    assert len(ids) >= 50 and ids == x_sandbox.admin.likers("1354143047324299264")[: len(ids)]


def test_quickstart_liked_tweets_with_an_app_token_gets_what_private_likes_get(x_sandbox):
    """An app-only token has no user behind it, and likes are private since 2024: the call works
    (200) and, by default, comes back empty, as another user's likes do."""
    status, body = run_curl(intended(CURLS[1]), x_sandbox.url, x_sandbox.credentials["bearer_token"])
    assert (status, body) == (200, {"meta": {"result_count": 0}})
    x_sandbox.admin.set_quirks(private_likes="404")
    status, body = run_curl(intended(CURLS[1]), x_sandbox.url, x_sandbox.credentials["bearer_token"])
    assert status == 404 and body["type"].endswith("/resource-not-found")


@pytest.mark.x_sandbox(app_only="owner", clean=True)  # the 2021–22 behaviour: the app acts as its owner
def test_quickstart_liked_tweets_as_recorded_in_2021(x_sandbox):
    status, body = run_curl(intended(CURLS[1]), x_sandbox.url, x_sandbox.credentials["bearer_token"])
    assert status == 200
    assert body["meta"]["result_count"] == 10 == len(body["data"]) and body["meta"]["next_token"]
    for post in body["data"]:
        assert set(post) == {"id", "text", "edit_history_tweet_ids", "created_at", "public_metrics"}
        assert {"retweet_count", "reply_count", "like_count", "quote_count"} <= set(post["public_metrics"])
    assert x_sandbox.user_id == "2244994945"


def test_quickstart_expansions(x_sandbox):
    status, body = run_curl(intended(CURLS[2]), x_sandbox.url, x_sandbox.credentials["bearer_token"])
    assert status == 200
    assert all("created_at" in u for u in body["data"])
    assert body["includes"]["tweets"] and all(
        set(t) >= {"id", "text", "created_at"} for t in body["includes"]["tweets"]
    )


def test_params_with_stray_whitespace_are_understood(x_sandbox):
    """What the verbatim URLs would send if a client encoded the spaces: `%20user.fields`."""
    r = requests.get(
        f"{x_sandbox.url}/2/tweets/1354143047324299264/liking_users?%20user.fields=created_at",
        headers={"Authorization": "Bearer sandbox-bearer-token "},
        timeout=30,
    )
    assert r.status_code == 200 and "created_at" in r.json()["data"][0]


def make_client(sandbox, **kwargs) -> tweepy.Client:
    c = sandbox.credentials
    client = tweepy.Client(
        bearer_token=kwargs.get("bearer_token", c["bearer_token"]),
        consumer_key=c["consumer_key"],
        consumer_secret=c["consumer_secret"],
        access_token=c["access_token"],
        access_token_secret=c["access_token_secret"],
    )
    client.session = sandbox.session()  # tweepy hard-codes https://api.twitter.com; redirect it here
    return client


def direct_pages(sandbox, path: str, auth: str, **params) -> list[dict]:
    from sandbox_helpers import Client

    return Client(sandbox, auth).page_all(path, **params)[1]


@pytest.mark.x_sandbox(liking_users_cap=None)  # pages past the 100 likers X lists
def test_tweepy_paginator_liking_users_sees_what_direct_calls_see(x_sandbox):
    client = make_client(x_sandbox)
    post = featured(x_sandbox, 1000)
    pages = list(
        tweepy.Paginator(
            client.get_liking_users, post, max_results=100, user_fields=["created_at"], expansions=["pinned_tweet_id"]
        )
    )
    direct = direct_pages(
        x_sandbox,
        f"/2/tweets/{post}/liking_users",
        "bearer",
        max_results=100,
        **{"user.fields": "created_at", "expansions": "pinned_tweet_id"},
    )
    assert len(pages) == len(direct) >= 10  # the default quirks: short pages, maybe an empty last one
    for page, body in zip(pages, direct, strict=True):
        assert [u.data for u in page.data or []] == body.get("data", [])
        assert [t.data for t in page.includes.get("tweets", [])] == body.get("includes", {}).get("tweets", [])
        assert page.meta == body["meta"]
    assert [u.id for p in pages for u in p.data or []] == [int(i) for i in x_sandbox.admin.likers(post)]


def test_tweepy_oauth1_liked_tweets_like_unlike_and_me(x_sandbox):
    client = make_client(x_sandbox)
    me = x_sandbox.user_id
    assert str(client.get_me().data.id) == me
    pages = list(
        tweepy.Paginator(
            client.get_liked_tweets, me, max_results=100, user_auth=True, tweet_fields=["created_at", "public_metrics"]
        )
    )
    direct = direct_pages(
        x_sandbox,
        f"/2/users/{me}/liked_tweets",
        "oauth1_user",
        max_results=100,
        **{"tweet.fields": "created_at,public_metrics"},
    )
    assert [[t.data for t in p.data] for p in pages] == [b["data"] for b in direct]
    post = featured(x_sandbox, 7)
    assert client.like(post).data == {"liked": True}
    assert x_sandbox.admin.likers(post)[0] == me
    assert str(client.get_liking_users(post, user_auth=True).data[0].id) == me
    assert client.unlike(post).data == {"liked": False}
    assert me not in x_sandbox.admin.likers(post)


@pytest.mark.x_sandbox(clean=True)  # a full page of 5
def test_tweepy_oauth2_user_token_and_errors(x_sandbox):
    client = make_client(x_sandbox, bearer_token=x_sandbox.credentials["oauth2_access_token"])
    me = x_sandbox.user_id
    assert str(client.get_me(user_auth=False).data.id) == me
    response = client.get_liked_tweets(me, max_results=5)
    assert len(response.data) == 5
    with pytest.raises(tweepy.BadRequest):
        client.get_liked_tweets(me, max_results=3)
    with pytest.raises(tweepy.Unauthorized):
        make_client(x_sandbox, bearer_token="wrong").get_liking_users(featured(x_sandbox, 7))
    x_sandbox.admin.set_faults("rate_limit,count=1")
    with pytest.raises(tweepy.TooManyRequests):
        client.get_liked_tweets(me)
