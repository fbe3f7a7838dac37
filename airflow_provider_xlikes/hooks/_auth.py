"""Auth strategies of the three connection auth types (Airflow-free).

- ``bearer``: a static app-only bearer token, or one minted from ``api_key`` + ``api_secret``
  (``POST /oauth2/token``, client_credentials).
- ``oauth2_user``: an OAuth 2.0 user access token, refreshed at ``POST /2/oauth2/token`` when it
  expires or on a 401. Refresh tokens rotate: the newest one is written to a durable
  :class:`~airflow_provider_xlikes.hooks.token_store.TokenStore` *before* the new access token is
  used, under the store's lock, after re-reading what another process may have stored meanwhile.
- ``oauth1_user``: OAuth 1.0a HMAC-SHA1 signatures (requests-oauthlib).

``on_secret`` is called with every credential the moment it is minted, so the hook can register it
with Airflow's secret masker.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import requests
import tenacity

from airflow_provider_xlikes.endpoints import APP_TOKEN_PATH, OAUTH2_TOKEN_PATH
from airflow_provider_xlikes.exceptions import XTokenRefreshError
from airflow_provider_xlikes.hooks.client import XAuth, exponential_jitter
from airflow_provider_xlikes.hooks.errors import TRANSPORT_ERRORS, unreachable
from airflow_provider_xlikes.hooks.token_store import OAuth2Tokens, TokenStore

log = logging.getLogger("airflow_provider_xlikes.auth")

SecretCallback = Callable[[str], None]
#: an access token is treated as expired this long before its end (at most a tenth of its life)
EXPIRY_MARGIN = 60.0


def _expiry(expires_in: object) -> float | None:
    """When a token that lives ``expires_in`` seconds from now should be refreshed."""
    if not isinstance(expires_in, (int, float, str)) or not str(expires_in).strip():
        return None
    seconds = float(expires_in)
    return time.time() + seconds - min(EXPIRY_MARGIN, seconds / 10)


def _quiet_oauth_debug_logs() -> None:
    """requests-oauthlib and oauthlib log tokens and signed requests at DEBUG: keep those out of logs.

    A filter on the parent logger would not see records of its child loggers, so the level is raised.
    """
    for name in ("requests_oauthlib", "oauthlib"):
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:
            logger.setLevel(logging.INFO)


_quiet_oauth_debug_logs()


def authorization_key(client_id: str, refresh_token: str) -> str:
    """The token store key of one authorization: a non-reversible fingerprint of the client id and
    the refresh token entered in the connection (never the connection id, so that Airflow's
    connection test, a renamed connection and two connection ids holding the same authorization
    share one chain of rotated tokens)."""
    return hashlib.sha256(f"{client_id}\0{refresh_token}".encode()).hexdigest()[:24]


class _TokenServerError(Exception):
    def __init__(self, response: requests.Response) -> None:
        self.response = response


@dataclass
class TokenEndpoint:
    """POSTs form-encoded grants to the API's token endpoints over the client's session."""

    session: requests.Session
    base_url: str
    timeout: tuple[float, float]
    attempts: int = 5

    def post(self, path: str, data: dict[str, str], basic: tuple[str, str] | None) -> dict[str, Any]:
        """Send one grant.

        A ``refresh_token`` grant is not retried once it may have reached the server: a refresh
        token must never be sent twice (a rotated token is dead, and reuse may revoke its family).
        Other grants (``client_credentials``) are idempotent and get the usual retries.
        """
        once = data.get("grant_type") == "refresh_token"
        try:
            response = self._post_once(path, data, basic) if once else self._post_retried(path, data, basic)
        except TRANSPORT_ERRORS as exc:
            raise unreachable(exc, self.base_url, 1 if once else self.attempts) from exc
        return self._parse(path, data, response)

    def _post_retried(self, path: str, data: dict[str, str], basic: tuple[str, str] | None) -> requests.Response:
        """An idempotent grant, sent again after a transport failure or a 5xx (the last 5xx is returned)."""
        retryable = (*TRANSPORT_ERRORS, _TokenServerError)
        try:
            for attempt in tenacity.Retrying(
                stop=tenacity.stop_after_attempt(self.attempts),
                wait=exponential_jitter(0.2, 10),
                retry=tenacity.retry_if_exception_type(retryable),
                reraise=True,
            ):
                with attempt:
                    response = self._post_once(path, data, basic)
                    if response.status_code >= 500:
                        raise _TokenServerError(response)
        except _TokenServerError as exc:
            response = exc.response
        return response

    def _post_once(self, path: str, data: dict[str, str], basic: tuple[str, str] | None) -> requests.Response:
        url = self.base_url.rstrip("/") + path
        for attempt in range(1, 4):
            try:
                return self.session.post(url, data=data, auth=basic, timeout=self.timeout)
            except requests.ConnectTimeout:
                # the connection was never made, so the grant was not sent: safe to try again
                if attempt == 3:
                    raise
                time.sleep(attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _parse(path: str, data: dict[str, str], response: requests.Response) -> dict[str, Any]:
        try:
            body = msgspec.json.decode(response.content) if response.content else {}
        except msgspec.DecodeError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            error = body.get("error") if isinstance(body, dict) else None
            description = body.get("error_description") if isinstance(body, dict) else None
            raise XTokenRefreshError(
                response.status_code,
                endpoint=f"POST {path}",
                title=str(error or "token request failed"),
                detail=str(description) if description else None,
                hint=_grant_hint(data.get("grant_type", ""), str(error or "")),
            )
        return body


def _grant_hint(grant_type: str, error: str) -> str | None:
    if grant_type == "refresh_token" and error == "invalid_grant":
        return (
            "the refresh token was refused: it was already used, revoked or has expired; authorize the app "
            "again and put the new refresh_token in the connection extra"
        )
    if grant_type == "client_credentials":
        return "check api_key and api_secret in the connection extra"
    return None


class StaticBearerAuth(XAuth):
    """App-only auth with a bearer token given in the connection."""

    auth_type = "bearer"

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    @property
    def budget_identity(self) -> str:
        return self._token


class AppBearerAuth(XAuth):
    """App-only auth with a bearer token minted from ``api_key`` and ``api_secret`` on first use."""

    auth_type = "bearer"

    def __init__(self, api_key: str, api_secret: str, endpoint: TokenEndpoint, on_secret: SecretCallback) -> None:
        self._credentials = (api_key, api_secret)
        self._endpoint = endpoint
        self._on_secret = on_secret
        self._token: str | None = None
        self._lock = threading.Lock()

    @property
    def budget_identity(self) -> str:
        """The app's key: every token minted from it shares the app's budget."""
        return self._credentials[0]

    def _mint(self) -> str:
        body = self._endpoint.post(APP_TOKEN_PATH, {"grant_type": "client_credentials"}, basic=self._credentials)
        token = str(body["access_token"])
        self._on_secret(token)
        log.info("Obtained an app-only bearer token from /oauth2/token")
        return token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        with self._lock:
            if self._token is None:
                self._token = self._mint()
            token = self._token
        request.headers["Authorization"] = f"Bearer {token}"
        return request

    def refresh_after_unauthorized(self, request: requests.PreparedRequest) -> bool:
        with self._lock:
            if request.headers.get("Authorization") != f"Bearer {self._token}":
                return True  # someone already minted a newer one
            self._token = self._mint()
        return True


class OAuth2UserAuth(XAuth):
    """OAuth 2.0 user context with refresh-token rotation made safe across processes."""

    auth_type = "oauth2_user"

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str | None,
        refresh_token: str | None,
        access_token: str | None,
        store: TokenStore,
        endpoint: TokenEndpoint,
        on_secret: SecretCallback,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._seed_refresh_token = refresh_token
        self._store = store
        #: where this authorization's rotated tokens are kept (None: no refresh token, nothing to keep)
        self.store_key = authorization_key(client_id, refresh_token) if refresh_token else None
        self._endpoint = endpoint
        self._on_secret = on_secret
        self._lock = threading.Lock()
        self._access_token = access_token
        self._expires_at: float | None = None
        self._loaded = False
        #: called under the store's lock before a refresh token is sent (the hook checks there that
        #: no other store keeps this authorization's chain)
        self.before_refresh: Callable[[], None] | None = None

    @property
    def budget_identity(self) -> str | None:
        """The authorization (the access token changes on refresh, the user's budget does not)."""
        return self.store_key or self._access_token

    # -- the token in use
    def _current_token(self) -> str:
        with self._lock:
            now = time.time()
            if not self._loaded:
                self._loaded = True
                stored = self._load_own()
                if stored is not None:
                    # a rotation happened before: the connection's own access token is older
                    if stored.access_token_valid(now):
                        self._adopt(stored)
                    else:
                        self._adopt_none()
            if self._access_token and (self._expires_at is None or self._expires_at > now):
                return self._access_token
            self._refresh(failed_access_token=self._access_token)
            assert self._access_token is not None
            return self._access_token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._current_token()}"
        return request

    def refresh_after_unauthorized(self, request: requests.PreparedRequest) -> bool:
        if not self._seed_refresh_token:
            return False
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
        with self._lock:
            if sent == self._access_token:
                self._refresh(failed_access_token=sent)
        return True

    # -- refresh, serialized through the store
    def _load_own(self) -> OAuth2Tokens | None:
        return self._store.load(self.store_key) if self.store_key is not None else None

    def _adopt_none(self) -> None:
        self._access_token = None
        self._expires_at = None

    def _adopt(self, tokens: OAuth2Tokens) -> None:
        self._access_token = tokens.access_token
        self._expires_at = tokens.expires_at

    def _refresh(self, failed_access_token: str | None) -> None:
        if self._seed_refresh_token is None or self.store_key is None:
            raise XTokenRefreshError(
                401,
                endpoint=f"POST {OAUTH2_TOKEN_PATH}",
                title="access token expired or refused and no refresh_token is configured",
                hint="add refresh_token (and client_id) to the connection extra",
            )
        with self._store.lock(self.store_key) as held:
            stored = self._load_own()  # re-read under the lock: another process may have refreshed
            if (
                stored is not None
                and stored.access_token != failed_access_token
                and stored.access_token_valid(time.time())
            ):
                log.info("Using the access token another process refreshed meanwhile")
                self._adopt(stored)
                return
            refresh_token = stored.refresh_token if stored is not None else self._seed_refresh_token
            if self.before_refresh is not None:
                self.before_refresh()
            confirm = getattr(held, "confirm", None)
            if confirm is not None:
                confirm()  # never sent without the lock: a store that lost it (or went away) raises
            data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
            basic = None
            if self._client_secret:
                basic = (self._client_id, self._client_secret)
            else:
                data["client_id"] = self._client_id
            body = self._endpoint.post(OAUTH2_TOKEN_PATH, data, basic=basic)
            access_token = str(body["access_token"])
            new_refresh_token = str(body.get("refresh_token") or refresh_token)
            self._on_secret(access_token)
            self._on_secret(new_refresh_token)
            expires_in = body.get("expires_in")
            tokens = OAuth2Tokens(
                refresh_token=new_refresh_token,
                access_token=access_token,
                expires_at=_expiry(expires_in),
            )
            # durable before use: if this process dies now, the next one still has the live token
            self._store.save(self.store_key, tokens)
            self._adopt(tokens)
            log.info("Refreshed the OAuth 2.0 access token (expires in %s s); new refresh token stored", expires_in)


class OAuth1UserAuth(XAuth):
    """OAuth 1.0a user context (HMAC-SHA1), signed by requests-oauthlib."""

    auth_type = "oauth1_user"

    def __init__(self, consumer_key: str, consumer_secret: str, access_token: str, access_token_secret: str):
        from requests_oauthlib import OAuth1  # only a connection of this auth type needs the signing

        self._signer = OAuth1(
            consumer_key,
            client_secret=consumer_secret,
            resource_owner_key=access_token,
            resource_owner_secret=access_token_secret,
            signature_type="AUTH_HEADER",
        )
        self._access_token = access_token

    @property
    def budget_identity(self) -> str:
        """The access token (it starts with the user's id; one per user of the app)."""
        return self._access_token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        signed: requests.PreparedRequest = self._signer(request)
        return signed
