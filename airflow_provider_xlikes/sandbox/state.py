"""All mutable state of a running sandbox: world, clock, tokens, limits, quirks, faults, counters."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from airflow_provider_xlikes.sandbox.auth import Authenticator
from airflow_provider_xlikes.sandbox.config import Fault, SandboxConfig
from airflow_provider_xlikes.sandbox.faults import ActiveFault
from airflow_provider_xlikes.sandbox.ratelimit import RateLimiter
from airflow_provider_xlikes.sandbox.world import World, mix64

#: what ``includes`` keys and ``data`` hold, by the resource kind X bills (``Posts: Read``, ``User: Read`` ...)
RESOURCE_KINDS = {"tweets": "posts", "posts": "posts", "users": "users"}
TOKEN_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # noqa: S105


class PageTokens:
    """Opaque pagination tokens: base62 of ``kind, resource, offset`` plus a MAC; forged ones fail."""

    def __init__(self, seed: int) -> None:
        self.key = hashlib.sha256(f"xlikes-sandbox-page-{seed}".encode()).digest()

    def encode(self, kind: str, resource: int, offset: int) -> str:
        payload = f"{kind}{resource}.{offset}".encode()
        mac = hmac.new(self.key, payload, hashlib.sha256).digest()[:12]
        n = int.from_bytes(payload + mac, "big")
        chars = []
        while n:
            n, r = divmod(n, 62)
            chars.append(TOKEN_ALPHABET[r])
        return "".join(reversed(chars))

    def decode(self, token: str, kind: str, resource: int) -> int | None:
        if not 8 <= len(token) <= 80:
            return None
        n = 0
        for ch in token:
            v = TOKEN_ALPHABET.find(ch)
            if v < 0:
                return None
            n = n * 62 + v
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        payload, mac = raw[:-12], raw[-12:]
        if not hmac.compare_digest(mac, hmac.new(self.key, payload, hashlib.sha256).digest()[:12]):
            return None
        try:
            text = payload.decode()
        except UnicodeDecodeError:
            return None
        expected = f"{kind}{resource}."
        if not text.startswith(expected):
            return None
        return int(text[len(expected) :])


class SandboxState:
    """All mutable state of a running sandbox (single-threaded: the server's event loop)."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock_offset = 0.0
        self.world = World(
            seed=config.seed,
            users=config.users,
            posts=config.posts,
            featured=config.featured,
            me_id=config.me_id,
            me_username=config.me_username,
            me_name=config.me_name,
            me_likes=config.me_likes,
        )
        self.auth = Authenticator(config, self.world.me, self.clock)
        self.limiter = RateLimiter(config.window_seconds, self.clock, config.rate_limits)
        self.tokens = PageTokens(config.seed)
        self.quirks = config.quirks
        #: the developer app's and the project's numeric ids, as the real bodies carry them
        self.app_id = str(20_000_000 + mix64(config.seed ^ 0xA99) % 10_000_000)
        self.project_id = str(1_000_000_000_000_000_000 + mix64(config.seed ^ 0x9C7) % 10**18)
        self.faults: list[ActiveFault] = []
        self.set_faults(config.faults, replace=True)
        self.reset_counters()

    def clock(self) -> float:
        return time.time() + self.clock_offset

    def reset_counters(self) -> None:
        self.by_endpoint: Counter[str] = Counter()
        self.by_token: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.by_status: Counter[int] = Counter()
        #: resources served in 200s, per endpoint, per part (``data``, ``includes``), per kind
        self.served: defaultdict[str, dict[str, Counter[str]]] = defaultdict(
            lambda: {"data": Counter(), "includes": Counter()}
        )
        #: posts read in ``data`` this billing cycle, per UTC day (``YYYY-MM-DD``): the monthly cap's count
        self.post_reads: Counter[str] = Counter()
        self.cycle_started = self.clock()

    def count_served(self, endpoint: str, records: str | None, data: int, includes: dict[str, int]) -> None:
        """Count the resources of a 200: ``data`` items of kind ``records``, ``includes`` by key."""
        served = self.served[endpoint]
        if records is not None and data:
            kind = RESOURCE_KINDS.get(records, records)
            served["data"][kind] += data
            if kind == "posts":
                self.post_reads[time.strftime("%Y-%m-%d", time.gmtime(self.clock()))] += data
        for key, count in includes.items():
            if count:
                served["includes"][RESOURCE_KINDS.get(key, key)] += count

    def post_cap_spent(self) -> bool:
        """Whether the cycle's posts read reached ``monthly_post_cap``."""
        cap = self.quirks.monthly_post_cap
        return cap is not None and sum(self.post_reads.values()) >= cap

    def set_faults(self, faults: Iterable[Fault], replace: bool) -> None:
        if replace:
            self.faults = []
        self.faults.extend(ActiveFault(f, f.count) for f in faults)

    def reset(self) -> None:
        """Back to the state at start: counters, limits, faults, quirks, likes, tokens, clock."""
        self.clock_offset = 0.0
        self.reset_counters()
        self.limiter.reset()
        self.set_faults(self.config.faults, replace=True)
        self.quirks = self.config.quirks
        self.world.reset_mutations()
        self.auth.reset()

    def world_summary(self) -> dict[str, Any]:
        w = self.world
        visible = self.quirks.mutations_visible
        return {
            "seed": self.config.seed,
            "users": w.n_users,
            "posts": w.n_posts,
            "me": {
                "id": w.ids.me_id,
                "username": w.me_username,
                "name": w.me_name,
                "liked_count": w.liked_count(w.me, visible),
            },
            "featured_posts": [
                {"id": w.ids.post_id(k), "likers": w.liker_count(k, visible), "base_likers": w.featured_counts[k]}
                for k in range(w.n_featured)
            ],
            "window_seconds": self.config.window_seconds,
            "token_lifetime": self.config.token_lifetime,
            "quirks": self.quirks.to_dict(),
        }
