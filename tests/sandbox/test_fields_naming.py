"""Fields, expansions and includes; unknown names; both namings validated against their OpenAPI spec."""

from __future__ import annotations

import re

import pytest
from sandbox_helpers import Client, featured, validate

from airflow_provider_xlikes import _spec

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")
LIKING = "/2/tweets/{id}/liking_users"
LIKED = "/2/users/{id}/liked_tweets"
# every field name valid for the endpoint in either spec
ALL_USER_FIELDS = ",".join(sorted(_spec.USER_FIELDS))
ALL_TWEET_FIELDS = ",".join(sorted(_spec.TWEET_FIELDS))
ALL_MEDIA = ",".join(sorted(_spec.MEDIA_FIELDS))
ALL_POLL = ",".join(sorted(_spec.POLL_FIELDS))
ALL_PLACE = ",".join(sorted(_spec.PLACE_FIELDS))


def test_requested_user_fields_only(x_sandbox, client):
    body = client.liking_users(
        featured(x_sandbox, 1000), **{"user.fields": "created_at,public_metrics,verified"}
    ).json()
    for user in body["data"]:
        assert set(user) == {"id", "name", "username", "created_at", "public_metrics", "verified"}
        assert ISO.match(user["created_at"])
        assert set(user["public_metrics"]) >= {"followers_count", "following_count", "tweet_count", "listed_count"}
        assert all(isinstance(v, int) for v in user["public_metrics"].values())
        assert isinstance(user["verified"], bool)
    assert "includes" not in body


def test_requested_tweet_fields_with_all_six_public_metrics(x_sandbox, user_client):
    body = user_client.liked_tweets(x_sandbox.user_id, **{"tweet.fields": "created_at,public_metrics,author_id"}).json()
    for post in body["data"]:
        assert set(post) == {"id", "text", "edit_history_tweet_ids", "created_at", "public_metrics", "author_id"}
        assert ISO.match(post["created_at"])
        assert set(post["public_metrics"]) == {
            "retweet_count",
            "reply_count",
            "like_count",
            "quote_count",
            "bookmark_count",
            "impression_count",
        }


def test_post_fields_is_an_alias_of_tweet_fields(x_sandbox, user_client):
    me = x_sandbox.user_id
    a = user_client.liked_tweets(me, **{"tweet.fields": "created_at,lang"}).json()
    b = user_client.liked_tweets(me, **{"post.fields": "created_at,lang"}).json()
    assert a == b and "lang" in a["data"][0]


@pytest.mark.x_sandbox(clean=True)  # no deleted pinned posts
def test_pinned_tweet_expansion_builds_deduplicated_includes(x_sandbox, client):
    post = featured(x_sandbox, 1000)
    body = client.liking_users(
        post, expansions="pinned_tweet_id", **{"user.fields": "pinned_tweet_id", "tweet.fields": "created_at,author_id"}
    ).json()
    pinned = [u["pinned_tweet_id"] for u in body["data"] if "pinned_tweet_id" in u]
    assert pinned, "some likers have a pinned post"
    tweets = body["includes"]["tweets"]
    assert [t["id"] for t in tweets] == list(dict.fromkeys(pinned))
    by_id = {u["id"]: u for u in body["data"]}
    for t in tweets:
        assert ISO.match(t["created_at"])
        assert by_id[t["author_id"]]["pinned_tweet_id"] == t["id"]  # the pinned post is the user's own


@pytest.mark.x_sandbox(clean=True)  # no partial errors
def test_liked_tweets_expansions(x_sandbox, user_client):
    me = x_sandbox.user_id
    items = []
    params = {
        "max_results": 100,
        "expansions": "author_id,attachments.media_keys,attachments.poll_ids,geo.place_id,referenced_tweets.id,"
        "referenced_tweets.id.author_id,in_reply_to_user_id,entities.mentions.username",
        "tweet.fields": "author_id,attachments,geo,referenced_tweets,in_reply_to_user_id,entities,created_at",
        "user.fields": "created_at",
        "media.fields": ALL_MEDIA,
        "poll.fields": ALL_POLL,
        "place.fields": ALL_PLACE,
    }
    body = user_client.liked_tweets(me, **params).json()
    items = body["data"]
    inc = body["includes"]
    users = {u["id"] for u in inc["users"]}
    assert len(users) == len(inc["users"])
    assert {p["author_id"] for p in items} <= users
    assert {p["in_reply_to_user_id"] for p in items if "in_reply_to_user_id" in p} <= users
    media_keys = [k for p in items for k in p.get("attachments", {}).get("media_keys", [])]
    assert media_keys and [m["media_key"] for m in inc["media"]] == list(dict.fromkeys(media_keys))
    assert all(m["type"] in ("photo", "video", "animated_gif") for m in inc["media"])
    poll_ids = [k for p in items for k in p.get("attachments", {}).get("poll_ids", [])]
    assert [p["id"] for p in inc.get("polls", [])] == poll_ids
    place_ids = [p["geo"]["place_id"] for p in items if "geo" in p]
    assert [p["id"] for p in inc.get("places", [])] == list(dict.fromkeys(place_ids))
    refs = [r["id"] for p in items for r in p.get("referenced_tweets", [])]
    assert refs and {t["id"] for t in inc["tweets"]} == set(refs)
    assert {t["author_id"] for t in inc["tweets"]} <= users
    mentions = {m["username"] for p in items for m in p.get("entities", {}).get("mentions", [])}
    assert mentions <= {u["username"] for u in inc["users"]}
    for p in items:
        for m in p.get("entities", {}).get("mentions", []):
            assert p["text"][m["start"] : m["end"]] == "@" + m["username"]
        for h in p.get("entities", {}).get("hashtags", []):
            assert p["text"][h["start"] : h["end"]] == "#" + h["tag"]
    assert "errors" not in body


