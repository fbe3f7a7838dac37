"""Rendering of users, posts, media, polls and places with field selection, naming and includes.

Over 400 lines because each object kind's renderer (user, post, media, poll, place) and the
includes refer to each other's fields and expansions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_xlikes import _spec
from airflow_provider_xlikes.sandbox.errors import not_found
from airflow_provider_xlikes.sandbox.vocabulary import CONTEXT_ANNOTATIONS, LOCATIONS, PLACES, WORDS
from airflow_provider_xlikes.sandbox.world import POST_OFF, PostCore, World, chance, iso, mix64, t_co

Obj = dict[str, Any]

#: the "post" spelling of each expansion with a "tweet" counterpart -> the "tweet" one (used internally)
TWEET_NAME_OF_EXPANSION: dict[str, str] = {
    post: tweet for kind in ("user_expansions", "tweet_expansions") for tweet, post in _spec.COUNTERPARTS[kind]
}
USER_FIELD_ORDER = (
    "created_at",
    "description",
    "entities",
    "location",
    "pinned_tweet_id",
    "most_recent_tweet_id",
    "profile_image_url",
    "profile_banner_url",
    "protected",
    "public_metrics",
    "url",
    "verified",
    "verified_type",
    "verified_followers_count",
    "is_identity_verified",
    "parody",
    "affiliation",
    "connection_status",
    "receives_your_dm",
    "subscription_type",
    "subscription",
    "subscribes_to_you",
    "confirmed_email",
    "withheld",
)
POST_FIELD_ORDER = (
    "author_id",
    "created_at",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "attachments",
    "geo",
    "lang",
    "possibly_sensitive",
    "public_metrics",
    "reply_settings",
    "source",
    "entities",
    "context_annotations",
    "edit_controls",
    "display_text_range",
    "scopes",
    "note_tweet",
    "note_post",
    "withheld",
)


@dataclass
class Includes:
    """Collects expanded objects in first-seen order, deduplicated, plus partial errors."""

    users: dict[int, None] = field(default_factory=dict)
    posts: dict[int, None] = field(default_factory=dict)
    media: dict[tuple[int, int], None] = field(default_factory=dict)
    polls: dict[int, None] = field(default_factory=dict)
    places: dict[int, None] = field(default_factory=dict)
    errors: list[Obj] = field(default_factory=list)
    _error_keys: set[tuple[str, str]] = field(default_factory=set)

    def error(self, key: tuple[str, str], err: Obj) -> None:
        if key not in self._error_keys:
            self._error_keys.add(key)
            self.errors.append(err)


class Renderer:
    """Turns world objects into API JSON objects for one request's field selection and naming."""

    def __init__(
        self,
        world: World,
        naming: str,
        partial_errors: float,
        visible: bool = True,
        user_fields: frozenset[str] = frozenset(),
        tweet_fields: frozenset[str] = frozenset(),
        media_fields: frozenset[str] = frozenset(),
        poll_fields: frozenset[str] = frozenset(),
        place_fields: frozenset[str] = frozenset(),
        now: float | None = None,
    ) -> None:
        self.w = world
        self.naming = naming
        self.post_naming = naming == "post"
        self.partial = partial_errors
        self.visible = visible
        self.user_extra = [f for f in USER_FIELD_ORDER if f in user_fields]
        self.tweet_extra = [f for f in POST_FIELD_ORDER if f in tweet_fields]
        self.media_fields = media_fields
        self.poll_fields = poll_fields
        self.place_fields = place_fields
        self.now = time.time() if now is None else now

    # --- users ------------------------------------------------------------------------------------
    def pinned(self, user: int) -> tuple[str, int | None] | None:
        """(pinned post id, index or None when deleted) of a user."""
        post = self.w.profile_post(user)
        if post is None:
            return None
        h = self.w.user_hash(user)
        if user != self.w.me and chance(h >> 3, self.partial):
            return str(POST_OFF - 2 - (h >> 3) % 10**16), None
        return self.w.ids.post_id(post), post

    def affiliation_user(self, user: int) -> int | None:
        if user == self.w.me:
            return None
        h = self.w.user_hash(user)
        if h % 40 != 3:
            return None
        return mix64(h ^ 0xAF) % self.w.n_users

    def user(self, user: int) -> Obj:
        uid, name, username = self.w.user_basic(user)
        d: Obj = {"id": uid, "name": name, "username": username}
        if not self.user_extra:
            return d
        view = UserView(user, uid, username, self.w.user_hash(user), user == self.w.me)
        for f in self.user_extra:
            render = USER_FIELDS.get(f)
            value = None if render is None else render(self, view)
            if value is not None:  # a field the user has none of is left out, as X does
                d[f.replace("tweet", "post") if self.post_naming and f in PINNED_FIELDS else f] = value
        return d

    def _user_entities(self, u: UserView) -> Obj | None:
        ent: Obj = {}
        desc, tag_span = self._description(u.h)
        if tag_span is not None:
            tag = {"start": tag_span[0], "end": tag_span[1], "tag": desc[tag_span[0] + 1 : tag_span[1]]}
            ent["description"] = {"hashtags": [tag]}
        if u.h % 3 == 0:
            url = t_co(u.h >> 5)
            handle = u.username.lower()
            ent["url"] = {
                "urls": [
                    {
                        "start": 0,
                        "end": len(url),
                        "url": url,
                        "expanded_url": f"https://example.com/{handle}",
                        "display_url": f"example.com/{handle}",
                    }
                ]
            }
        return ent or None

    def _user_public_metrics(self, u: UserView) -> Obj:
        h = u.h
        pm: Obj = {
            "followers_count": (h >> 9) % 50_000 if h % 11 else (h >> 9) % 5_000_000,
            "following_count": (h >> 13) % 3000,
            ("post_count" if self.post_naming else "tweet_count"): (h >> 17) % 40_000,
            "listed_count": (h >> 21) % 400,
            "like_count": self.w.liked_count(u.index, self.visible),
        }
        if self.post_naming:
            pm["media_count"] = (h >> 25) % 900
        return pm

    def _user_affiliation(self, u: UserView) -> Obj | None:
        org = self.affiliation_user(u.index)
        if org is None:
            return None
        return {
            "description": "Sandbox Labs",
            "url": "https://example.com/sandbox-labs",
            "badge_url": "https://pbs.twimg.com/semantic_core_img/1/badge.png",
            "user_id": [self.w.ids.user_id(org)],
        }

    def _pinned_id(self, u: UserView) -> str | None:
        pinned = self.pinned(u.index)
        return None if pinned is None else pinned[0]

    @staticmethod
    def _description(h: int) -> tuple[str, tuple[int, int] | None]:
        words = [WORDS[(h >> (3 * k)) % len(WORDS)] for k in range(4 + h % 8)]
        text = " ".join(words).capitalize() + "."
        if h % 4 == 1:
            start = len(text) + 1
            text += " #" + "DataEngineering"
            return text, (start, len(text))
        return text, None

    # --- posts ------------------------------------------------------------------------------------
    def post(self, index: int) -> Obj:
        core = self.w.post(index, self.partial)
        ids_key = "edit_history_post_ids" if self.post_naming else "edit_history_tweet_ids"
        d: Obj = {"id": core.id, "text": core.text, ids_key: [core.id]}
        if not self.tweet_extra:
            return d
        view = PostView(index, core, core.h)
        for f in self.tweet_extra:
            render = POST_FIELDS.get(f)
            value = None if render is None else render(self, view)
            if value is not None:  # a field the post has none of is left out, as X does
                d["referenced_posts" if self.post_naming and f == "referenced_tweets" else f] = value
        return d

    def _attachments(self, p: PostView) -> Obj | None:
        core = p.core
        att: Obj = {}
        if core.media_types:
            att["media_keys"] = [self.media_key(core, k) for k in range(len(core.media_types))]
        if core.poll:
            att["poll_ids"] = [self.poll_id(core)]
        return att or None

    def _post_public_metrics(self, p: PostView) -> Obj:
        h = p.h
        likes = self.w.liker_count(p.index, self.visible)
        return {
            ("repost_count" if self.post_naming else "retweet_count"): (h >> 3) % (likes // 4 + 2),
            "reply_count": (h >> 7) % (likes // 8 + 2),
            "like_count": likes,
            "quote_count": (h >> 11) % (likes // 20 + 2),
            "bookmark_count": (h >> 15) % (likes // 10 + 2),
            "impression_count": likes * 40 + (h >> 19) % 5000,
        }

    def _context_annotations(self, p: PostView) -> list[Obj] | None:
        h = p.h
        if h % 3:
            return None
        chosen = (CONTEXT_ANNOTATIONS[(h >> (29 + 3 * k)) % len(CONTEXT_ANNOTATIONS)] for k in range(1 + (h >> 27) % 2))
        return [
            {"domain": {"id": dom[0], "name": dom[1], "description": dom[2]}, "entity": {"id": ent[0], "name": ent[1]}}
            for dom, ent in chosen
        ]

    def _display_text_range(self, p: PostView) -> list[int]:
        core = p.core
        start = core.mentions[0].end + 1 if core.ref_type == "replied_to" and core.mentions else 0
        return [start, len(core.text)]

    def _entities(self, core: PostCore) -> Obj:
        ent: Obj = {}
        if core.hashtags:
            ent["hashtags"] = [{"start": s, "end": e, "tag": t} for s, e, t in core.hashtags]
        if core.mentions:
            mentions = []
            for m in core.mentions:
                item: Obj = {"start": m.start, "end": m.end, "username": m.username}
                if m.user is not None:
                    item["id"] = self.w.ids.user_id(m.user)
                mentions.append(item)
            ent["mentions"] = mentions
        if core.urls:
            urls = []
            for s, e, url, display in core.urls:
                item = {"start": s, "end": e, "url": url, "expanded_url": "https://" + display, "display_url": display}
                if core.media_types:
                    item["media_key"] = self.media_key(core, 0)
                    item["expanded_url"] = f"https://x.com/i/status/{core.id}/photo/1"
                urls.append(item)
            ent["urls"] = urls
        return ent

    # --- media, polls, places -----------------------------------------------------------------------
    @staticmethod
    def media_key(core: PostCore, k: int) -> str:
        code = {"photo": 3, "video": 7, "animated_gif": 16}[core.media_types[k]]
        return f"{code}_{int(core.id) + k + 1}"

    @staticmethod
    def poll_id(core: PostCore) -> str:
        return str(int(core.id) + 11)

    def media(self, post: int, k: int) -> Obj:
        core = self.w.post(post, self.partial)
        kind = core.media_types[k]
        h = mix64(core.h ^ (k + 101))
        d: Obj = {"media_key": self.media_key(core, k), "type": kind}
        mf = self.media_fields
        width, height = (1200, 675) if h % 2 else (1080, 1350)
        key = f"{int(core.id) + k + 1}"
        if "width" in mf:
            d["width"] = width
        if "height" in mf:
            d["height"] = height
        if kind == "photo":
            if "url" in mf:
                d["url"] = f"https://pbs.twimg.com/media/{t_co(h)[-10:]}.jpg"
            if "alt_text" in mf and h % 3 == 0:
                d["alt_text"] = "A chart of records per second"
        else:
            if "preview_image_url" in mf:
                d["preview_image_url"] = f"https://pbs.twimg.com/ext_tw_video_thumb/{key}/pu/img/{t_co(h)[-10:]}.jpg"
            if "variants" in mf:
                if kind == "video":
                    d["variants"] = [
                        {
                            "content_type": "application/x-mpegURL",
                            "url": f"https://video.twimg.com/ext_tw_video/{key}/pu/pl/playlist.m3u8",
                        },
                        {
                            "bit_rate": 832000,
                            "content_type": "video/mp4",
                            "url": f"https://video.twimg.com/ext_tw_video/{key}/pu/vid/640x360/clip.mp4",
                        },
                    ]
                else:
                    d["variants"] = [
                        {
                            "bit_rate": 0,
                            "content_type": "video/mp4",
                            "url": f"https://video.twimg.com/tweet_video/{t_co(h)[-10:]}.mp4",
                        }
                    ]
            if kind == "video":
                if "duration_ms" in mf:
                    d["duration_ms"] = 5000 + h % 120_000
                if "public_metrics" in mf:
                    d["public_metrics"] = {"view_count": (h >> 5) % 100_000}
        return d

    def poll(self, post: int) -> Obj:
        core = self.w.post(post, self.partial)
        h = mix64(core.h ^ 0x9011)
        n = 2 + h % 3
        d: Obj = {
            "id": self.poll_id(core),
            "options": [
                {"position": i + 1, "label": WORDS[(h >> (4 * i + 3)) % len(WORDS)], "votes": (h >> (5 * i)) % 500}
                for i in range(n)
            ],
        }
        pf = self.poll_fields
        end = core.created + 1440 * 60
        if "duration_minutes" in pf:
            d["duration_minutes"] = 1440
        if "end_datetime" in pf:
            d["end_datetime"] = iso(end)
        if "voting_status" in pf:
            d["voting_status"] = "closed" if end < self.now else "open"
        return d

    def place(self, index: int) -> Obj:
        p = PLACES[index]
        d: Obj = {"full_name": p["full_name"], "id": p["id"]}
        pf = self.place_fields
        for key in ("name", "country", "country_code", "place_type"):
            if key in pf:
                d[key] = p[key]
        if "geo" in pf:
            d["geo"] = {"type": "Feature", "bbox": p["bbox"], "properties": {}}
        return d

    # --- expansions -------------------------------------------------------------------------------
    def expand_users(self, users: list[int], expansions: frozenset[str], inc: Includes) -> None:
        """User expansions (liking_users, users/me)."""
        pinned = "pinned_tweet_id" in expansions
        recent = "most_recent_tweet_id" in expansions
        affil = "affiliation.user_id" in expansions
        for u in users:
            if pinned or recent:
                p = self.pinned(u)
                if p is not None:
                    if p[1] is not None:
                        inc.posts[p[1]] = None
                    else:
                        for name, wanted in (("pinned_tweet_id", pinned), ("most_recent_tweet_id", recent)):
                            if wanted:
                                self._not_found(inc, name, p[0], "tweet")
            if affil:
                org = self.affiliation_user(u)
                if org is not None:
                    inc.users[org] = None

    def expand_posts(self, posts: list[int], expansions: frozenset[str], inc: Includes) -> None:
        """Post expansions (liked_tweets)."""
        e = expansions
        for p in posts:
            core = self.w.post(p, self.partial)
            if "author_id" in e:
                inc.users[core.author] = None
            if "in_reply_to_user_id" in e and core.reply_to_user is not None:
                inc.users[core.reply_to_user] = None
            if "entities.mentions.username" in e:
                for m in core.mentions:
                    if m.user is not None:
                        inc.users[m.user] = None
                    else:
                        # as seen: title "Forbidden" with type resource-not-found
                        parameter = "entities.mentions.username"
                        detail = f"User has been suspended: [{m.username}]."
                        found = not_found(self.naming, "user", parameter, m.username, "Forbidden", detail)
                        inc.error((parameter, m.username), found)
            if "edit_history_tweet_ids" in e:
                inc.posts[p] = None
            if core.ref_type is not None and core.ref_id is not None:
                if core.ref_index is None:
                    if "referenced_tweets.id" in e:
                        self._not_found(inc, "referenced_tweets.id", core.ref_id, "tweet")
                else:
                    if "referenced_tweets.id" in e:
                        inc.posts[core.ref_index] = None
                    ref = self.w.post(core.ref_index, self.partial)
                    if "referenced_tweets.id.author_id" in e:
                        inc.users[ref.author] = None
                    if "referenced_tweets.id.attachments.media_keys" in e:
                        for k in range(len(ref.media_types)):
                            inc.media[(core.ref_index, k)] = None
            if "attachments.media_keys" in e:
                for k in range(len(core.media_types)):
                    inc.media[(p, k)] = None
            if "attachments.poll_ids" in e and core.poll:
                inc.polls[p] = None
            if "geo.place_id" in e and core.place is not None:
                inc.places[core.place] = None

    def _not_found(self, inc: Includes, parameter: str, value: str, resource_type: str) -> None:
        inc.error((parameter, value), not_found(self.naming, resource_type, parameter, value))

    def includes(self, inc: Includes) -> Obj:
        """The ``includes`` object (keys only for non-empty lists, as the real API)."""
        out: Obj = {}
        if inc.users:
            out["users"] = [self.user(u) for u in inc.users]
        if inc.posts:
            out["posts" if self.post_naming else "tweets"] = [self.post(p) for p in inc.posts]
        if inc.media:
            out["media"] = [self.media(p, k) for p, k in inc.media]
        if inc.polls:
            out["polls"] = [self.poll(p) for p in inc.polls]
        if inc.places:
            out["places"] = [self.place(p) for p in inc.places]
        return out


def canonical_expansions(names: frozenset[str]) -> frozenset[str]:
    """Map the "post" spellings of expansions onto the "tweet" ones used internally."""
    return frozenset(TWEET_NAME_OF_EXPANSION.get(n, n) for n in names)


@dataclass(slots=True)
class UserView:
    """What a user's field renderers read: the world index, id, username, seeded hash, whether it is
    the authenticated user."""

    index: int
    uid: str
    username: str
    h: int
    is_me: bool


@dataclass(slots=True)
class PostView:
    """What a post's field renderers read: the world index, its core and seeded hash."""

    index: int
    core: PostCore
    h: int


#: ``pinned_tweet_id`` and ``most_recent_tweet_id``: ``..._post_id`` under the "post" naming
PINNED_FIELDS = frozenset({"pinned_tweet_id", "most_recent_tweet_id"})

#: each user field's renderer (``None``: the user has none; the field is left out)
USER_FIELDS: dict[str, Callable[[Renderer, UserView], object]] = {
    "created_at": lambda r, u: iso(r.w.user_created(u.index)),
    "description": lambda r, u: r._description(u.h)[0],
    "entities": Renderer._user_entities,
    "location": lambda r, u: LOCATIONS[(u.h >> 7) % len(LOCATIONS)] if u.h % 5 < 3 else None,
    "pinned_tweet_id": Renderer._pinned_id,
    "most_recent_tweet_id": Renderer._pinned_id,
    "profile_image_url": lambda r, u: (
        f"https://pbs.twimg.com/profile_images/{1_100_000_000_000_000_000 + u.h % 10**17}/"
        f"{t_co(u.h >> 11)[-8:]}_normal.jpg"
    ),
    "profile_banner_url": lambda r, u: (
        f"https://pbs.twimg.com/profile_banners/{u.uid}/{1_500_000_000 + u.h % 10**8}" if u.h % 2 == 0 else None
    ),
    "protected": lambda r, u: False,
    "public_metrics": Renderer._user_public_metrics,
    "url": lambda r, u: t_co(u.h >> 5) if u.h % 3 == 0 else "",
    "verified": lambda r, u: u.h % 20 == 0 or u.is_me,
    "verified_type": lambda r, u: "blue" if (u.h % 20 == 0 or u.is_me) else "none",
    "verified_followers_count": lambda r, u: (u.h >> 29) % 2000,
    "is_identity_verified": lambda r, u: u.h % 20 == 0,
    "parody": lambda r, u: u.h % 97 == 5,
    "affiliation": Renderer._user_affiliation,
    "connection_status": lambda r, u: ["followed_by"] if u.h % 4 == 0 else [],
    "receives_your_dm": lambda r, u: u.h % 3 != 0,
    "subscription_type": lambda r, u: "None",
    "subscription": lambda r, u: {"subscribes_to_you": False},
    "subscribes_to_you": lambda r, u: False,
    "confirmed_email": lambda r, u: f"{u.username.lower()}@example.com" if u.is_me else None,
}

#: each post field's renderer (``None``: the post has none; the field is left out)
POST_FIELDS: dict[str, Callable[[Renderer, PostView], object]] = {
    "author_id": lambda r, p: r.w.ids.user_id(p.core.author),
    "created_at": lambda r, p: iso(p.core.created),
    "conversation_id": lambda r, p: p.core.ref_id if p.core.ref_type == "replied_to" and p.core.ref_id else p.core.id,
    "in_reply_to_user_id": lambda r, p: None if p.core.reply_to_user is None else r.w.ids.user_id(p.core.reply_to_user),
    "referenced_tweets": lambda r, p: (
        [{"type": p.core.ref_type, "id": p.core.ref_id}]
        if p.core.ref_type is not None and p.core.ref_id is not None
        else None
    ),
    "attachments": Renderer._attachments,
    "geo": lambda r, p: None if p.core.place is None else {"place_id": PLACES[p.core.place]["id"]},
    "lang": lambda r, p: "en",
    "possibly_sensitive": lambda r, p: p.h % 50 == 7,
    "public_metrics": Renderer._post_public_metrics,
    "reply_settings": lambda r, p: "everyone",
    "source": lambda r, p: ("Twitter Web App", "Twitter for iPhone", "Twitter for Android")[(p.h >> 23) % 3],
    "entities": lambda r, p: r._entities(p.core) or None,
    "context_annotations": Renderer._context_annotations,
    "edit_controls": lambda r, p: {
        "edits_remaining": 5,
        "is_edit_eligible": p.core.ref_type is None,
        "editable_until": iso(p.core.created + 3600),
    },
    "display_text_range": Renderer._display_text_range,
    "scopes": lambda r, p: {"followers": False},
}
