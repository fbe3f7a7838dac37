"""Apache Airflow provider for the X API v2 likes endpoints.

Everything users import is re-exported here (``from airflow_provider_xlikes import XHook, Page``),
loaded on first use so that importing the package (as Airflow does for provider metadata) stays
cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from airflow_provider_xlikes._version import __version__

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(
        (
            "XError",
            "XPermanentError",
            "XValidationError",
            "XConfigError",
            "XRateLimitWait",
            "XApiError",
            "XPermanentApiError",
            "XBadRequestError",
            "XAuthError",
            "XTokenRefreshError",
            "XForbiddenError",
            "XNotFoundError",
            "XUsageCappedError",
            "XRateLimitError",
            "XServerError",
            "XMalformedResponseError",
            "XCursorLoopError",
            "XComTooLargeError",
            "XLikeNotAppliedError",
            "XBudgetExhaustedError",
            "XUsageLowError",
            "XUnreachableError",
            "OutputError",
            "MissingExtraError",
        ),
        "airflow_provider_xlikes.exceptions",
    ),
    **dict.fromkeys(("Page", "IncludesIndex"), "airflow_provider_xlikes.pages"),
    **dict.fromkeys(("PriceTable", "CostMeter", "DEFAULT_PRICES", "PRICES_TAKEN"), "airflow_provider_xlikes.pricing"),
    **dict.fromkeys(
        ("RateLimit", "RateLimitPolicy", "Waiter", "sleep_waiter", "DeferringWaiter"),
        "airflow_provider_xlikes.rate_limits",
    ),
    **dict.fromkeys(("Endpoint", "ENDPOINTS", "LIKING_USERS", "LIKED_TWEETS"), "airflow_provider_xlikes.endpoints"),
    **dict.fromkeys(("XApiClient", "HttpRetryPolicy"), "airflow_provider_xlikes.hooks.client"),
    **dict.fromkeys(
        ("TokenStore", "OAuth2Tokens", "VariableTokenStore", "FileTokenStore"),
        "airflow_provider_xlikes.hooks.token_store",
    ),
    **dict.fromkeys(("XHook", "ListingOptions"), "airflow_provider_xlikes.hooks.x"),
    **dict.fromkeys(
        ("OutputWriter", "read_manifest", "find_manifests", "iter_records", "iter_errors", "iter_includes"),
        "airflow_provider_xlikes.output",
    ),
    **dict.fromkeys(("XLikingUsersOperator", "XLikedTweetsOperator"), "airflow_provider_xlikes.operators.likes"),
    **dict.fromkeys(("XLikeOperator", "XUnlikeOperator"), "airflow_provider_xlikes.operators.writes"),
    "BaseXOperator": "airflow_provider_xlikes.operators.base",
    "BaseXListingOperator": "airflow_provider_xlikes.operators.listing",
    "output_asset": "airflow_provider_xlikes.task_support",
    "XUsageOperator": "airflow_provider_xlikes.operators.usage",
    **dict.fromkeys(("XPostLink", "XUserLink"), "airflow_provider_xlikes.links"),
    "XLikesSensor": "airflow_provider_xlikes.sensors.likes",
    **dict.fromkeys(("XNewLikesTrigger", "XLikesSensorTrigger"), "airflow_provider_xlikes.triggers.new_likes"),
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from airflow_provider_xlikes.endpoints import ENDPOINTS, LIKED_TWEETS, LIKING_USERS, Endpoint
    from airflow_provider_xlikes.exceptions import (
        MissingExtraError,
        OutputError,
        XApiError,
        XAuthError,
        XBadRequestError,
        XBudgetExhaustedError,
        XComTooLargeError,
        XConfigError,
        XCursorLoopError,
        XError,
        XForbiddenError,
        XLikeNotAppliedError,
        XMalformedResponseError,
        XNotFoundError,
        XPermanentApiError,
        XPermanentError,
        XRateLimitError,
        XRateLimitWait,
        XServerError,
        XTokenRefreshError,
        XUnreachableError,
        XUsageCappedError,
        XUsageLowError,
        XValidationError,
    )
    from airflow_provider_xlikes.hooks.client import HttpRetryPolicy, XApiClient
    from airflow_provider_xlikes.hooks.token_store import FileTokenStore, OAuth2Tokens, TokenStore, VariableTokenStore
    from airflow_provider_xlikes.hooks.x import ListingOptions, XHook
    from airflow_provider_xlikes.links import XPostLink, XUserLink
    from airflow_provider_xlikes.operators.base import BaseXOperator
    from airflow_provider_xlikes.operators.likes import XLikedTweetsOperator, XLikingUsersOperator
    from airflow_provider_xlikes.operators.listing import BaseXListingOperator
    from airflow_provider_xlikes.operators.usage import XUsageOperator
    from airflow_provider_xlikes.operators.writes import XLikeOperator, XUnlikeOperator
    from airflow_provider_xlikes.output import (
        OutputWriter,
        find_manifests,
        iter_errors,
        iter_includes,
        iter_records,
        read_manifest,
    )
    from airflow_provider_xlikes.pages import IncludesIndex, Page
    from airflow_provider_xlikes.pricing import DEFAULT_PRICES, PRICES_TAKEN, CostMeter, PriceTable
    from airflow_provider_xlikes.rate_limits import DeferringWaiter, RateLimit, RateLimitPolicy, Waiter, sleep_waiter
    from airflow_provider_xlikes.sensors.likes import XLikesSensor
    from airflow_provider_xlikes.task_support import output_asset
    from airflow_provider_xlikes.triggers.new_likes import XLikesSensorTrigger, XNewLikesTrigger
