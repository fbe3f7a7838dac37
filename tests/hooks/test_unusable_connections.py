"""A connection that cannot work fails with an error naming its host and what to check.

A host that is not a URL is refused before any request; an unreachable host ends, after the
retries, in :class:`XUnreachableError` (never a bare ``requests`` exception).
"""

from __future__ import annotations

import json
import socket

import pytest
import requests

from airflow_provider_xlikes import HttpRetryPolicy, XHook
from airflow_provider_xlikes.exceptions import XError, XUnreachableError, XValidationError

RETRY = HttpRetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.02)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed: connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _hook(monkeypatch: pytest.MonkeyPatch, host: str, **extra: str) -> XHook:
    conn = {"conn_type": "x", "host": host, "extra": extra}
    if "api_key" not in extra:
        conn["password"] = "canary-token-5d1f"
    monkeypatch.setenv("AIRFLOW_CONN_X_BROKEN", json.dumps(conn))
    return XHook("x_broken", retry=RETRY)


@pytest.mark.parametrize(
    "host",
    ["http://exa mple.com", "https://api.x.com:port", "localhost:abc", "http://", "ftp://api.x.com", "https://:443"],
)
@pytest.mark.reliability
def test_a_host_that_is_not_a_url_is_refused_before_any_request(monkeypatch, host: str, record_reliability) -> None:
    hook = _hook(monkeypatch, host)
    with pytest.raises(XValidationError) as info:
        hook.get_liking_users("20")
    record_reliability(
        "bad_input",
        f"connection: host={host!r}",
        error=type(info.value).__name__,
        names_the_parameter=info.value.parameter == "host" and repr(host) in str(info.value),
    )
    assert info.value.parameter == "host"
    message = str(info.value)
    assert repr(host) in message and "x_broken" in message and "https://api.x.com" in message
    assert "canary-token-5d1f" not in message


@pytest.mark.reliability
@pytest.mark.parametrize("auth", ["bearer", "bearer_keys"])
def test_an_unreachable_host_ends_in_an_error_naming_it(monkeypatch, auth: str, record_reliability) -> None:
    host = f"http://127.0.0.1:{_closed_port()}"
    extra = {"api_key": "canary-key-77aa", "api_secret": "canary-secret-9c3e"} if auth == "bearer_keys" else {}
    hook = _hook(monkeypatch, host, **extra)
    with pytest.raises(XError) as info:
        hook.get_liking_users("20")
    record_reliability(
        "hostile",
        f"no server at the host ({auth}: {'token endpoint' if auth == 'bearer_keys' else 'API'} first)",
        outcome=type(info.value).__name__ + (" naming the host" if host in str(info.value) else ""),
    )
    assert isinstance(info.value, XUnreachableError)
    assert not isinstance(info.value, requests.RequestException)
    message = str(info.value)
    assert host in message and "check" in message.lower()
    assert "attempt(s)" in message
    for canary in ("canary-token-5d1f", "canary-key-77aa", "canary-secret-9c3e"):
        assert canary not in message
