"""The deterministic, lazily derived world of the sandbox: users, posts, media, polls, places, likes.

Nothing here holds a listing in memory. Every user and post is a pure function of ``(seed, index)``
and the i-th liker of a post is a pure function of ``(seed, post, i)``: an affine permutation of the
user universe, so likers of one post are distinct and a page is computed on demand. The only state
is a small overlay per changed listing (:class:`Overlay`): likes made or removed through the API by
the authenticated user ("me") and through the admin API (likers added to or removed from a post).
The static tables the world draws names and words from are in :mod:`.vocabulary`.

Index layout (ids are derived from indices by invertible affine maps, so ``index_of(id)`` is O(1)):

* users ``[0, users)`` are derived; ``me`` is the extra index ``users`` with the configured id;
* posts ``[0, F)`` are the featured posts (authored by me, exact liker counts);
  ``[F, F + users)`` holds one "profile" post per user (their pinned and most recent post);
  ``[F + users, posts)`` are ordinary posts, which is where liked lists are drawn from.

Consistency: the authenticated user's likes and the likers of the featured posts agree between
the two listings (a user listed as a liker of a featured post has that post in their liked list,
and my liked posts list me among their likers). For two derived users/ordinary posts the listings
are derived independently (the real API does not promise agreement either: protected accounts,
deleted posts); the admin ground truth reports exactly what each listing serves. A like added or
removed after start (by the API or the admin API) changes both listings of the pair.

Over 400 lines because every kind (users, posts, likes) is derived from one seed by the same
hashing and index maps, and the likes overlay must see the user and post tables.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import msgspec

from airflow_provider_xlikes.sandbox.vocabulary import (
    FIRST_NAMES,
    HASHTAGS,
    LAST_NAMES,
    NAME_SUFFIXES,
    PLACES,
    WORDS,
)

M64 = (1 << 64) - 1
TWITTER_EPOCH_MS = 1288834974657

OLD_USER_OFF = 1_000_000
OLD_USER_M = 2_999_000_000
NEW_USER_OFF = 1_000_000_000_000_000_000
NEW_USER_M = 900_000_000_000_000_000
POST_OFF = 550_000_000_000_000_000
POST_M = 1_380_000_000_000_000_000


def mix64(x: int) -> int:
    """splitmix64 finaliser: a fast, well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


class AffinePerm:
    """The permutation ``i -> (a*i + b) mod n`` of ``[0, n)`` with its inverse."""

    __slots__ = ("a", "ainv", "b", "n")

    def __init__(self, n: int, key: int) -> None:
        self.n = n
        if n <= 1:
            self.a, self.b, self.ainv = 1, 0, 1
            return
        h = mix64(key)
        a = h % n or 1
        while math.gcd(a, n) != 1:
            a = a + 1 if a + 1 < n else 1
        self.a = a
        self.b = mix64(h ^ 0x5DEECE66D) % n
        self.ainv = pow(a, -1, n)

    def fwd(self, i: int) -> int:
        return (self.a * i + self.b) % self.n

    def inv(self, x: int) -> int:
        return ((x - self.b) * self.ainv) % self.n

    def iter_from(self, i: int) -> Iterator[int]:
        x, a, n = (self.a * i + self.b) % self.n, self.a, self.n
        while True:
            yield x
            x += a
            if x >= n:
                x -= n


def chance(h: int, rate: float) -> bool:
    """Whether a seeded event of probability ``rate`` happens for the hash ``h``."""
    return rate > 0 and h % 1_000_000 < rate * 1_000_000


