"""The X API endpoints this provider uses: the one table that validation, the hook, the operators,
the sensor, the sandbox and the benchmarks read.

Each :class:`Endpoint` says what X documents about it (path, page-size bounds, field and expansion
parameters, scopes, rate limits) and what the provider derives from it (the label used in logs and
errors, the field each collected record carries). Field and expansion names come from the specs
(:mod:`airflow_provider_xlikes._spec`, generated), per naming: ``"tweet"`` (openapi-v2.159, the
documented names) or ``"post"`` (openapi-v2.167).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from airflow_provider_xlikes import _spec

Naming = Literal["tweet", "post"]
NAMINGS: tuple[Naming, ...] = ("tweet", "post")
#: the OpenAPI document each naming follows
SPEC_OF_NAMING: dict[str, str] = _spec.SPEC_OF_NAMING
#: a path id (post or user): ``^[0-9]{1,19}$``
ID_PATTERN = r"[0-9]{1,19}"
#: the length of a standard rate-limit window
WINDOW_SECONDS = 15 * 60
#: the length of the likes endpoints' second window
DAY_SECONDS = 24 * 60 * 60
#: OAuth 2.0 token endpoint (user tokens: ``grant_type=refresh_token``)
OAUTH2_TOKEN_PATH = "/2/oauth2/token"  # noqa: S105 - a path, not a secret
#: app-only bearer token endpoint (``grant_type=client_credentials``; no ``/2``)
APP_TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path, not a secret
#: the token endpoints by the name counters and faults use
TOKEN_PATHS: dict[str, str] = {"oauth2_token": OAUTH2_TOKEN_PATH, "app_token": APP_TOKEN_PATH}


@dataclass(frozen=True)
class NameList:
    """A comma-joined list parameter (``user.fields``, ``expansions`` ...) of an endpoint.

    ``argument`` is the Python argument (``user_fields``); ``kind`` the enum it draws from
    (a key of ``_spec.NAMES[naming]``); ``parameter`` the query parameter per naming.
    """

    argument: str
    kind: str
    parameter: dict[str, str]

    def query_parameter(self, naming: str) -> str:
        return self.parameter[naming]

    def allowed(self, naming: str | None = None) -> frozenset[str]:
        """The names of one naming's spec, or (``None``) of both: what validation accepts."""
        if naming is None:
            return _spec.NAMES["tweet"][self.kind] | _spec.NAMES["post"][self.kind]
        return _spec.NAMES[naming][self.kind]

    def counterpart(self, name: str, naming: str) -> str | None:
        """``name`` (of either naming) as ``naming`` calls it, where the specs have a counterpart."""
        for tweet_name, post_name in _spec.COUNTERPARTS.get(self.kind, ()):
            if name in (tweet_name, post_name):
                return tweet_name if naming == "tweet" else post_name
        return None


def _same(name: str) -> dict[str, str]:
    return {"tweet": name, "post": name}


USER_FIELDS = NameList("user_fields", "user_fields", _same("user.fields"))
TWEET_FIELDS = NameList("tweet_fields", "tweet_fields", {"tweet": "tweet.fields", "post": "post.fields"})
MEDIA_FIELDS = NameList("media_fields", "media_fields", _same("media.fields"))
POLL_FIELDS = NameList("poll_fields", "poll_fields", _same("poll.fields"))
PLACE_FIELDS = NameList("place_fields", "place_fields", _same("place.fields"))
USER_EXPANSIONS = NameList("expansions", "user_expansions", _same("expansions"))
TWEET_EXPANSIONS = NameList("expansions", "tweet_expansions", _same("expansions"))

#: the lists of an endpoint that returns users / posts
USER_LISTS = (USER_FIELDS, USER_EXPANSIONS, TWEET_FIELDS)
TWEET_LISTS = (TWEET_FIELDS, TWEET_EXPANSIONS, MEDIA_FIELDS, POLL_FIELDS, USER_FIELDS, PLACE_FIELDS)

#: The fields holding the ids each expansion (by its "tweet" name) follows: X returns them whenever
#: the expansion is asked for, and records are joined to their ``includes`` on them. Keys and fields
#: are "tweet" names; :func:`join_fields` gives a naming's own.
EXPANSION_ID_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pinned_tweet_id": ("user_fields", ("pinned_tweet_id",)),
    "most_recent_tweet_id": ("user_fields", ("most_recent_tweet_id",)),
    "affiliation.user_id": ("user_fields", ("affiliation",)),
    "author_id": ("tweet_fields", ("author_id",)),
    "in_reply_to_user_id": ("tweet_fields", ("in_reply_to_user_id",)),
    "entities.mentions.username": ("tweet_fields", ("entities",)),
    "referenced_tweets.id": ("tweet_fields", ("referenced_tweets",)),
    "referenced_tweets.id.author_id": ("tweet_fields", ("referenced_tweets", "author_id")),
    "referenced_tweets.id.attachments.media_keys": ("tweet_fields", ("referenced_tweets", "attachments")),
    "attachments.media_keys": ("tweet_fields", ("attachments",)),
    "attachments.poll_ids": ("tweet_fields", ("attachments",)),
    "geo.place_id": ("tweet_fields", ("geo",)),
}


