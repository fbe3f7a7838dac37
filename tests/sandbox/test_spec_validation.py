"""Every response of the sandbox, success and error, validates against the spec of its naming.

A broad set of requests (every endpoint, every auth type, fields and expansions, paging, the
private-likes answers, invalid input, refused auth, missing scopes, every fault that answers) is
driven over HTTP and each body is validated with jsonschema against ``tests/data/openapi/``:
``openapi-v2.159.json`` for the "tweet" naming, ``openapi-v2.167.json`` for "post". Problems are
validated against the schema their ``type`` maps to; the problem types a spec does not describe
are collected and must be exactly the expected ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sandbox_helpers import Client, featured, validate_response

from airflow_provider_xlikes import _spec

LIKING = "/2/tweets/{id}/liking_users"
LIKED = "/2/users/{id}/liked_tweets"
LIKE = "/2/users/{id}/likes"
UNLIKE = "/2/users/{id}/likes/{tweet_id}"
ME = "/2/users/me"
POST = "/2/tweets/{id}"
USER = "/2/users/{id}"

USER_FIELDS = ",".join(sorted(_spec.USER_FIELDS))
TWEET_FIELDS = ",".join(sorted(_spec.TWEET_FIELDS))
EVERYTHING_ON_POSTS = {
    "tweet.fields": TWEET_FIELDS,
    "user.fields": USER_FIELDS,
    "media.fields": ",".join(sorted(_spec.MEDIA_FIELDS)),
    "poll.fields": ",".join(sorted(_spec.POLL_FIELDS)),
    "place.fields": ",".join(sorted(_spec.PLACE_FIELDS)),
}
#: the problem types each spec leaves undescribed, and which the sandbox answers with
UNDESCRIBED = {
    "tweet": set(),
    "post": {
        "about:blank",
        "https://api.x.com/2/problems/unsupported-authentication",
        "https://api.x.com/2/problems/client-forbidden",
        "https://api.x.com/2/problems/usage-capped",
    },
}
Sent = tuple[str, str, requests.Response]


def _expansions(naming: str, kind: str) -> str:
    return ",".join(sorted(_spec.NAMES[naming][kind]))


def _successes(sandbox: Any, naming: str) -> Iterator[Sent]:
    app, user, oauth1 = Client(sandbox), Client(sandbox, "oauth2_user"), Client(sandbox, "oauth1_user")
    me, big, none = sandbox.user_id, featured(sandbox, 1000), featured(sandbox, 0)
    user_expansions = _expansions(naming, "user_expansions")
    post_expansions = _expansions(naming, "tweet_expansions") + ",referenced_tweets.id.author_id"
    everything_on_users = {"user.fields": USER_FIELDS, "tweet.fields": TWEET_FIELDS, "expansions": user_expansions}
    for client in (app, user, oauth1):
        yield LIKING, "get", client.liking_users(big)
    yield LIKING, "get", user.liking_users(big, max_results=100, **everything_on_users)
    yield LIKING, "get", app.liking_users(none)
    yield LIKING, "get", app.liking_users("1")
    token: str | None = None
    while True:  # a whole listing, every page (short ones, an empty last one)
        r = user.liking_users(featured(sandbox, 333), max_results=100, **({"pagination_token": token} if token else {}))
        yield LIKING, "get", r
        token = r.json()["meta"].get("next_token")
        if not token:
            break
    for mr in (100, 5):
        yield LIKED, "get", user.liked_tweets(me, max_results=mr, expansions=post_expansions, **EVERYTHING_ON_POSTS)
    yield LIKED, "get", oauth1.liked_tweets(me)
    yield LIKED, "get", app.liked_tweets(me)  # app-only: the private-likes answer
    other = sandbox.admin.likers(featured(sandbox, 7))[0]
    yield LIKED, "get", user.liked_tweets(other)
    yield LIKED, "get", user.liked_tweets("12")
    yield ME, "get", user.get("/2/users/me", **everything_on_users)
    yield ME, "get", oauth1.get("/2/users/me")
    for post_id in (featured(sandbox, 7), sandbox.admin.liked(me)[3], "1"):
        yield POST, "get", app.get(f"/2/tweets/{post_id}", expansions=post_expansions, **EVERYTHING_ON_POSTS)
    for user_id in (me, other, "12"):
        yield USER, "get", user.get(f"/2/users/{user_id}", **everything_on_users)
    yield LIKE, "post", user.request("POST", f"/2/users/{me}/likes", json={"tweet_id": featured(sandbox, 7)})
    yield LIKE, "post", oauth1.request("POST", f"/2/users/{me}/likes", json={"tweet_id": "1"})
    yield UNLIKE, "delete", user.request("DELETE", f"/2/users/{me}/likes/{featured(sandbox, 7)}")


def _errors(sandbox: Any) -> Iterator[Sent]:
    app, user = Client(sandbox), Client(sandbox, "oauth2_user")
    me, post = sandbox.user_id, featured(sandbox, 7)
    other = sandbox.admin.likers(post)[0]
    yield LIKING, "get", user.liking_users(post, max_results=101)
    yield LIKING, "get", user.liking_users(post, pagination_token="not-a-token")
    yield LIKING, "get", user.liking_users(post, **{"user.fields": "shoe_size", "media.fields": "url"})
    yield LIKING, "get", user.get("/2/tweets/abc/liking_users")
    yield LIKED, "get", user.liked_tweets(me, max_results=3)
    yield POST, "get", app.get("/2/tweets/12345678901234567890")
    yield USER, "get", app.get("/2/users/x1", **{"user.fields": "nope"})
    yield LIKE, "post", user.request("POST", f"/2/users/{me}/likes", json={"tweet": "1"})
    yield LIKE, "post", user.request("POST", f"/2/users/{other}/likes", json={"tweet_id": post})
    yield UNLIKE, "delete", user.request("DELETE", f"/2/users/{me}/likes/abc")
    yield LIKING, "get", Client(sandbox, "none").liking_users(post)
    yield ME, "get", Client(sandbox, "bearer", "wrong").get("/2/users/me")
    yield ME, "get", app.get("/2/users/me")
    yield LIKE, "post", app.request("POST", f"/2/users/{me}/likes", json={"tweet_id": post})
    for mode in ("403", "404"):
        sandbox.admin.set_quirks(private_likes=mode)
        yield LIKED, "get", user.liked_tweets(other)
    sandbox.admin.set_quirks(private_likes="empty", app_only="refuse")
    yield LIKING, "get", app.liking_users(post)
    yield LIKED, "get", app.liked_tweets(me)
    sandbox.admin.set_quirks(app_only="no_user")
    for style in ("problem", "legacy"):
        sandbox.admin.set_quirks(error_style=style)
        sandbox.admin.set_faults(
            "rate_limit", "status,status=503", "status,status=500", "client_forbidden", "usage_capped"
        )
        for path, method, call in (
            (LIKING, "get", lambda: app.liking_users(post)),
            (LIKED, "get", lambda: user.liked_tweets(me)),
            (POST, "get", lambda: app.get(f"/2/tweets/{post}")),
            (ME, "get", lambda: user.get("/2/users/me")),
            (LIKE, "post", lambda: user.request("POST", f"/2/users/{me}/likes", json={"tweet_id": post})),
        ):
            yield path, method, call()


@pytest.mark.parametrize("naming", ["tweet", "post"])
@pytest.mark.parametrize("quirks", [{}, {"clean": True}, {"short_pages": True, "partial_errors": True}])
def test_every_response_validates_against_the_spec_of_its_naming(x_sandbox, naming, quirks):
    x_sandbox.admin.set_quirks(naming=naming, **quirks)
    sent = [*_successes(x_sandbox, naming), *_errors(x_sandbox)]
    statuses = {r.status_code for _, _, r in sent}
    assert statuses == {200, 400, 401, 403, 404, 429, 500, 503}
    undescribed = set()
    for path, method, response in sent:
        try:
            kind = validate_response(naming, path, method, response)
        except Exception as exc:
            raise AssertionError(f"{method} {response.url} -> {response.status_code} {response.text[:400]}") from exc
        if kind is not None:
            undescribed.add(kind)
    assert undescribed == UNDESCRIBED[naming]
    if not quirks.get("clean"):
        assert any("errors" in r.json() and "data" in r.json() for _, _, r in sent), "partial errors in a 200"


def test_missing_scopes_answer_validates(x_sandbox_factory):
    sandbox = x_sandbox_factory(scopes="tweet.read users.read offline.access")
    user = Client(sandbox, "oauth2_user")
    r = user.liking_users(featured(sandbox, 7))
    assert r.status_code == 403
    assert validate_response("tweet", LIKING, "get", r) is None


def test_the_validation_can_fail(x_sandbox):
    """A body missing what its problem schema requires is caught (the old private-likes 403 body)."""
    import jsonschema
    from sandbox_helpers import validate_problem

    old = {
        "title": "Forbidden",
        "detail": "Sorry, you are not authorized to see this user's likes.",
        "type": "https://api.twitter.com/2/problems/not-authorized-for-resource",
        "status": 403,
    }
    with pytest.raises(jsonschema.ValidationError):
        validate_problem("tweet", old)