def iso(epoch_seconds: int) -> str:
    """ISO-8601 with milliseconds, as the API writes it: ``2021-01-26T18:40:40.000Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch_seconds))


def snowflake_seconds(id_value: int) -> int:
    return ((id_value >> 22) + TWITTER_EPOCH_MS) // 1000


class _NameTables:
    """Display names, handles and JSON-encoded names of every first/last/suffix combination."""

    def __init__(self) -> None:
        self.full = [
            [[f[0] + " " + last[0] + suffix for suffix in NAME_SUFFIXES] for last in LAST_NAMES] for f in FIRST_NAMES
        ]
        self.underscored = [[(f[1] + "_" + last[1])[:15] for last in LAST_NAMES] for f in FIRST_NAMES]
        self.plain = [[(f[1] + last[1])[:10] for last in LAST_NAMES] for f in FIRST_NAMES]
        self.json = {
            name: msgspec.json.encode(name).decode()
            for by_last in self.full
            for by_suffix in by_last
            for name in by_suffix
        }


_NAME_TABLES = _NameTables()
T_CO = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def t_co(h: int) -> str:
    chars = []
    for _ in range(10):
        chars.append(T_CO[h % 62])
        h //= 62
    return "https://t.co/" + "".join(chars)


# --- derived objects --------------------------------------------------------------------------------


@dataclass(slots=True)
class Mention:
    start: int
    end: int
    username: str
    user: int | None  # None: a suspended account (partial-errors quirk)


@dataclass(slots=True)
class PostCore:
    """Everything about one post except the rendering (see ``render.py``)."""

    index: int
    id: str
    author: int
    created: int
    text: str
    ref_type: str | None = None
    ref_id: str | None = None
    ref_index: int | None = None  # None when the referenced post was deleted
    reply_to_user: int | None = None
    mentions: list[Mention] = field(default_factory=list)
    hashtags: list[tuple[int, int, str]] = field(default_factory=list)
    urls: list[tuple[int, int, str, str]] = field(default_factory=list)
    media_types: tuple[str, ...] = ()
    poll: bool = False
    place: int | None = None
    h: int = 0


Source = Literal["api", "admin"]


@dataclass(slots=True)
class Overlay:
    """The likes added and removed after start in one listing (a post's likers, a user's likes).

    ``added``: items liked since start, newest first; ``hidden``: base positions no longer liked.
    Each change remembers its source: ``api`` (POST/DELETE likes, shown only while the
    ``mutations_visible`` quirk is on) or ``admin`` (the world changing, always shown).
    """

    added: list[int] = field(default_factory=list)
    sources: dict[int, Source] = field(default_factory=dict)
    hidden: dict[int, Source] = field(default_factory=dict)

    def add(self, item: int, base_pos: int | None, source: Source) -> bool:
        if item in self.sources or (base_pos is not None and base_pos not in self.hidden):
            return False
        self.added.insert(0, item)
        self.sources[item] = source
        return True

    def remove(self, item: int, base_pos: int | None, source: Source) -> bool:
        if item in self.sources:
            self.added.remove(item)
            del self.sources[item]
            return True
        if base_pos is not None and base_pos not in self.hidden:
            self.hidden[base_pos] = source
            return True
        return False

    def view(self, visible: bool) -> tuple[list[int], Collection[int]]:
        """(added items, hidden positions), without the API's changes unless ``visible``."""
        if visible:
            return self.added, self.hidden
        added = [item for item in self.added if self.sources[item] != "api"]
        return added, {pos for pos, source in self.hidden.items() if source != "api"}


