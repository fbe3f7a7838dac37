"""Injected faults: which pending faults a request meets, and what each of them does to it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_xlikes.endpoints import ENDPOINTS
from airflow_provider_xlikes.sandbox import errors
from airflow_provider_xlikes.sandbox.config import Fault, Quirks

#: Transports of open connections, keyed by (server address, client address); used for resets.
TRANSPORTS: dict[tuple[Any, Any], asyncio.Transport] = {}
#: kinds that answer instead of the endpoint
ANSWERING = ("status", "reset", "rate_limit", "client_forbidden", "usage_capped")
DEFAULT_WINDOW_LIMIT = 75


@dataclass
class ActiveFault:
    fault: Fault
    remaining: int
    skipped: int = 0


def take_matching(faults: list[ActiveFault], endpoint: str) -> tuple[list[ActiveFault], list[ActiveFault]]:
    """(faults this request meets, faults still pending after it). The first answering fault ends
    the matching; the ones after it wait for the next request."""
    matched: list[ActiveFault] = []
    keep: list[ActiveFault] = []
    answered = False
    for active in faults:
        fault = active.fault
        if (fault.endpoint is None or fault.endpoint == endpoint) and not answered:
            if active.skipped < fault.after:
                active.skipped += 1
            else:
                matched.append(active)
                answered = fault.kind in ANSWERING
                if fault.count:
                    active.remaining -= 1
                    if active.remaining <= 0:
                        continue
        keep.append(active)
    return matched, keep


def answer(
    fault: Fault, endpoint: str, quirks: Quirks, clock: Callable[[], float], window: float, app_id: str, account_id: str
) -> errors.ApiError:
    """The response of an answering fault (all but ``reset``); ``app_id`` and ``account_id`` are the
    developer app's and account's numeric ids the real bodies carry."""
    legacy = quirks.error_style == "legacy"
    table_entry = ENDPOINTS.get(endpoint)
    limit = (table_entry.window_limit if table_entry else None) or DEFAULT_WINDOW_LIMIT
    reset = str(int(clock() + window)).encode()
    if fault.kind == "rate_limit":
        headers: errors.Headers = []
        if fault.headers:
            headers = [(b"x-rate-limit-limit", str(limit).encode()), (b"x-rate-limit-remaining", b"0")]
            headers.append((b"x-rate-limit-reset", reset))
        return errors.too_many(legacy, headers)
    if fault.kind == "client_forbidden":
        return errors.client_forbidden(quirks.naming, app_id)
    assert fault.status is not None
    if fault.kind == "usage_capped":
        room = [(b"x-rate-limit-limit", str(limit).encode()), (b"x-rate-limit-remaining", str(limit - 1).encode())]
        room.append((b"x-rate-limit-reset", reset))
        return errors.usage_capped(quirks.naming, fault.status, account_id, room)
    return errors.server_error(legacy, fault.status)


#: what ``broken_unicode`` puts at the start of a record's string: the first half of a surrogate pair
#: (an emoji cut in two), escaped as JSON allows
HALF_EMOJI = b"\\ud83d"


def corrupt(data: bytes, kind: str) -> bytes:
    """A 200 body broken (``malformed``), cut short (``truncated``) or with half an emoji in the
    first record's ``name`` or ``text`` (``broken_unicode``: still valid JSON)."""
    if kind == "broken_unicode":
        start = data.find(b'"data":')
        found = [i for key in (b'"name":"', b'"text":"') if (i := data.find(key, max(start, 0))) >= 0]
        if start < 0 or not found:
            return data
        at = min(found) + 8
        return data[:at] + HALF_EMOJI + data[at:]
    if kind == "malformed":
        return data[: len(data) // 2] + b'"}]{\x00<' + data[len(data) // 2 :]
    return data[: max(1, len(data) * 2 // 3)]


async def reset_connection(scope: MutableMapping[str, Any]) -> None:
    """Close the request's socket with RST, without a response."""
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
