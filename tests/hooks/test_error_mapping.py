"""Error bodies the sandbox cannot produce (403 reasons of an app's tier) map like the others."""

from __future__ import annotations

import json

import pytest
import requests

from airflow_provider_xlikes.exceptions import XBadRequestError, XForbiddenError, XNotFoundError, XRateLimitError
from airflow_provider_xlikes.hooks.errors import error_from_response


def _response(status: int, body: object, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers.update(headers or {})
    return response


@pytest.mark.parametrize(
    ("problem", "reason"),
    [
        ("https://api.twitter.com/2/problems/client-forbidden", "client-forbidden"),
        ("https://api.x.com/2/problems/unsupported-authentication", "unsupported-authentication"),
        ("about:blank", "forbidden"),
    ],
)
def test_403_reasons(problem, reason) -> None:
    body = {"title": "Forbidden", "detail": "...", "type": problem, "status": 403}
    error = error_from_response(_response(403, body), endpoint="GET /2/users/:id/liked_tweets", auth_type="oauth1_user")
    assert isinstance(error, XForbiddenError)
    assert error.reason == reason
    if reason == "unsupported-authentication":
        assert error.working_auth_types == ("oauth2_user",)


def test_legacy_429_carries_the_reset() -> None:
    body = {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
    error = error_from_response(
        _response(429, body, {"x-rate-limit-remaining": "0", "x-rate-limit-reset": "1700000000"}),
        endpoint="GET /2/tweets/:id/liking_users",
        auth_type="bearer",
    )
    assert isinstance(error, XRateLimitError)
    assert error.reset_at == 1700000000.0
    assert "Rate limit exceeded" in str(error)


def test_invalid_request_names_the_parameters() -> None:
    body = {
        "errors": [
            {
                "parameters": {"max_results": ["3"]},
                "message": "The `max_results` query parameter value [3] is not between 5 and 100",
            }
        ],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }
    error = error_from_response(_response(400, body), endpoint="GET /2/users/:id/liked_tweets", auth_type="bearer")
    assert isinstance(error, XBadRequestError)
    assert error.parameters == ["max_results"]


def test_not_found() -> None:
    body = {"title": "Not Found Error", "type": "https://api.twitter.com/2/problems/resource-not-found", "detail": "x"}
    assert isinstance(error_from_response(_response(404, body), endpoint="e", auth_type="bearer"), XNotFoundError)
