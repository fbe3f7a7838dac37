"""The ``x`` connection, checked before any request: its extra keys, auth type, host, timeouts,
retries, rotation and state stores, and prices (:class:`XConnectionSettings`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_xlikes import state
from airflow_provider_xlikes.exceptions import XConfigError, XValidationError
from airflow_provider_xlikes.get_provider_info import CONN_FIELDS
from airflow_provider_xlikes.hooks.client import DEFAULT_BASE_URL
from airflow_provider_xlikes.pricing import DEFAULT_PRICES, PRICES_EXTRA, PriceTable, prices_from_extra
from airflow_provider_xlikes.validation import validate_field_naming

AUTH_TYPES = ("bearer", "oauth2_user", "oauth1_user")

SECRET_EXTRAS = tuple(key for key, spec in CONN_FIELDS.items() if spec["schema"].get("format") == "password")
#: extra keys of earlier releases, and what they are called now
RENAMED_EXTRAS = {"token_store": "rotation_store"}


@dataclass(frozen=True)
class XConnectionSettings:
    """The validated content of an ``x`` connection (secrets are not shown by ``repr``)."""

    conn_id: str
    base_url: str
    auth_type: str
    password: str | None
    extra: dict[str, Any]
    field_naming: str
    connect_timeout: float
    read_timeout: float
    max_retries: int
    rotation_store: str
    state_store_conn_id: str | None = None
    prices: PriceTable = DEFAULT_PRICES

    def __repr__(self) -> str:
        return (
            f"XConnectionSettings(conn_id={self.conn_id!r}, base_url={self.base_url!r}, auth_type={self.auth_type!r})"
        )

    def require(self, *keys: str) -> list[str]:
        missing = [key for key in keys if not self.extra.get(key)]
        if missing:
            raise XConfigError(
                f"connection {self.conn_id!r} with auth_type {self.auth_type!r} needs extra "
                + ", ".join(repr(k) for k in missing)
            )
        return [str(self.extra[key]) for key in keys]


def _base_url(host: str | None, schema: str | None, port: int | None, conn_id: str) -> str:
    """The API's base URL from the connection's host (a URL, or a host name with schema and port),
    checked before any request: a host that is not an http(s) URL names itself and the form."""
    if not host:
        return DEFAULT_BASE_URL
    if "://" in host:
        url = host.rstrip("/")
    else:
        url = f"{schema or 'https'}://{host}"
        url = f"{url}:{port}" if port else url
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises ValueError
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in url)
    except ValueError:
        usable = False
    if not usable:
        raise XValidationError(
            "host",
            host,
            f"a URL of the X API such as {DEFAULT_BASE_URL} (connection {conn_id!r}: scheme http or https, a host "
            "name, an optional :port; or the host name alone, with the schema and port fields)",
        )
    return url


def _number(extra: Mapping[str, Any], key: str, default: float, *, integer: bool = False) -> Any:
    """A positive number from the extra (a JSON number, or a numeric string from the form)."""
    value = extra.get(key)
    if value is None or value == "":
        return default
    allowed = "a positive integer" if integer else "a positive number of seconds"
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number <= 0 or (integer and number != int(number)):
        raise XValidationError(f"extra {key}", value, allowed)
    return int(number) if integer else number


def settings_from_connection(conn: Any, conn_id: str) -> XConnectionSettings:
    """Check a connection: a JSON object of known extra keys, a known auth type, valid numbers."""
    extra = conn.extra_dejson
    if not isinstance(extra, dict):
        raise XValidationError("extra", type(extra).__name__, "a JSON object of the keys: " + ", ".join(CONN_FIELDS))
    unknown = sorted(set(extra) - set(CONN_FIELDS))
    if unknown:
        renamed = [f"{key!r} is now {RENAMED_EXTRAS[key]!r}" for key in unknown if key in RENAMED_EXTRAS]
        raise XConfigError(
            f"connection {conn_id!r} has unknown extra key(s) {', '.join(unknown)}"
            + (f" ({'; '.join(renamed)})" if renamed else "")
            + f"; allowed: {', '.join(sorted(CONN_FIELDS))}"
        )
    auth_type = extra.get("auth_type") or "bearer"
    if auth_type not in AUTH_TYPES:
        raise XValidationError("auth_type", auth_type, AUTH_TYPES)
    store = extra.get("rotation_store") or "variable"
    if not isinstance(store, str) or (store != "variable" and not store.startswith("/")):
        raise XValidationError(
            "rotation_store", store, "'variable' or an absolute path of a directory this process can write"
        )
    return XConnectionSettings(
        conn_id=conn_id,
        base_url=_base_url(conn.host, conn.schema, conn.port, conn_id),
        auth_type=auth_type,
        password=conn.password or None,
        extra=extra,
        field_naming=validate_field_naming(extra.get("field_naming") or "tweet"),
        connect_timeout=_number(extra, "connect_timeout", 5.0),
        read_timeout=_number(extra, "read_timeout", 30.0),
        max_retries=_number(extra, "max_retries", 5, integer=True),
        rotation_store=store,
        state_store_conn_id=state.validate_state_store(extra.get("state_store_conn_id"), store),
        prices=prices_from_extra(extra.get(PRICES_EXTRA)),
    )
