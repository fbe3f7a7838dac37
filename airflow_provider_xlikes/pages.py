"""One page of a listing, as the API sent it, and the joins of its ``includes``.

Records are passed through unchanged (broken Unicode aside: replaced and counted, see
:mod:`airflow_provider_xlikes.broken_unicode`). :meth:`Page.from_payload` checks the shape the API promises
(``data`` a list of objects, ``includes`` an object of lists of objects, ``errors`` a list of
objects, ``meta`` an object with ``result_count``): anything else is a
:class:`~airflow_provider_xlikes.exceptions.XMalformedResponseError` (retried, then raised), never
data and never the end of a listing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_xlikes.exceptions import XMalformedResponseError

if TYPE_CHECKING:
    from airflow_provider_xlikes.rate_limits import RateLimit

Record = dict[str, Any]


def _objects(value: object, where: str, endpoint: str, status: int) -> list[Record]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise XMalformedResponseError(
            status, endpoint=endpoint, title="Malformed response", detail=f"{where} is not a list of objects"
        )
    return value


@dataclass(frozen=True)
class Page:
    """One page of a listing.

    ``pagination_token`` is the cursor this page was fetched with (``None`` for the first page);
    ``next_token`` the cursor of the page after it, ``None`` on the last page. ``broken_unicode``:
    the objects of the page (records, includes, errors) whose broken Unicode was replaced with U+FFFD.
    """

    data: list[Record]
    includes: dict[str, list[Record]]
    errors: list[Record]
    meta: dict[str, Any]
    number: int = 1
    pagination_token: str | None = None
    rate_limit: RateLimit | None = None
    broken_unicode: int = 0

    @classmethod
    def from_payload(
        cls,
        payload: Mapping[str, Any],
        *,
        endpoint: str = "",
        status: int = 200,
        number: int = 1,
        pagination_token: str | None = None,
        rate_limit: RateLimit | None = None,
        broken_unicode: int = 0,
    ) -> Page:
        """Build a page from a decoded body; raise ``XMalformedResponseError`` for a body of another shape."""
        meta = payload.get("meta")
        if not isinstance(meta, dict) or not isinstance(meta.get("result_count"), int):
            raise XMalformedResponseError(
                status, endpoint=endpoint, title="Malformed response", detail="no meta.result_count in a listing page"
            )
        includes = payload.get("includes") or {}
        if not isinstance(includes, dict):
            raise XMalformedResponseError(
                status, endpoint=endpoint, title="Malformed response", detail="includes is not an object"
            )
        return cls(
            data=_objects(payload.get("data"), "data", endpoint, status),
            includes={str(k): _objects(v, f"includes.{k}", endpoint, status) for k, v in includes.items()},
            errors=_objects(payload.get("errors"), "errors", endpoint, status),
            meta=meta,
            number=number,
            pagination_token=pagination_token,
            rate_limit=rate_limit,
            broken_unicode=broken_unicode,
        )

    @property
    def next_token(self) -> str | None:
        token = self.meta.get("next_token")
        return str(token) if token else None

    @property
    def previous_token(self) -> str | None:
        token = self.meta.get("previous_token")
        return str(token) if token else None

    @property
    def result_count(self) -> int:
        return int(self.meta.get("result_count", len(self.data)))

    @property
    def included_tweets(self) -> list[Record]:
        """Posts in ``includes``, whichever name the API used (``tweets`` or ``posts``)."""
        return list(self.includes.get("tweets") or []) + list(self.includes.get("posts") or [])

    @property
    def included_users(self) -> list[Record]:
        return list(self.includes.get("users") or [])


# --------------------------------------------------------------------------- joins
def _index(items: Iterable[Mapping[str, Any]], key: str = "id") -> dict[str, Record]:
    return {str(item[key]): dict(item) for item in items if item.get(key) is not None}


def _ids(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None]
    return [str(value)]


class IncludesIndex:
    """The ``includes`` of one page, indexed by id, for joining records to what they refer to."""

    def __init__(self, page: Page) -> None:
        self.users = _index(page.included_users)
        self.tweets = _index(page.included_tweets)
        self.media = _index(page.includes.get("media") or [], "media_key")
        self.polls = _index(page.includes.get("polls") or [])
        self.places = _index(page.includes.get("places") or [])
        self.users_by_name = {str(u.get("username", "")).lower(): u for u in self.users.values()}

    def user(self, user: Mapping[str, Any]) -> Record:
        """What a user record refers to: ``pinned_tweet``, ``most_recent_tweet`` (or the ``post``
        names when the API uses them) and ``affiliation_users``."""
        joined: Record = {}
        for key in ("pinned_tweet_id", "pinned_post_id", "most_recent_tweet_id", "most_recent_post_id"):
            ref = user.get(key)
            if ref is not None and str(ref) in self.tweets:
                joined[key.removesuffix("_id")] = self.tweets[str(ref)]
        affiliation = user.get("affiliation")
        if isinstance(affiliation, Mapping):
            found = [self.users[i] for i in _ids(affiliation.get("user_id")) if i in self.users]
            if found:
                joined["affiliation_users"] = found
        return joined

    def tweet(self, tweet: Mapping[str, Any], *, depth: int = 0) -> Record:
        """What a post record refers to: ``author``, ``in_reply_to_user``, ``mentions``,
        ``referenced_tweets`` (``referenced_posts``), ``media``, ``polls`` and ``place``. Each
        referenced post is joined in turn (its own ``includes``: author, media ...), one level deep."""
        joined: Record = {}
        for key in ("author_id", "in_reply_to_user_id"):
            ref = tweet.get(key)
            if ref is not None and str(ref) in self.users:
                joined[key.removesuffix("_id")] = self.users[str(ref)]
        mentions = self._mentions(tweet.get("entities"))
        if mentions:
            joined["mentions"] = mentions
        for key in ("referenced_tweets", "referenced_posts"):
            refs = [r for r in tweet.get(key) or [] if isinstance(r, Mapping) and str(r.get("id")) in self.tweets]
            if refs:
                joined[key] = [self._referenced(self.tweets[str(r["id"])], depth) for r in refs]
        joined.update(self._attachments(tweet.get("attachments")))
        geo = tweet.get("geo")
        if isinstance(geo, Mapping) and str(geo.get("place_id")) in self.places:
            joined["place"] = self.places[str(geo["place_id"])]
        return joined

    def _mentions(self, entities: object) -> list[Record]:
        """The included users a post's ``entities.mentions`` name (by username)."""
        if not isinstance(entities, Mapping):
            return []
        return [
            self.users_by_name[name]
            for m in entities.get("mentions") or []
            if isinstance(m, Mapping) and (name := str(m.get("username", "")).lower()) in self.users_by_name
        ]

    def _attachments(self, attachments: object) -> dict[str, list[Record]]:
        """``media`` and ``polls``: the included objects a post's ``attachments`` name."""
        joined: dict[str, list[Record]] = {}
        if isinstance(attachments, Mapping):
            for key, name, index in (("media_keys", "media", self.media), ("poll_ids", "polls", self.polls)):
                found = [index[i] for i in _ids(attachments.get(key)) if i in index]
                if found:
                    joined[name] = found
        return joined

    def _referenced(self, referenced: Record, depth: int) -> Record:
        if depth > 0:
            return referenced
        nested = self.tweet(referenced, depth=depth + 1)
        return {**referenced, "includes": nested} if nested else referenced


def join_includes(records_are: str, record: Mapping[str, Any], index: IncludesIndex) -> Record:
    """The included objects ``record`` refers to (``records_are``: ``"users"`` or ``"tweets"``)."""
    return index.user(record) if records_are == "users" else index.tweet(record)
