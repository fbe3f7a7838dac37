"""Authentication of the sandbox: app-only bearer, OAuth 2.0 user tokens (rotating), OAuth 1.0a."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote_plus

from oauthlib.oauth1.rfc5849 import signature as oauth1_signature
from oauthlib.oauth1.rfc5849 import utils as oauth1_utils

from airflow_provider_xlikes.sandbox.config import SandboxConfig

AuthKind = Literal["app", "oauth2_user", "oauth1_user"]
OAUTH1_MAX_SKEW = 300


def fingerprint(token: str) -> str:
    """Non-secret token key used by the admin API: ``sha256(token)`` hex, first 12 characters."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the auth type, the user (None for app-only), the token fingerprint, scopes."""

    kind: AuthKind
    user: int | None
    token_fp: str
    scopes: frozenset[str] | None = None

    @property
    def is_app(self) -> bool:
        return self.kind == "app"


@dataclass
class AccessToken:
    family: int
    expires_at: float
    scopes: frozenset[str]


@dataclass
class RefreshToken:
    family: int
    status: Literal["active", "rotated"] = "active"


@dataclass
class IssuedTokens:
    """The tokens this sandbox has issued, by token string, and what their grants counted."""

    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    revoked_families: set[int] = field(default_factory=set)
    next_family: int = 1
    refreshes: int = 0
    """Refresh grants that issued new tokens."""
    invalid_grants: int = 0
    """Refresh grants answered ``invalid_grant`` (unknown, rotated or revoked refresh token)."""
    seen_nonces: dict[tuple[str, str], float] = field(default_factory=dict)


class AuthError(Exception):
    """Raised for 401: the caller could not be authenticated."""


class TokenEndpointError(Exception):
    """An OAuth error of a token endpoint, with its HTTP status and JSON body."""

    def __init__(self, status: int, body: Mapping[str, object]) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = dict(body)


