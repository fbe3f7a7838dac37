"""Checks of user input, run before any request is sent.

Every error names the parameter and the allowed values (:class:`XValidationError`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from airflow_provider_xlikes import _spec
from airflow_provider_xlikes.exceptions import XValidationError

ID_PATTERN = re.compile(r"^[0-9]{1,19}$")

Endpoint = Literal["liking_users", "liked_tweets"]

MAX_RESULTS_RANGE: dict[str, tuple[int, int]] = {"liking_users": (1, 100), "liked_tweets": (5, 100)}

FIELD_NAMING = ("tweet", "post")

# query parameter -> allowed names, per endpoint (union of both spec versions)
_ALLOWED: dict[str, dict[str, frozenset[str]]] = {
    "liking_users": {
        "user.fields": _spec.USER_FIELDS,
        "tweet.fields": _spec.TWEET_FIELDS,
        "expansions": _spec.USER_EXPANSIONS,
    },
    "liked_tweets": {
        "tweet.fields": _spec.TWEET_FIELDS,
        "user.fields": _spec.USER_FIELDS,
        "media.fields": _spec.MEDIA_FIELDS,
        "poll.fields": _spec.POLL_FIELDS,
        "place.fields": _spec.PLACE_FIELDS,
        "expansions": _spec.TWEET_EXPANSIONS,
    },
    "me": {
        "user.fields": _spec.USER_FIELDS,
        "tweet.fields": _spec.TWEET_FIELDS,
        "expansions": _spec.USER_EXPANSIONS,
    },
}


def validate_id(parameter: str, value: object) -> str:
    """Return ``value`` as the decimal string id the API expects, or raise."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise XValidationError(parameter, value, "a numeric id string matching ^[0-9]{1,19}$")
    text = str(value)
    if not ID_PATTERN.match(text):
        raise XValidationError(parameter, value, "a numeric id string matching ^[0-9]{1,19}$")
    return text


def validate_max_results(endpoint: str, value: object) -> int:
    """Check ``max_results`` against the endpoint's range (1–100 liking_users, 5–100 liked_tweets)."""
    low, high = MAX_RESULTS_RANGE[endpoint]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise XValidationError("max_results", value, f"an integer from {low} to {high} for {endpoint}")
    return value


def validate_max_records(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise XValidationError("max_records", value, "None or a positive integer")
    return value


def normalize_names(value: str | Iterable[str] | None) -> list[str]:
    """Accept ``"a,b"`` or ``["a", "b"]``; drop blanks and duplicates, keep order."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    seen: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str):
            raise XValidationError("fields", item, "strings")
        name = item.strip()
        if name:
            seen.setdefault(name, None)
    return list(seen)


def validate_names(endpoint: str, query_parameter: str, argument: str, value: str | Iterable[str] | None) -> list[str]:
    """Check field or expansion names of ``query_parameter`` (e.g. ``user.fields``) for ``endpoint``.

    ``argument`` is the Python argument name used in the error (``user_fields``).
    """
    names = normalize_names(value)
    allowed = _ALLOWED[endpoint].get(query_parameter)
    if allowed is None:
        if names:
            raise XValidationError(argument, value, f"nothing: {endpoint} takes no {query_parameter}")
        return []
    for name in names:
        if name not in allowed:
            raise XValidationError(argument, name, allowed)
    return names


def validate_field_naming(value: object) -> str:
    if value not in FIELD_NAMING:
        raise XValidationError("field_naming", value, FIELD_NAMING)
    return str(value)