def tweet_name(name_list: NameList, name: str) -> str:
    """``name`` as the "tweet" naming calls it (``pinned_post_id`` -> ``pinned_tweet_id``)."""
    return name_list.counterpart(name, "tweet") or name


def expansion_id_fields(expansions: Iterable[str]) -> dict[str, set[str]]:
    """The id fields (by list argument, "tweet" names) that ``expansions`` (either naming) name."""
    fields: dict[str, set[str]] = {}
    for expansion in expansions:
        canonical = tweet_name(USER_EXPANSIONS, tweet_name(TWEET_EXPANSIONS, expansion))
        argument, names = EXPANSION_ID_FIELDS.get(canonical, ("", ()))
        if names:
            fields.setdefault(argument, set()).update(names)
    return fields


def join_fields(endpoint: Endpoint, lists: Mapping[str, Any], naming: str) -> dict[str, Any]:
    """``lists`` (validated name lists by argument) plus the id fields the expansions need for a
    join, where ``naming``'s spec lists them (where it does not, the expansion alone brings them)."""
    expansions = lists.get("expansions") or []
    result = dict(lists)
    for argument, names in expansion_id_fields(expansions).items():
        if argument not in endpoint.list_arguments:
            continue
        name_list = endpoint.list_for(argument)
        own = name_list.allowed(naming)
        current = list(result.get(argument) or [])
        present = {tweet_name(name_list, n) for n in current}
        current += sorted(n for n in names if n not in present and (name_list.counterpart(n, naming) or n) in own)
        result[argument] = current
    return result


@dataclass(frozen=True)
class RateLimitRule:
    """Requests allowed per ``seconds`` (per user token; app tokens have the same numbers here)."""

    requests: int
    seconds: int


@dataclass(frozen=True)
class CountLookup:
    """Where a listing's expected size is read before paging: ``public_metrics.<metric>`` of the
    object that ``endpoint`` returns for the listing's id, asked for with the ``argument`` field
    list (a post's ``like_count`` for its liking users)."""

    endpoint: Endpoint
    argument: str
    metric: str = "like_count"


@dataclass(frozen=True)
class Endpoint:
    """One X API endpoint, as documented.

    :param name: the short name used in request counters, rate-limit keys, faults and manifests.
    :param method: HTTP method.
    :param path: path template with ``{id}`` (and ``{tweet_id}``) placeholders.
    :param id_argument: the Python argument that fills ``{id}`` (``tweet_id``, ``user_id``).
    :param records: what ``data`` holds: ``"users"`` or ``"tweets"`` (``None`` for writes).
    :param page_size: (min, max) of ``max_results`` for listings, ``None`` otherwise.
    :param lists: the field and expansion parameters it takes.
    :param source_field: the field each collected record gets: the id it was collected for.
    :param scopes: OAuth 2.0 scopes the spec requires.
    :param app_only: whether app-only bearer tokens are documented to work (docs and recordings).
    :param spec_allows_app_only: whether the current specs list app-only auth too (only the
        lookups: the specs allow user context only on the likes endpoints).
    :param limits: the published rate limits per user.
    :param listing_cap: the most records the listing returns per id, for all time, whatever its
        count says (``liking_users``: 100 liking accounts per post since 2026); ``None``: no cap.
    :param enterprise_only: only Enterprise apps may call it (like and unlike since 2026-04-20:
        "removed from all self-serve tiers"); a self-serve app gets 403 ``client-forbidden``.
    :param user_context: whether user-context auth is accepted (``/2/usage/tweets``: bearer only).
    :param count_lookup: where a listing's expected size is read (progress, cost estimates, the
        XCom-room check); ``None``: the listing has no count to expect.
    :param private_to_owner: the listing is visible to its owner only (likes are private on X since
        2024): an empty first page for another id is logged as such, not returned silently.
    """

    name: str
    method: str
    path: str
    id_argument: str | None = None
    records: Literal["users", "tweets"] | None = None
    page_size: tuple[int, int] | None = None
    lists: tuple[NameList, ...] = ()
    source_field: str | None = None
    scopes: tuple[str, ...] = ()
    app_only: bool = False
    spec_allows_app_only: bool = False
    limits: tuple[RateLimitRule, ...] = ()
    listing_cap: int | None = None
    enterprise_only: bool = False
    user_context: bool = True
    count_lookup: CountLookup | None = None
    private_to_owner: bool = False

    @property
    def label(self) -> str:
        """How logs, errors and rate-limit state name it: ``GET /2/tweets/:id/liking_users``."""
        return f"{self.method} {self.path.replace('{id}', ':id').replace('{tweet_id}', ':tweet_id')}"

    @property
    def paginated(self) -> bool:
        return self.page_size is not None

    @property
    def window_limit(self) -> int | None:
        """Requests per 15-minute window, where published."""
        for rule in self.limits:
            if rule.seconds == WINDOW_SECONDS:
                return rule.requests
        return None

    def listable(self, count: int) -> int:
        """The records a listing of an id whose count is ``count`` can return: ``count``, at most
        :attr:`listing_cap`."""
        return count if self.listing_cap is None else min(count, self.listing_cap)

    def url_path(self, id: str, tweet_id: str | None = None) -> str:
        """The path with its ids filled in (ids must be validated first)."""
        path = self.path.replace("{id}", id)
        return path.replace("{tweet_id}", tweet_id) if tweet_id is not None else path

    def list_for(self, argument: str) -> NameList:
        for name_list in self.lists:
            if name_list.argument == argument:
                return name_list
        raise KeyError(f"{self.name} takes no {argument}")

    @property
    def list_arguments(self) -> tuple[str, ...]:
        return tuple(name_list.argument for name_list in self.lists)


