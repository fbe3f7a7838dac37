"""Configuration of the X API sandbox: world, credentials, quirks, faults and the command line.

Over 400 lines because every switch of the sandbox (world, credentials, quirks, faults) is
declared and validated once, here, for the command line, the admin API and the pytest fixture.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

from airflow_provider_xlikes import endpoints

Naming = Literal["tweet", "post"]
FieldParam = Literal["tweet", "post", "both"]
PrivateLikes = Literal["empty", "403", "404", "public"]
ErrorStyle = Literal["problem", "legacy"]
AppOnly = Literal["no_user", "refuse", "owner"]
FaultKind = Literal[
    "status",
    "reset",
    "slow",
    "malformed",
    "truncated",
    "broken_unicode",
    "rate_limit",
    "client_forbidden",
    "usage_capped",
]
RateLimitKey = Literal["principal", "token"]
HttpImpl = Literal["auto", "h11", "httptools"]

#: The token endpoints by name (the endpoint table holds the API's resources, not these).
TOKEN_ENDPOINTS: dict[str, str] = endpoints.TOKEN_PATHS


def counted_endpoints() -> tuple[str, ...]:
    """Endpoint names used by request counters, rate limits and faults: the endpoint table's (read
    when called: an endpoint added to the table is counted at once) and the token endpoints."""
    return (*endpoints.ENDPOINTS, *TOKEN_ENDPOINTS)


#: The paging quirks (rates) and the rate ``true`` switches each of them to.
FULL_RATES: dict[str, float] = {"short_pages": 1.0, "empty_last_page": 1.0, "partial_errors": 0.25}
#: The status of a fault kind when ``status`` is not given.
FAULT_STATUS: dict[str, int] = {"client_forbidden": 403, "usage_capped": 429}

#: The command line's port: one Airflow does not use (its api-server takes 8080). ``SandboxConfig``
#: itself defaults to 0 (a free port), which the Python API (``start_sandbox``, fixtures) relies on.
DEFAULT_PORT = 8766
#: Post reads per billing cycle of a pay-per-use plan (X's pages say 2 or 3 million: the lower one)
DEFAULT_MONTHLY_POST_CAP = 2_000_000

#: Featured posts of the default world. The first one is the post of X's likes quickstart.
DEFAULT_POST_LIKES: tuple[str, ...] = ("1354143047324299264:333", "1000", "7", "0")


def _check_literal(name: str, value: object, literal: Any) -> None:
    allowed = get_args(literal)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, not {value!r}")


@dataclass
class Quirks:
    """Switchable behaviours of the real API (see NOTES.md); all can be changed at run time.

    The paging quirks are rates in [0, 1], seeded (the same pages come short on every run);
    ``true`` is ``FULL_RATES``, ``false`` 0. ``updated({"clean": True})`` sets all three to 0.
    """

    naming: Naming = "tweet"
    """Response names: documented "tweet" names (v2.159) or the 2026 "post" names (v2.167)."""
    field_param: FieldParam = "both"
    """Which of ``tweet.fields`` / ``post.fields`` the query accepts; the other one is a 400."""
    short_pages: float = 0.1
    """Share of pages holding fewer items than ``max_results`` that still carry ``next_token``."""
    empty_last_page: float = 0.25
    """Share of listings whose last page is ``{"meta": {"result_count": 0, "previous_token": ...}}``."""
    partial_errors: float = 0.05
    """Share of referenced posts deleted and mentioned or pinned-post users suspended: ``errors`` in
    a 200 (``true``: 0.25)."""
    error_style: ErrorStyle = "problem"
    """Body of 429 and 5xx responses: problem+json or legacy ``{"errors": [{"code", "message"}]}``."""
    rate_limit_headers_on_401: bool = False
    """Send rate-limit headers with 401 responses (the real API usually does not)."""
    app_only: AppOnly = "no_user"
    """App-only bearer tokens. ``no_user`` (docs, quickstart): ``liking_users`` and the lookups work,
    ``liked_tweets`` gets the ``private_likes`` answer for every user (there is no user behind the
    token), ``/2/users/me`` and the writes are 403 unsupported-authentication. ``refuse`` (the
    specs): user context only on the likes endpoints too. ``owner`` (2021–22 recordings): the
    token acts as its app's owner on the GETs, who sees their own likes."""
    private_likes: PrivateLikes = "empty"
    """Another user's ``liked_tweets``: empty result, 403, 404, or ``public`` (visible)."""
    daily_limit_headers: bool = False
    """Send ``x-user-limit-24hour-*`` headers for the 24-hour like limit (no real recording has
    them: by default only the 429 tells that the day's 1,000 likes are spent)."""
    mutations_visible: bool = True
    """Likes made/removed through POST/DELETE change what the listings return."""
    liking_users_cap: int | None = endpoints.LIKING_USERS_CAP
    """``liking_users`` ends after this many accounts per post, for all time, as on X since 2026
    (the post's ``like_count`` stays the real count); ``None`` lifts the cap (long listings)."""
    monthly_post_cap: int | None = DEFAULT_MONTHLY_POST_CAP
    """Posts the billing cycle may read (posts in ``data``, counted by the sandbox, reported by
    ``GET /2/usage/tweets``); past it the Post endpoints answer 429 ``usage-capped``. ``None``: no cap."""
    self_serve: bool = False
    """The app is on a self-serve tier: like and unlike answer 403 ``client-forbidden`` (Enterprise
    only since 2026-04-20). Default: an Enterprise app, whose writes work."""

    def __post_init__(self) -> None:
        _check_literal("naming", self.naming, Naming)
        _check_literal("field_param", self.field_param, FieldParam)
        _check_literal("error_style", self.error_style, ErrorStyle)
        _check_literal("app_only", self.app_only, AppOnly)
        if isinstance(self.private_likes, int):
            self.private_likes = cast(PrivateLikes, str(self.private_likes))
        _check_literal("private_likes", self.private_likes, PrivateLikes)
        for name in ("liking_users_cap", "monthly_post_cap"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = None if value.strip().lower() in ("", "none", "off") else int(value)
                setattr(self, name, value)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"{name} must be an integer >= 0 or None (no cap), not {value!r}")
        for name, full in FULL_RATES.items():
            value = getattr(self, name)
            rate = (full if value else 0.0) if isinstance(value, bool) else float(value)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be a rate between 0 and 1 (or true/false), not {value!r}")
            setattr(self, name, rate)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def updated(self, changes: Mapping[str, Any]) -> Quirks:
        """A copy with ``changes`` applied (``clean`` first); unknown names raise ``ValueError``."""
        changes = dict(changes)
        clean = changes.pop("clean", False)
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown quirk(s) {sorted(unknown)}; known: {sorted(names | {'clean'})}")
        if clean:
            changes = {**dict.fromkeys(FULL_RATES, 0.0), **changes}
        return dataclasses.replace(self, **changes)


