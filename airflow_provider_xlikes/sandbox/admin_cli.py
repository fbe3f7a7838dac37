"""``python -m airflow_provider_xlikes.sandbox admin``: drive a running sandbox from the command line.

    python -m airflow_provider_xlikes.sandbox admin --url http://127.0.0.1:8766 add-likes POST_ID 5
    python -m airflow_provider_xlikes.sandbox admin --url http://127.0.0.1:8766 remove-likes POST_ID 2
    python -m airflow_provider_xlikes.sandbox admin --url http://127.0.0.1:8766 quirks short_pages=0 naming=post
    python -m airflow_provider_xlikes.sandbox admin --url http://127.0.0.1:8766 faults status,count=3,status=503
    python -m airflow_provider_xlikes.sandbox admin --url http://127.0.0.1:8766 clock 900

Each command prints the admin API's JSON answer.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import requests

from airflow_provider_xlikes.sandbox.config import DEFAULT_PORT
from airflow_provider_xlikes.sandbox.process import AdminClient


def _value(text: str) -> Any:
    """``key=value`` values: JSON where they parse (``0.5``, ``true``), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def build_admin_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m airflow_provider_xlikes.sandbox admin", description="Drive a running X API sandbox."
    )
    p.add_argument("--url", default=f"http://127.0.0.1:{DEFAULT_PORT}", help="the sandbox's URL (default %(default)s)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("world", help="world summary: featured posts, me, quirks")
    sub.add_parser("requests", help="request counts per endpoint, token and status")
    for name, what in (("likers", "users who like POST_ID, newest first"), ("liked", "posts USER_ID likes")):
        c = sub.add_parser(name, help=what)
        c.add_argument("id")
        c.add_argument("--limit", type=int, default=10_000, help="show the newest LIMIT ids (default %(default)s)")
    for name, what in (("add-likes", "new likers at the head of POST_ID's likers"), ("remove-likes", "unlikes")):
        c = sub.add_parser(name, help=what)
        c.add_argument("post_id")
        c.add_argument("count", type=int, nargs="?", help="how many (remove-likes: the newest)")
        c.add_argument("--users", help="comma-separated user ids instead of a count")
    c = sub.add_parser("clock", help="move the sandbox clock forward (token expiry, rate-limit windows)")
    c.add_argument("seconds", type=float, nargs="?", default=0.0)
    c = sub.add_parser("quirks", help="show or change quirks: NAME=VALUE ... (clean=true: paging quirks off)")
    c.add_argument("changes", nargs="*", metavar="NAME=VALUE")
    c = sub.add_parser("faults", help="show or install faults: KIND[,key=value...] ...")
    c.add_argument("specs", nargs="*", metavar="FAULT")
    c.add_argument("--append", action="store_true", help="keep the pending faults")
    sub.add_parser("clear-faults", help="drop every pending fault")
    c = sub.add_parser("reset", help="back to the start state")
    c.add_argument("--clean", action="store_true", help="then switch the paging quirks off")
    return p


def run(args: argparse.Namespace) -> Any:
    admin = AdminClient(args.url)
    command = args.command
    if command == "world":
        return admin.world()
    if command == "requests":
        return admin.request_counts()
    if command in ("likers", "liked"):
        head = admin.head(command, args.id, args.limit)
        if head["count"] > len(head["ids"]):
            print(f"(the newest {len(head['ids']):,} of {head['count']:,}; --limit shows more)", file=sys.stderr)
        return head["ids"]
    if command in ("add-likes", "remove-likes"):
        if (args.count is None) == (args.users is None):
            raise SystemExit(f"{command}: give either COUNT or --users")
        users = [u.strip() for u in args.users.split(",") if u.strip()] if args.users else None
        add = command == "add-likes"
        answer = admin.change_likes(args.post_id, add=add, count=args.count, user_ids=users)
        return {"changed": answer["added" if add else "removed"], "count": answer["count"]}
    if command == "clock":
        return {"offset": admin.advance_clock(args.seconds)}
    if command == "quirks":
        changes = dict(item.split("=", 1) for item in args.changes)
        return admin.set_quirks(**{k: _value(v) for k, v in changes.items()}) if changes else admin.quirks()
    if command == "faults":
        return admin.set_faults(*args.specs, replace=not args.append) if args.specs else admin.faults()
    if command == "clear-faults":
        admin.clear_faults()
        return admin.faults()
    return admin.reset(clean=True) if args.clean else admin.reset()


def main(argv: list[str]) -> int:
    args = build_admin_parser().parse_args(argv)
    try:
        result = run(args)
    except requests.HTTPError as exc:
        print(f"error: {exc.response.status_code} {exc.response.text}", file=sys.stderr)
        return 1
    except requests.ConnectionError:
        print(f"error: no sandbox answers at {args.url}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0
