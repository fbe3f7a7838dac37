"""XHook: the X API v2 likes endpoints from an Airflow connection of type ``x``.

Over 400 lines because :class:`XHook` is one class, the provider's API: its methods (the
listings, lookups, writes, usage, the connection test) are what users call. What it is built from
lives beside it: the connection's checks in :mod:`.settings`, HTTP in :mod:`.client`, error mapping
in :mod:`.errors`, auth in :mod:`._auth`, the shared rate budget in :mod:`.budget`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cached_property
from typing import Any, TypedDict

import requests
from airflow.sdk import BaseHook
from typing_extensions import Unpack

from airflow_provider_xlikes import state
from airflow_provider_xlikes.endpoints import (
    LIKE,
    LIKED_TWEETS,
    LIKING_USERS,
    UNLIKE,
    USAGE_DAYS,
    USAGE_FIELDS,
    USAGE_TWEETS,
    USERS_ME,
    Endpoint,
)
from airflow_provider_xlikes.exceptions import (
    XBadRequestError,
    XConfigError,
    XForbiddenError,
    XMalformedResponseError,
    XNotFoundError,
    XRateLimitWait,
    XUsageCappedError,
    XValidationError,
)
from airflow_provider_xlikes.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_xlikes.hooks._auth import (
    AppBearerAuth,
    OAuth1UserAuth,
    OAuth2UserAuth,
    StaticBearerAuth,
    TokenEndpoint,
)
from airflow_provider_xlikes.hooks.budget import BudgetStore, SharedBudget, budget_fingerprint
from airflow_provider_xlikes.hooks.client import ApiResponse, HttpRetryPolicy, XApiClient, XAuth
from airflow_provider_xlikes.hooks.connection_form import connection_form_widgets, ui_field_behaviour
from airflow_provider_xlikes.hooks.settings import (
    SECRET_EXTRAS,
    XConnectionSettings,
    settings_from_connection,
)
from airflow_provider_xlikes.hooks.token_store import TokenStore
from airflow_provider_xlikes.pages import Page
from airflow_provider_xlikes.pricing import CostMeter
from airflow_provider_xlikes.rate_limits import RateLimitPolicy, Waiter, sleep_waiter
from airflow_provider_xlikes.validation import (
    Names,
    names_for_naming,
    unlisted_warning,
    validate_id,
    validate_max_results,
    validate_names,
)


class ListingOptions(TypedDict, total=False):
    """The keywords of :meth:`XHook.iter_listing` after the id: paging, and the field and expansion
    lists (each endpoint takes those of its ``Endpoint.lists``; another is refused, naming it)."""

    max_results: int
    max_records: int | None
    max_pages: int | None
    pagination_token: str | None
    user_fields: Names
    tweet_fields: Names
    media_fields: Names
    poll_fields: Names
    place_fields: Names
    expansions: Names


#: a post that exists on X (Jack's first post): the connection test's listing for app-only tokens
PROBE_POST_ID = "20"


class XHook(BaseHook):
    """Talks to the X API v2 likes endpoints through the connection ``x_conn_id``.

    One reusable HTTP session with connect/read timeouts; retries of transient failures; one
    rate-limit state that waits for the window's reset instead of provoking a 429 (``waiter``
    decides how a wait is spent: sleep by default, or raise so a task can defer); pagination that
    can stop after any page and resume from its cursor in another process; API errors mapped to
    :mod:`airflow_provider_xlikes.exceptions`. Every argument is validated before any request.

    :param x_conn_id: the connection (type ``x``).
    :param waiter: how rate-limit waits are spent (see :class:`~airflow_provider_xlikes.DeferringWaiter`).
    :param token_store: where rotated OAuth 2.0 tokens are kept (default: the connection's
        ``rotation_store`` extra, an Airflow Variable unless set to a directory).
    :param retry: attempts and backoff on transient failures (default from the connection).
    :param rate_limit_policy: consecutive 429s and backoff bounds.
    :param budget_store: where the token's rate-limit windows are shared (default: the connection's
        ``state_store_conn_id`` database; else Airflow Variables inside a task, so every task on the
        token shares one budget, and this hook's memory elsewhere).

    Where each kind of state lives is decided in :mod:`airflow_provider_xlikes.state`.
    """

    conn_name_attr = "x_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "x"
    hook_name = "X API v2"

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The form's fields for Airflow 3.1 (3.2+ reads ``conn-fields``): built from ``CONN_FIELDS``."""
        return connection_form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The standard fields' behaviour for Airflow 3.1 (3.2+ reads ``ui-field-behaviour``)."""
        return ui_field_behaviour()

    def __init__(
        self,
        x_conn_id: str = default_conn_name,
        *,
        waiter: Waiter | None = None,
        token_store: TokenStore | None = None,
        retry: HttpRetryPolicy | None = None,
        rate_limit_policy: RateLimitPolicy | None = None,
        budget_store: BudgetStore | None = None,
    ) -> None:
        super().__init__()
        self.x_conn_id = x_conn_id
        self._waiter = waiter or sleep_waiter
        self._token_store = token_store
        self._retry = retry
        self._rate_limit_policy = rate_limit_policy or RateLimitPolicy()
        self._budget_store = budget_store
        self._warned_unlisted: set[tuple[str, str]] = set()

    def __repr__(self) -> str:
        return f"<XHook x_conn_id={self.x_conn_id!r}>"

    # ------------------------------------------------------------------ connection
    @cached_property
    def settings(self) -> XConnectionSettings:
        """The connection, checked (see :func:`settings_from_connection`), its secrets masked."""
        from airflow.sdk.log import mask_secret

        conn = self.get_connection(self.x_conn_id)
        settings = settings_from_connection(conn, self.x_conn_id)
        for key in SECRET_EXTRAS:
            if settings.extra.get(key):
                mask_secret(str(settings.extra[key]))
        if settings.password:
            mask_secret(settings.password)
        return settings

    @cached_property
    def client(self) -> XApiClient:
        """The HTTP core (session, auth, retries, rate limits, paging), built once per hook."""
        settings = self.settings
        client = XApiClient(
            base_url=settings.base_url,
            auth=XAuth(),  # replaced below, once the session exists
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            retry=self._retry or HttpRetryPolicy(attempts=settings.max_retries),
            rate_limits=self._rate_limit_policy,
            waiter=self._waiter,
        )
        client.auth = self._build_auth(settings, TokenEndpoint(client.session, client.base_url, client.timeout))
        identity = client.auth.budget_identity
        if identity:
            client.budget = SharedBudget(self.budget_store, client.base_url, identity)
        return client

    def release_budget(self) -> None:
        """Give the unused slots of this hook's rate-limit leases back to the token's shared budget.

        A listing read to its end does it itself; call this when you stop reading one early (the
        operators and the sensor call it when they finish)."""
        client: XApiClient | None = self.__dict__.get("client")
        if client is not None:
            client.release_budget()

    @cached_property
    def authorization_fingerprint(self) -> str:
        """A non-reversible name of what the credentials act as at this API (16 hex digits, as in
        the shared budget's keys): the same token, app or user authorization gives the same name."""
        client = self.client
        return budget_fingerprint(client.base_url, client.auth.budget_identity or self.settings.auth_type)

    @cached_property
    def budget_store(self) -> BudgetStore:
        """Where the token's rate-limit windows are shared (keyed by a fingerprint, never the token)."""
        if self._budget_store is not None:
            return self._budget_store
        return state.budget_store(self.settings)

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
            store = self.token_store
            auth = OAuth2UserAuth(
                client_id=client_id,
                client_secret=extra.get("client_secret") or None,
                refresh_token=refresh_token or None,
                access_token=access_token or None,
                store=store,
                endpoint=endpoint,
                on_secret=mask_secret,
            )
            if auth.store_key is not None:
                # one chain per authorization, wherever it is configured: checked before any refresh
                fingerprint = budget_fingerprint(settings.base_url, auth.store_key)
                auth.before_refresh = lambda: state.claim_authorization(fingerprint, store, self.x_conn_id)
            return auth
        consumer_key, consumer_secret, access_token, access_token_secret = settings.require(
            "consumer_key", "consumer_secret", "access_token", "access_token_secret"
        )
        return OAuth1UserAuth(consumer_key, consumer_secret, access_token, access_token_secret)

    @cached_property
    def token_store(self) -> TokenStore:
        """Where rotated OAuth 2.0 tokens are kept (keyed by the authorization, not the connection id)."""
        if self._token_store is not None:
            return self._token_store
        return state.token_store(self.settings)

    @cached_property
    def costs(self) -> CostMeter:
        """The resources this hook's successful responses returned, and their estimated cost under
        the connection's prices (:mod:`airflow_provider_xlikes.pricing`)."""
        return CostMeter(self.settings.prices)

    def owner_id(self, *, resolve: bool = False) -> str | None:
        """The authenticated user's id where it is known without a request (an OAuth 1.0a access
        token starts with it; a ``/2/users/me`` this hook already made), else with ``resolve``
        one ``/2/users/me`` for user-context auth; ``None`` for app-only bearer tokens."""
        known = self.__dict__.get("authenticated_user_id")
        if known is not None:
            return str(known)
        settings = self.settings
        if settings.auth_type == "oauth1_user":
            prefix = str(settings.extra.get("access_token") or "").split("-", 1)[0]
            if prefix.isdigit() and len(prefix) <= 19:
                return prefix
        if resolve and settings.auth_type in ("oauth1_user", "oauth2_user"):
            return self.authenticated_user_id
        return None

    def is_owned(self, endpoint: Endpoint, source_id: str) -> bool:
        """Whether reading ``endpoint`` for ``source_id`` is an owned read (billed at the owned
        price): the path's id is a user id, the authenticated user's (see :meth:`owner_id`)."""
        return endpoint.id_argument == "user_id" and source_id == self.owner_id()

    def get_conn(self) -> requests.Session:
        """The hook's one ``requests.Session`` (auth is added per request, never stored in headers)."""
        return self.client.session

    # ------------------------------------------------------------------ queries
    def build_query(self, endpoint: Endpoint, *, max_results: int | None = None, **lists: Names) -> dict[str, Any]:
        """Validated query parameters of ``endpoint``, field names in the connection's naming.

        ``lists`` are the field and expansion arguments (``user_fields=...``). Each naming sends its
        own names (``pinned_post_id`` under ``post``); a name that naming's spec lacks and has no
        counterpart for is sent as given, with one warning per hook.
        """
        naming = self.settings.field_naming
        query: dict[str, Any] = {}
        if max_results is not None:
            query["max_results"] = validate_max_results(endpoint, max_results)
        for argument, value in lists.items():
            names = validate_names(endpoint, argument, value)
            if not names:
                continue
            name_list = endpoint.list_for(argument)
            to_send = names_for_naming(name_list, names, naming)
            new = [name for name in to_send.unlisted if (name_list.kind, name) not in self._warned_unlisted]
            if new:
                self._warned_unlisted.update((name_list.kind, name) for name in new)
                self.log.warning(unlisted_warning(name_list, naming, new))
            query[name_list.query_parameter(naming)] = ",".join(to_send.names)
        return query

    # ------------------------------------------------------------------ listings
    def iter_listing(
        self,
        endpoint: Endpoint,
        source_id: str | int,
        *,
        max_results: int = 100,
        max_records: int | None = None,
        max_pages: int | None = None,
        pagination_token: str | None = None,
        **lists: Names,
    ) -> Iterator[Page]:
        """Pages of a listing endpoint of the table (``LIKING_USERS``, ``LIKED_TWEETS``) for ``source_id``.

        ``lists``: the endpoint's field and expansion lists (``user_fields=[...]``; ``Endpoint.lists``
        says which it takes). Arguments are validated now, before the first request; pages are
        fetched lazily.
        """
        assert endpoint.id_argument is not None
        source = validate_id(endpoint.id_argument, source_id)
        query = self.build_query(endpoint, max_results=max_results, **lists)
        on_page = self._warn_if_private(source) if endpoint.private_to_owner else None
        pages = self.client.paginate(
            endpoint,
            endpoint.url_path(source),
            params=query,
            max_records=max_records,
            max_pages=max_pages,
            pagination_token=pagination_token,
            on_page=on_page,
        )
        return self._metered(endpoint, pages, owned=self.is_owned(endpoint, source))

    def _metered(self, endpoint: Endpoint, pages: Iterator[Page], *, owned: bool) -> Iterator[Page]:
        """``pages``, each counted in :attr:`costs` as it arrives (a page cut to ``max_records``
        is counted whole: X bills what it returned)."""
        for page in pages:
            self.costs.add(endpoint, int(page.meta.get("result_count") or len(page.data)), page.includes, owned=owned)
            yield page

    def _warn_if_private(self, user_id: str) -> Callable[[Page], None]:
        def warn(page: Page) -> None:
            if page.number == 1 and page.pagination_token is None and not page.data and not page.next_token:
                self.log.warning(
                    "User %s's liked posts came back empty. Likes are private on X since 2024: only the "
                    "authenticated user's own likes are returned (auth_type %r).",
                    user_id,
                    self.settings.auth_type,
                )

        return warn

    def iter_liking_users(self, tweet_id: str | int, **options: Unpack[ListingOptions]) -> Iterator[Page]:
        """Pages of the users who liked ``tweet_id`` (``GET /2/tweets/:id/liking_users``; X lists
        at most 100 per post). ``options``: see :meth:`iter_listing`."""
        return self.iter_listing(LIKING_USERS, tweet_id, **options)

    def iter_liked_tweets(self, user_id: str | int, **options: Unpack[ListingOptions]) -> Iterator[Page]:
        """Pages of the posts ``user_id`` liked (``GET /2/users/:id/liked_tweets``). ``options``: see
        :meth:`iter_listing`.

        Since 2024 likes are private on X: another user's liked posts may come back empty; a
        warning says so instead of returning a silent empty result.
        """
        return self.iter_listing(LIKED_TWEETS, user_id, **options)

    def get_liking_users(self, tweet_id: str | int, **options: Unpack[ListingOptions]) -> list[dict[str, Any]]:
        """All users who liked ``tweet_id`` (or the first ``max_records``), as one list."""
        return [record for page in self.iter_liking_users(tweet_id, **options) for record in page.data]

    def get_liked_tweets(self, user_id: str | int, **options: Unpack[ListingOptions]) -> list[dict[str, Any]]:
        """All posts ``user_id`` liked (or the first ``max_records``), as one list."""
        return [record for page in self.iter_liked_tweets(user_id, **options) for record in page.data]

    # ------------------------------------------------------------------ counts
    def expected_total(self, endpoint: Endpoint, source_id: str | int, *, strict: bool = False) -> int | None:
        """The number of records a listing should give: its count (:meth:`like_count`), at most
        what X lists per id (``endpoint.listing_cap``: 100 liking accounts per post).

        An upper estimate: likes by protected accounts are counted but not listed."""
        count = self.like_count(endpoint, source_id, strict=strict)
        return None if count is None else endpoint.listable(count)

    def like_count(self, endpoint: Endpoint, source_id: str | int, *, strict: bool = False) -> int | None:
        """The count behind a listing, from one count lookup (the post's or the user's
        ``public_metrics.like_count``: the endpoint table's ``count_lookup``).

        ``None``, with a log line, when the lookup is refused (scope, auth type, unknown id) or
        would have to wait; ``strict``: an unknown id (``XNotFoundError``) and a wait
        (``XRateLimitWait``) are raised. A spent monthly cap (``XUsageCappedError``) always is.
        """
        lookup = endpoint.count_lookup
        if lookup is None:
            return None
        assert lookup.endpoint.id_argument is not None
        source = validate_id(lookup.endpoint.id_argument, source_id)
        lists: dict[str, Any] = {lookup.argument: ["public_metrics"]}
        query = self.build_query(lookup.endpoint, **lists)
        try:
            response = self.client.request(lookup.endpoint, lookup.endpoint.url_path(source), params=query)
        except XUsageCappedError:
            raise
        except (XForbiddenError, XNotFoundError, XBadRequestError, XRateLimitWait) as exc:
            if strict and isinstance(exc, (XNotFoundError, XRateLimitWait)):
                raise
            self.log.info("No expected total for %s %s: the count lookup was refused (%s)", endpoint.name, source, exc)
            return None
        data = response.payload.get("data")
        owned = self.is_owned(lookup.endpoint, source)
        self.costs.add(
            lookup.endpoint, 1 if isinstance(data, dict) else 0, response.payload.get("includes"), owned=owned
        )
        metrics = data.get("public_metrics") if isinstance(data, dict) else None
        count = metrics.get(lookup.metric) if isinstance(metrics, dict) else None
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            self.log.info("No expected total for %s %s: the count lookup gave none", endpoint.name, source)
            return None
        return count

    # ------------------------------------------------------------------ the authenticated user
    def get_me(
        self, *, user_fields: Names = None, tweet_fields: Names = None, expansions: Names = None
    ) -> dict[str, Any]:
        """The authenticated user (``GET /2/users/me``); needs user-context auth."""
        query = self.build_query(USERS_ME, user_fields=user_fields, tweet_fields=tweet_fields, expansions=expansions)
        me = self.client.call(USERS_ME, USERS_ME.path, _data_object, params=query)
        self.costs.add(USERS_ME, 1, owned=True)
        return me

    @cached_property
    def authenticated_user_id(self) -> str:
        """Id of the user the credentials act for (one ``/2/users/me`` call, cached per hook)."""
        return validate_id("id of /2/users/me", self.get_me()["id"])

    # ------------------------------------------------------------------ like / unlike
    def like(self, tweet_id: str | int, *, user_id: str | int | None = None) -> bool:
        """Like ``tweet_id`` as ``user_id`` (default: the authenticated user). Returns ``liked``.

        Liking a post that is already liked succeeds. Retried safely: the outcome is idempotent.
        """
        tweet_id = validate_id("tweet_id", tweet_id)
        user = validate_id("user_id", user_id) if user_id is not None else self.authenticated_user_id
        liked = self.client.call(LIKE, LIKE.url_path(user), _liked, json_body={"tweet_id": tweet_id})
        self.costs.add(LIKE, 0)
        return liked

    def unlike(self, tweet_id: str | int, *, user_id: str | int | None = None) -> bool:
        """Remove the like of ``tweet_id``. Returns ``liked`` (False); unliking a not-liked post succeeds."""
        tweet_id = validate_id("tweet_id", tweet_id)
        user = validate_id("user_id", user_id) if user_id is not None else self.authenticated_user_id
        liked = self.client.call(UNLIKE, UNLIKE.url_path(user, tweet_id), _liked)
        self.costs.add(UNLIKE, 0)
        return liked

    # ------------------------------------------------------------------ the billing cycle
    def get_usage(self, *, days: int = 7, daily: bool = False) -> dict[str, Any]:
        """The billing cycle's Post consumption (``GET /2/usage/tweets``; an app-only bearer
        connection, 50 requests per 15 minutes): ``{"project_usage": int, "project_cap": int |
        None, "remaining": int | None, "cap_reset_day": int | None, ...}`` (X's counts, which are
        strings in its body, as integers). ``days`` (1-90) and ``daily`` add the daily breakdown."""
        lo, hi = USAGE_DAYS
        if isinstance(days, bool) or not isinstance(days, int) or not lo <= days <= hi:
            raise XValidationError("days", days, f"an integer from {lo} to {hi}")
        if not isinstance(daily, bool):
            raise XValidationError("daily", daily, "True or False")
        query: dict[str, Any] = {"days": days}
        if daily:
            query["usage.fields"] = ",".join(USAGE_FIELDS)
        data = self.client.call(USAGE_TWEETS, USAGE_TWEETS.path, _data_object, params=query)
        usage = dict(data)
        for key in ("project_usage", "project_cap"):
            value = data.get(key)
            usage[key] = int(value) if isinstance(value, (str, int)) and str(value).isdigit() else None
        used, cap = usage["project_usage"], usage["project_cap"]
        usage["remaining"] = max(cap - used, 0) if cap is not None and used is not None else None
        return usage

    # ------------------------------------------------------------------ UI
    def test_connection(self) -> tuple[bool, str]:
        """Check the credentials with the cheapest authenticated call.

        ``/2/users/me`` for user context (an access token that works is used as is: no refresh is
        spent; where one is needed, the rotated tokens go to the authorization's store, which the
        real connection shares); one single-item listing for app-only tokens.
        """
        try:
            if self.settings.auth_type == "bearer":
                next(self.iter_liking_users(PROBE_POST_ID, max_results=1, max_pages=1))
                return True, "App-only bearer token accepted"
            me = self.get_me()
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"
        return True, f"Authenticated as @{me.get('username')} (user id {me.get('id')})"


def _data_object(response: ApiResponse) -> dict[str, Any]:
    data = response.payload.get("data")
    if not isinstance(data, dict):
        raise XMalformedResponseError(response.status, title="Malformed response", detail="data is not an object")
    return data


def _liked(response: ApiResponse) -> bool:
    """``data.liked`` of a like or unlike; a 200 with only ``errors`` (no such post) gives False."""
    data = response.payload.get("data")
    if data is None and response.payload.get("errors"):
        return False
    if not isinstance(data, dict) or not isinstance(data.get("liked"), bool):
        raise XMalformedResponseError(response.status, title="Malformed response", detail="no boolean data.liked")
    return bool(data["liked"])
