"""The sandbox ASGI application: the likes endpoints (raw ASGI, fast path) and the admin API (Starlette).

Choices where the real API is not pinned down (documented here and in the package docstring):

* ``liking_users`` of an unknown post: ``200 {"meta": {"result_count": 0}}`` (as recorded).
* ``liked_tweets`` of an unknown user, and liking an unknown post: ``200`` with ``errors``
  holding a ``resource-not-found`` problem and no ``data`` (the lookup behaviour).
* App-only (bearer) requests act for the app's owner, who is the authenticated user: with the
  default ``private_likes=empty`` they see their own likes and an empty list for everyone else.
* Rate-limit buckets are per principal by default (the app for app-only auth, the user for user
  context, so refreshing a token does not reset them); ``rate_limit_key="token"`` keys them by token.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import socket
import struct
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from airflow_provider_xlikes import _spec
from airflow_provider_xlikes.sandbox.auth import (
    Authenticator,
    AuthError,
    Principal,
    TokenEndpointError,
    fingerprint,
)
from airflow_provider_xlikes.sandbox.config import ENDPOINTS, Fault, Quirks, SandboxConfig
from airflow_provider_xlikes.sandbox.ratelimit import LIMITS, RateLimiter
from airflow_provider_xlikes.sandbox.render import Includes, Renderer, canonical_expansions, problem_base
from airflow_provider_xlikes.sandbox.world import World, mix64

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

JSON_CT = b"application/json; charset=utf-8"
PROBLEM_CT = b"application/problem+json"
ID_MAX_LEN = 19
TOKEN_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # noqa: S105
UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
LEGACY_5XX = {503: (130, "Over capacity")}

#: Transports of open connections, keyed by (server address, client address); used for resets.
TRANSPORTS: dict[tuple[Any, Any], asyncio.Transport] = {}

_encode = msgspec.json.Encoder().encode


def _valid_id(value: str) -> bool:
    return 0 < len(value) <= ID_MAX_LEN and value.isascii() and value.isdigit()


class ApiError(Exception):
    """A complete error response raised from inside a handler."""

    def __init__(self, status: int, body: Any, content_type: bytes = PROBLEM_CT, headers: Headers | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or []


@dataclass
class ActiveFault:
    fault: Fault
    remaining: int
    skipped: int = 0


class PageTokens:
    """Opaque pagination tokens: base62 of ``kind, resource, offset`` plus a MAC; forged ones fail."""

    def __init__(self, seed: int) -> None:
        self.key = hashlib.sha256(f"xlikes-sandbox-page-{seed}".encode()).digest()

    def encode(self, kind: str, resource: int, offset: int) -> str:
        payload = f"{kind}{resource}.{offset}".encode()
        mac = hmac.new(self.key, payload, hashlib.sha256).digest()[:12]
        n = int.from_bytes(payload + mac, "big")
        chars = []
        while n:
            n, r = divmod(n, 62)
            chars.append(TOKEN_ALPHABET[r])
        return "".join(reversed(chars))

    def decode(self, token: str, kind: str, resource: int) -> int | None:
        if not 8 <= len(token) <= 80:
            return None
        n = 0
        for ch in token:
            v = TOKEN_ALPHABET.find(ch)
            if v < 0:
                return None
            n = n * 62 + v
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        payload, mac = raw[:-12], raw[-12:]
        if not hmac.compare_digest(mac, hmac.new(self.key, payload, hashlib.sha256).digest()[:12]):
            return None
        try:
            text = payload.decode()
        except UnicodeDecodeError:
            return None
        expected = f"{kind}{resource}."
        if not text.startswith(expected):
            return None
        return int(text[len(expected) :])


class SandboxState:
    """All mutable state of a running sandbox."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock_offset = 0.0
        self.world = World(
            seed=config.seed,
            users=config.users,
            posts=config.posts,
            featured=config.featured,
            me_id=config.me_id,
            me_username=config.me_username,
            me_name=config.me_name,
            me_likes=config.me_likes,
        )
        self.auth = Authenticator(config, self.world.me, self.clock)
        self.limiter = RateLimiter(config.window_seconds, self.clock, config.rate_limits)
        self.tokens = PageTokens(config.seed)
        self.quirks = config.quirks
        self.faults: list[ActiveFault] = []
        self.set_faults(config.faults, replace=True)
        self.reset_counters()

    def clock(self) -> float:
        return time.time() + self.clock_offset

    def reset_counters(self) -> None:
        self.by_endpoint: Counter[str] = Counter()
        self.by_token: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.by_status: Counter[int] = Counter()

    def set_faults(self, faults: Any, replace: bool) -> None:
        if replace:
            self.faults = []
        self.faults.extend(ActiveFault(f, f.count) for f in faults)

    def reset(self) -> None:
        """Back to the state at start: counters, limits, faults, quirks, mutations, tokens, clock."""
        self.clock_offset = 0.0
        self.reset_counters()
        self.limiter.reset()
        self.set_faults(self.config.faults, replace=True)
        self.quirks = self.config.quirks
        self.world.reset_mutations()
        self.auth.reset()

    def world_summary(self) -> dict[str, Any]:
        w = self.world
        return {
            "seed": self.config.seed,
            "users": w.n_users,
            "posts": w.n_posts,
            "me": {"id": w.ids.me_id, "username": w.me_username, "name": w.me_name, "liked_count": w.liked_count(w.me)},
            "featured_posts": [
                {"id": w.ids.post_id(k), "likers": w.liker_count(k), "base_likers": w.featured_counts[k]}
                for k in range(w.n_featured)
            ],
            "window_seconds": self.config.window_seconds,
            "token_lifetime": self.config.token_lifetime,
            "quirks": self.quirks.to_dict(),
        }


