"""Helpers for the sandbox tests: authenticated HTTP clients and OpenAPI response validators."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import requests
from requests_oauthlib import OAuth1

DATA = Path(__file__).resolve().parents[1] / "data"
SPECS = {"tweet": DATA / "openapi" / "openapi-v2.159.json", "post": DATA / "openapi" / "openapi-v2.167.json"}


class Client:
    """Real HTTP client for one sandbox and one auth type."""

    def __init__(self, sandbox: Any, auth_type: str = "bearer", token: str | None = None) -> None:
        self.sandbox = sandbox
        self.url = sandbox.url
        self.session = requests.Session()
        c = sandbox.credentials
        self.auth: Any = None
        self.headers: dict[str, str] = {}
        if auth_type == "bearer":
            self.headers["Authorization"] = f"Bearer {token or c['bearer_token']}"
        elif auth_type == "oauth2_user":
            self.headers["Authorization"] = f"Bearer {token or c['oauth2_access_token']}"
        elif auth_type == "oauth1_user":
            self.auth = OAuth1(c["consumer_key"], c["consumer_secret"], c["access_token"], c["access_token_secret"])
        elif auth_type != "none":
            raise ValueError(auth_type)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url + path, headers=self.headers, auth=self.auth, timeout=30, **kwargs)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.request("GET", path, params=params or None)

    def liking_users(self, post_id: str, **params: Any) -> requests.Response:
        return self.get(f"/2/tweets/{post_id}/liking_users", **params)

    def liked_tweets(self, user_id: str, **params: Any) -> requests.Response:
        return self.get(f"/2/users/{user_id}/liked_tweets", **params)

    def page_all(self, path: str, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(all items, all bodies) following next_token until it is absent."""
        items: list[dict[str, Any]] = []
        bodies: list[dict[str, Any]] = []
        while True:
            r = self.get(path, **params)
            assert r.status_code == 200, r.text
            body = r.json()
            bodies.append(body)
            items.extend(body.get("data", []))
            token = body["meta"].get("next_token")
            if not token:
                return items, bodies
            params["pagination_token"] = token


def featured(sandbox: Any, likers: int) -> str:
    for post in sandbox.admin.world()["featured_posts"]:
        if post["base_likers"] == likers:
            return str(post["id"])
    raise LookupError(likers)


@functools.cache
def _spec(naming: str) -> dict[str, Any]:
    return json.loads(SPECS[naming].read_text(encoding="utf-8"))


def _check(naming: str, schema: dict[str, Any], body: Any) -> None:
    """Draft 7 validation of ``body`` against ``schema``, its $refs resolved in the spec."""
    jsonschema.Draft7Validator({**schema, "components": _spec(naming)["components"]}).validate(body)


def validate(naming: str, path: str, method: str, body: Any) -> None:
    """Validate a 200 body against the operation's response schema ($refs resolved in the spec)."""
    spec = _spec(naming)
    schema = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
    _check(naming, schema, body)
    for problem in body.get("errors", []) if isinstance(body, dict) else []:
        assert validate_problem(naming, problem), f"partial error of a type the spec does not describe: {problem}"


def validate_problem(naming: str, problem: dict[str, Any]) -> bool:
    """Validate a problem against the schema its ``type`` maps to (JSON Schema validators ignore
    OpenAPI's ``discriminator``, so the base ``Problem`` alone checks almost nothing). Returns
    False when the spec does not describe the type at all (v2.167 lists 9 types, not
    ``about:blank``, ``unsupported-authentication``, ``client-forbidden`` or ``usage-capped``)."""
    mapping = _spec(naming)["components"]["schemas"]["Problem"]["discriminator"]["mapping"]
    ref = mapping.get(problem.get("type", ""))
    if ref is None:
        return False
    _check(naming, {"$ref": ref}, problem)
    return True


def validate_response(naming: str, path: str, method: str, response: requests.Response) -> str | None:
    """Validate any response of ``method path`` against the spec of ``naming``: a 200 against its
    schema, an error against the default response of its content type. Legacy bodies
    ``{"errors": [{"code", "message"}]}`` are checked item by item against ``Error`` (the spec
    describes the item as if it were the body). Returns the problem type the spec does not
    describe, if any (the body is then unchecked), else None."""
    body = response.json()
    if response.status_code == 200:
        validate(naming, path, method, body)
        return None
    responses = _spec(naming)["paths"][path][method]["responses"]
    content = responses.get(str(response.status_code), responses["default"])["content"]
    if response.headers["content-type"].startswith("application/problem+json"):
        if not validate_problem(naming, body):
            return str(body["type"])
        _check(naming, content["application/problem+json"]["schema"], body)
        return None
    assert set(body) == {"errors"} and body["errors"], body
    for item in body["errors"]:
        _check(naming, content["application/json"]["schema"], item)
    return None
