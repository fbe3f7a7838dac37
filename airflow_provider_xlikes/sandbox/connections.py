"""Airflow connection values (the provider's connection contract) for a running sandbox."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: Auth types of the connection contract; ``bearer_keys`` is bearer auth via api_key/api_secret.
AUTH_TYPES: tuple[str, ...] = ("bearer", "bearer_keys", "oauth2_user", "oauth1_user")


def conn_dict(url: str, credentials: Mapping[str, Any], auth_type: str = "bearer") -> dict[str, Any]:
    """The JSON form of an Airflow connection (``AIRFLOW_CONN_X_DEFAULT``) for one auth type."""
    c = credentials
    if auth_type == "bearer":
        return {"conn_type": "x", "host": url, "password": c["bearer_token"], "extra": {"auth_type": "bearer"}}
    if auth_type == "bearer_keys":
        extra: dict[str, Any] = {"auth_type": "bearer", "api_key": c["api_key"], "api_secret": c["api_secret"]}
        return {"conn_type": "x", "host": url, "extra": extra}
    if auth_type == "oauth2_user":
        extra = {"auth_type": "oauth2_user", "client_id": c["client_id"]}
        if c.get("client_secret") is not None:
            extra["client_secret"] = c["client_secret"]
        extra["refresh_token"] = c["refresh_token"]
        if c.get("oauth2_access_token"):
            extra["access_token"] = c["oauth2_access_token"]
        return {"conn_type": "x", "host": url, "extra": extra}
    if auth_type == "oauth1_user":
        extra = {
            "auth_type": "oauth1_user",
            "consumer_key": c["consumer_key"],
            "consumer_secret": c["consumer_secret"],
            "access_token": c["access_token"],
            "access_token_secret": c["access_token_secret"],
        }
        return {"conn_type": "x", "host": url, "extra": extra}
    raise ValueError(f"unknown auth_type {auth_type!r}; known: {list(AUTH_TYPES)}")


def conn_json(url: str, credentials: Mapping[str, Any], auth_type: str = "bearer") -> str:
    """``conn_dict`` as a JSON string, ready for ``AIRFLOW_CONN_X_DEFAULT``."""
    return json.dumps(conn_dict(url, credentials, auth_type))