class Ids:
    """Invertible maps between indices and decimal id strings."""

    def __init__(self, seed: int, users: int, posts: int, me_id: str, explicit_posts: dict[int, str]) -> None:
        self.users = users
        self.posts = posts
        self.me_index = users
        self.me_id = me_id
        self.old_perm = AffinePerm(OLD_USER_M, seed * 7919 + 1)
        self.new_perm = AffinePerm(NEW_USER_M, seed * 7919 + 2)
        self._post = AffinePerm(POST_M, seed * 7919 + 3)
        raw = self._user_raw_decode(int(me_id))
        self.user_collision = raw if raw is not None and raw < users else None
        self._user_collision_id = self._user_raw(users + 1)
        self.explicit_posts = dict(explicit_posts)
        self._by_explicit = {v: k for k, v in explicit_posts.items()}
        if len(self._by_explicit) != len(explicit_posts):
            raise ValueError("featured post ids must be distinct")
        self._post_remap: dict[int, int] = {}
        self._post_remap_back: dict[int, int] = {}
        for t, value in enumerate(sorted(int(v) for v in explicit_posts.values())):
            i = self._post_raw_decode(value)
            if i is not None and i < posts and i not in explicit_posts:
                replacement = self._post_raw(posts + 1 + t)
                self._post_remap[i] = replacement
                self._post_remap_back[replacement] = i

    # users
    def _user_raw(self, i: int) -> int:
        q, r = divmod(i, 4)
        if r == 0:
            return OLD_USER_OFF + self.old_perm.fwd(q)
        return NEW_USER_OFF + self.new_perm.fwd(q * 3 + r - 1)

    def _user_raw_decode(self, v: int) -> int | None:
        if OLD_USER_OFF <= v < OLD_USER_OFF + OLD_USER_M:
            return 4 * self.old_perm.inv(v - OLD_USER_OFF)
        if NEW_USER_OFF <= v < NEW_USER_OFF + NEW_USER_M:
            j = self.new_perm.inv(v - NEW_USER_OFF)
            q, r = divmod(j, 3)
            return q * 4 + r + 1
        return None

    def user_id(self, i: int) -> str:
        if i == self.me_index:
            return self.me_id
        if i == self.user_collision:
            return str(self._user_collision_id)
        return str(self._user_raw(i))

    def user_index(self, user_id: str) -> int | None:
        if user_id == self.me_id:
            return self.me_index
        v = int(user_id)
        if self.user_collision is not None and v == self._user_collision_id:
            return self.user_collision
        i = self._user_raw_decode(v)
        if i is None or i >= self.users or i == self.user_collision:
            return None
        return i

    # posts
    def _post_raw(self, i: int) -> int:
        return POST_OFF + self._post.fwd(i)

    def _post_raw_decode(self, v: int) -> int | None:
        if POST_OFF <= v < POST_OFF + POST_M:
            return self._post.inv(v - POST_OFF)
        return None

    def post_id(self, i: int) -> str:
        explicit = self.explicit_posts.get(i)
        if explicit is not None:
            return explicit
        return str(self._post_remap.get(i) or self._post_raw(i))

    def post_index(self, post_id: str) -> int | None:
        i = self._by_explicit.get(post_id)
        if i is not None:
            return i
        v = int(post_id)
        if v in self._post_remap_back:
            return self._post_remap_back[v]
        i = self._post_raw_decode(v)
        if i is None or i >= self.posts or i in self.explicit_posts or i in self._post_remap:
            return None
        return i


