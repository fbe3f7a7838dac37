"""The ``/_sandbox/*`` admin API (Starlette; no auth, JSON; its requests are not counted).

It drives a running sandbox while DAGs run against it: likes added to and removed from posts,
the clock, quirks and faults; and it reports what the server saw and the ground truth.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from airflow_provider_xlikes.sandbox.config import Fault, counted_endpoints
from airflow_provider_xlikes.sandbox.handlers import valid_id
from airflow_provider_xlikes.sandbox.state import SandboxState

DEFAULT_LIST_LIMIT = 10_000


class AdminError(Exception):
    """A 4xx answer of the admin API."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


async def _json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body:
        return {}
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise AdminError(400, {"error": f"bad JSON: {exc}"}) from None
    return data if isinstance(data, dict) else {}


def _endpoint(handler: Callable[[Request], Awaitable[Any]]) -> Callable[[Request], Awaitable[JSONResponse]]:
    """JSON out; ``AdminError``, ``ValueError`` and ``TypeError`` become 4xx answers."""

    async def wrapped(request: Request) -> JSONResponse:
        try:
            return JSONResponse(await handler(request))
        except AdminError as err:
            return JSONResponse(err.body, status_code=err.status)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return wrapped


def build_admin_app(state: SandboxState) -> Starlette:
    """The admin API of ``state``."""
    w = state.world

    def limit_of(request: Request) -> int:
        try:
            return max(0, int(request.query_params.get("limit", str(DEFAULT_LIST_LIMIT))))
        except ValueError:
            return DEFAULT_LIST_LIMIT

    def post_of(request: Request) -> int:
        post_id = request.path_params["post_id"]
        post = w.ids.post_index(post_id) if valid_id(post_id) else None
        if post is None:
            raise AdminError(404, {"error": "unknown post", "id": post_id})
        return post

    def users_of(ids: list[Any]) -> list[int]:
        users = [w.ids.user_index(str(i)) if valid_id(str(i)) else None for i in ids]
        unknown = [str(i) for i, u in zip(ids, users, strict=True) if u is None]
        if unknown:
            raise AdminError(404, {"error": "unknown user(s)", "ids": unknown})
        return [u for u in users if u is not None]

    def listing(id_: str, total: int, ids: Callable[[int], list[str]], request: Request) -> dict[str, Any]:
        """Ground truth ``{"id", "count", "ids"}`` of a listing: ``?head=N`` the newest N ids (never
        refused); else all of them, refused (413) when more than ``?limit=`` (default 10,000)."""
        head = request.query_params.get("head")
        if head is not None:
            if not head.isdigit():
                raise AdminError(400, {"error": f"head must be an integer >= 0, not {head!r}"})
            return {"id": id_, "count": total, "ids": ids(min(int(head), total))}
        if total > limit_of(request):
            raise AdminError(413, {"error": "list too large; pass ?limit= or ?head=", "count": total})
        return {"id": id_, "count": total, "ids": ids(total)}

    async def health(_: Request) -> dict[str, Any]:
        return {"ok": True}

    async def world(_: Request) -> dict[str, Any]:
        return state.world_summary()

    async def requests_(_: Request) -> dict[str, Any]:
        return {
            "total": sum(state.by_endpoint.values()),
            "by_endpoint": {e: state.by_endpoint.get(e, 0) for e in counted_endpoints()},
            "by_token": {fp: dict(c) for fp, c in state.by_token.items()},
            "by_status": {str(k): v for k, v in sorted(state.by_status.items())},
            "served": {e: {part: dict(kinds) for part, kinds in parts.items()} for e, parts in state.served.items()},
        }

    async def usage(request: Request) -> dict[str, Any]:
        """The billing cycle's posts read (the monthly cap's count). POST ``{"post_reads": n}``
        sets it (as read today), e.g. to the cap to see ``usage-capped``."""
        if request.method == "POST":
            count = (await _json(request)).get("post_reads")
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise AdminError(400, {"error": 'give "post_reads" (an integer >= 0)'})
            state.post_reads.clear()
            state.post_reads[time.strftime("%Y-%m-%d", time.gmtime(state.clock()))] = count
        return {
            "post_reads": sum(state.post_reads.values()),
            "monthly_post_cap": state.quirks.monthly_post_cap,
            "by_day": dict(sorted(state.post_reads.items())),
        }

    async def reset(request: Request) -> dict[str, Any]:
        """Back to the start state; quirk changes in the body (``{"clean": true}`` ...) then apply."""
        changes = await _json(request)
        quirks = state.config.quirks.updated(changes)  # checked before anything is reset
        state.reset()
        state.quirks = quirks
        return {"ok": True, "quirks": quirks.to_dict()}

    async def faults(request: Request) -> dict[str, Any]:
        if request.method == "DELETE":
            state.faults = []
        elif request.method == "POST":
            data = await _json(request)
            items = [Fault.from_dict(f) for f in data.get("faults", [])]
            state.set_faults(items, replace=bool(data.get("replace", True)))
        return {
            "faults": [
                {**a.fault.to_dict(), "remaining": a.remaining if a.fault.count else None, "skipped": a.skipped}
                for a in state.faults
            ]
        }

    async def quirks(request: Request) -> dict[str, Any]:
        if request.method == "POST":
            state.quirks = state.quirks.updated(await _json(request))
        return state.quirks.to_dict()

    async def clock(request: Request) -> dict[str, Any]:
        if request.method == "POST":
            state.clock_offset += float((await _json(request)).get("advance", 0))
        return {"offset": state.clock_offset, "now": state.clock()}

    async def tokens(_: Request) -> dict[str, Any]:
        return state.auth.token_summary()

    async def rate_limits(_: Request) -> dict[str, Any]:
        return {"windows": state.limiter.snapshot()}

    def change_likers(post: int, add: bool, data: dict[str, Any]) -> list[int]:
        """Likers added (newest first) or removed, by ``count`` or by ``user_ids``."""
        count, user_ids = data.get("count"), data.get("user_ids")
        if user_ids is not None and count is None:
            users = users_of(list(user_ids))
            if add:
                return [u for u in users if w.like(u, post, "admin")][::-1]
            return [u for u in users if w.unlike(u, post, "admin")]
        if user_ids is None and isinstance(count, int) and count >= 0:
            return w.add_likers(post, count) if add else w.remove_likers(post, count)
        raise AdminError(400, {"error": 'give either "count" (an integer >= 0) or "user_ids"'})

    async def likers(request: Request) -> dict[str, Any]:
        """GET: the likers, newest first. POST ``{"count": n}`` or ``{"user_ids": [...]}``: new
        likers at the head. DELETE ``{"count": n}`` (the newest n) or ``{"user_ids": [...]}``."""
        post = post_of(request)
        post_id = w.ids.post_id(post)
        visible = state.quirks.mutations_visible
        if request.method != "GET":
            add = request.method == "POST"
            changed = change_likers(post, add, await _json(request))
            key = "added" if add else "removed"
            return {"id": post_id, key: [w.ids.user_id(u) for u in changed], "count": w.liker_count(post, visible)}
        total = w.liker_count(post, visible)
        return listing(post_id, total, lambda n: [w.ids.user_id(u) for u in w.likers(post, 0, n, visible)], request)

    async def liked(request: Request) -> dict[str, Any]:
        user_id = request.path_params["user_id"]
        user = users_of([user_id])[0]
        visible = state.quirks.mutations_visible
        total = w.liked_count(user, visible)
        return listing(user_id, total, lambda n: [w.ids.post_id(p) for p in w.liked(user, 0, n, visible)], request)

    routes = [
        Route("/_sandbox/health", _endpoint(health)),
        Route("/_sandbox/world", _endpoint(world)),
        Route("/_sandbox/requests", _endpoint(requests_)),
        Route("/_sandbox/usage", _endpoint(usage), methods=["GET", "POST"]),
        Route("/_sandbox/reset", _endpoint(reset), methods=["POST"]),
        Route("/_sandbox/faults", _endpoint(faults), methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/quirks", _endpoint(quirks), methods=["GET", "POST"]),
        Route("/_sandbox/clock", _endpoint(clock), methods=["GET", "POST"]),
        Route("/_sandbox/tokens", _endpoint(tokens)),
        Route("/_sandbox/rate_limits", _endpoint(rate_limits)),
        Route("/_sandbox/likers/{post_id}", _endpoint(likers), methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/liked/{user_id}", _endpoint(liked)),
    ]
    return Starlette(routes=routes)
