"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_xlikes._version import __version__

#: the connection id the hook, the operators and the sensor use unless told otherwise
DEFAULT_CONN_ID = "x_default"


def _text(label: str, description: str, *, secret: bool = False, **schema: Any) -> dict[str, Any]:
    field_schema: dict[str, Any] = {"type": ["string", "null"], **schema}
    if secret:
        field_schema["format"] = "password"
    return {"label": label, "description": description, "schema": field_schema}


#: the connection's extra keys; the hook rejects any other key (one place for both). Airflow masks
#: extras whose key contains token, secret, api_key, password ...: secret keys say so (format
#: password), and the names of the others contain none of those words.
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "auth_type": {
        "label": "Auth type",
        "description": "bearer (app-only), oauth2_user (OAuth 2.0 user token, refreshed and rotated) "
        "or oauth1_user (OAuth 1.0a user token).",
        "schema": {
            "type": ["string", "null"],
            "enum": ["bearer", "oauth2_user", "oauth1_user"],
            "default": "bearer",
        },
    },
    "api_key": _text(
        "API key", "bearer: app consumer key, to mint a bearer token when Password is empty.", secret=True
    ),
    "api_secret": _text("API key secret", "bearer: app consumer secret, used with API key.", secret=True),
    "client_id": _text("OAuth 2.0 client ID", "oauth2_user: the app's OAuth 2.0 client ID."),
    "client_secret": _text(
        "OAuth 2.0 client secret",
        "oauth2_user: set for confidential clients (HTTP Basic); empty for public.",
        secret=True,
    ),
    "refresh_token": _text(
        "OAuth 2.0 refresh token",
        "oauth2_user: from the authorization (scope offline.access). Rotated tokens are kept in the token store.",
        secret=True,
    ),
    "access_token": _text(
        "Access token",
        "oauth2_user: optional current access token; oauth1_user: the user's access token.",
        secret=True,
    ),
    "consumer_key": _text("OAuth 1.0a consumer key", "oauth1_user: the app's API key."),
    "consumer_secret": _text("OAuth 1.0a consumer secret", "oauth1_user: the app's API key secret.", secret=True),
    "access_token_secret": _text(
        "OAuth 1.0a access token secret", "oauth1_user: the user's access token secret.", secret=True
    ),
    "rotation_store": _text(
        "Rotated-token store",
        "oauth2_user: where rotated tokens are kept: 'variable' (an Airflow Variable, default) or an absolute "
        "directory path for encrypted files.",
        default="variable",
    ),
    "state_store_conn_id": _text(
        "Shared state store (connection id)",
        "Deployments on several hosts: the id of a postgres connection whose database keeps the rotated "
        "OAuth 2.0 tokens and the rate-limit budget atomically (row and advisory locks). Empty: Airflow "
        "Variables, safe on one host.",
    ),
    "field_naming": {
        "label": "Field parameter naming",
        "description": "Send 'tweet.fields' (tweet, documented) or 'post.fields' (post, the 2026 spec).",
        "schema": {"type": ["string", "null"], "enum": ["tweet", "post"], "default": "tweet"},
    },
    "connect_timeout": {
        "label": "Connect timeout (s)",
        "description": "Seconds to wait for a TCP connection.",
        "schema": {"type": ["number", "null"], "default": 5, "minimum": 0},
    },
    "read_timeout": {
        "label": "Read timeout (s)",
        "description": "Seconds to wait for a response.",
        "schema": {"type": ["number", "null"], "default": 30, "minimum": 0},
    },
    "prices": {
        "label": "Prices (USD, JSON)",
        "description": "Only for an Enterprise contract or changed prices: a JSON object overriding X's published "
        'prices per resource read or write request, e.g. {"posts": 0.004, "users": 0.008, "owned": 0.001, '
        '"likes_create": 0.015, "likes_delete": 0.01, "includes_billed": false}. See docs/cost-and-limits.md.',
        "schema": {"type": ["string", "null"]},
    },
    "max_retries": {
        "label": "Attempts on transient errors",
        "description": "Attempts per request on 5xx, connection resets and timeouts.",
        "schema": {"type": ["integer", "null"], "default": 5, "minimum": 1},
    },
}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-xlikes",
        "name": "X likes",
        "description": "X (Twitter) API v2 likes endpoints: liking users, liked posts, like and unlike, "
        "with an offline X API sandbox.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "X API v2 likes",
                "external-doc-url": "https://docs.x.com/x-api/posts/likes/introduction",
                "tags": ["service"],
            }
        ],
        "operators": [
            {
                "integration-name": "X API v2 likes",
                "python-modules": [
                    "airflow_provider_xlikes.operators.likes",
                    "airflow_provider_xlikes.operators.usage",
                ],
            }
        ],
        "hooks": [{"integration-name": "X API v2 likes", "python-modules": ["airflow_provider_xlikes.hooks.x"]}],
        "sensors": [
            {"integration-name": "X API v2 likes", "python-modules": ["airflow_provider_xlikes.sensors.likes"]}
        ],
        "triggers": [
            {
                "integration-name": "X API v2 likes",
                "python-modules": [
                    "airflow_provider_xlikes.triggers.likes",
                    "airflow_provider_xlikes.triggers.new_likes",
                ],
            }
        ],
        "extra-links": ["airflow_provider_xlikes.links.XPostLink", "airflow_provider_xlikes.links.XUserLink"],
        "connection-types": [
            {
                "connection-type": "x",
                "hook-class-name": "airflow_provider_xlikes.hooks.x.XHook",
                "hook-name": "X API v2",
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login"],
                    "relabeling": {"host": "Base URL", "password": "Bearer token"},
                    "placeholders": {
                        "host": "https://api.x.com",
                        "password": "bearer: app-only bearer token",
                    },
                },
            }
        ],
    }