@dataclass
class Fault:
    """An injected fault, applied to the next ``count`` matching requests (``count=0``: until cleared).

    kinds: ``status`` (answer ``status``, default 503), ``reset`` (close the socket without a
    response), ``slow`` (delay ``delay`` seconds, then answer normally), ``malformed`` / ``truncated``
    (a 200 whose JSON body is broken / cut short), ``broken_unicode`` (a 200 whose first record's
    ``name`` or ``text`` starts with an unpaired surrogate escape, ``\\ud83d``: half an emoji, as X
    has sent; valid JSON that strict decoders refuse), ``rate_limit`` (429, with rate-limit headers
    unless ``headers`` is false), ``client_forbidden`` (403 ``client-forbidden``: the app's access
    tier lacks the endpoint), ``usage_capped`` (``usage-capped``: the monthly cap is spent; 429 as
    reported in 2026, with rate-limit headers that still show requests left; ``status=403`` too).
    ``endpoint`` restricts it to one endpoint name (see :func:`counted_endpoints`); ``after`` lets that many
    matching requests pass first.
    """

    kind: FaultKind
    count: int = 1
    endpoint: str | None = None
    status: int | None = None
    """The HTTP status; default 503 for ``status`` (see ``FAULT_STATUS`` for the others)."""
    delay: float = 1.0
    headers: bool = True
    after: int = 0

    def __post_init__(self) -> None:
        _check_literal("fault kind", self.kind, FaultKind)
        if self.endpoint is not None and self.endpoint not in counted_endpoints():
            raise ValueError(f"unknown endpoint {self.endpoint!r}; known: {list(counted_endpoints())}")
        if self.count < 0 or self.after < 0:
            raise ValueError("count and after must be >= 0")
        if self.status is None:
            self.status = FAULT_STATUS.get(self.kind, 503)
        if not 100 <= self.status <= 599:
            raise ValueError("status must be an HTTP status code")

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Parse ``KIND[,key=value...]``, e.g. ``status,count=3,status=502,endpoint=liking_users``."""
        kind, *pairs = [p.strip() for p in spec.split(",") if p.strip()]
        values: dict[str, Any] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep:
                raise ValueError(f"bad fault option {pair!r} (expected key=value)")
            values[key.strip()] = value.strip()
        return cls.from_dict({"kind": kind, **values})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown fault option(s) {sorted(unknown)}; known: {sorted(names)}")
        values = dict(data)
        for key in ("count", "status", "after"):
            if key in values:
                values[key] = int(values[key])
        if "delay" in values:
            values["delay"] = float(values["delay"])
        if "headers" in values and isinstance(values["headers"], str):
            values["headers"] = values["headers"].lower() in ("1", "true", "yes", "on")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class SandboxConfig:
    """All options of the sandbox. Every field has a command-line flag of the same name."""

    host: str = "127.0.0.1"
    port: int = 0
    """0 picks a free port (the Python API); the command line defaults to ``DEFAULT_PORT``."""
    seed: int = 42
    users: int = 5_000_000
    """Size of the derived user universe (raised automatically to fit the largest featured post)."""
    posts: int = 50_000_000
    post_likes: Sequence[int | str] = DEFAULT_POST_LIKES
    """Featured posts (authored by the authenticated user) with exact liker counts; ``ID:COUNT``
    entries give the post a fixed id."""
    me_id: str = "2244994945"
    me_username: str = "sandbox_dev"
    me_name: str = "Sandbox Developer"
    me_likes: int = 150
    """Number of posts the authenticated user has liked (before mutations)."""
    window_seconds: float = 900.0
    """Length of the 15-minute rate-limit window; the 24-hour window is 96 times this."""
    rate_limits: bool = True
    rate_limit_key: RateLimitKey = "principal"
    """``principal``: buckets per app (app-only) or per user (user context); ``token``: per token."""
    token_lifetime: int = 7200
    revoke_family_on_reuse: bool = False
    scopes: str = "tweet.read users.read like.read like.write offline.access"
    bearer_token: str = "sandbox-bearer-token"  # noqa: S105 - public sandbox default
    api_key: str = "sandbox-api-key"
    api_secret: str = "sandbox-api-secret"  # noqa: S105 - public sandbox default
    client_id: str = "sandbox-client-id"
    client_secret: str | None = "sandbox-client-secret"  # noqa: S105 - public sandbox default
    """``None`` makes the OAuth 2.0 client public (``client_id`` in the body, no Basic auth)."""
    refresh_token: str = "sandbox-refresh-token"  # noqa: S105 - public sandbox default
    oauth2_access_token: str | None = None
    """Initial OAuth 2.0 user access token (random when ``None``), valid for ``token_lifetime``."""
    consumer_key: str = "sandbox-consumer-key"
    consumer_secret: str = "sandbox-consumer-secret"  # noqa: S105 - public sandbox default
    access_token: str | None = None
    """OAuth 1.0a access token; default ``"<me_id>-sandbox-access-token"`` (X's tokens start with
    the user id, and clients such as tweepy read it from there)."""
    access_token_secret: str = "sandbox-access-token-secret"  # noqa: S105 - public sandbox default
    quirks: Quirks = field(default_factory=Quirks)
    faults: Sequence[Fault] = ()
    http: HttpImpl = "auto"
    log_level: str = "warning"

    def __post_init__(self) -> None:
        if isinstance(self.quirks, Mapping):
            self.quirks = Quirks().updated(self.quirks)
        self.faults = tuple(
            Fault.from_dict(f) if isinstance(f, Mapping) else Fault.parse(f) if isinstance(f, str) else f
            for f in self.faults
        )
        if isinstance(self.post_likes, str):
            self.post_likes = tuple(p for p in self.post_likes.split(",") if p.strip())
        self.post_likes = tuple(str(p).strip() for p in self.post_likes)
        for entry in self.post_likes:
            parse_featured(str(entry))
        _check_literal("rate_limit_key", self.rate_limit_key, RateLimitKey)
        _check_literal("http", self.http, HttpImpl)
        if not (self.me_id.isdigit() and len(self.me_id) <= 19):
            raise ValueError("me_id must be a decimal id of at most 19 digits")
        if self.window_seconds <= 0 or self.token_lifetime <= 0:
            raise ValueError("window_seconds and token_lifetime must be positive")

    @property
    def oauth1_access_token(self) -> str:
        """The accepted OAuth 1.0a access token (``access_token`` or its default)."""
        return self.access_token or f"{self.me_id}-sandbox-access-token"

    @property
    def featured(self) -> list[tuple[str | None, int]]:
        """The featured posts as ``(fixed id or None, liker count)``."""
        return [parse_featured(str(p)) for p in self.post_likes]

    def with_overrides(self, **overrides: Any) -> SandboxConfig:
        """A copy with fields replaced; ``quirks`` may be a partial dict of quirk changes, and quirk
        names (and ``clean=True``: the paging quirks off) may be given directly."""
        quirks = overrides.pop("quirks", None)
        quirk_names = {f.name for f in dataclasses.fields(Quirks)} | {"clean"}
        quirk_changes = {k: overrides.pop(k) for k in list(overrides) if k in quirk_names}
        if isinstance(quirks, Mapping):
            quirk_changes = {**quirks, **quirk_changes}
        elif isinstance(quirks, Quirks):
            overrides["quirks"] = quirks
        new = dataclasses.replace(self, **overrides)
        if quirk_changes:
            new.quirks = new.quirks.updated(quirk_changes)
        return new

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["post_likes"] = list(self.post_likes)
        data["faults"] = [f.to_dict() for f in self.faults]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SandboxConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown sandbox option(s) {sorted(unknown)}")
        return cls(**dict(data))


def parse_featured(entry: str) -> tuple[str | None, int]:
    """Parse a featured-post entry: ``COUNT`` or ``ID:COUNT``."""
    post_id, sep, count = entry.rpartition(":")
    if sep and not (post_id.isdigit() and len(post_id) <= 19):
        raise ValueError(f"bad featured post id in {entry!r}")
    if not count.strip().isdigit():
        raise ValueError(f"bad featured post liker count in {entry!r}")
    return (post_id if sep else None), int(count)


def _bool_flag(parser: argparse.ArgumentParser | argparse._ArgumentGroup, name: str, help_text: str) -> None:
    parser.add_argument(
        f"--{name.replace('_', '-')}", dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text
    )


def _rate_flag(group: argparse._ArgumentGroup, name: str, help_text: str) -> None:
    flag = name.replace("_", "-")
    default = Quirks.__dataclass_fields__[name].default
    group.add_argument(
        f"--{flag}",
        dest=name,
        nargs="?",
        type=float,
        const=FULL_RATES[name],
        metavar="RATE",
        help=f"{help_text} (share 0..1; default {default}, bare flag {FULL_RATES[name]})",
    )
    group.add_argument(f"--no-{flag}", dest=name, action="store_const", const=0.0, help=argparse.SUPPRESS)


def build_arg_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``python -m airflow_provider_xlikes.sandbox``."""
    p = argparse.ArgumentParser(
        prog="python -m airflow_provider_xlikes.sandbox",
        description="Offline X API v2 likes sandbox (a local HTTP server).",
    )
    p.add_argument("--config", help="JSON file with SandboxConfig fields (flags override it)")
    p.add_argument("--host", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help=f"port; 0 picks a free one (default {DEFAULT_PORT})")
    p.add_argument("--seed", type=int, help="seed of the derived world (default 42)")
    p.add_argument("--users", type=int, help="number of derived users")
    p.add_argument("--posts", type=int, help="number of derived posts")
    p.add_argument("--post-likes", help="featured posts, comma-separated COUNT or ID:COUNT (exact likers)")
    p.add_argument("--me-id", help="id of the authenticated user")
    p.add_argument("--me-username", help="username of the authenticated user")
    p.add_argument("--me-name", help="display name of the authenticated user")
    p.add_argument("--me-likes", type=int, help="number of posts the authenticated user liked")
    p.add_argument("--window-seconds", type=float, help="length of the 15-min rate-limit window")
    _bool_flag(p, "rate_limits", "enforce rate limits (default on)")
    p.add_argument("--rate-limit-key", choices=get_args(RateLimitKey))
    p.add_argument("--token-lifetime", type=int, help="OAuth 2.0 user access token lifetime (s)")
    _bool_flag(p, "revoke_family_on_reuse", "reusing a rotated refresh token revokes its family")
    p.add_argument("--scopes", help="scopes granted to OAuth 2.0 user tokens")
    for name in (
        "bearer_token",
        "api_key",
        "api_secret",
        "client_id",
        "client_secret",
        "refresh_token",
        "oauth2_access_token",
        "consumer_key",
        "consumer_secret",
        "access_token",
        "access_token_secret",
    ):
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, help=f"accepted {name.replace('_', ' ')}")
    p.add_argument("--public-client", action="store_true", help="OAuth 2.0 public client (no secret)")
    q = p.add_argument_group("quirks (also switchable at run time: POST /_sandbox/quirks)")
    q.add_argument("--clean", action="store_const", const=True, help="paging quirks off: exact pages")
    q.add_argument("--naming", choices=get_args(Naming))
    q.add_argument("--field-param", choices=get_args(FieldParam))
    _rate_flag(q, "short_pages", "pages shorter than max_results that carry next_token")
    _rate_flag(q, "empty_last_page", "listings ending with an empty page holding only previous_token")
    _rate_flag(q, "partial_errors", "deleted referenced posts / suspended users: errors in a 200")
    q.add_argument("--error-style", choices=get_args(ErrorStyle), help="body shape of 429 and 5xx")
    _bool_flag(q, "rate_limit_headers_on_401", "send rate-limit headers with 401")
    q.add_argument(
        "--app-only", choices=get_args(AppOnly), help="app-only bearer tokens: no_user (default), refuse, owner"
    )
    q.add_argument("--private-likes", choices=get_args(PrivateLikes), help="other users' liked_tweets")
    _bool_flag(q, "daily_limit_headers", "send x-user-limit-24hour-* headers (default off)")
    _bool_flag(q, "mutations_visible", "POST/DELETE likes change the listings")
    q.add_argument(
        "--liking-users-cap",
        metavar="N|none",
        help=f"liking_users lists at most N accounts per post, as X (default {endpoints.LIKING_USERS_CAP}; "
        "none: no cap)",
    )
    q.add_argument(
        "--monthly-post-cap",
        metavar="N|none",
        help=f"posts the billing cycle may read before 429 usage-capped (default {DEFAULT_MONTHLY_POST_CAP}; none)",
    )
    _bool_flag(q, "self_serve", "a self-serve app: like/unlike answer 403 client-forbidden (Enterprise only)")
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND[,key=value...]",
        help="inject a fault at start, e.g. status,count=3,status=503,endpoint=liking_users",
    )
    p.add_argument("--http", choices=get_args(HttpImpl), help="uvicorn HTTP implementation")
    p.add_argument("--log-level", help="uvicorn log level (default warning)")
    p.add_argument("--ready-file", help="write {url, credentials} as JSON here once listening")
    p.add_argument("--quiet", action="store_true", help="do not print the URL and connection values")
    return p


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """Build a config from parsed command-line arguments (``--config`` file first, then flags)."""
    base: dict[str, Any] = {}
    if args.config:
        with open(args.config, encoding="utf-8") as fh:
            base = json.load(fh)
    base.setdefault("port", DEFAULT_PORT)
    quirk_names = {f.name for f in dataclasses.fields(Quirks)} | {"clean"}
    quirks = dict(base.pop("quirks", {}) or {})
    skip = {"config", "fault", "ready_file", "quiet", "public_client"}
    for key, value in vars(args).items():
        if key in skip or value is None:
            continue
        if key in quirk_names:
            quirks[key] = value
        else:
            base[key] = value
    if args.public_client:
        base["client_secret"] = None
    faults = [*base.pop("faults", []), *args.fault]
    return SandboxConfig.from_dict({**base, "quirks": quirks, "faults": faults})
