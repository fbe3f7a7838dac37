"""The API endpoints of the sandbox: authentication and access, query checks, the handlers.

Everything an endpoint documents (path, page-size bounds, field and expansion lists, scopes,
app-only support, rate limits) comes from :mod:`airflow_provider_xlikes.endpoints`. Choices where
the real API is not pinned down:

* ``liking_users`` of an unknown post: ``200 {"meta": {"result_count": 0}}`` (as recorded).
* ``liked_tweets`` of an unknown user, a lookup of an unknown id, and liking an unknown post:
  ``200`` with ``errors`` holding a ``resource-not-found`` problem and no ``data``.
* Another user's ``liked_tweets`` (and any ``liked_tweets`` with an app-only token, which has no
  user behind it): the ``private_likes`` quirk (empty by default, 403, 404 or visible).
* ``liking_users`` lists at most ``liking_users_cap`` (100) accounts per post, as X since 2026; the
  post's ``like_count`` stays the real count.
* The monthly Post cap counts the posts served in ``data`` (``liked_tweets``, post lookups); once
  spent, those endpoints answer 429 ``usage-capped`` (rate-limit headers still showing room).
  ``GET /2/usage/tweets`` reports the count (the cycle starts with the sandbox or its reset).
* Rate-limit buckets are per principal by default (the app for app-only auth, the user for user
  context, so refreshing a token does not reset them); ``rate_limit_key="token"`` keys them by token.

Over 400 lines because :class:`Api` answers every endpoint of one sandbox state, sharing the
request checks, the paging and the rendering set-up.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

import msgspec

from airflow_provider_xlikes.endpoints import (
    ENDPOINTS,
    LIKE,
    LIKED_TWEETS,
    LIKING_USERS,
    POST_LOOKUP,
    UNLIKE,
    USAGE_DAYS,
    USAGE_FIELDS,
    USAGE_TWEETS,
    USER_LOOKUP,
    USERS_ME,
    Endpoint,
    expansion_id_fields,
)
from airflow_provider_xlikes.sandbox import errors
from airflow_provider_xlikes.sandbox.auth import AuthError, Principal, TokenEndpointError
from airflow_provider_xlikes.sandbox.config import Quirks
from airflow_provider_xlikes.sandbox.errors import ApiError, Body, Headers
from airflow_provider_xlikes.sandbox.render import Includes, Renderer, canonical_expansions
from airflow_provider_xlikes.sandbox.state import SandboxState
from airflow_provider_xlikes.sandbox.world import chance, mix64

Query = dict[str, str]
#: the names asked for, per list kind (``user_fields``, ``tweet_expansions`` ...)
Lists = dict[str, frozenset[str]]

ID_MAX_LEN = 19
PAGING = ("max_results", "pagination_token")
#: the post-fields parameter names the ``field_param`` quirk accepts
FIELD_PARAMS = {"tweet": {"tweet.fields"}, "post": {"post.fields"}, "both": {"tweet.fields", "post.fields"}}
PREFETCH_SLOTS = 16

_encode = msgspec.json.Encoder().encode


@functools.cache
def accepted_parameters(endpoint: str, field_param: str) -> tuple[frozenset[str], str]:
    """The query parameters an endpoint takes (the post-fields ones per ``field_param``), and
    their list as the 400 message gives it."""
    entry = ENDPOINTS[endpoint]
    accepted = set(PAGING) if entry.paginated else set()
    for name_list in entry.lists:
        params = set(name_list.parameter.values())
        accepted |= params & FIELD_PARAMS[field_param] if len(params) > 1 else params
    return frozenset(accepted), ",".join(sorted(accepted))


def valid_id(value: str) -> bool:
    """``^[0-9]{1,19}$``."""
    return 0 < len(value) <= ID_MAX_LEN and value.isascii() and value.isdigit()


@dataclass
class Call:
    """One authenticated request to an endpoint."""

    endpoint: Endpoint
    ids: list[str]
    query: str
    body: bytes
    quirks: Quirks
    acting: int | None
    """The user the request acts for; ``None`` for an app-only token (no user behind it)."""


@dataclass(frozen=True)
class _Listing:
    """A checked listing request: ``L`` a post's users, ``T`` a user's posts; ``source`` the index
    of the post or user (``None``: not in the world)."""

    kind: Literal["L", "T"]
    source: int | None
    max_results: int
    offset: int
    renderer: Renderer
    expansions: frozenset[str]


class Api:
    """Answers the API endpoints of one sandbox state."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._rendered: dict[tuple[int, int, int, bool, int], bytes] = {}
        self._salt = mix64(state.config.seed ^ 0x51AB)
        self._handlers: dict[str, Callable[[Call], Body | bytes]] = {
            LIKING_USERS.name: self.liking_users,
            LIKED_TWEETS.name: self.liked_tweets,
            USERS_ME.name: self.users_me,
            POST_LOOKUP.name: self.post_lookup,
            USER_LOOKUP.name: self.user_lookup,
            LIKE.name: self.likes_create,
            UNLIKE.name: self.likes_delete,
            USAGE_TWEETS.name: self.usage_tweets,
        }

    # --- access -------------------------------------------------------------------------------------
    def handle(
        self,
        name: str,
        endpoint: Endpoint | None,
        ids: list[str],
        scope: MutableMapping[str, Any],
        headers: Mapping[str, str],
        raw_body: bytes,
    ) -> tuple[Body | bytes, Headers]:
        """(body, headers) of a 200, or raise ``ApiError``."""
        if endpoint is None:
            return self._token_endpoint(name, headers, raw_body), []
        st = self.state
        quirks = st.quirks
        principal = self._authenticate(endpoint, scope, headers, quirks)
        acting = self._acting_user(endpoint, principal, quirks)
        if quirks.self_serve and endpoint.enterprise_only:
            raise errors.client_forbidden(quirks.naming, st.app_id)
        if principal.scopes is not None and not principal.scopes.issuperset(endpoint.scopes):
            raise errors.missing_scopes()
        key = principal.token_fp
        if st.config.rate_limit_key == "principal":
            key = "app" if principal.is_app else f"user:{principal.user}"
        allowed, rl_headers = st.limiter.hit(key, endpoint, quirks.daily_limit_headers)
        if not allowed:
            raise errors.too_many(quirks.error_style == "legacy", rl_headers)
        if endpoint.records == "tweets" and st.post_cap_spent():
            raise errors.usage_capped(quirks.naming, 429, st.config.me_id, rl_headers)
        call = Call(endpoint, ids, scope["query_string"].decode("latin-1"), raw_body, quirks, acting)
        try:
            body = self._handlers.get(endpoint.name, self.table_listing)(call)
        except ApiError as err:
            err.headers = err.headers + rl_headers
            raise
        if isinstance(body, dict):
            self._count(endpoint, body)
        return body, rl_headers

    def _count(self, endpoint: Endpoint, body: Body) -> None:
        """Count the resources of a 200 body (the fast path of ``liking_users`` counts its own)."""
        data = body.get("data")
        items = len(data) if isinstance(data, list) else 1 if isinstance(data, dict) else 0
        includes = body.get("includes") or {}
        self.state.count_served(endpoint.name, endpoint.records, items, {k: len(v) for k, v in includes.items()})

    def _authenticate(
        self, endpoint: Endpoint, scope: MutableMapping[str, Any], headers: Mapping[str, str], quirks: Quirks
    ) -> Principal:
        st = self.state
        raw_path = scope.get("raw_path") or scope["path"].encode()
        url = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}{raw_path.decode('latin-1')}"
        try:
            return st.auth.authenticate(scope["method"], url, scope["query_string"].decode("latin-1"), headers)
        except AuthError:
            extra: Headers = []
            limit = endpoint.window_limit
            if quirks.rate_limit_headers_on_401 and limit:
                extra = [
                    (b"x-rate-limit-limit", str(limit).encode()),
                    (b"x-rate-limit-remaining", str(limit - 1).encode()),
                    (b"x-rate-limit-reset", str(int(st.clock() + st.config.window_seconds)).encode()),
                ]
            raise ApiError(401, errors.UNAUTHORIZED, errors.PROBLEM_CT, extra) from None

    def _acting_user(self, endpoint: Endpoint, principal: Principal, quirks: Quirks) -> int | None:
        """Whom the request acts for; 403 unsupported-authentication where app-only is refused."""
        if not principal.is_app:
            if not endpoint.user_context:
                raise errors.unsupported_auth(quirks.naming, user_context=True)
            return principal.user
        if not endpoint.app_only or (quirks.app_only == "refuse" and not endpoint.spec_allows_app_only):
            raise errors.unsupported_auth(quirks.naming)
        return self.state.world.me if quirks.app_only == "owner" else None

    def _token_endpoint(self, name: str, headers: Mapping[str, str], raw_body: bytes) -> Body:
        form = dict(parse_qsl(raw_body.decode("utf-8", "replace"), keep_blank_values=True))
        auth = self.state.auth
        try:
            return auth.refresh(form, headers) if name == "oauth2_token" else auth.app_token(form, headers)
        except TokenEndpointError as err:
            raise ApiError(err.status, err.body, errors.JSON_CT) from None

    # --- query ----------------------------------------------------------------------------------------
    @staticmethod
    def _query(call: Call) -> Query:
        """The query parameters, each at most once and each one the endpoint takes."""
        accepted, names = accepted_parameters(call.endpoint.name, call.quirks.field_param)
        problems: list[Body] = []
        out: Query = {}
        for k, v in parse_qsl(call.query, keep_blank_values=True):
            k, v = k.strip(), v.strip()
            if not k:
                continue
            if k not in accepted:
                problems.append(errors.param_error(k, v, f"The query parameter [{k}] is not one of [{names}]"))
            elif k in out:
                problems.append(
                    {"parameters": {k: [out[k], v]}, "message": f"Duplicate parameters are not allowed [{k}]"}
                )
            else:
                out[k] = v
        if problems:
            raise errors.invalid(call.quirks.naming, problems)
        return out

    @staticmethod
    def _lists(q: Query, call: Call, problems: list[Body]) -> Lists:
        """The field and expansion names asked for (either spec's names), bad ones reported."""
        out: Lists = {}
        if len(q) == sum(p in q for p in PAGING):  # no field or expansion list asked for
            return out
        for name_list in call.endpoint.lists:
            allowed = name_list.allowed()
            names: set[str] = set()
            for param in sorted(set(name_list.parameter.values())):
                raw = q.get(param)
                if raw is None:
                    continue
                values = [v.strip() for v in raw.split(",")]
                known = ",".join(sorted(allowed))
                problems.extend(
                    errors.param_error(param, v, f"The `{param}` query parameter value [{v}] is not one of [{known}]")
                    for v in values
                    if v not in allowed
                )
                names.update(v for v in values if v in allowed)
            if names:
                out[name_list.kind] = frozenset(names)
        return out

    def _paging(self, q: Query, call: Call, problems: list[Body], kind: str, resource: int) -> tuple[int, int]:
        """(max_results, offset) of a listing request."""
        assert call.endpoint.page_size is not None
        lo, hi = call.endpoint.page_size
        max_results = hi
        raw = q.get("max_results")
        if raw is not None:
            if not raw.lstrip("-").isdigit():
                message = f"The `max_results` query parameter value [{raw}] is not a valid integer"
                problems.append(errors.param_error("max_results", raw, message))
            elif not lo <= int(raw) <= hi:
                message = f"The `max_results` query parameter value [{raw}] is not between {lo} and {hi}"
                problems.append(errors.param_error("max_results", raw, message))
            else:
                max_results = int(raw)
        offset = 0
        token = q.get("pagination_token")
        if token is not None:
            decoded = self.state.tokens.decode(token, kind, resource)
            if decoded is None:
                message = f"The `pagination_token` query parameter value [{token}] is not valid"
                problems.append(errors.param_error("pagination_token", token, message))
            else:
                offset = decoded
        return max_results, offset

    def _index(self, value: str, lookup: Callable[[str], int | None], problems: list[Body]) -> int | None:
        """The world index of a path id (``None``: unknown, or malformed and reported)."""
        if not valid_id(value):
            problems.append(errors.pattern_error("id", value))
            return None
        return lookup(value)

    def _renderer(self, call: Call, lists: Lists) -> Renderer:
        quirks = call.quirks
        empty: frozenset[str] = frozenset()
        return Renderer(
            self.state.world,
            quirks.naming,
            quirks.partial_errors,
            quirks.mutations_visible,
            user_fields=lists.get("user_fields", empty),
            tweet_fields=lists.get("tweet_fields", empty),
            media_fields=lists.get("media_fields", empty),
            poll_fields=lists.get("poll_fields", empty),
            place_fields=lists.get("place_fields", empty),
            now=self.state.clock(),
        )

    def _prepare(self, call: Call, q: Query, problems: list[Body]) -> tuple[Renderer, frozenset[str]]:
        """Renderer and expansions of a request, after every parameter was checked."""
        lists = self._lists(q, call, problems)
        if problems:
            raise errors.invalid(call.quirks.naming, problems)
        expansions = lists.get("user_expansions") or lists.get("tweet_expansions") or frozenset()
        # as X: each expansion's id field is returned (the join key), asked for in the fields or not
        for argument, names in expansion_id_fields(expansions).items():
            lists[argument] = lists.get(argument, frozenset()) | names
        return self._renderer(call, lists), canonical_expansions(expansions)

    # --- paging ---------------------------------------------------------------------------------------
    def _page_size(self, quirks: Quirks, total: int, offset: int, max_results: int, resource: int) -> int:
        """Items on the page at ``offset``: ``max_results``, or (short_pages) seeded fewer."""
        size = max_results
        if quirks.short_pages and max_results > 1:
            h = mix64(offset * 0x9E37 ^ resource ^ self._salt)
            if chance(h, quirks.short_pages):
                size = max_results - 1 - (h >> 24) % max(1, max_results // 2)
        return max(0, min(size, total - offset))

    def _meta(
        self, quirks: Quirks, kind: str, resource: int, offset: int, served: int, total: int, max_results: int
    ) -> Body:
        meta: Body = {"result_count": served}
        end = offset + served
        if end < total or (served and end == total and self._ends_empty(quirks, kind, resource)):
            meta["next_token"] = self.state.tokens.encode(kind, resource, end)
        if offset > 0:
            meta["previous_token"] = self.state.tokens.encode(kind, resource, max(0, offset - max_results))
        return meta

    def _ends_empty(self, quirks: Quirks, kind: str, resource: int) -> bool:
        """Whether (empty_last_page) the listing ends with an empty page, seeded per listing."""
        return chance(mix64((resource * 2 + (kind == "T")) ^ self._salt), quirks.empty_last_page)

    @staticmethod
    def _records(
        renderer: Renderer, records: Literal["users", "tweets"], items: list[int], expansions: frozenset[str]
    ) -> Body:
        """``data`` (a list), ``includes`` and partial ``errors`` of some users or posts."""
        if not items:
            return {}
        users = records == "users"
        body: Body = {"data": [renderer.user(i) for i in items] if users else [renderer.post(i) for i in items]}
        if expansions:
            inc = Includes()
            (renderer.expand_users if users else renderer.expand_posts)(items, expansions, inc)
            included = renderer.includes(inc)
            if included:
                body["includes"] = included
            if inc.errors:
                body["errors"] = inc.errors
        return body

    @staticmethod
    def _single(body: Body) -> Body:
        """A lookup's body: ``data`` is the one object."""
        return {**body, "data": body["data"][0]} if "data" in body else body

    # --- listings -------------------------------------------------------------------------------------
    def _open_listing(self, call: Call, kind: Literal["L", "T"]) -> _Listing:
        """A listing request checked (its id, paging, fields and expansions): ``L`` a post's users
        (likers), ``T`` a user's posts (liked)."""
        q = self._query(call)
        problems: list[Body] = []
        w = self.state.world
        source = self._index(call.ids[0], w.ids.post_index if kind == "L" else w.ids.user_index, problems)
        max_results, offset = self._paging(q, call, problems, kind, source if source is not None else 0)
        renderer, expansions = self._prepare(call, q, problems)
        return _Listing(kind, source, max_results, offset, renderer, expansions)

    def _listing_page(self, call: Call, listing: _Listing, source: int, total: int) -> Body:
        """The page at the request's offset of a listing of ``total`` items (likers of a post,
        posts a user liked): records, includes, partial errors and ``meta``."""
        quirks, w = call.quirks, self.state.world
        users = listing.kind == "L"
        size = self._page_size(quirks, total, listing.offset, listing.max_results, source)
        visible = quirks.mutations_visible
        items = (w.likers if users else w.liked)(source, listing.offset, size, visible) if size else []
        body = self._records(listing.renderer, "users" if users else "tweets", items, listing.expansions)
        body["meta"] = self._meta(quirks, listing.kind, source, listing.offset, len(items), total, listing.max_results)
        return body

    # --- endpoints ------------------------------------------------------------------------------------
    def liking_users(self, call: Call) -> Body | bytes:
        listing = self._open_listing(call, "L")
        post = listing.source
        if post is None:
            return {"meta": {"result_count": 0}}
        quirks = call.quirks
        visible = quirks.mutations_visible
        total = self.state.world.liker_count(post, visible)
        if quirks.liking_users_cap is not None:  # X lists 100 likers per post, for all time
            total = min(total, quirks.liking_users_cap)
        offset, max_results = listing.offset, listing.max_results
        size = self._page_size(quirks, total, offset, max_results, post)
        if size and not listing.renderer.user_extra and not listing.expansions:
            # fast path (default user fields, no expansions): pre-formatted JSON texts of the users,
            # and the next page rendered ahead while the client is busy with this one
            data = self._liker_json(post, offset, size, visible)
            meta = self._meta(quirks, "L", post, offset, size, total, max_results)
            if offset + size < total:
                asyncio.get_running_loop().call_soon(self._prefetch, post, offset + size, max_results, total, quirks)
            self.state.count_served(LIKING_USERS.name, "users", size, {})
            return b'{"data":' + data + b',"meta":' + _encode(meta) + b"}"
        return self._listing_page(call, listing, post, total)

    def _liker_json(self, post: int, offset: int, size: int, visible: bool) -> bytes:
        w = self.state.world
        cached = self._rendered.pop((post, offset, size, visible, w.generation), None)
        if cached is not None:
            return cached
        return ("[" + ",".join(w.user_fragments(w.likers(post, offset, size, visible))) + "]").encode()

    def _prefetch(self, post: int, offset: int, max_results: int, total: int, quirks: Quirks) -> None:
        """Render the probable next page ahead of its request (the world is deterministic)."""
        size = self._page_size(quirks, total, offset, max_results, post)
        if size <= 0:
            return
        visible = quirks.mutations_visible
        if len(self._rendered) >= PREFETCH_SLOTS:
            self._rendered.clear()
        key = (post, offset, size, visible, self.state.world.generation)
        self._rendered[key] = self._liker_json(post, offset, size, visible)

    def liked_tweets(self, call: Call) -> Body:
        listing = self._open_listing(call, "T")
        user, user_id = listing.source, call.ids[0]
        quirks = call.quirks
        naming = quirks.naming
        if user is None:
            return {"errors": [errors.not_found(naming, "user", "id", user_id)]}
        if user != call.acting and quirks.private_likes != "public":
            if quirks.private_likes == "403":
                raise errors.likes_not_authorized(naming, user_id)
            if quirks.private_likes == "404":
                raise errors.likes_not_found(naming, user_id)
            return {"meta": {"result_count": 0}}
        return self._listing_page(call, listing, user, self.state.world.liked_count(user, quirks.mutations_visible))

    def table_listing(self, call: Call) -> Body:
        """A listing the endpoint table declares and this sandbox has no world of its own for (a
        new endpoint, e.g. a user's bookmarks): served from the world's likes of the same shape,
        users of a post as its likers (no cap), posts of a user as the posts they liked (their
        owner's only, as private likes). Its paging, quirks, fields and expansions are the likes'."""
        users = call.endpoint.records == "users"
        listing = self._open_listing(call, "L" if users else "T")
        source, w, visible = listing.source, self.state.world, call.quirks.mutations_visible
        if source is None or (not users and source != call.acting):
            return {"meta": {"result_count": 0}}
        total = w.liker_count(source, visible) if users else w.liked_count(source, visible)
        return self._listing_page(call, listing, source, total)

    def users_me(self, call: Call) -> Body:
        renderer, expansions = self._prepare(call, self._query(call), [])
        assert call.acting is not None  # app-only auth is refused here
        return self._single(self._records(renderer, "users", [call.acting], expansions))

    def post_lookup(self, call: Call) -> Body:
        problems: list[Body] = []
        q = self._query(call)
        post = self._index(call.ids[0], self.state.world.ids.post_index, problems)
        renderer, expansions = self._prepare(call, q, problems)
        if post is None:
            return {"errors": [errors.not_found(call.quirks.naming, "tweet", "id", call.ids[0])]}
        return self._single(self._records(renderer, "tweets", [post], expansions))

    def user_lookup(self, call: Call) -> Body:
        problems: list[Body] = []
        q = self._query(call)
        user = self._index(call.ids[0], self.state.world.ids.user_index, problems)
        renderer, expansions = self._prepare(call, q, problems)
        if user is None:
            return {"errors": [errors.not_found(call.quirks.naming, "user", "id", call.ids[0])]}
        return self._single(self._records(renderer, "users", [user], expansions))

    def _owner(self, call: Call) -> int:
        """The acting user, who must be the path's user (the writes act for oneself only)."""
        user_id = call.ids[0]
        if not valid_id(user_id):
            raise errors.invalid(call.quirks.naming, [errors.pattern_error("id", user_id)])
        if call.acting is None or self.state.world.ids.user_index(user_id) != call.acting:
            raise errors.not_permitted()
        return call.acting

    def likes_create(self, call: Call) -> Body:
        user = self._owner(call)
        try:
            payload = msgspec.json.decode(call.body) if call.body else None
        except msgspec.DecodeError:
            payload = None
        tweet_id = payload.get("tweet_id") if isinstance(payload, dict) else None
        if not isinstance(tweet_id, str) or not valid_id(tweet_id):
            shown = str(tweet_id) if tweet_id is not None else ""
            raise errors.invalid(call.quirks.naming, [errors.pattern_error("tweet_id", shown, "body")])
        return self._mutate(call, user, tweet_id, like=True)

    def likes_delete(self, call: Call) -> Body:
        user = self._owner(call)
        tweet_id = call.ids[1]
        if not valid_id(tweet_id):
            raise errors.invalid(call.quirks.naming, [errors.pattern_error("tweet_id", tweet_id)])
        return self._mutate(call, user, tweet_id, like=False)

    def _mutate(self, call: Call, user: int, tweet_id: str, like: bool) -> Body:
        w = self.state.world
        post = w.ids.post_index(tweet_id)
        if post is None:
            return {"errors": [errors.not_found(call.quirks.naming, "tweet", "tweet_id", tweet_id)]}
        if like:
            w.like(user, post)
        else:
            w.unlike(user, post)
        return {"data": {"liked": like}}

    def usage_tweets(self, call: Call) -> Body:
        """The cycle's Post consumption, from the posts the sandbox served (``days``: 1-90, default
        7; ``usage.fields``: the daily breakdowns; the totals always)."""
        problems: list[Body] = []
        q: Query = {}
        for k, v in parse_qsl(call.query, keep_blank_values=True):
            if k == "days":
                lo, hi = USAGE_DAYS
                if not v.isdigit() or not lo <= int(v) <= hi:
                    message = f"The `days` query parameter value [{v}] is not between {lo} and {hi}"
                    problems.append(errors.param_error("days", v, message))
            elif k == "usage.fields":
                problems.extend(
                    errors.param_error(
                        k, name, f"The `{k}` query parameter value [{name}] is not one of [{','.join(USAGE_FIELDS)}]"
                    )
                    for name in v.split(",")
                    if name not in USAGE_FIELDS
                )
            else:
                problems.append(
                    errors.param_error(k, v, f"The query parameter [{k}] is not one of [days,usage.fields]")
                )
            q[k] = v
        if problems:
            raise errors.invalid(call.quirks.naming, problems)
        st = self.state
        # openapi-v2.159 (tweet naming) types the counts as integers, v2.167 (post) as strings
        number: Callable[[int | str], int | str] = int if call.quirks.naming == "tweet" else str
        day = 24 * 60 * 60
        days = int(q.get("days", "7"))
        today = int(st.clock() // day)
        usage = [
            {"date": time.strftime("%Y-%m-%dT00:00:00.000Z", time.gmtime(d * day)), "usage": number(n)}
            for d in range(today - days + 1, today + 1)
            if (n := st.post_reads.get(time.strftime("%Y-%m-%d", time.gmtime(d * day)), 0))
        ]
        data: Body = {
            "cap_reset_day": time.gmtime(st.cycle_started).tm_mday,
            "project_id": st.project_id,  # a string in both specs (the daily breakdown's: v2.159 integer)
            "project_usage": number(sum(st.post_reads.values())),
        }
        if call.quirks.monthly_post_cap is not None:
            data["project_cap"] = number(call.quirks.monthly_post_cap)
        fields = set(q.get("usage.fields", "").split(","))
        if "daily_project_usage" in fields and usage:
            data["daily_project_usage"] = {"project_id": number(st.project_id), "usage": usage}
        if "daily_client_app_usage" in fields and usage:
            data["daily_client_app_usage"] = [
                {"client_app_id": st.app_id, "usage": usage, "usage_result_count": len(usage)}
            ]
        return {"data": data}