class Authenticator:
    """Checks credentials and issues tokens. Single-threaded (the server's event loop)."""

    def __init__(self, config: SandboxConfig, me: int, clock: Callable[[], float]) -> None:
        self.cfg = config
        self.me = me
        self.clock = clock
        self.scopes = frozenset(config.scopes.split())
        self.initial_access_token = config.oauth2_access_token or secrets.token_urlsafe(48)
        self.reset()

    def reset(self) -> None:
        """Forget issued tokens; the configured refresh token and initial access token work again."""
        self.store = IssuedTokens()
        self.store.refresh[self.cfg.refresh_token] = RefreshToken(family=0)
        self.store.access[self.initial_access_token] = AccessToken(
            family=0, expires_at=self.clock() + self.cfg.token_lifetime, scopes=self.scopes
        )

    # --- resource requests ----------------------------------------------------------------------------
    def authenticate(self, method: str, url: str, query: str, headers: Mapping[str, str]) -> Principal:
        """Authenticate an API request or raise ``AuthError``."""
        auth = headers.get("authorization", "").strip()
        scheme, _, value = auth.partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "bearer" and value:
            return self._bearer(value)
        if scheme == "oauth" and value:
            return self._oauth1(method, url, query, auth)
        raise AuthError("missing or unsupported Authorization header")

    def _bearer(self, token: str) -> Principal:
        if hmac.compare_digest(token.encode(), self.cfg.bearer_token.encode()):
            return Principal("app", None, fingerprint(token))
        info = self.store.access.get(token)
        if info is None:
            raise AuthError("unknown bearer token")
        if info.family in self.store.revoked_families:
            raise AuthError("token family revoked")
        if self.clock() >= info.expires_at:
            raise AuthError("access token expired")
        return Principal("oauth2_user", self.me, fingerprint(token), info.scopes)

    def _oauth1(self, method: str, url: str, query: str, header: str) -> Principal:
        try:
            params = dict(oauth1_utils.parse_authorization_header(header))
        except (ValueError, TypeError) as exc:
            raise AuthError("malformed OAuth header") from exc
        consumer_key = params.get("oauth_consumer_key", "")
        token = params.get("oauth_token", "")
        provided = oauth1_utils.unescape(params.get("oauth_signature", ""))
        if params.get("oauth_signature_method") != "HMAC-SHA1":
            raise AuthError("unsupported signature method")
        if consumer_key != self.cfg.consumer_key or token != self.cfg.oauth1_access_token:
            raise AuthError("unknown consumer key or access token")
        try:
            timestamp = int(params.get("oauth_timestamp", ""))
        except ValueError as exc:
            raise AuthError("bad timestamp") from exc
        now = time.time()
        if abs(now - timestamp) > OAUTH1_MAX_SKEW:
            raise AuthError("timestamp out of range")
        collected = oauth1_signature.collect_parameters(
            uri_query=query, headers={"Authorization": header}, exclude_oauth_signature=True, with_realm=False
        )
        normalized = oauth1_signature.normalize_parameters(collected)
        base_uri = oauth1_signature.base_string_uri(url)
        base = oauth1_signature.signature_base_string(method.upper(), base_uri, normalized)
        expected = oauth1_signature.sign_hmac_sha1(base, self.cfg.consumer_secret, self.cfg.access_token_secret)
        if not hmac.compare_digest(expected.encode(), provided.encode()):
            raise AuthError("invalid signature")
        nonce_key = (params.get("oauth_nonce", ""), str(timestamp))
        nonces = self.store.seen_nonces
        if nonce_key in nonces:
            raise AuthError("nonce reused")
        if len(nonces) > 10_000:
            for key in [k for k, t in nonces.items() if now - t > 2 * OAUTH1_MAX_SKEW]:
                del nonces[key]
        nonces[nonce_key] = now
        return Principal("oauth1_user", self.me, fingerprint(token))

    # --- token endpoints ------------------------------------------------------------------------------
    @staticmethod
    def _basic(headers: Mapping[str, str]) -> tuple[str, str] | None:
        auth = headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        if not sep:
            return None
        return unquote_plus(user), unquote_plus(password)

    def refresh(self, form: Mapping[str, str], headers: Mapping[str, str]) -> dict[str, object]:
        """``POST /2/oauth2/token`` with ``grant_type=refresh_token``; rotates the refresh token."""
        basic = self._basic(headers)
        if self.cfg.client_secret is not None:
            if basic is None or basic != (self.cfg.client_id, self.cfg.client_secret):
                raise TokenEndpointError(
                    401, {"error": "unauthorized_client", "error_description": "Missing valid authorization header"}
                )
        else:
            client_id = basic[0] if basic is not None else form.get("client_id")
            if client_id != self.cfg.client_id:
                raise TokenEndpointError(
                    401, {"error": "unauthorized_client", "error_description": "Missing valid authorization header"}
                )
        grant = form.get("grant_type")
        if grant != "refresh_token":
            raise TokenEndpointError(
                400,
                {"error": "unsupported_grant_type", "error_description": f"Unsupported grant type: {grant}"},
            )
        token = form.get("refresh_token", "")
        record = self.store.refresh.get(token)
        invalid = {"error": "invalid_grant", "error_description": "Value passed for the token was invalid."}
        if record is None or record.family in self.store.revoked_families:
            self.store.invalid_grants += 1
            raise TokenEndpointError(400, invalid)
        if record.status == "rotated":
            if self.cfg.revoke_family_on_reuse:
                self.store.revoked_families.add(record.family)
            self.store.invalid_grants += 1
            raise TokenEndpointError(400, invalid)
        record.status = "rotated"
        self.store.refreshes += 1
        new_refresh = secrets.token_urlsafe(48)
        new_access = secrets.token_urlsafe(48)
        self.store.refresh[new_refresh] = RefreshToken(family=record.family)
        self.store.access[new_access] = AccessToken(
            family=record.family, expires_at=self.clock() + self.cfg.token_lifetime, scopes=self.scopes
        )
        return {
            "token_type": "bearer",
            "expires_in": self.cfg.token_lifetime,
            "access_token": new_access,
            "scope": " ".join(sorted(self.scopes)),
            "refresh_token": new_refresh,
        }

    def app_token(self, form: Mapping[str, str], headers: Mapping[str, str]) -> dict[str, object]:
        """``POST /oauth2/token`` with ``grant_type=client_credentials`` and Basic api_key:api_secret.

        Like X, the app's bearer token is returned (the same one each time until invalidated).
        """
        basic = self._basic(headers)
        if basic is None or basic != (self.cfg.api_key, self.cfg.api_secret):
            raise TokenEndpointError(
                403,
                {
                    "errors": [
                        {
                            "code": 99,
                            "message": "Unable to verify your credentials",
                            "label": "authenticity_token_error",
                        }
                    ]
                },
            )
        if form.get("grant_type") != "client_credentials":
            raise TokenEndpointError(
                403,
                {
                    "errors": [
                        {
                            "code": 170,
                            "message": "Missing required parameter: grant_type",
                            "label": "forbidden_missing_parameter",
                        }
                    ]
                },
            )
        return {"token_type": "bearer", "access_token": self.cfg.bearer_token}

    def token_summary(self) -> dict[str, object]:
        """Non-secret counts for the admin API."""
        now = self.clock()
        return {
            "access_tokens": len(self.store.access),
            "live_access_tokens": sum(
                1
                for t in self.store.access.values()
                if t.expires_at > now and t.family not in self.store.revoked_families
            ),
            "refresh_tokens": len(self.store.refresh),
            "revoked_families": sorted(self.store.revoked_families),
            "refreshes": self.store.refreshes,
            "invalid_grants": self.store.invalid_grants,
        }
