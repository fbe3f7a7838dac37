"""Offline X API sandbox: a real local HTTP server that behaves like the X API v2 likes endpoints.

Start it from the command line::

    python -m airflow_provider_xlikes.sandbox --port 8766 --post-likes 1000,0,7,1000000 --me-likes 250

It prints its URL and a ready ``AIRFLOW_CONN_X_DEFAULT`` value for each auth type (``bearer``,
``oauth2_user``, ``oauth1_user``). Default credentials are fixed strings (``sandbox-bearer-token``,
``sandbox-api-key``/``sandbox-api-secret``, ``sandbox-client-id``/``sandbox-client-secret``,
``sandbox-refresh-token``, ``sandbox-consumer-key``/``sandbox-consumer-secret``,
``2244994945-sandbox-access-token``/``sandbox-access-token-secret``: the OAuth 1.0a access token
starts with the user id, as on X); the initial OAuth 2.0 access token is random.

From Python (tests)::

    from airflow_provider_xlikes.sandbox import SandboxConfig, start_sandbox

    with start_sandbox(SandboxConfig(post_likes=[1000, 0, 7])) as sb:   # separate subprocess
        os.environ["AIRFLOW_CONN_X_DEFAULT"] = sb.conn_json("oauth2_user")
        sb.admin.world()["featured_posts"]      # ids and liker counts
        sb.admin.likers(post_id)                # ground truth, newest first
        sb.admin.set_faults("status,count=2,status=503")
        sb.admin.add_likes(post_id, 5)          # new likers, newest first at the head
        sb.admin.request_counts()               # per endpoint and per token fingerprint

It is as strict as X by default (paging quirks at seeded rates, app-only tokens without a user,
scopes enforced, no 24-hour headers; ``liking_users`` ends after 100 accounts per post, for all
time, as on X since 2026: ``liking_users_cap=None`` / ``--liking-users-cap none`` lifts it; a
monthly Post cap, ``monthly_post_cap``, past which the Post endpoints answer 429 ``usage-capped``;
``self_serve=True`` refuses like and unlike with X's Enterprise-only 403); ``clean=True`` /
``--clean`` gives exact pages, and every quirk is a switch (``config.Quirks``).

Endpoints served: those of ``airflow_provider_xlikes.endpoints`` (the likes listings and writes,
``GET /2/users/me``, the count lookups ``GET /2/tweets/{id}`` and ``GET /2/users/{id}``, the
cycle's Post consumption ``GET /2/usage/tweets``, bearer only), plus
``POST /2/oauth2/token`` (refresh_token grant, rotating) and ``POST /oauth2/token``
(client_credentials). The admin API lives under ``/_sandbox/`` (no auth; not counted; see
``admin.py``, and ``python -m airflow_provider_xlikes.sandbox admin --help`` for its command-line
client): ``health``, ``world``, ``requests``, ``reset`` (POST), ``faults`` (GET/POST/DELETE),
``quirks`` (GET/POST), ``usage`` (GET; POST ``{"post_reads": n}``), ``clock`` (GET/POST
``{"advance": s}``), ``tokens``, ``rate_limits``,
``likers/{post_id}`` (GET, ``?head=N`` for the newest N of a long listing; POST/DELETE add or
remove likers), ``liked/{user_id}``. Request
counts are keyed per token by the non-secret
fingerprint ``sha256(token).hexdigest()[:12]`` (OAuth 1.0a: of the access token; token endpoint:
of the refresh token / Basic credentials).

Modules: ``app`` (dispatch), ``routing``, ``handlers`` (access, query checks, endpoints; the
behaviour choices where X is not pinned down), ``errors`` (the bodies), ``faults``, ``ratelimit``,
``state``, ``admin``, ``auth``, ``render``, ``world`` (how the world is derived, which listings
agree) and ``vocabulary`` (its static tables).
"""

from __future__ import annotations

from airflow_provider_xlikes.sandbox.auth import fingerprint
from airflow_provider_xlikes.sandbox.config import Fault, Quirks, SandboxConfig, counted_endpoints
from airflow_provider_xlikes.sandbox.connections import conn_dict, conn_json
from airflow_provider_xlikes.sandbox.process import (
    AdminClient,
    RedirectSession,
    SandboxInThread,
    SandboxProcess,
    redirect_session,
    start_sandbox,
    start_sandbox_thread,
)

__all__ = [
    "AdminClient",
    "Fault",
    "Quirks",
    "RedirectSession",
    "SandboxConfig",
    "SandboxInThread",
    "SandboxProcess",
    "conn_dict",
    "conn_json",
    "counted_endpoints",
    "fingerprint",
    "redirect_session",
    "start_sandbox",
    "start_sandbox_thread",
]
