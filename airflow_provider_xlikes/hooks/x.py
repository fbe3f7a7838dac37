"""XHook: the X API v2 likes endpoints from an Airflow connection of type ``x``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import requests
from airflow.sdk import BaseHook

from airflow_provider_xlikes.exceptions import XConfigError, XForbiddenError, XValidationError
from airflow_provider_xlikes.get_provider_info import CONN_FIELDS
from airflow_provider_xlikes.hooks._api import (
    DEFAULT_BASE_URL,
    Page,
    RateLimitPolicy,
    RetryPolicy,
    Waiter,
    XApiClient,
    XAuth,
    sleep_waiter,
)
from airflow_provider_xlikes.hooks._auth import (
    AppBearerAuth,
    OAuth1UserAuth,
    OAuth2UserAuth,
    StaticBearerAuth,
    TokenEndpoint,
    TokenStore,
)
from airflow_provider_xlikes.hooks.token_store import FileTokenStore, VariableTokenStore
from airflow_provider_xlikes.validation import (
    validate_field_naming,
    validate_id,
    validate_max_records,
    validate_max_results,
    validate_names,
)

AUTH_TYPES = ("bearer", "oauth2_user", "oauth1_user")
SECRET_EXTRAS = (
    "api_secret",
    "client_secret",
    "refresh_token",
    "access_token",
    "consumer_secret",
    "access_token_secret",
)
Names = str | Iterable[str] | None


@dataclass(frozen=True)
class XConnectionSettings:
    """The validated content of an ``x`` connection (secrets are not shown by ``repr``)."""

    conn_id: str
    base_url: str
    auth_type: str
    password: str | None
    extra: dict[str, Any]

    def __repr__(self) -> str:
        return (
            f"XConnectionSettings(conn_id={self.conn_id!r}, base_url={self.base_url!r}, auth_type={self.auth_type!r})"
        )

    def require(self, *keys: str) -> list[str]:
        missing = [key for key in keys if not self.extra.get(key)]
        if missing:
            raise XConfigError(
                f"connection {self.conn_id!r} with auth_type {self.auth_type!r} needs extra "
                + ", ".join(repr(k) for k in missing)
            )
        return [str(self.extra[key]) for key in keys]


def _base_url(host: str | None, schema: str | None, port: int | None) -> str:
    if not host:
        return DEFAULT_BASE_URL
    if "://" in host:
        return host.rstrip("/")
    url = f"{schema or 'https'}://{host}"
    return f"{url}:{port}" if port else url


class XHook(BaseHook):
    """Talks to the X API v2 likes endpoints through the connection ``x_conn_id``.

    One reusable HTTP session with connect/read timeouts; retries of transient failures; one
    rate-limit state that waits for the window's reset instead of provoking a 429 (``waiter``
    decides how a wait is spent: sleep by default, or raise so a task can defer); pagination that
    can stop after any page and resume from its cursor in another process; API errors mapped to
    :mod:`airflow_provider_xlikes.exceptions`. Every argument is validated before any request.

    :param x_conn_id: the connection (type ``x``).
    :param waiter: how rate-limit waits are spent (see ``hooks._api.DeferringWaiter``).
    :param token_store: where rotated OAuth 2.0 tokens are kept (default: the connection's
        ``token_store`` extra, an Airflow Variable unless set to a directory).
    :param retry: attempts and backoff on transient failures (default from the connection).
    :param rate_limit_policy: consecutive 429s and backoff bounds.
    """

    conn_name_attr = "x_conn_id"
    default_conn_name = "x_default"
    conn_type = "x"
    hook_name = "X API v2"

    def __init__(
        self,
        x_conn_id: str = default_conn_name,
        *,
        waiter: Waiter | None = None,
        token_store: TokenStore | None = None,
        retry: RetryPolicy | None = None,
        rate_limit_policy: RateLimitPolicy | None = None,
    ) -> None:
        super().__init__()
        self.x_conn_id = x_conn_id
        self._waiter = waiter or sleep_waiter
        self._token_store = token_store
        self._retry = retry
        self._rate_limit_policy = rate_limit_policy or RateLimitPolicy()

    def __repr__(self) -> str:
        return f"<XHook x_conn_id={self.x_conn_id!r}>"

    # ------------------------------------------------------------------ connection
    @cached_property
    def settings(self) -> XConnectionSettings:
        """The connection, checked: known extra keys only, a known auth type, secrets masked."""
        from airflow.sdk.log import mask_secret

        conn = self.get_connection(self.x_conn_id)
        extra = dict(conn.extra_dejson)
        unknown = sorted(set(extra) - set(CONN_FIELDS))
        if unknown:
            raise XConfigError(
                f"connection {self.x_conn_id!r} has unknown extra key(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(CONN_FIELDS))}"
            )
        for key in SECRET_EXTRAS:
            if extra.get(key):
                mask_secret(str(extra[key]))
        if conn.password:
            mask_secret(conn.password)
        auth_type = extra.get("auth_type") or "bearer"
        if auth_type not in AUTH_TYPES:
            raise XValidationError("auth_type", auth_type, AUTH_TYPES)
        if extra.get("field_naming") is not None:
            validate_field_naming(extra["field_naming"])
        return XConnectionSettings(
            conn_id=self.x_conn_id,
            base_url=_base_url(conn.host, conn.schema, conn.port),
            auth_type=auth_type,
            password=conn.password or None,
            extra=extra,
        )

    @cached_property
    def client(self) -> XApiClient:
        """The HTTP core (session, auth, retries, rate limits, paging), built once per hook."""
        settings = self.settings
        extra = settings.extra
        retry = self._retry or RetryPolicy(attempts=int(extra.get("max_retries") or 5))
        client = XApiClient(
            base_url=settings.base_url,
            auth=StaticBearerAuth(""),  # replaced below, once the session exists
            connect_timeout=float(extra.get("connect_timeout") or 5.0),
            read_timeout=float(extra.get("read_timeout") or 30.0),
            retry=retry,
            rate_limits=self._rate_limit_policy,
            waiter=self._waiter,
        )
        client.auth = self._build_auth(settings, TokenEndpoint(client.session, client.base_url, client.timeout))
        return client

    def _build_auth(self, settings: XConnectionSettings, endpoint: TokenEndpoint) -> XAuth:
        from airflow.sdk.log import mask_secret

        extra = settings.extra
        if settings.auth_type == "bearer":
            if settings.password:
                return StaticBearerAuth(settings.password)
            if extra.get("api_key") or extra.get("api_secret"):
                api_key, api_secret = settings.require("api_key", "api_secret")
                return AppBearerAuth(api_key, api_secret, endpoint, on_secret=mask_secret)
            raise XConfigError(
                f"connection {self.x_conn_id!r} (auth_type 'bearer') needs a bearer token in Password, "
                "or extra 'api_key' and 'api_secret'"
            )
        if settings.auth_type == "oauth2_user":
            (client_id,) = settings.require("client_id")
            refresh_token = extra.get("refresh_token")
            access_token = extra.get("access_token") or settings.password
            if not refresh_token and not access_token:
                raise XConfigError(
                    f"connection {self.x_conn_id!r} (auth_type 'oauth2_user') needs extra 'refresh_token' "
                    "(or at least 'access_token')"
                )
            return OAuth2UserAuth(
                client_id=client_id,
                client_secret=extra.get("client_secret") or None,
                refresh_token=refresh_token or None,
                access_token=access_token or None,
                store=self.token_store,
                store_key=self.x_conn_id,
                endpoint=endpoint,
                on_secret=mask_secret,
            )
        consumer_key, consumer_secret, access_token, access_token_secret = settings.require(
            "consumer_key", "consumer_secret", "access_token", "access_token_secret"
        )
        return OAuth1UserAuth(consumer_key, consumer_secret, access_token, access_token_secret)

    @cached_property
    def token_store(self) -> TokenStore:
        if self._token_store is not None:
            return self._token_store
        where = str(self.settings.extra.get("token_store") or "variable")
        if where == "variable":
            return VariableTokenStore()
        return FileTokenStore(where)

    def get_conn(self) -> requests.Session:
        """The hook's one ``requests.Session`` (auth is added per request, never stored in headers)."""
        return self.client.session

    @property
    def _tweet_fields_param(self) -> str:
        return "post.fields" if self.settings.extra.get("field_naming") == "post" else "tweet.fields"

    # ------------------------------------------------------------------ listings
    def iter_liking_users(
        self,
        tweet_id: str | int,
        *,
        max_results: int = 100,
        max_records: int | None = None,
        max_pages: int | None = None,
        pagination_token: str | None = None,
        user_fields: Names = None,
        tweet_fields: Names = None,
        expansions: Names = None,
    ) -> Iterator[Page]:
        """Pages of the users who liked ``tweet_id`` (``GET /2/tweets/:id/liking_users``).

        Arguments are validated now, before the first request; pages are fetched lazily.
        """
        tweet_id = validate_id("tweet_id", tweet_id)
        query = self._query(
            "liking_users",
            max_results,
            {
                "user.fields": ("user_fields", user_fields),
                "tweet.fields": ("tweet_fields", tweet_fields),
                "expansions": ("expansions", expansions),
            },
        )
        validate_max_records(max_records)
        return self.client.paginate(
            f"/2/tweets/{tweet_id}/liking_users",
            endpoint="GET /2/tweets/:id/liking_users",
            params=query,
            max_records=max_records,
            max_pages=max_pages,
            pagination_token=pagination_token,
            min_page_size=1,
        )

    def iter_liked_tweets(
        self,
        user_id: str | int,
        *,
        max_results: int = 100,
        max_records: int | None = None,
        max_pages: int | None = None,
        pagination_token: str | None = None,
        tweet_fields: Names = None,
        user_fields: Names = None,
        media_fields: Names = None,
        poll_fields: Names = None,
        place_fields: Names = None,
        expansions: Names = None,
    ) -> Iterator[Page]:
        """Pages of the posts ``user_id`` liked (``GET /2/users/:id/liked_tweets``).

        Since 2024 likes are private on X: another user's liked posts may come back empty; a
        warning says so instead of returning a silent empty result.
        """
        user_id = validate_id("user_id", user_id)
        query = self._query(
            "liked_tweets",
            max_results,
            {
                "tweet.fields": ("tweet_fields", tweet_fields),
                "user.fields": ("user_fields", user_fields),
                "media.fields": ("media_fields", media_fields),
                "poll.fields": ("poll_fields", poll_fields),
                "place.fields": ("place_fields", place_fields),
                "expansions": ("expansions", expansions),
            },
        )
        validate_max_records(max_records)

        def warn_if_private(page: Page) -> None:
            if page.number == 1 and page.pagination_token is None and not page.data and not page.next_token:
                self.log.warning(
                    "User %s's liked posts came back empty. Likes are private on X since 2024: only the "
                    "authenticated user's own likes are returned (auth_type %r).",
                    user_id,
                    self.settings.auth_type,
                )

        return self.client.paginate(
            f"/2/users/{user_id}/liked_tweets",
            endpoint="GET /2/users/:id/liked_tweets",
            params=query,
            max_records=max_records,
            max_pages=max_pages,
            pagination_token=pagination_token,
            min_page_size=5,
            on_page=warn_if_private,
        )

    def get_liking_users(self, tweet_id: str | int, **kwargs: Any) -> list[dict[str, Any]]:
        """All users who liked ``tweet_id`` (or the first ``max_records``), as one list."""
        return [record for page in self.iter_liking_users(tweet_id, **kwargs) for record in page.data]

    def get_liked_tweets(self, user_id: str | int, **kwargs: Any) -> list[dict[str, Any]]:
        """All posts ``user_id`` liked (or the first ``max_records``), as one list."""
        return [record for page in self.iter_liked_tweets(user_id, **kwargs) for record in page.data]

    def _query(self, endpoint: str, max_results: int | None, names: dict[str, tuple[str, Names]]) -> dict[str, Any]:
        """Validated query parameters; field names go out under the connection's field naming."""
        query: dict[str, Any] = {}
        if max_results is not None:
            query["max_results"] = validate_max_results(endpoint, max_results)
        for parameter, (argument, value) in names.items():
            checked = validate_names(endpoint, parameter, argument, value)
            if checked:
                name = self._tweet_fields_param if parameter == "tweet.fields" else parameter
                query[name] = ",".join(checked)
        return query

    # ------------------------------------------------------------------ the authenticated user
    def get_me(
        self, *, user_fields: Names = None, tweet_fields: Names = None, expansions: Names = None
    ) -> dict[str, Any]:
        """The authenticated user (``GET /2/users/me``); needs user-context auth."""
        query = self._query(
            "me",
            None,
            {
                "user.fields": ("user_fields", user_fields),
                "tweet.fields": ("tweet_fields", tweet_fields),
                "expansions": ("expansions", expansions),
            },
        )
        response = self.client.request("GET", "/2/users/me", endpoint="GET /2/users/me", params=query)
        data: dict[str, Any] = response.payload.get("data") or {}
        return data

    @cached_property
    def authenticated_user_id(self) -> str:
        """Id of the user the credentials act for (one ``/2/users/me`` call, cached per hook)."""
        return str(self.get_me()["id"])

    # ------------------------------------------------------------------ like / unlike
    def like(self, tweet_id: str | int, *, user_id: str | int | None = None) -> bool:
        """Like ``tweet_id`` as ``user_id`` (default: the authenticated user). Returns ``liked``.

        Liking a post that is already liked succeeds. Retried safely: the outcome is idempotent.
        """
        tweet_id = validate_id("tweet_id", tweet_id)
        user = validate_id("user_id", user_id) if user_id is not None else self.authenticated_user_id
        response = self.client.request(
            "POST",
            f"/2/users/{user}/likes",
            endpoint="POST /2/users/:id/likes",
            json_body={"tweet_id": tweet_id},
        )
        return bool((response.payload.get("data") or {}).get("liked"))

    def unlike(self, tweet_id: str | int, *, user_id: str | int | None = None) -> bool:
        """Remove the like of ``tweet_id``. Returns ``liked`` (False); unliking a not-liked post succeeds."""
        tweet_id = validate_id("tweet_id", tweet_id)
        user = validate_id("user_id", user_id) if user_id is not None else self.authenticated_user_id
        response = self.client.request(
            "DELETE", f"/2/users/{user}/likes/{tweet_id}", endpoint="DELETE /2/users/:id/likes/:tweet_id"
        )
        return bool((response.payload.get("data") or {}).get("liked"))

    # ------------------------------------------------------------------ UI
    def test_connection(self) -> tuple[bool, str]:
        """Check the credentials with the cheapest authenticated call (``/2/users/me``)."""
        try:
            if self.settings.auth_type == "bearer":
                # app-only tokens cannot call /2/users/me: one single-item listing instead
                next(self.iter_liking_users("20", max_results=1, max_pages=1))
                return True, "App-only bearer token accepted"
            me = self.get_me()
        except XForbiddenError as exc:
            return False, str(exc)
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"
        return True, f"Authenticated as @{me.get('username')} (user id {me.get('id')})"
