"""Error bodies of the sandbox, as the real API writes them (problem+json and the legacy shape).

Every body the specs describe carries the fields their schema requires (``resource_type``,
``parameter``, ``value``, ``resource_id``, ``section`` ...); the tests validate them against
``tests/data/openapi/`` of each naming.
"""

from __future__ import annotations

from typing import Any

JSON_CT = b"application/json; charset=utf-8"
PROBLEM_CT = b"application/problem+json"
Headers = list[tuple[bytes, bytes]]
Body = dict[str, Any]

UNAUTHORIZED: Body = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
#: the unknown-route answer (legacy shape, as the real API)
NO_SUCH_PAGE: Body = {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}
REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
LEGACY_5XX = {503: (130, "Over capacity")}
APP_ONLY_REFUSED = (
    "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported "
    "authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context]."
)
USER_CONTEXT_REFUSED = (
    "Authenticating with OAuth 2.0 User Context is forbidden for this endpoint.  Supported "
    "authentication types are [OAuth 2.0 Application-Only]."
)
CLIENT_NOT_ENROLLED = (
    "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a "
    "Twitter developer App that is attached to a Project. You can create a project via the developer portal."
)


class ApiError(Exception):
    """A complete error response raised from inside a handler."""

    def __init__(
        self, status: int, body: Body, content_type: bytes = PROBLEM_CT, headers: Headers | None = None
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or []


def problem_base(naming: str) -> str:
    """Problem type URI prefix: ``api.twitter.com`` for the tweet naming, ``api.x.com`` for post."""
    return "https://api.x.com/2/problems/" if naming == "post" else "https://api.twitter.com/2/problems/"


def problem(naming: str, kind: str, title: str, detail: str, status: int, **fields: Any) -> Body:
    return {**fields, "title": title, "detail": detail, "type": problem_base(naming) + kind, "status": status}


def generic(status: int, title: str, detail: str | None = None) -> Body:
    """An ``about:blank`` problem (401, 403 for missing scopes, 429, 5xx)."""
    return {"title": title, "detail": detail or title, "type": "about:blank", "status": status}


def param_error(name: str, value: str, message: str) -> Body:
    return {"parameters": {name: [value]}, "message": message}


def pattern_error(name: str, value: str, where: str = "query") -> Body:
    """A path or body id that does not match ``^[0-9]{1,19}$``."""
    return param_error(name, value, f"The `{name}` {where} parameter value [{value}] does not match ^[0-9]{{1,19}}$")


def invalid(naming: str, errors: list[Body]) -> ApiError:
    """400 invalid-request listing every bad parameter."""
    return ApiError(
        400,
        {
            "errors": errors,
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": problem_base(naming) + "invalid-request",
        },
    )


def not_found(
    naming: str, resource_type: str, parameter: str, value: str, title: str = "Not Found Error", detail: str = ""
) -> Body:
    """A resource-not-found problem: a partial error inside a 200 (or, with ``status``, a 404 body)."""
    return {
        "value": value,
        "detail": detail or f"Could not find {resource_type} with {parameter}: [{value}].",
        "title": title,
        "resource_type": resource_type,
        "parameter": parameter,
        "resource_id": value,
        "type": problem_base(naming) + "resource-not-found",
    }


def likes_not_found(naming: str, user_id: str) -> ApiError:
    """404 for another user's private likes."""
    return ApiError(404, {**not_found(naming, "user", "id", user_id), "status": 404})


def likes_not_authorized(naming: str, user_id: str) -> ApiError:
    """403 not-authorized-for-resource for another user's private likes."""
    body = problem(
        naming,
        "not-authorized-for-resource",
        "Forbidden",
        f"Sorry, you are not authorized to see the likes of the user with id: [{user_id}].",
        403,
        value=user_id,
        resource_type="user",
        parameter="id",
        resource_id=user_id,
        section="data",
    )
    return ApiError(403, body)


def unsupported_auth(naming: str, *, user_context: bool = False) -> ApiError:
    """403 unsupported-authentication: app-only auth (or, ``user_context``, user auth) refused here."""
    detail = USER_CONTEXT_REFUSED if user_context else APP_ONLY_REFUSED
    body = problem(naming, "unsupported-authentication", "Unsupported Authentication", detail, 403)
    return ApiError(403, body)


def missing_scopes() -> ApiError:
    """403 for an OAuth 2.0 user token without the endpoint's scopes (the real body says no more)."""
    return ApiError(403, generic(403, "Forbidden"))


def not_permitted() -> ApiError:
    """403 for a write on behalf of another user."""
    return ApiError(403, generic(403, "Forbidden", "You are not permitted to perform this action."))


def client_forbidden(naming: str, client_id: str) -> ApiError:
    """403 client-forbidden: the app's access tier (or project) lacks the endpoint."""
    body = {
        "client_id": client_id,
        "detail": CLIENT_NOT_ENROLLED,
        "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
        "title": "Client Forbidden",
        "required_enrollment": "Appropriate Level of API Access",
        "reason": "client-not-enrolled",
        "type": problem_base(naming) + "client-forbidden",
    }
    return ApiError(403, body)


def usage_capped(naming: str, status: int, account_id: str, headers: Headers) -> ApiError:
    """usage-capped: the monthly cap is spent (reported as a 429 whose rate-limit headers show room)."""
    body = {
        "account_id": account_id,
        "product_name": "standard-basic",
        "title": "UsageCapExceeded",
        "period": "Monthly",
        "scope": "Product",
        "detail": "Usage cap exceeded: Monthly product cap",
        "type": problem_base(naming) + "usage-capped",
    }
    return ApiError(status, body, PROBLEM_CT, headers)


def too_many(legacy: bool, headers: Headers) -> ApiError:
    """429: problem+json ``Too Many Requests`` or legacy code 88."""
    if legacy:
        return ApiError(429, {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}, JSON_CT, headers)
    return ApiError(429, generic(429, "Too Many Requests"), PROBLEM_CT, headers)


def server_error(legacy: bool, status: int) -> ApiError:
    """5xx: problem+json or legacy (130 Over capacity, 131 Internal error)."""
    if legacy:
        code, message = LEGACY_5XX.get(status, (131, "Internal error"))
        return ApiError(status, {"errors": [{"code": code, "message": message}]}, JSON_CT)
    return ApiError(status, generic(status, REASONS.get(status, "Error")))
