"""XHook against the real sandbox server over HTTP: paging, limits, retries, errors, auth, secrets."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from helpers import featured
from reliability import check_canary

from airflow_provider_xlikes.exceptions import (
    XAuthError,
    XBadRequestError,
    XConfigError,
    XForbiddenError,
    XRateLimitError,
    XServerError,
    XValidationError,
)

AUTH_TYPES = ["bearer", "bearer_keys", "oauth2_user", "oauth1_user"]


# ---------------------------------------------------------------------------------------- paging
@pytest.mark.x_sandbox(clean=True, liking_users_cap=None)  # exact pages, all 1,000 likers (X lists 100)
@pytest.mark.parametrize("auth_type", AUTH_TYPES)
def test_pages_a_1000_item_listing_in_pages_of_100_without_loss_or_duplicate(x_sandbox, connect, auth_type) -> None:
    hook = connect(x_sandbox, auth_type)
    post = featured(x_sandbox, 1000)
    pages = list(hook.iter_liking_users(post, max_results=100))
    ids = [user["id"] for page in pages for user in page.data]
    assert len(pages) == 10
    assert [page.number for page in pages] == list(range(1, 11))
    assert len(ids) == 1000
    assert len(set(ids)) == 1000
    assert ids == x_sandbox.admin.likers(post)
    assert x_sandbox.admin.total_requests("liking_users") == 10


@pytest.mark.x_sandbox(clean=True, liking_users_cap=None)  # exact pages, past the 100 likers X lists
def test_max_records_stops_early_without_an_extra_request(x_sandbox, connect) -> None:
    hook = connect(x_sandbox)
    post = featured(x_sandbox, 1000)
    records = hook.get_liking_users(post, max_records=250)
    assert [r["id"] for r in records] == x_sandbox.admin.likers(post)[:250]
    assert x_sandbox.admin.total_requests("liking_users") == 3  # 100 + 100 + 50, no fourth


@pytest.mark.x_sandbox(clean=True, liking_users_cap=None)  # exact pages, all 1,000 likers (X lists 100)
def test_a_listing_resumes_from_a_cursor_in_another_process(x_sandbox, connect) -> None:
    hook = connect(x_sandbox)
    post = featured(x_sandbox, 1000)
    script = (
        "import json; from airflow_provider_xlikes.hooks.x import XHook\n"
        f"pages = XHook().iter_liking_users('{post}', max_results=100, max_pages=4)\n"
        "seen = [p for p in pages]\n"
        "print(json.dumps({'ids': [u['id'] for p in seen for u in p.data], 'cursor': seen[-1].next_token}))\n"
    )
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    head = json.loads(first.stdout.strip().splitlines()[-1])
    assert len(head["ids"]) == 400
    rest = [u["id"] for page in hook.iter_liking_users(post, pagination_token=head["cursor"]) for u in page.data]
    assert head["ids"] + rest == x_sandbox.admin.likers(post)
    assert x_sandbox.admin.total_requests("liking_users") == 10


def test_every_quirk_is_paged_without_loss(x_sandbox, connect) -> None:
    x_sandbox.admin.set_quirks(short_pages=True, empty_last_page=True, partial_errors=True, liking_users_cap=None)
    hook = connect(x_sandbox, "oauth2_user")
    post = featured(x_sandbox, 1000)
    pages = list(hook.iter_liking_users(post, max_results=100, expansions="pinned_tweet_id"))
    ids = [u["id"] for page in pages for u in page.data]
    assert ids == x_sandbox.admin.likers(post)
    assert any(len(page.data) < 100 and page.next_token for page in pages), "short pages with next_token"
    assert pages[-1].data == []
    assert pages[-1].previous_token is not None
    me = x_sandbox.user_id
    liked = list(hook.iter_liked_tweets(me, expansions="referenced_tweets.id,author_id", tweet_fields="author_id"))
    liked_ids = [t["id"] for page in liked for t in page.data]
    assert liked_ids == x_sandbox.admin.liked(me)
    assert sum(len(page.errors) for page in liked) > 0, "partial errors are returned with their page"


def test_includes_under_the_post_naming_are_read(x_sandbox, connect) -> None:
    x_sandbox.admin.set_quirks(naming="post")
    hook = connect(x_sandbox, "oauth2_user")
    pages = list(hook.iter_liking_users(featured(x_sandbox, 1000), expansions="pinned_post_id", max_pages=2))
    assert any(page.included_tweets for page in pages)


def test_another_users_empty_likes_are_flagged_not_silent(x_sandbox, connect, logs) -> None:
    hook = connect(x_sandbox, "oauth2_user")
    other = x_sandbox.admin.likers(featured(x_sandbox, 7))[0]
    assert hook.get_liked_tweets(other) == []
    assert "private" in logs()


# ----------------------------------------------------------------------------------- rate limits
@pytest.mark.slow
def test_exhausted_window_is_waited_out_instead_of_provoking_a_429(x_sandbox_factory, connect, waiter) -> None:
    # 100 pages of 10 (past X's 100 likers); a window long enough that a loaded machine sends its 75
    # requests before it resets (the waiter records the wait and sleeps through it)
    sandbox = x_sandbox_factory(window_seconds=10, liking_users_cap=None)
    hook = connect(sandbox)
    post = featured(sandbox, 1000)
    ids = [u["id"] for page in hook.iter_liking_users(post, max_results=10) for u in page.data]  # 100 pages > 75
    assert ids == sandbox.admin.likers(post)
    counts = sandbox.admin.request_counts()
    assert counts["by_status"].get("429", 0) == 0
    assert [reason for _, _, reason in waiter.waits] == ["rate-limit window exhausted"]
    assert 0 < waiter.waits[0][0] <= 11.5  # reset is whole epoch seconds


@pytest.mark.parametrize("headers", [True, False])
def test_a_429_is_waited_out_and_paging_goes_on(x_sandbox_factory, connect, waiter, headers) -> None:
    sandbox = x_sandbox_factory(window_seconds=2, liking_users_cap=None)  # pages past the 100 likers X lists
    sandbox.admin.set_faults({"kind": "rate_limit", "count": 2, "after": 3, "headers": headers})
    hook = connect(sandbox)
    post = featured(sandbox, 1000)
    ids = [u["id"] for page in hook.iter_liking_users(post) for u in page.data]
    assert ids == sandbox.admin.likers(post)
    assert [reason for _, _, reason in waiter.waits] == ["HTTP 429", "HTTP 429"]
    assert sandbox.admin.request_counts()["by_status"]["429"] == 2


def test_endless_429s_end_in_a_typed_error(x_sandbox, connect) -> None:
    x_sandbox.admin.set_faults({"kind": "rate_limit", "count": 0, "headers": False})
    hook = connect(x_sandbox)
    hook.client.rate_limits.max_waits = 2
    hook.client.rate_limits.backoff_initial = 0.01
    with pytest.raises(XRateLimitError):
        hook.get_liking_users(featured(x_sandbox, 7))
    assert x_sandbox.admin.total_requests("liking_users") == 3


# --------------------------------------------------------------------------------------- retries
@pytest.mark.reliability
@pytest.mark.parametrize("kind", ["status", "reset", "malformed", "truncated"])
def test_transient_failures_are_retried(x_sandbox, connect, kind, record_reliability) -> None:
    x_sandbox.admin.set_faults({"kind": kind, "count": 2, "endpoint": "liking_users"})
    hook = connect(x_sandbox)
    post = featured(x_sandbox, 7)
    ids, expected = [u["id"] for u in hook.get_liking_users(post)], x_sandbox.admin.likers(post)
    record_reliability(
        "fault",
        f"hook: {kind} on 2 requests in a row",
        requests=x_sandbox.admin.total_requests("liking_users"),
        lost=len(set(expected) - set(ids)),
        duplicated=len(ids) - len(set(ids)),
    )
    assert ids == expected
    assert x_sandbox.admin.total_requests("liking_users") == 3


@pytest.mark.reliability
def test_retries_are_bounded(x_sandbox, connect, record_reliability) -> None:
    x_sandbox.admin.set_faults({"kind": "status", "count": 0, "status": 503})
    hook = connect(x_sandbox)
    with pytest.raises(XServerError) as info:
        hook.get_liking_users(featured(x_sandbox, 7))
    record_reliability(
        "fault",
        "hook: 503 on every request",
        requests=x_sandbox.admin.total_requests("liking_users"),
        outcome=f"{type(info.value).__name__} after the attempts, nothing returned as complete",
    )
    assert info.value.status == 503
    assert x_sandbox.admin.total_requests("liking_users") == 4


@pytest.mark.reliability
def test_a_read_timeout_is_retried(x_sandbox, connect, record_reliability) -> None:
    x_sandbox.admin.set_faults({"kind": "slow", "count": 1, "delay": 2.0})
    hook = connect(x_sandbox, read_timeout=0.5)
    post = featured(x_sandbox, 7)
    ids, expected = [u["id"] for u in hook.get_liking_users(post)], x_sandbox.admin.likers(post)
    record_reliability(
        "fault",
        "hook: read timeout on the first request",
        requests=x_sandbox.admin.total_requests("liking_users"),
        lost=len(set(expected) - set(ids)),
        duplicated=len(ids) - len(set(ids)),
    )
    assert len(ids) == 7


def test_a_4xx_is_never_retried(x_sandbox, connect) -> None:
    hook = connect(x_sandbox)
    with pytest.raises(XBadRequestError) as info:
        hook.get_liking_users(featured(x_sandbox, 1000), pagination_token="not-a-real-token")
    assert info.value.status == 400
    assert x_sandbox.admin.total_requests("liking_users") == 1


# ---------------------------------------------------------------------------------------- errors
def test_app_only_refused_names_the_auth_that_would_work(x_sandbox, connect) -> None:
    x_sandbox.admin.set_quirks(app_only="refuse")
    hook = connect(x_sandbox, "bearer")
    with pytest.raises(XForbiddenError) as info:
        hook.get_liking_users(featured(x_sandbox, 7))
    assert info.value.reason == "unsupported-authentication"
    assert info.value.working_auth_types == ("oauth2_user", "oauth1_user")
    assert "oauth2_user" in str(info.value)
    assert x_sandbox.admin.total_requests("liking_users") == 1


def test_a_refused_field_parameter_name_says_which_name_to_use(x_sandbox, connect) -> None:
    x_sandbox.admin.set_quirks(field_param="post")
    hook = connect(x_sandbox)
    post = featured(x_sandbox, 7)
    with pytest.raises(XBadRequestError) as info:
        hook.get_liking_users(post, tweet_fields="created_at", expansions="pinned_tweet_id")
    assert "tweet.fields" in info.value.parameters
    assert "field_naming='post'" in str(info.value)
    hook = connect(x_sandbox, field_naming="post", conn_id="x_post")
    assert len(hook.get_liking_users(post, tweet_fields="created_at", expansions="pinned_tweet_id")) == 7


def test_wrong_credentials_are_an_auth_error(x_sandbox, monkeypatch) -> None:
    conn = json.loads(x_sandbox.conn_json("bearer"))
    conn["password"] = "not-the-token"
    monkeypatch.setenv("AIRFLOW_CONN_X_WRONG", json.dumps(conn))
    from airflow_provider_xlikes.hooks.x import XHook

    with pytest.raises(XAuthError) as info:
        XHook("x_wrong").get_liking_users(featured(x_sandbox, 7))
    assert info.value.status == 401
    assert "not-the-token" not in str(info.value)


# -------------------------------------------------------------------------- validation, no request
@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda h: h.iter_liking_users("12a"), "tweet_id"),
        (lambda h: h.iter_liking_users("20", max_results=0), "max_results"),
        (lambda h: h.iter_liked_tweets("20", max_results=4), "max_results"),
        (lambda h: h.iter_liking_users("20", user_fields="username,shoe_size"), "user_fields"),
        (lambda h: h.iter_liking_users("20", expansions="author_id"), "expansions"),
        (lambda h: h.iter_liked_tweets("20", media_fields="colour"), "media_fields"),
        (lambda h: h.iter_liking_users("20", max_records=0), "max_records"),
        (lambda h: h.like("1" * 20), "tweet_id"),
        (lambda h: h.unlike("20", user_id="me"), "user_id"),
    ],
)
@pytest.mark.reliability
def test_bad_input_is_rejected_before_any_request(x_sandbox, connect, call, parameter, record_reliability) -> None:
    hook = connect(x_sandbox)
    with pytest.raises(XValidationError) as info:
        call(hook)
    record_reliability(
        "bad_input",
        f"hook (sandbox): {parameter}={info.value.value!r}",
        error=type(info.value).__name__,
        names_the_parameter=info.value.parameter == parameter,
        requests_sent=x_sandbox.admin.total_requests(),
    )
    assert info.value.parameter == parameter
    assert parameter in str(info.value)
    assert x_sandbox.admin.total_requests() == 0


def test_unknown_connection_extra_is_an_error_naming_it(x_sandbox, connect) -> None:
    hook = connect(x_sandbox, headers={"X-Evil": "1"})
    with pytest.raises(XConfigError, match="headers") as info:
        hook.get_liking_users("20")
    assert "auth_type" in str(info.value)
    assert x_sandbox.admin.total_requests() == 0


def test_bad_auth_type_names_the_allowed_values(x_sandbox, connect) -> None:
    hook = connect(x_sandbox, "bearer", conn_id="x_bad", extra={"auth_type": "basic"})
    with pytest.raises(XValidationError, match="oauth2_user"):
        hook.get_liking_users("20")


# ------------------------------------------------------------------------------------ like/unlike
@pytest.mark.parametrize("auth_type", ["oauth2_user", "oauth1_user"])
def test_like_and_unlike_change_the_listing_and_are_idempotent(x_sandbox, connect, auth_type) -> None:
    hook = connect(x_sandbox, auth_type)
    post = featured(x_sandbox, 7)
    me = x_sandbox.user_id
    assert me not in x_sandbox.admin.likers(post)
    assert hook.like(post) is True
    assert hook.like(post) is True  # already liked: still success
    assert next(u["id"] for u in hook.get_liking_users(post)) == me
    assert hook.unlike(post, user_id=me) is False
    assert hook.unlike(post) is False  # not liked: still success
    assert me not in [u["id"] for u in hook.get_liking_users(post)]
    assert x_sandbox.admin.total_requests("users_me") == 1  # the authenticated user is looked up once


# ----------------------------------------------------------------------------------- OAuth 2 flow
def test_an_expired_access_token_is_refreshed_and_the_rotated_token_stored(
    x_sandbox_factory, connect, tmp_path
) -> None:
    sandbox = x_sandbox_factory(token_lifetime=120)
    hook = connect(sandbox, "oauth2_user")
    assert hook.get_me()["id"] == sandbox.user_id
    assert sandbox.admin.total_requests("oauth2_token") == 0
    sandbox.admin.advance_clock(200)  # the connection's access token has expired
    assert hook.get_me()["id"] == sandbox.user_id  # 401 -> one refresh -> retry
    assert sandbox.admin.total_requests("oauth2_token") == 1
    stored = hook.token_store.load(hook.client.auth.store_key)
    assert stored is not None
    assert stored.refresh_token != sandbox.credentials["refresh_token"]  # rotated and kept
    # a new hook (a later task) starts from the stored tokens, not the dead refresh token
    again = connect(sandbox, "oauth2_user")
    sandbox.admin.advance_clock(200)
    assert again.get_me()["id"] == sandbox.user_id
    assert sandbox.admin.total_requests("oauth2_token") == 2


def test_a_refused_refresh_token_says_what_to_do(x_sandbox, connect) -> None:
    hook = connect(x_sandbox, "oauth2_user", refresh_token="revoked-long-ago", access_token="expired")
    with pytest.raises(XAuthError) as info:
        hook.get_me()
    assert "authorize the app again" in str(info.value)
    assert "revoked-long-ago" not in str(info.value)


# --------------------------------------------------------------------------------------- secrets
@pytest.mark.reliability
@pytest.mark.parametrize("auth_type", AUTH_TYPES)
def test_no_secret_in_logs_exceptions_or_repr(x_sandbox_factory, connect, logs, auth_type, record_reliability) -> None:
    sandbox = x_sandbox_factory(token_lifetime=120, faults=["status,count=1,status=503"])
    hook = connect(sandbox, auth_type)
    hook.get_liking_users(featured(sandbox, 7))
    sandbox.admin.advance_clock(300)
    hook.get_liking_users(featured(sandbox, 7))
    with pytest.raises(XBadRequestError) as info:
        hook.get_liking_users(featured(sandbox, 1000), pagination_token="bogus")
    identifiers = ("user_id", "client_id", "username", "api_key", "consumer_key")  # app/user ids, not secrets
    secrets = [str(v) for k, v in sandbox.credentials.items() if k not in identifiers and isinstance(v, str)]
    stored = hook.token_store.load(hook.client.auth.store_key) if auth_type == "oauth2_user" else None
    if stored is not None:
        secrets += [stored.refresh_token, stored.access_token or ""]
    shown = logs() + repr(hook) + repr(hook.client) + repr(hook.settings) + str(info.value) + repr(info.value)
    check_canary(record_reliability, f"hook, {auth_type}: logs, exception, repr (refresh, 503, 400)", secrets, shown)


def test_test_connection_for_each_auth_type(x_sandbox, connect) -> None:
    for auth_type in AUTH_TYPES:
        ok, message = connect(x_sandbox, auth_type, conn_id=f"x_{auth_type}").test_connection()
        assert ok, (auth_type, message)
    ok, message = connect(x_sandbox, "bearer", conn_id="x_nope", extra={"auth_type": "oauth2_user"}).test_connection()
    assert not ok
    assert "client_id" in message


def test_waits_are_timed_and_logged(x_sandbox_factory, connect, logs) -> None:
    sandbox = x_sandbox_factory(window_seconds=1)
    sandbox.admin.set_faults({"kind": "rate_limit", "count": 1})
    hook = connect(sandbox)
    started = time.monotonic()
    hook.get_liking_users(featured(sandbox, 7))
    assert time.monotonic() - started < 60  # the 1 s window's reset, not a 15-minute one (load moves the rest)
    assert "Rate limit: waiting" in logs()


def test_a_public_client_refreshes_with_client_id_in_the_body(x_sandbox_factory, connect) -> None:
    sandbox = x_sandbox_factory(client_secret=None)
    hook = connect(sandbox, "oauth2_user")
    assert "client_secret" not in hook.settings.extra
    sandbox.admin.advance_clock(8000)  # the connection's access token has expired
    assert hook.get_me()["id"] == sandbox.user_id
    assert sandbox.admin.total_requests("oauth2_token") == 1


def test_a_confidential_client_with_a_wrong_secret_is_refused(x_sandbox, connect) -> None:
    hook = connect(x_sandbox, "oauth2_user", client_secret="not-the-secret", access_token="expired")
    with pytest.raises(XAuthError) as info:
        hook.get_me()
    assert "not-the-secret" not in str(info.value)


@pytest.mark.x_sandbox(daily_limit_headers=True)  # the sandbox sends no 24-hour headers by default
def test_the_24_hour_like_window_is_tracked_and_waited_for(x_sandbox, connect, waiter) -> None:
    from airflow_provider_xlikes.hooks.client import DAILY_SUFFIX
    from airflow_provider_xlikes.rate_limits import RateLimit

    hook = connect(x_sandbox, "oauth2_user")
    post = featured(x_sandbox, 7)
    hook.like(post)
    endpoint = "POST /2/users/:id/likes"
    assert hook.client.limits[endpoint].limit == 50
    daily = hook.client.limits[endpoint + DAILY_SUFFIX]
    assert (daily.limit, daily.remaining) == (1000, 999)
    # as if the 1,000 likes of the day were spent, with the day ending in a second
    hook.client.limits[endpoint + DAILY_SUFFIX] = RateLimit(limit=1000, remaining=0, reset_at=time.time() + 1)
    assert hook.like(post) is True
    assert [reason for _, _, reason in waiter.waits] == ["rate-limit window exhausted"]
    assert 0.5 < waiter.waits[0][0] <= 1.5


# ------------------------------------------------------------------- waiting that frees the worker
@pytest.mark.slow
def test_a_deferring_waiter_stops_at_a_cursor_and_another_hook_resumes_without_loss(x_sandbox_factory, connect) -> None:
    from airflow_provider_xlikes import DeferringWaiter
    from airflow_provider_xlikes.exceptions import XRateLimitWait

    # exact pages: the window's 75 requests give 750 records; a window long enough that a loaded
    # machine sends them all before it resets
    sandbox = x_sandbox_factory(window_seconds=15, clean=True, liking_users_cap=None)
    post = featured(sandbox, 1000)
    hook = connect(sandbox)
    hook.client.waiter = DeferringWaiter(max_sleep=0.0)
    collected: list[str] = []
    with pytest.raises(XRateLimitWait) as info:
        for page in hook.iter_liking_users(post, max_results=10):  # 100 pages: the window (75) runs out
            collected += [u["id"] for u in page.data]
    assert len(collected) == 750
    assert info.value.pagination_token is not None
    assert info.value.resume_at > time.time()
    time.sleep(max(0.0, info.value.resume_at - time.time()))
    resumed = connect(sandbox, conn_id="x_resumed")  # a new hook, as a resumed task would build
    rest = [
        u["id"]
        for p in resumed.iter_liking_users(post, max_results=10, pagination_token=info.value.pagination_token)
        for u in p.data
    ]
    assert collected + rest == sandbox.admin.likers(post)
    assert sandbox.admin.request_counts()["by_status"].get("429", 0) == 0


# ------------------------------------------------------------------------ both error body shapes
def test_legacy_error_bodies_are_parsed(x_sandbox_factory, connect, waiter) -> None:
    x_sandbox = x_sandbox_factory(window_seconds=1, error_style="legacy")
    hook = connect(x_sandbox)
    post = featured(x_sandbox, 7)
    x_sandbox.admin.set_faults({"kind": "rate_limit", "count": 1})
    assert len(hook.get_liking_users(post)) == 7
    assert [reason for _, _, reason in waiter.waits] == ["HTTP 429"]  # legacy code 88 waited out
    x_sandbox.admin.set_faults({"kind": "status", "count": 0, "status": 503})
    with pytest.raises(XServerError) as info:
        hook.get_liking_users(post)
    assert info.value.status == 503
    assert info.value.errors[0]["code"]
    assert info.value.errors[0]["message"] in str(info.value)
