"""Checks of user input, run before any request is sent.

Every error names the parameter and the allowed values (:class:`XValidationError`). What an
endpoint accepts comes from the endpoint table (:mod:`airflow_provider_xlikes.endpoints`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from airflow_provider_xlikes.endpoints import ID_PATTERN, NAMINGS, SPEC_OF_NAMING, Endpoint, NameList
from airflow_provider_xlikes.exceptions import XValidationError

_ID = re.compile(ID_PATTERN)
ID_RULE = "a numeric id string matching ^[0-9]{1,19}$"

Names = str | Iterable[str] | None


def validate_id(parameter: str, value: object) -> str:
    """Return ``value`` as the decimal string id the API expects, or raise."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise XValidationError(parameter, value, ID_RULE)
    text = str(value)
    if not _ID.fullmatch(text):
        raise XValidationError(parameter, value, ID_RULE)
    return text


def validate_max_results(endpoint: Endpoint, value: object) -> int:
    """Check ``max_results`` against the endpoint's page-size bounds."""
    if endpoint.page_size is None:
        raise XValidationError("max_results", value, f"nothing: {endpoint.label} is not paginated")
    low, high = endpoint.page_size
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise XValidationError("max_results", value, f"an integer from {low} to {high} for {endpoint.name}")
    return value


def validate_positive(parameter: str, value: object) -> int | None:
    """``None`` or a positive integer (``max_records``, ``max_pages``, ``part_records`` ...)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise XValidationError(parameter, value, "None or a positive integer")
    return value


def validate_max_records(value: object) -> int | None:
    return validate_positive("max_records", value)


def validate_pagination_token(value: object) -> str | None:
    """``None`` (the first page) or a non-empty cursor string from an earlier page's ``next_token``."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise XValidationError("pagination_token", value, "None or the non-empty next_token of an earlier page")
    return value


def normalize_names(argument: str, value: Names) -> list[str]:
    """Accept ``"a,b"`` or ``["a", "b"]``; drop blanks and duplicates, keep order."""
    if value is None:
        return []
    if isinstance(value, str):
        items: list[object] = list(value.split(","))
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, dict)):
        items = list(value)
    else:
        raise XValidationError(argument, value, "None, a comma-separated string or a list of names")
    seen: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str):
            raise XValidationError(argument, item, "names as strings")
        name = item.strip()
        if name:
            seen.setdefault(name, None)
    return list(seen)


def validate_names(endpoint: Endpoint, argument: str, value: Names) -> list[str]:
    """Check field or expansion names given as ``argument`` (``user_fields`` ...) for ``endpoint``.

    Names of either naming's spec are accepted (``pinned_tweet_id`` and ``pinned_post_id`` alike);
    :func:`names_for_naming` decides what is sent.
    """
    names = normalize_names(argument, value)
    if argument not in endpoint.list_arguments:
        if names:
            raise XValidationError(argument, value, f"nothing: {endpoint.name} takes no {argument}")
        return []
    allowed = endpoint.list_for(argument).allowed()
    for name in names:
        if name not in allowed:
            raise XValidationError(argument, name, allowed)
    return names


def validate_field_naming(value: object) -> str:
    if value not in NAMINGS:
        raise XValidationError("field_naming", value, NAMINGS)
    return str(value)


@dataclass
class NamesToSend:
    """The names of one list as a naming sends them, and those its spec does not list."""

    names: list[str] = field(default_factory=list)
    #: names sent as given although the naming's spec lacks them (and has no counterpart)
    unlisted: list[str] = field(default_factory=list)


def names_for_naming(name_list: NameList, names: Iterable[str], naming: str) -> NamesToSend:
    """Translate validated names into ``naming``'s own: a name the spec of ``naming`` lists is kept; a
    name of the other naming with a counterpart is translated (``pinned_tweet_id`` → ``pinned_post_id``);
    any other one is sent as given and reported in ``unlisted``."""
    own = name_list.allowed(naming)
    result = NamesToSend()
    for name in names:
        if name in own:
            sent = name
        else:
            counterpart = name_list.counterpart(name, naming)
            if counterpart is None:
                result.unlisted.append(name)
            sent = counterpart or name
        if sent not in result.names:
            result.names.append(sent)
    return result


def unlisted_warning(name_list: NameList, naming: str, names: Iterable[str]) -> str:
    """The log line for names sent although ``naming``'s spec does not list them."""
    return (
        f"{name_list.query_parameter(naming)}: {', '.join(sorted(names))} not listed in {SPEC_OF_NAMING[naming]} "
        f"(field_naming {naming!r}) and without a counterpart there; sent as given"
    )
