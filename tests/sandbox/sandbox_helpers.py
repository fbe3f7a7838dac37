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


def validate(naming: str, path: str, method: str, body: Any) -> None:
    """Validate a 200 body against the operation's response schema ($refs resolved in the spec)."""
    spec = _spec(naming)
    schema = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
    root = {**schema, "components": spec["components"]}
    jsonschema.Draft7Validator(root).validate(body)