@pytest.mark.parametrize(
    ("endpoint", "param", "value"),
    [
        ("liking", "user.fields", "created_at,shoe_size"),
        ("liking", "expansions", "author_id"),
        ("liked", "tweet.fields", "retweets"),
        ("liked", "expansions", "pinned_tweet_id"),
        ("liked", "media.fields", "colour"),
        ("liked", "place.fields", "zip"),
        ("liked", "poll.fields", "winner"),
    ],
)
def test_unknown_field_and_expansion_names_are_400(x_sandbox, user_client, endpoint, param, value):
    path = LIKING.format(id=featured(x_sandbox, 7)) if endpoint == "liking" else LIKED.format(id=x_sandbox.user_id)
    r = user_client.get(path, **{param: value})
    assert r.status_code == 400
    body = r.json()
    assert body["title"] == "Invalid Request"
    assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"
    bad = value.split(",")[-1]
    err = body["errors"][0]
    assert err["parameters"] == {param: [bad]}
    assert err["message"].startswith(f"The `{param}` query parameter value [{bad}] is not one of [")


def test_unknown_query_parameter_is_400(x_sandbox, client):
    r = client.liking_users(featured(x_sandbox, 7), **{"media.fields": "url"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["message"].startswith("The query parameter [media.fields] is not one of [")


@pytest.mark.parametrize(
    ("field_param", "accepted", "rejected"),
    [("tweet", "tweet.fields", "post.fields"), ("post", "post.fields", "tweet.fields")],
)
def test_field_param_switch(x_sandbox, user_client, field_param, accepted, rejected):
    x_sandbox.admin.set_quirks(field_param=field_param)
    me = x_sandbox.user_id
    assert user_client.liked_tweets(me, **{accepted: "created_at"}).status_code == 200
    r = user_client.liked_tweets(me, **{rejected: "created_at"})
    assert r.status_code == 400
    err = r.json()["errors"][0]
    assert err["parameters"] == {rejected: ["created_at"]}
    assert f"[{rejected}] is not one of" in err["message"] and accepted in err["message"]


def test_post_naming(x_sandbox, user_client):
    x_sandbox.admin.set_quirks(naming="post")
    me = x_sandbox.user_id
    body = user_client.liked_tweets(
        me, expansions="referenced_tweets.id", **{"tweet.fields": "public_metrics,referenced_tweets"}
    ).json()
    post = body["data"][0]
    assert "edit_history_post_ids" in post and "edit_history_tweet_ids" not in post
    assert "repost_count" in post["public_metrics"] and "retweet_count" not in post["public_metrics"]
    assert "posts" in body["includes"] and "tweets" not in body["includes"]
    assert any("referenced_posts" in p for p in body["data"])
    users = user_client.liking_users(
        featured(x_sandbox, 1000), expansions="pinned_post_id", **{"user.fields": "pinned_tweet_id,public_metrics"}
    ).json()
    assert any("pinned_post_id" in u for u in users["data"])
    assert all("post_count" in u["public_metrics"] for u in users["data"])
    assert "posts" in users["includes"]


def _responses(sandbox, client):
    """(spec path, method, body) of every endpoint with every field and most expansions requested."""
    me = sandbox.user_id
    post = featured(sandbox, 1000)
    user_exp = "pinned_tweet_id,most_recent_tweet_id,affiliation.user_id"
    tweet_exp = (
        "author_id,attachments.media_keys,attachments.poll_ids,geo.place_id,referenced_tweets.id,"
        "referenced_tweets.id.author_id,in_reply_to_user_id,entities.mentions.username,"
        "edit_history_tweet_ids,referenced_tweets.id.attachments.media_keys"
    )
    out = []
    for token in (None, "next"):
        params = {"user.fields": ALL_USER_FIELDS, "tweet.fields": ALL_TWEET_FIELDS, "expansions": user_exp}
        body = client.liking_users(post, **params).json()
        if token:
            body = client.liking_users(post, pagination_token=body["meta"]["next_token"], **params).json()
        out.append(("/2/tweets/{id}/liking_users", "get", body))
    out.append(("/2/tweets/{id}/liking_users", "get", client.liking_users(featured(sandbox, 0)).json()))
    params = {
        "user.fields": ALL_USER_FIELDS,
        "tweet.fields": ALL_TWEET_FIELDS,
        "expansions": tweet_exp,
        "media.fields": ALL_MEDIA,
        "poll.fields": ALL_POLL,
        "place.fields": ALL_PLACE,
    }
    for mr in (100, 5):
        out.append(("/2/users/{id}/liked_tweets", "get", client.liked_tweets(me, max_results=mr, **params).json()))
    out.append(("/2/users/{id}/liked_tweets", "get", client.liked_tweets("12").json()))
    out.append(
        (
            "/2/users/me",
            "get",
            client.get(
                "/2/users/me",
                **{"user.fields": ALL_USER_FIELDS, "tweet.fields": ALL_TWEET_FIELDS, "expansions": user_exp},
            ).json(),
        )
    )
    out.append(
        (
            "/2/users/{id}/likes",
            "post",
            client.request("POST", f"/2/users/{me}/likes", json={"tweet_id": featured(sandbox, 7)}).json(),
        )
    )
    out.append(
        ("/2/users/{id}/likes", "post", client.request("POST", f"/2/users/{me}/likes", json={"tweet_id": "1"}).json())
    )
    out.append(
        (
            "/2/users/{id}/likes/{tweet_id}",
            "delete",
            client.request("DELETE", f"/2/users/{me}/likes/{featured(sandbox, 7)}").json(),
        )
    )
    return out


@pytest.mark.parametrize("naming", ["tweet", "post"])
@pytest.mark.parametrize("partial_errors", [False, True])
def test_responses_validate_against_their_spec(x_sandbox, naming, partial_errors):
    x_sandbox.admin.set_quirks(naming=naming, partial_errors=partial_errors, liking_users_cap=None)  # a 2nd page
    client = Client(x_sandbox, "oauth2_user")
    responses = _responses(x_sandbox, client)
    for path, method, body in responses:
        validate(naming, path, method, body)
    liked = responses[3][2]
    assert ("tweets" if naming == "tweet" else "posts") in liked["includes"]
    assert {"users", "media"} <= set(liked["includes"])
    assert ("errors" in liked) == partial_errors


def test_tweet_naming_fails_the_post_spec_and_vice_versa(x_sandbox):
    """The validations can fail: the documented names are not valid v2.167 and the reverse."""
    import jsonschema

    client = Client(x_sandbox, "oauth2_user")
    body = client.liked_tweets(x_sandbox.user_id, **{"tweet.fields": "public_metrics"}).json()
    with pytest.raises(jsonschema.ValidationError):
        validate("post", "/2/users/{id}/liked_tweets", "get", body)
    x_sandbox.admin.set_quirks(naming="post")
    body = client.liked_tweets(x_sandbox.user_id, **{"tweet.fields": "public_metrics"}).json()
    with pytest.raises(jsonschema.ValidationError):
        validate("tweet", "/2/users/{id}/liked_tweets", "get", body)


def test_each_expansion_brings_its_id_field_unasked_as_x_does(x_sandbox, client, user_client):
    """``expansions=pinned_tweet_id`` without ``user.fields``: the users still carry the id the
    includes are keyed by (the join needs it); the same for post expansions and the "post" names."""
    body = client.liking_users(featured(x_sandbox, 333), expansions="pinned_tweet_id").json()
    included = {t["id"] for t in body["includes"]["tweets"]}
    pinned = {u["pinned_tweet_id"] for u in body["data"] if "pinned_tweet_id" in u}
    assert included and included <= pinned
    assert all(set(u) <= {"id", "name", "username", "pinned_tweet_id"} for u in body["data"])
    body = user_client.liked_tweets(x_sandbox.user_id, expansions="author_id,referenced_tweets.id").json()
    assert all("author_id" in p for p in body["data"])
    assert {p["author_id"] for p in body["data"]} <= {u["id"] for u in body["includes"]["users"]}
    refs = {r["id"] for p in body["data"] for r in p.get("referenced_tweets", [])}
    assert refs and {t["id"] for t in body["includes"]["tweets"]} <= refs
    # no expansion, no id field
    assert all("author_id" not in p for p in user_client.liked_tweets(x_sandbox.user_id).json()["data"])
    x_sandbox.admin.set_quirks(naming="post")
    body = client.liking_users(featured(x_sandbox, 333), expansions="pinned_post_id").json()
    assert {t["id"] for t in body["includes"]["posts"]} <= {
        u["pinned_post_id"] for u in body["data"] if "pinned_post_id" in u
    }
    body = user_client.liked_tweets(x_sandbox.user_id, expansions="referenced_posts").json()
    assert any("referenced_posts" in p for p in body["data"])
