"""The sandbox ASGI application: dispatch of the API (raw ASGI, the fast path) and the admin API.

A request is routed (:mod:`.routing`), counted, met by pending faults (:mod:`.faults`), answered
by the handlers (:mod:`.handlers`, errors from :mod:`.errors`) and sent; ``/_sandbox/*`` goes to
the admin API (:mod:`.admin`). All state lives in :class:`.state.SandboxState`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from airflow_provider_xlikes.sandbox import errors, faults
from airflow_provider_xlikes.sandbox.admin import build_admin_app
from airflow_provider_xlikes.sandbox.auth import fingerprint
from airflow_provider_xlikes.sandbox.config import Fault, SandboxConfig
from airflow_provider_xlikes.sandbox.errors import ApiError, Headers
from airflow_provider_xlikes.sandbox.handlers import Api
from airflow_provider_xlikes.sandbox.routing import Router
from airflow_provider_xlikes.sandbox.state import SandboxState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_encode = msgspec.json.Encoder().encode


class SandboxApp:
    """ASGI callable: API endpoints on a fast raw path, ``/_sandbox/*`` admin on Starlette."""

    def __init__(self, config: SandboxConfig) -> None:
        self.state = SandboxState(config)
        self.admin = build_admin_app(self.state)
        self.api = Api(self.state)
        self.router = Router()
        #: the developer app's numeric id, as the real client-forbidden body carries it
        self.app_id = self.state.app_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.admin(scope, receive, send)
            return
        if scope["path"].startswith("/_sandbox"):
            await self.admin(scope, receive, send)
            return
        await self.dispatch(scope, receive, send)

    async def dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        st = self.state
        method: str = scope["method"]
        routed = self.router.match(method, scope["path"])
        if routed is None:
            await _send(send, 404, _encode(errors.NO_SUCH_PAGE), errors.JSON_CT, [])
            return
        route, ids = routed
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw_body = await _read_body(receive) if method in ("POST", "PUT", "PATCH") else b""
        fp = _request_fingerprint(route.name, headers, raw_body)
        st.by_endpoint[route.name] += 1
        st.by_token[fp][route.name] += 1

        corrupt: str | None = None
        if st.faults:
            matched, st.faults = faults.take_matching(st.faults, route.name)
            for active in matched:
                fault = active.fault
                if fault.kind == "slow":
                    await asyncio.sleep(fault.delay)
                elif fault.kind in ("malformed", "truncated", "broken_unicode"):
                    corrupt = fault.kind
                elif fault.kind == "reset":
                    st.by_status[0] += 1
                    await faults.reset_connection(scope)
                    return
                else:
                    await self._send_error(send, self._fault_answer(fault, route.name))
                    return

        try:
            body, out_headers = self.api.handle(route.name, route.endpoint, ids, scope, headers, raw_body)
        except ApiError as err:
            await self._send_error(send, err)
            return
        data = body if isinstance(body, bytes) else _encode(body)
        if corrupt is not None:
            data = faults.corrupt(data, corrupt)
        st.by_status[200] += 1
        await _send(send, 200, data, errors.JSON_CT, out_headers)

    def _fault_answer(self, fault: Fault, endpoint: str) -> ApiError:
        st = self.state
        window = st.config.window_seconds
        return faults.answer(fault, endpoint, st.quirks, st.clock, window, self.app_id, st.config.me_id)

    async def _send_error(self, send: Send, err: ApiError) -> None:
        self.state.by_status[err.status] += 1
        await _send(send, err.status, _encode(err.body), err.content_type, err.headers)


def _request_fingerprint(endpoint: str, headers: dict[str, str], raw_body: bytes) -> str:
    """The token a request is counted under (see ``fingerprint``)."""
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