#: X's likes introduction (2026): "The liking users endpoint limits you to a total of 100 liking
#: accounts per post for all time"
LIKING_USERS_CAP = 100
_READ = ("tweet.read", "users.read", "like.read")
_WRITE = ("tweet.read", "users.read", "like.write")
_WINDOW_75 = (RateLimitRule(75, WINDOW_SECONDS),)
_WRITES = (RateLimitRule(50, WINDOW_SECONDS), RateLimitRule(1000, DAY_SECONDS))

#: the count lookups (``public_metrics.like_count``), for progress
POST_LOOKUP = Endpoint(
    name="post_lookup",
    method="GET",
    path="/2/tweets/{id}",
    id_argument="tweet_id",
    records="tweets",
    lists=TWEET_LISTS,
    scopes=("tweet.read", "users.read"),
    app_only=True,
    spec_allows_app_only=True,
    limits=(RateLimitRule(900, WINDOW_SECONDS),),
)
USER_LOOKUP = Endpoint(
    name="user_lookup",
    method="GET",
    path="/2/users/{id}",
    id_argument="user_id",
    records="users",
    lists=USER_LISTS,
    scopes=("tweet.read", "users.read"),
    app_only=True,
    spec_allows_app_only=True,
    limits=(RateLimitRule(900, WINDOW_SECONDS),),
)
LIKING_USERS = Endpoint(
    name="liking_users",
    method="GET",
    path="/2/tweets/{id}/liking_users",
    id_argument="tweet_id",
    records="users",
    page_size=(1, 100),
    lists=USER_LISTS,
    source_field="liked_tweet_id",
    scopes=_READ,
    app_only=True,
    limits=_WINDOW_75,
    listing_cap=LIKING_USERS_CAP,
    count_lookup=CountLookup(POST_LOOKUP, "tweet_fields"),
)
LIKED_TWEETS = Endpoint(
    name="liked_tweets",
    method="GET",
    path="/2/users/{id}/liked_tweets",
    id_argument="user_id",
    records="tweets",
    page_size=(5, 100),
    lists=TWEET_LISTS,
    source_field="liking_user_id",
    scopes=_READ,
    app_only=True,
    limits=_WINDOW_75,
    count_lookup=CountLookup(USER_LOOKUP, "user_fields"),
    private_to_owner=True,
)
LIKE = Endpoint(
    name="likes_create",
    method="POST",
    path="/2/users/{id}/likes",
    id_argument="user_id",
    scopes=_WRITE,
    limits=_WRITES,
    enterprise_only=True,
)
UNLIKE = Endpoint(
    name="likes_delete",
    method="DELETE",
    path="/2/users/{id}/likes/{tweet_id}",
    id_argument="user_id",
    scopes=_WRITE,
    limits=_WRITES,
    enterprise_only=True,
)
USERS_ME = Endpoint(
    name="users_me",
    method="GET",
    path="/2/users/me",
    records="users",
    lists=USER_LISTS,
    scopes=("tweet.read", "users.read"),
    limits=_WINDOW_75,
)
#: the billing cycle's Post consumption (``days``, ``usage.fields``); app-only bearer tokens only
USAGE_TWEETS = Endpoint(
    name="usage_tweets",
    method="GET",
    path="/2/usage/tweets",
    app_only=True,
    spec_allows_app_only=True,
    user_context=False,
    limits=(RateLimitRule(50, WINDOW_SECONDS),),
)
#: the query parameters of ``/2/usage/tweets`` (``days``: 1-90, default 7)
USAGE_DAYS = (1, 90)
USAGE_FIELDS = (
    "cap_reset_day",
    "daily_client_app_usage",
    "daily_project_usage",
    "project_cap",
    "project_id",
    "project_usage",
)

#: every endpoint by name
ENDPOINTS: dict[str, Endpoint] = {
    e.name: e for e in (LIKING_USERS, LIKED_TWEETS, LIKE, UNLIKE, USERS_ME, POST_LOOKUP, USER_LOOKUP, USAGE_TWEETS)
}
#: every endpoint by its label (``GET /2/tweets/:id/liking_users``), as errors and logs name it
BY_LABEL: dict[str, Endpoint] = {e.label: e for e in ENDPOINTS.values()}