class World:
    """The derived world plus the overlay of likes mutations made through the API."""

    def __init__(
        self,
        seed: int,
        users: int,
        posts: int,
        featured: list[tuple[str | None, int]],
        me_id: str,
        me_username: str,
        me_name: str,
        me_likes: int,
    ) -> None:
        self.seed = seed
        self.featured_counts = [count for _, count in featured]
        self.n_featured = f = len(featured)
        biggest = max(self.featured_counts, default=0)
        self.n_users = max(users, biggest + 1, 10)
        self.ord_start = f + self.n_users
        self.n_posts = max(posts, self.ord_start + max(me_likes, 0) * 4 + 1_000_000)
        self.ord_size = self.n_posts - self.ord_start
        self.me_likes = max(0, min(me_likes, self.ord_size))
        self.me_username = me_username
        self.me_name = me_name
        explicit = {k: pid for k, (pid, _) in enumerate(featured) if pid is not None}
        self.ids = Ids(seed, self.n_users, self.n_posts, me_id, explicit)
        self.me = self.ids.me_index
        self._salt_user = mix64(seed * 0x1000193 + 11)
        tables = [[mix64(self._salt_user ^ (t << 16) ^ i) for i in range(4096)] for t in range(3)]
        self._user_tables: tuple[list[int], list[int], list[int]] = (tables[0], tables[1], tables[2])
        self._salt_post = mix64(seed * 0x1000193 + 12)
        self._salt_likes = mix64(seed * 0x1000193 + 13)
        self._me_perm = AffinePerm(self.ord_size, self._salt_likes ^ 0xFEED)
        self._featured_perms = [AffinePerm(self.n_users, self._salt_likes ^ (k * 31 + 7)) for k in range(f)]
        self._perm_cache: dict[int, AffinePerm] = {}
        self._user_basic_cache: dict[int, tuple[str, str, str]] = {}
        self._post_cache: dict[tuple[int, float], PostCore] = {}
        self.reset_mutations()

    # --- mutations --------------------------------------------------------------------------------
    def reset_mutations(self) -> None:
        """Forget every like made or removed after start (through the API or the admin API)."""
        self.generation = getattr(self, "generation", 0) + 1  # bumped by every change of an overlay
        self.post_likers: dict[int, Overlay] = {}  # post -> changes of its likers
        self.user_likes: dict[int, Overlay] = {}  # user -> changes of their liked posts
        self._fresh: dict[int, int] = {}  # post -> next permutation position for admin-added likers

    def _my_base_pos(self, post: int) -> int | None:
        if post < self.ord_start or self.me_likes == 0:
            return None
        k = self._me_perm.inv(post - self.ord_start)
        return k if k < self.me_likes else None

    def _liker_pos(self, post: int, user: int) -> int | None:
        """Where ``user`` sits among the base likers of ``post``; None when not one of them."""
        count = self.base_liker_count(post)
        slot = self._me_base_slot(post, count)
        if user == self.me:
            return slot
        if not 0 <= user < self.n_users:
            return None
        k = self._liker_perm(post).inv(user)
        if k >= count:
            return None
        return k + 1 if slot is not None and k >= slot else k

    def _liked_pos(self, user: int, post: int) -> int | None:
        """Where ``post`` sits in the base liked list of ``user``; None when not in it."""
        featured = self._featured_liked(user)
        if post < self.n_featured:
            return featured.index(post) if post in featured else None
        if post < self.ord_start:
            return None
        k = self._liked_perm(user).inv(post - self.ord_start)
        return len(featured) + k if k < self._derived_liked_count(user) else None

    def _overlay(self, overlays: dict[int, Overlay], key: int) -> Overlay:
        overlay = overlays.get(key)
        if overlay is None:
            overlay = overlays[key] = Overlay()
        return overlay

    def like(self, user: int, post: int, source: Source = "api") -> bool:
        """``user`` likes ``post`` now (head of both listings); False when both already said so."""
        changed = self._overlay(self.post_likers, post).add(user, self._liker_pos(post, user), source)
        changed |= self._overlay(self.user_likes, user).add(post, self._liked_pos(user, post), source)
        if changed:
            self.generation += 1
        return changed

    def unlike(self, user: int, post: int, source: Source = "api") -> bool:
        """``user`` no longer likes ``post``; False (no-op) when neither listing had it."""
        changed = self._overlay(self.post_likers, post).remove(user, self._liker_pos(post, user), source)
        changed |= self._overlay(self.user_likes, user).remove(post, self._liked_pos(user, post), source)
        if changed:
            self.generation += 1
        return changed

    def add_likers(self, post: int, count: int) -> list[int]:
        """``count`` users who never liked ``post`` like it now; returns them newest first."""
        perm, start = self._liker_perm(post), self.base_liker_count(post)
        position = self._fresh.get(post, start)  # positions >= the base count are not base likers
        added: list[int] = []
        while len(added) < count and position < self.n_users:
            user = perm.fwd(position)
            position += 1
            if self.like(user, post, "admin"):
                added.append(user)
        self._fresh[post] = position
        return added[::-1]

    def remove_likers(self, post: int, count: int) -> list[int]:
        """The ``count`` newest likers of ``post`` unlike it; returns them."""
        removed = self.likers(post, 0, count)
        for user in removed:
            self.unlike(user, post, "admin")
        return removed

    # --- likers of a post -------------------------------------------------------------------------
    def base_liker_count(self, post: int) -> int:
        if post < self.n_featured:
            return self.featured_counts[post]
        h = mix64(self._salt_likes ^ (post * 0x9E3779B1))
        r = h % 1000
        h2 = h >> 12
        if r < 250:
            n = 0
        elif r < 850:
            n = 1 + h2 % 60
        elif r < 990:
            n = 60 + h2 % 500
        else:
            n = 500 + h2 % 5000
        return min(n, self.n_users)

    def _liker_perm(self, post: int) -> AffinePerm:
        if post < self.n_featured:
            return self._featured_perms[post]
        perm = self._perm_cache.get(post)
        if perm is None:
            if len(self._perm_cache) > 4096:
                self._perm_cache.clear()
            perm = self._perm_cache[post] = AffinePerm(self.n_users, self._salt_likes ^ (post * 0x2545F491))
        return perm

    def _me_base_slot(self, post: int, count: int) -> int | None:
        """Where I sit among the base likers of ``post`` (ordinary posts I liked), else None."""
        if self._my_base_pos(post) is None:
            return None
        return mix64(self._salt_likes ^ post ^ 0xABCDEF) % (count + 1)

    def _liker_view(self, post: int, visible: bool) -> tuple[list[int], int, Collection[int], int | None]:
        """(likers added since start, base length, hidden base positions, my base slot)."""
        count = self.base_liker_count(post)
        slot = self._me_base_slot(post, count)
        overlay = self.post_likers.get(post)
        top, hidden = overlay.view(visible) if overlay is not None else ([], ())
        return top, count + (slot is not None), hidden, slot

    def liker_count(self, post: int, visible: bool = True) -> int:
        top, base_len, hidden, _ = self._liker_view(post, visible)
        return len(top) + base_len - len(hidden)

    def likers(self, post: int, offset: int, count: int, visible: bool = True) -> list[int]:
        """User indices of likers ``offset .. offset+count`` of ``post``, newest like first."""
        top, base_len, hidden, slot = self._liker_view(post, visible)
        perm = self._liker_perm(post)
        if slot is None and not top and not hidden:
            a, b, n = perm.a, perm.b, perm.n
            end = min(offset + count, base_len)
            return [(a * i + b) % n for i in range(offset, end)]

        def base_iter(start: int) -> Iterator[int]:
            if slot is None:
                yield from perm.iter_from(start)
                return
            pos = start
            derived = perm.iter_from(start if start <= slot else start - 1)
            while True:
                if pos == slot:
                    yield self.me
                else:
                    yield next(derived)
                pos += 1

        return _page(top, base_len, hidden, base_iter, offset, count)

    # --- liked posts of a user --------------------------------------------------------------------
    def _featured_liked(self, user: int) -> list[int]:
        if user == self.me:
            return []
        return [k for k, perm in enumerate(self._featured_perms) if perm.inv(user) < self.featured_counts[k]]

    def _derived_liked_count(self, user: int) -> int:
        if user == self.me:
            return self.me_likes
        h = mix64(self._salt_likes ^ (user * 0x632BE5AB) ^ 0x77)
        r = h % 100
        n = 0 if r < 15 else 1 + (h >> 8) % 80 if r < 80 else 80 + (h >> 8) % 700
        return min(n, self.ord_size)

    def _liked_perm(self, user: int) -> AffinePerm:
        if user == self.me:
            return self._me_perm
        key = -1 - user
        perm = self._perm_cache.get(key)
        if perm is None:
            if len(self._perm_cache) > 4096:
                self._perm_cache.clear()
            perm = self._perm_cache[key] = AffinePerm(self.ord_size, self._salt_likes ^ (user * 0x1B873593))
        return perm

    def _liked_view(self, user: int, visible: bool) -> tuple[list[int], Collection[int]]:
        overlay = self.user_likes.get(user)
        return overlay.view(visible) if overlay is not None else ([], ())

    def liked_count(self, user: int, visible: bool = True) -> int:
        top, hidden = self._liked_view(user, visible)
        return len(top) + len(self._featured_liked(user)) + self._derived_liked_count(user) - len(hidden)

    def liked(self, user: int, offset: int, count: int, visible: bool = True) -> list[int]:
        """Post indices ``offset .. offset+count`` liked by ``user``, newest like first."""
        featured = self._featured_liked(user)
        derived_len = self._derived_liked_count(user)
        perm = self._liked_perm(user)
        ord_start, nf = self.ord_start, len(featured)

        def base_iter(start: int) -> Iterator[int]:
            pos = start
            while pos < nf:
                yield featured[pos]
                pos += 1
            for x in perm.iter_from(pos - nf):
                yield ord_start + x

        top, hidden = self._liked_view(user, visible)
        return _page(top, nf + derived_len, hidden, base_iter, offset, count)

    # --- users ------------------------------------------------------------------------------------
    def user_hash(self, user: int) -> int:
        """64-bit tabulation hash of a user index (three lookups; the hot path needs it cheap)."""
        t0, t1, t2 = self._user_tables
        return t0[user & 4095] ^ t1[(user >> 12) & 4095] ^ t2[(user >> 24) & 4095]

    def user_basic(self, user: int) -> tuple[str, str, str]:
        """(id, name, username) of a user."""
        return self.user_basics([user])[0]

    def user_basics(self, users: list[int]) -> list[tuple[str, str, str]]:
        """(id, name, username) of many users."""
        return cast(list[tuple[str, str, str]], self._basics(users, False))

    def user_fragments(self, users: list[int]) -> list[str]:
        """JSON texts ``{"id","name","username"}`` of many users (default user fields)."""
        return cast(list[str], self._basics(users, True))

    def _basics(self, users: list[int], as_json: bool) -> list[tuple[str, str, str]] | list[str]:
        # the hot path of liking_users: everything inline, small-int arithmetic where possible
        out: list[Any] = []
        append = out.append
        ids = self.ids
        me, collision = self.me, ids.user_collision
        t0, t1, t2 = self._user_tables
        old, new = ids.old_perm, ids.new_perm
        old_a, old_b, old_n = old.a, old.b, old.n
        new_a, new_b, new_n = new.a, new.b, new.n
        names, underscored, plain = _NAME_TABLES.full, _NAME_TABLES.underscored, _NAME_TABLES.plain
        name_json = _NAME_TABLES.json
        nf, nl, ns = len(FIRST_NAMES), len(LAST_NAMES), len(NAME_SUFFIXES)
        for u in users:
            if u in (me, collision):
                uid = ids.user_id(u)
            elif u & 3:
                uid = str(NEW_USER_OFF + (new_a * (3 * (u >> 2) + (u & 3) - 1) + new_b) % new_n)
            else:
                uid = str(OLD_USER_OFF + (old_a * (u >> 2) + old_b) % old_n)
            if u == me:
                name, handle = self.me_name, self.me_username
            else:
                h = t0[u & 4095] ^ t1[(u >> 12) & 4095] ^ t2[(u >> 24) & 4095]
                f = h % nf
                last = (h >> 8) % nl
                name = names[f][last][(h >> 16) % ns]
                handle = plain[f][last] + str((h >> 28) % 100000) if (h >> 24) & 3 else underscored[f][last]
            if as_json:
                nj = name_json.get(name) or msgspec.json.encode(name).decode()
                append(f'{{"id":"{uid}","name":{nj},"username":"{handle}"}}')
            else:
                append((uid, name, handle))
        return out

    def user_created(self, user: int) -> int:
        if user == self.me:
            return 1390000000 + int(self.ids.me_id) % 100_000_000
        uid = int(self.ids.user_id(user))
        if uid >= NEW_USER_OFF:
            return snowflake_seconds(uid)
        return 1167609600 + self.user_hash(user) % (7 * 365 * 86400)

    def profile_post(self, user: int) -> int | None:
        """The user's pinned / most recent post (None for some users)."""
        if user == self.me:
            return 0 if self.n_featured else None
        if self.user_hash(user) % 10 >= 6:
            return None
        return self.n_featured + user

    # --- posts ------------------------------------------------------------------------------------
    def post_author(self, post: int) -> int:
        if post < self.n_featured:
            return self.me
        if post < self.ord_start:
            return post - self.n_featured
        return mix64(self._salt_post ^ (post * 0x27D4EB2F) ^ 1) % self.n_users

    def post(self, index: int, partial_errors: float = 0.0) -> PostCore:
        """The post with index ``index`` (cached, bounded)."""
        key = (index, partial_errors)
        cached = self._post_cache.get(key)
        if cached is not None:
            return cached
        core = self._make_post(index, partial_errors)
        if len(self._post_cache) >= 32768:
            self._post_cache.clear()
        self._post_cache[key] = core
        return core

    def _random_ordinary(self, h: int, avoid: int) -> int:
        p = self.ord_start + h % self.ord_size
        return p if p != avoid else self.ord_start + (p + 1 - self.ord_start) % self.ord_size

    def _make_post(self, index: int, partial_errors: float) -> PostCore:
        h = mix64(self._salt_post ^ (index * 0x165667B1))
        h2, h3, h4 = mix64(h ^ 2), mix64(h ^ 3), mix64(h ^ 4)
        post_id = self.ids.post_id(index)
        author, created = self.post_author(index), snowflake_seconds(int(post_id))
        core = PostCore(index=index, id=post_id, author=author, created=created, text="", h=h)
        text = _Text()
        self._post_reference(core, text, h, h2, h3, partial_errors)
        self._post_words(core, text, h3, h4, partial_errors)
        self._post_media(core, text, h4)
        if (h >> 40) % 100 < 6:
            core.place = (h >> 48) % len(PLACES)
        core.text = "".join(text.parts)
        return core

    def _post_reference(self, core: PostCore, text: _Text, h: int, h2: int, h3: int, partial_errors: float) -> None:
        """Reply, quote or repost of another post (``partial_errors``: one deleted since), its
        author mentioned at the start of replies and reposts."""
        # 0-59 plain, 60-77 reply, 78-91 quote, 92-99 retweet; featured and profile posts are plain
        kind = h % 100 if core.index >= self.ord_start else 0
        if kind < 60:
            return
        ref = self._random_ordinary(h2, core.index)
        core.ref_type = "replied_to" if kind < 78 else "quoted" if kind < 92 else "retweeted"
        if chance(h3, partial_errors):
            core.ref_id, core.ref_index = str(POST_OFF - 1 - h3 % 10**16), None
        else:
            core.ref_id, core.ref_index = self.ids.post_id(ref), ref
        ref_author = self.post_author(ref)
        if core.ref_type == "quoted":
            return
        if core.ref_type == "replied_to":
            core.reply_to_user = ref_author
        else:
            text.add("RT ")
        uname = self.user_basic(ref_author)[2]
        s, e = text.add("@" + uname)
        core.mentions.append(Mention(s, e, uname, ref_author))
        text.add(" " if core.ref_type == "replied_to" else ": ")

    def _post_words(self, core: PostCore, text: _Text, h3: int, h4: int, partial_errors: float) -> None:
        """The words, a hashtag, and a mention (``partial_errors``: of a suspended account)."""
        for k in range(5 + h3 % 18):
            if k:
                text.add(" ")
            text.add(WORDS[(h4 >> (k % 13) * 4 ^ k * 7) % len(WORDS)] if k else WORDS[h4 % len(WORDS)].capitalize())
        if h3 % 3 == 0:
            text.add(" ")
            tag = HASHTAGS[(h3 >> 8) % len(HASHTAGS)]
            s, e = text.add("#" + tag)
            core.hashtags.append((s, e, tag))
        if h3 % 5 == 1:
            text.add(" cc ")
            if chance(h3 >> 20, partial_errors):
                uname, other = "suspended_" + str((h3 >> 24) % 100000), None
            else:
                other = mix64(h3 ^ 9) % self.n_users
                uname = self.user_basic(other)[2]
            s, e = text.add("@" + uname)
            core.mentions.append(Mention(s, e, uname, other))

    @staticmethod
    def _post_media(core: PostCore, text: _Text, h4: int) -> None:
        """Photos, a video, a GIF or a poll; a link (to the media, or to a page) at the end."""
        m = h4 % 100
        if m < 22:
            count = 1 + (h4 >> 8) % 4 if m < 16 else 1
            kind_m = "photo" if m < 16 else ("video" if m < 20 else "animated_gif")
            core.media_types = tuple([kind_m] * count)
        elif m < 25:
            core.poll = True
        if core.media_types or h4 % 7 == 0:
            url = t_co(h4 >> 3)
            text.add(" ")
            s, e = text.add(url)
            display = "pic.x.com/" + url[-10:] if core.media_types else "example.com/posts/" + core.id[-6:]
            core.urls.append((s, e, url, display))


class _Text:
    """A post's text as it is built: each added piece's (start, end) in characters."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0

    def add(self, piece: str) -> tuple[int, int]:
        start = self.length
        self.parts.append(piece)
        self.length += len(piece)
        return start, self.length


def _page(
    top: list[int],
    base_len: int,
    hidden: Collection[int],
    base_iter: Callable[[int], Iterator[int]],
    offset: int,
    count: int,
) -> list[int]:
    """Items ``offset .. offset+count`` of ``top + [base minus hidden positions]``."""
    out: list[int] = []
    if offset < len(top):
        out.extend(top[offset : offset + count])
    need = count - len(out)
    if need <= 0:
        return out
    b = max(0, offset - len(top))
    pos = b
    for h in sorted(hidden):
        if h <= pos:
            pos += 1
        else:
            break
    if pos >= base_len:
        return out
    it = base_iter(pos)
    while need > 0 and pos < base_len:
        x = next(it)
        if pos not in hidden:
            out.append(x)
            need -= 1
        pos += 1
    return out
