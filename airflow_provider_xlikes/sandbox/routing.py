"""Matching a request's method and path to an endpoint of ``endpoints.py`` (or a token endpoint)."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_xlikes.endpoints import ENDPOINTS, Endpoint
from airflow_provider_xlikes.sandbox.config import TOKEN_ENDPOINTS


@dataclass(frozen=True)
class Route:
    """A routable endpoint: its name, its table entry (``None`` for a token endpoint), its template."""

    name: str
    endpoint: Endpoint | None
    segments: tuple[str | None, ...]  # literal segments; None where a path id goes

    @property
    def literals(self) -> int:
        return sum(s is not None for s in self.segments)


def _segments(path: str) -> tuple[str | None, ...]:
    return tuple(None if part.startswith("{") else part for part in path.split("/"))


class Router:
    """Paths by (method, segment count); literal segments win over ids (``/2/users/me``)."""

    def __init__(self) -> None:
        routes = [Route(e.name, e, _segments(e.path)) for e in ENDPOINTS.values()]
        routes += [Route(name, None, _segments(path)) for name, path in TOKEN_ENDPOINTS.items()]
        self.table: dict[tuple[str, int], list[Route]] = {}
        for route in sorted(routes, key=lambda r: -r.literals):
            method = route.endpoint.method if route.endpoint is not None else "POST"
            self.table.setdefault((method, len(route.segments)), []).append(route)

    def match(self, method: str, path: str) -> tuple[Route, list[str]] | None:
        """The route and its path ids, or ``None``."""
        parts = path.rstrip("/").split("/") if path != "/" else [""]
        for route in self.table.get((method, len(parts)), ()):
            if all(s is None or s == p for s, p in zip(route.segments, parts, strict=True)):
                return route, [p for s, p in zip(route.segments, parts, strict=True) if s is None]
        return None