def _problem(naming: str, kind: str, title: str, detail: str, status: int) -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": problem_base(naming) + kind, "status": status}


def _invalid(naming: str, errors: list[dict[str, Any]]) -> ApiError:
    return ApiError(
        400,
        {
            "errors": errors,
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": problem_base(naming) + "invalid-request",
        },
    )


def _param_error(name: str, value: str, message: str) -> dict[str, Any]:
    return {"parameters": {name: [value]}, "message": message}


def _unsupported_auth(naming: str) -> ApiError:
    return ApiError(
        403,
        _problem(
            naming,
            "unsupported-authentication",
            "Unsupported Authentication",
            "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported "
            "authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
            403,
        ),
    )


class SandboxApp:
    """ASGI callable: API endpoints on a fast raw path, ``/_sandbox/*`` admin on Starlette."""

    def __init__(self, config: SandboxConfig) -> None:
        self.state = SandboxState(config)
        self.admin = build_admin_app(self.state)
        self._rendered: dict[tuple[int, int, int, bool, int], bytes] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.admin(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/_sandbox"):
            await self.admin(scope, receive, send)
            return
        await self.api(scope, receive, send)

    # --- dispatch ---------------------------------------------------------------------------------
    @staticmethod
    def route(method: str, path: str) -> tuple[str, list[str]] | None:
        parts = path.rstrip("/").split("/") if path != "/" else [""]
        n = len(parts)
        if n == 5 and parts[1] == "2" and parts[2] == "tweets" and parts[4] == "liking_users" and method == "GET":
            return "liking_users", [parts[3]]
        if n >= 4 and parts[1] == "2" and parts[2] == "users":
            if n == 4 and parts[3] == "me" and method == "GET":
                return "users_me", []
            if n == 5 and parts[4] == "liked_tweets" and method == "GET":
                return "liked_tweets", [parts[3]]
            if n == 5 and parts[4] == "likes" and method == "POST":
                return "likes_create", [parts[3]]
            if n == 6 and parts[4] == "likes" and method == "DELETE":
                return "likes_delete", [parts[3], parts[5]]
        if path in ("/2/oauth2/token", "/2/oauth2/token/") and method == "POST":
            return "oauth2_token", []
        if path in ("/oauth2/token", "/oauth2/token/") and method == "POST":
            return "app_token", []
        return None

    async def api(self, scope: Scope, receive: Receive, send: Send) -> None:
        st = self.state
        method: str = scope["method"]
        routed = self.route(method, scope["path"])
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if routed is None:
            body = {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}
            await _send(send, 404, _encode(body), JSON_CT, [])
            return
        endpoint, params = routed
        raw_body = await _read_body(receive) if method in ("POST", "PUT", "PATCH") else b""
        fp = self._request_fingerprint(endpoint, headers, raw_body)
        st.by_endpoint[endpoint] += 1
        st.by_token[fp][endpoint] += 1

        corrupt: str | None = None
        for active in self._matching_faults(endpoint):
            fault = active.fault
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.kind in ("malformed", "truncated"):
                corrupt = fault.kind
            elif fault.kind == "reset":
                st.by_status[0] += 1
                await self._reset_connection(scope)
                return
            elif fault.kind == "status":
                await self._finish(send, self._server_error(fault.status))
                return
            elif fault.kind == "rate_limit":
                extra: Headers = []
                if fault.headers:
                    limit = LIMITS.get(endpoint, ((75, 1),))[0][0]
                    extra = [
                        (b"x-rate-limit-limit", str(limit).encode()),
                        (b"x-rate-limit-remaining", b"0"),
                        (b"x-rate-limit-reset", str(int(st.clock() + st.config.window_seconds)).encode()),
                    ]
                await self._finish(send, self._too_many(extra))
                return

        try:
            status, body, out_headers = await self.handle(endpoint, params, scope, headers, raw_body)
            content_type = JSON_CT
        except ApiError as err:
            status, body, out_headers, content_type = err.status, err.body, err.headers, err.content_type
        data = body if isinstance(body, bytes) else _encode(body)
        if corrupt == "malformed" and status == 200:
            data = data[: len(data) // 2] + b'"}]{\x00<' + data[len(data) // 2 :]
        elif corrupt == "truncated" and status == 200:
            data = data[: max(1, len(data) * 2 // 3)]
        st.by_status[status] += 1
        await _send(send, status, data, content_type, out_headers)

    async def _finish(self, send: Send, err: ApiError) -> None:
        self.state.by_status[err.status] += 1
        await _send(send, err.status, _encode(err.body), err.content_type, err.headers)

    def _request_fingerprint(self, endpoint: str, headers: dict[str, str], raw_body: bytes) -> str:
        auth = headers.get("authorization", "").strip()
        scheme, _, value = auth.partition(" ")
        if endpoint == "oauth2_token":
            form = dict(parse_qsl(raw_body.decode("utf-8", "replace")))
            token = form.get("refresh_token")
            return fingerprint(token) if token else "anonymous"
        if scheme.lower() == "bearer" and value.strip():
            return fingerprint(value.strip())
        if scheme.lower() == "oauth":
            for part in value.split(","):
                k, _, v = part.strip().partition("=")
                if k == "oauth_token":
                    return fingerprint(v.strip().strip('"'))
        if scheme.lower() == "basic":
            return fingerprint(value.strip())
        return "anonymous"

    def _matching_faults(self, endpoint: str) -> list[ActiveFault]:
        matched: list[ActiveFault] = []
        keep: list[ActiveFault] = []
        terminal = False
        for active in self.state.faults:
            fault = active.fault
            applies = fault.endpoint is None or fault.endpoint == endpoint
            if applies and not terminal:
                if active.skipped < fault.after:
                    active.skipped += 1
                else:
                    matched.append(active)
                    if fault.kind in ("status", "reset", "rate_limit"):
                        terminal = True
                    if fault.count:
                        active.remaining -= 1
                        if active.remaining <= 0:
                            continue
            keep.append(active)
        self.state.faults = keep
        return matched

    async def _reset_connection(self, scope: Scope) -> None:
        server, client = scope.get("server"), scope.get("client")
        transport = TRANSPORTS.get((tuple(server) if server else None, tuple(client) if client else None))
        if transport is None:
            raise RuntimeError("connection reset fault needs the sandbox's uvicorn protocol")
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        for _ in range(5):
            await asyncio.sleep(0)

    def _server_error(self, status: int) -> ApiError:
        if self.state.quirks.error_style == "legacy":
            code, message = LEGACY_5XX.get(status, (131, "Internal error"))
            return ApiError(status, {"errors": [{"code": code, "message": message}]}, JSON_CT)
        reason = REASONS.get(status, "Error")
        return ApiError(status, {"title": reason, "detail": reason, "type": "about:blank", "status": status})

    def _too_many(self, headers: Headers) -> ApiError:
        if self.state.quirks.error_style == "legacy":
            body: Any = {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
            return ApiError(429, body, JSON_CT, headers)
        body = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
        return ApiError(429, body, PROBLEM_CT, headers)

    # --- handling -----------------------------------------------------------------------------------
    async def handle(
        self, endpoint: str, params: list[str], scope: Scope, headers: dict[str, str], raw_body: bytes
    ) -> tuple[int, Any, Headers]:
        st = self.state
        if endpoint in ("oauth2_token", "app_token"):
            form = dict(parse_qsl(raw_body.decode("utf-8", "replace"), keep_blank_values=True))
            try:
                if endpoint == "oauth2_token":
                    return 200, st.auth.refresh(form, headers), []
                return 200, st.auth.app_token(form, headers), []
            except TokenEndpointError as err:
                raise ApiError(err.status, err.body, JSON_CT) from None

        quirks = st.quirks
        query_string: str = scope["query_string"].decode("latin-1")
        host = headers.get("host", "")
        raw_path = scope.get("raw_path") or scope["path"].encode()
        url = f"{scope.get('scheme', 'http')}://{host}{raw_path.decode('latin-1')}"
        try:
            principal = st.auth.authenticate(scope["method"], url, query_string, headers)
        except AuthError:
            extra: Headers = []
            if quirks.rate_limit_headers_on_401:
                extra = [
                    (b"x-rate-limit-limit", b"75"),
                    (b"x-rate-limit-remaining", b"74"),
                    (b"x-rate-limit-reset", str(int(st.clock() + st.config.window_seconds)).encode()),
                ]
            raise ApiError(401, UNAUTHORIZED, PROBLEM_CT, extra) from None
        naming = quirks.naming
        if principal.is_app and (
            endpoint in ("users_me", "likes_create", "likes_delete") or quirks.app_only == "refuse"
        ):
            raise _unsupported_auth(naming)
        if endpoint in ("likes_create", "likes_delete") and principal.scopes is not None:
            missing = {"like.write", "tweet.read", "users.read"} - principal.scopes
            if missing:
                raise ApiError(
                    403,
                    {
                        "title": "Forbidden",
                        "type": "about:blank",
                        "status": 403,
                        "detail": f"Missing required scope(s): {' '.join(sorted(missing))}",
                    },
                )
        key = principal.token_fp
        if st.config.rate_limit_key == "principal":
            key = "app" if principal.is_app else f"user:{principal.user}"
        allowed, rl_headers = st.limiter.hit(key, endpoint)
        if not allowed:
            raise self._too_many(rl_headers)
        try:
            if endpoint == "liking_users":
                body = self.liking_users(params[0], query_string, quirks)
            elif endpoint == "liked_tweets":
                body = self.liked_tweets(params[0], query_string, quirks, principal)
            elif endpoint == "users_me":
                body = self.users_me(query_string, quirks)
            elif endpoint == "likes_create":
                body = self.likes_create(params[0], raw_body, quirks, principal)
            else:
                body = self.likes_delete(params[0], params[1], quirks, principal)
        except ApiError as err:
            err.headers = err.headers + rl_headers
            raise
        return 200, body, rl_headers

    # --- query parsing --------------------------------------------------------------------------------
    def _query(self, query_string: str, quirks: Quirks, allowed: tuple[str, ...]) -> dict[str, str]:
        pairs = [(k.strip(), v.strip()) for k, v in parse_qsl(query_string, keep_blank_values=True) if k.strip()]
        tweet_names = {"tweet": ("tweet.fields",), "post": ("post.fields",), "both": ("tweet.fields", "post.fields")}
        names: list[str] = []
        for name in allowed:
            if name == "tweet.fields":
                names.extend(tweet_names[quirks.field_param])
            else:
                names.append(name)
        errors = []
        out: dict[str, str] = {}
        for k, v in pairs:
            if k not in names:
                errors.append(_param_error(k, v, f"The query parameter [{k}] is not one of [{','.join(names)}]"))
            elif k in out:
                errors.append(
                    {"parameters": {k: [out[k], v]}, "message": f"Duplicate parameters are not allowed [{k}]"}
                )
            else:
                out[k] = v
        if errors:
            raise _invalid(quirks.naming, errors)
        if "post.fields" in out:
            merged = ",".join(x for x in (out.pop("tweet.fields", ""), out.pop("post.fields")) if x)
            out["tweet.fields"] = merged
        return out

    @staticmethod
    def _fields(
        q: dict[str, str],
        name: str,
        allowed: frozenset[str],
        errors: list[dict[str, Any]],
        shown_name: str | None = None,
    ) -> frozenset[str]:
        raw = q.get(name)
        if raw is None:
            return frozenset()
        values = [v.strip() for v in raw.split(",")]
        bad = [v for v in values if v not in allowed]
        if bad:
            label = shown_name or name
            errors.extend(
                _param_error(
                    label, v, f"The `{label}` query parameter value [{v}] is not one of [{','.join(sorted(allowed))}]"
                )
                for v in bad
            )
        return frozenset(v for v in values if v in allowed)

    def _paging(
        self, q: dict[str, str], lo: int, errors: list[dict[str, Any]], kind: str, resource: int
    ) -> tuple[int, int]:
        max_results = 100
        raw = q.get("max_results")
        if raw is not None:
            if not raw.lstrip("-").isdigit():
                errors.append(
                    _param_error(
                        "max_results", raw, f"The `max_results` query parameter value [{raw}] is not a valid integer"
                    )
                )
            elif not lo <= int(raw) <= 100:
                errors.append(
                    _param_error(
                        "max_results",
                        raw,
                        f"The `max_results` query parameter value [{raw}] is not between {lo} and 100",
                    )
                )
            else:
                max_results = int(raw)
        offset = 0
        token = q.get("pagination_token")
        if token is not None:
            decoded = self.state.tokens.decode(token, kind, resource)
            if decoded is None:
                errors.append(
                    _param_error(
                        "pagination_token",
                        token,
                        f"The `pagination_token` query parameter value [{token}] is not valid",
                    )
                )
            else:
                offset = decoded
        return max_results, offset

    def _renderer(
        self, q: dict[str, str], quirks: Quirks, errors: list[dict[str, Any]], media: bool = False
    ) -> Renderer:
        tweet_label = "post.fields" if quirks.field_param == "post" else "tweet.fields"
        return Renderer(
            self.state.world,
            quirks.naming,
            quirks.partial_errors,
            user_fields=self._fields(q, "user.fields", _spec.USER_FIELDS, errors),
            tweet_fields=self._fields(q, "tweet.fields", _spec.TWEET_FIELDS, errors, tweet_label),
            media_fields=self._fields(q, "media.fields", _spec.MEDIA_FIELDS, errors) if media else frozenset(),
            poll_fields=self._fields(q, "poll.fields", _spec.POLL_FIELDS, errors) if media else frozenset(),
            place_fields=self._fields(q, "place.fields", _spec.PLACE_FIELDS, errors) if media else frozenset(),
            now=self.state.clock(),
        )

    def _page_bounds(self, quirks: Quirks, total: int, offset: int, max_results: int, resource: int) -> int:
        size = max_results
        if quirks.short_pages and max_results > 1:
            size = max_results - 1 - mix64(offset * 0x9E37 ^ resource) % max(1, max_results // 2)
        return max(0, min(size, total - offset))

    def _meta(
        self, quirks: Quirks, kind: str, resource: int, offset: int, served: int, total: int, max_results: int
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {"result_count": served}
        end = offset + served
        if end < total or (quirks.empty_last_page and served and end == total):
            meta["next_token"] = self.state.tokens.encode(kind, resource, end)
        if offset > 0:
            meta["previous_token"] = self.state.tokens.encode(kind, resource, max(0, offset - max_results))
        return meta

    # --- endpoints ------------------------------------------------------------------------------------
    def liking_users(self, post_id: str, query_string: str, quirks: Quirks) -> dict[str, Any] | bytes:
        naming = quirks.naming
        q = self._query(
            query_string, quirks, ("expansions", "max_results", "pagination_token", "tweet.fields", "user.fields")
        )
        errors: list[dict[str, Any]] = []
        if not _valid_id(post_id):
            errors.append(
                _param_error(
                    "id", post_id, f"The `id` query parameter value [{post_id}] does not match ^[0-9]{{1,19}}$"
                )
            )
        w = self.state.world
        post = w.ids.post_index(post_id) if not errors else None
        max_results, offset = self._paging(q, 1, errors, "L", post if post is not None else 0)
        renderer = self._renderer(q, quirks, errors)
        expansions = canonical_expansions(self._fields(q, "expansions", _spec.USER_EXPANSIONS, errors))
        if errors:
            raise _invalid(naming, errors)
        if post is None:
            return {"meta": {"result_count": 0}}
        visible = quirks.mutations_visible
        total = w.liker_count(post, visible)
        size = self._page_bounds(quirks, total, offset, max_results, post)
        if size and not renderer.user_extra and not expansions:
            # fast path (default user fields, no expansions): pre-formatted JSON texts of the users,
            # and the next page rendered ahead while the client is busy with this one
            data = self._liker_json(post, offset, size, visible)
            meta = self._meta(quirks, "L", post, offset, size, total, max_results)
            if offset + size < total:
                asyncio.get_running_loop().call_soon(self._prefetch, post, offset + size, max_results, total, quirks)
            return b'{"data":' + data + b',"meta":' + _encode(meta) + b"}"
        users = w.likers(post, offset, size, visible) if size else []
        body: dict[str, Any] = {}
        if users and expansions:
            inc = Includes()
            renderer.expand_users(users, expansions, inc)
            included = renderer.includes(inc)
            if included:
                body["includes"] = included
            if inc.errors:
                body["errors"] = inc.errors
        body["meta"] = self._meta(quirks, "L", post, offset, len(users), total, max_results)
        if not users:
            return body
        return {"data": [renderer.user(u) for u in users], **body}

    def _liker_json(self, post: int, offset: int, size: int, visible: bool) -> bytes:
        w = self.state.world
        key = (post, offset, size, visible, w.generation)
        cached = self._rendered.pop(key, None)
        if cached is not None:
            return cached
        users = w.likers(post, offset, size, visible)
        return ("[" + ",".join(w.user_fragments(users)) + "]").encode()

    def _prefetch(self, post: int, offset: int, max_results: int, total: int, quirks: Quirks) -> None:
        """Render the probable next page ahead of its request (the world is deterministic)."""
        size = self._page_bounds(quirks, total, offset, max_results, post)
        if size <= 0:
            return
        w = self.state.world
        visible = quirks.mutations_visible
        if len(self._rendered) >= 16:
            self._rendered.clear()
        key = (post, offset, size, visible, w.generation)
        self._rendered[key] = self._liker_json(post, offset, size, visible)

    def liked_tweets(self, user_id: str, query_string: str, quirks: Quirks, principal: Principal) -> dict[str, Any]:
        naming = quirks.naming
        q = self._query(
            query_string,
            quirks,
            (
                "expansions",
                "max_results",
                "media.fields",
                "pagination_token",
                "place.fields",
                "poll.fields",
                "tweet.fields",
                "user.fields",
            ),
        )
        errors: list[dict[str, Any]] = []
        if not _valid_id(user_id):
            errors.append(
                _param_error(
                    "id", user_id, f"The `id` query parameter value [{user_id}] does not match ^[0-9]{{1,19}}$"
                )
            )
        w = self.state.world
        user = w.ids.user_index(user_id) if not errors else None
        max_results, offset = self._paging(q, 5, errors, "T", user if user is not None else 0)
        renderer = self._renderer(q, quirks, errors, media=True)
        expansions = canonical_expansions(self._fields(q, "expansions", _spec.TWEET_EXPANSIONS, errors))
        if errors:
            raise _invalid(naming, errors)
        if user is None:
            return {"errors": [self._not_found_user(naming, user_id)]}
        if user != w.me and quirks.private_likes != "public":
            if quirks.private_likes == "403":
                raise ApiError(
                    403,
                    _problem(
                        naming,
                        "not-authorized-for-resource",
                        "Forbidden",
                        "Sorry, you are not authorized to see this user's likes.",
                        403,
                    ),
                )
            if quirks.private_likes == "404":
                raise ApiError(
                    404,
                    _problem(
                        naming,
                        "resource-not-found",
                        "Not Found Error",
                        f"Could not find likes of user with id: [{user_id}].",
                        404,
                    ),
                )
            return {"meta": {"result_count": 0}}
        visible = quirks.mutations_visible
        total = w.liked_count(user, visible)
        size = self._page_bounds(quirks, total, offset, max_results, user)
        posts = w.liked(user, offset, size, visible) if size else []
        body: dict[str, Any] = {}
        if posts:
            body["data"] = [renderer.post(p) for p in posts]
            if expansions:
                inc = Includes()
                renderer.expand_posts(posts, expansions, inc)
                included = renderer.includes(inc)
                if included:
                    body["includes"] = included
                if inc.errors:
                    body["errors"] = inc.errors
        body["meta"] = self._meta(quirks, "T", user, offset, len(posts), total, max_results)
        return body

    def users_me(self, query_string: str, quirks: Quirks) -> dict[str, Any]:
        q = self._query(query_string, quirks, ("expansions", "tweet.fields", "user.fields"))
        errors: list[dict[str, Any]] = []
        renderer = self._renderer(q, quirks, errors)
        expansions = canonical_expansions(self._fields(q, "expansions", _spec.USER_EXPANSIONS, errors))
        if errors:
            raise _invalid(quirks.naming, errors)
        me = self.state.world.me
        body: dict[str, Any] = {"data": renderer.user(me)}
        if expansions:
            inc = Includes()
            renderer.expand_users([me], expansions, inc)
            included = renderer.includes(inc)
            if included:
                body["includes"] = included
            if inc.errors:
                body["errors"] = inc.errors
        return body

    def _check_owner(self, user_id: str, quirks: Quirks, principal: Principal) -> None:
        if not _valid_id(user_id):
            raise _invalid(
                quirks.naming,
                [
                    _param_error(
                        "id", user_id, f"The `id` query parameter value [{user_id}] does not match ^[0-9]{{1,19}}$"
                    )
                ],
            )
        if self.state.world.ids.user_index(user_id) != principal.user:
            raise ApiError(
                403,
                {
                    "title": "Forbidden",
                    "type": "about:blank",
                    "status": 403,
                    "detail": "You are not permitted to perform this action.",
                },
            )

    def likes_create(self, user_id: str, raw_body: bytes, quirks: Quirks, principal: Principal) -> dict[str, Any]:
        self._check_owner(user_id, quirks, principal)
        try:
            payload = msgspec.json.decode(raw_body) if raw_body else None
        except msgspec.DecodeError:
            payload = None
        tweet_id = payload.get("tweet_id") if isinstance(payload, dict) else None
        if not isinstance(tweet_id, str) or not _valid_id(tweet_id):
            shown = str(tweet_id) if tweet_id is not None else ""
            raise _invalid(
                quirks.naming,
                [
                    _param_error(
                        "tweet_id",
                        shown,
                        f"The `tweet_id` body parameter value [{shown}] does not match ^[0-9]{{1,19}}$",
                    )
                ],
            )
        return self._mutate(tweet_id, quirks, like=True)

    def likes_delete(self, user_id: str, tweet_id: str, quirks: Quirks, principal: Principal) -> dict[str, Any]:
        self._check_owner(user_id, quirks, principal)
        if not _valid_id(tweet_id):
            raise _invalid(
                quirks.naming,
                [
                    _param_error(
                        "tweet_id",
                        tweet_id,
                        f"The `tweet_id` query parameter value [{tweet_id}] does not match ^[0-9]{{1,19}}$",
                    )
                ],
            )
        return self._mutate(tweet_id, quirks, like=False)

    def _mutate(self, tweet_id: str, quirks: Quirks, like: bool) -> dict[str, Any]:
        w = self.state.world
        post = w.ids.post_index(tweet_id)
        if post is None:
            return {
                "errors": [
                    {
                        "value": tweet_id,
                        "detail": f"Could not find tweet with tweet_id: [{tweet_id}].",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "tweet_id",
                        "resource_id": tweet_id,
                        "type": problem_base(quirks.naming) + "resource-not-found",
                    }
                ]
            }
        if like:
            w.like(post)
        else:
            w.unlike(post)
        return {"data": {"liked": like}}

    @staticmethod
    def _not_found_user(naming: str, user_id: str) -> dict[str, Any]:
        return {
            "value": user_id,
            "detail": f"Could not find user with id: [{user_id}].",
            "title": "Not Found Error",
            "resource_type": "user",
            "parameter": "id",
            "resource_id": user_id,
            "type": problem_base(naming) + "resource-not-found",
        }


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _send(send: Send, status: int, body: bytes, content_type: bytes, headers: Headers) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --- admin API --------------------------------------------------------------------------------------


def build_admin_app(state: SandboxState) -> Starlette:
    """The ``/_sandbox/*`` admin API (no auth, JSON, requests to it are not counted)."""

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    async def world(_: Request) -> JSONResponse:
        return JSONResponse(state.world_summary())

    async def requests_(_: Request) -> JSONResponse:
        return JSONResponse(
            {
                "total": sum(state.by_endpoint.values()),
                "by_endpoint": {e: state.by_endpoint.get(e, 0) for e in ENDPOINTS},
                "by_token": {fp: dict(c) for fp, c in state.by_token.items()},
                "by_status": {str(k): v for k, v in sorted(state.by_status.items())},
            }
        )

    async def reset(_: Request) -> JSONResponse:
        state.reset()
        return JSONResponse({"ok": True})

    async def faults(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            state.faults = []
        elif request.method == "POST":
            data = await _json(request)
            try:
                items = [Fault.from_dict(f) for f in data.get("faults", [])]
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            state.set_faults(items, replace=bool(data.get("replace", True)))
        return JSONResponse(
            {
                "faults": [
                    {**a.fault.to_dict(), "remaining": a.remaining if a.fault.count else None, "skipped": a.skipped}
                    for a in state.faults
                ]
            }
        )

    async def quirks(request: Request) -> JSONResponse:
        if request.method == "POST":
            data = await _json(request)
            try:
                state.quirks = state.quirks.updated(data)
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(state.quirks.to_dict())

    async def clock(request: Request) -> JSONResponse:
        if request.method == "POST":
            data = await _json(request)
            state.clock_offset += float(data.get("advance", 0))
        return JSONResponse({"offset": state.clock_offset, "now": state.clock()})

    async def tokens(_: Request) -> JSONResponse:
        return JSONResponse(state.auth.token_summary())

    async def rate_limits(_: Request) -> JSONResponse:
        return JSONResponse({"windows": state.limiter.snapshot()})

    def _limit(request: Request) -> int:
        try:
            return max(0, int(request.query_params.get("limit", "10000")))
        except ValueError:
            return 10000

    async def likers(request: Request) -> JSONResponse:
        post_id = request.path_params["post_id"]
        w = state.world
        post = w.ids.post_index(post_id) if _valid_id(post_id) else None
        if post is None:
            return JSONResponse({"error": "unknown post", "id": post_id}, status_code=404)
        visible = state.quirks.mutations_visible
        total = w.liker_count(post, visible)
        if total > _limit(request):
            return JSONResponse({"error": "list too large; pass ?limit=", "count": total}, status_code=413)
        ids = [w.ids.user_id(u) for u in w.likers(post, 0, total, visible)]
        return JSONResponse({"id": post_id, "count": total, "ids": ids})

    async def liked(request: Request) -> JSONResponse:
        user_id = request.path_params["user_id"]
        w = state.world
        user = w.ids.user_index(user_id) if _valid_id(user_id) else None
        if user is None:
            return JSONResponse({"error": "unknown user", "id": user_id}, status_code=404)
        visible = state.quirks.mutations_visible
        total = w.liked_count(user, visible)
        if total > _limit(request):
            return JSONResponse({"error": "list too large; pass ?limit=", "count": total}, status_code=413)
        ids = [w.ids.post_id(p) for p in w.liked(user, 0, total, visible)]
        return JSONResponse({"id": user_id, "count": total, "ids": ids})

    routes = [
        Route("/_sandbox/health", health),
        Route("/_sandbox/world", world),
        Route("/_sandbox/requests", requests_),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/quirks", quirks, methods=["GET", "POST"]),
        Route("/_sandbox/clock", clock, methods=["GET", "POST"]),
        Route("/_sandbox/tokens", tokens),
        Route("/_sandbox/rate_limits", rate_limits),
        Route("/_sandbox/likers/{post_id}", likers),
        Route("/_sandbox/liked/{user_id}", liked),
    ]
    return Starlette(routes=routes)


async def _json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body:
        return {}
    data = msgspec.json.decode(body)
    return data if isinstance(data, dict) else {}
