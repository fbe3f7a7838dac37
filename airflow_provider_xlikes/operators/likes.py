"""Operators for the X API v2 likes endpoints: collect liking users and liked posts, like and unlike.

The operators are thin: every request, page, rate-limit wait and API error is the hook's business
(:class:`~airflow_provider_xlikes.hooks.x.XHook`); what an endpoint takes comes from the endpoint
table (:mod:`airflow_provider_xlikes.endpoints`); output writing is the output module's. Ids, field
lists, the output path and ``x_conn_id`` are template fields; static arguments are validated in
``__init__``, rendered ones again in ``execute``, before any request.

Output of the listing operators:

* without ``output_path``: the records (``data`` items, unchanged; with ``join_includes=True`` an
  ``includes`` key is added) are the task's XCom, a JSON list. The ``includes`` objects the API
  returned go to the XCom key ``includes`` (``{"users": [...], "tweets": [...]}``, each object
  once), partial errors to the key ``errors``. XCom lives in the metadata database, so a run stops
  with :class:`~airflow_provider_xlikes.exceptions.XComTooLargeError` (pointing at ``output_path``)
  as soon as the JSON exceeds ``xcom_max_bytes`` (default 1 MiB; ``None``: no limit, the default
  where the XCom backend keeps values in object storage).
* with ``output_path``: records stream page by page to part files (``output_format``: JSON Lines or
  Parquet), each carrying the id it was collected for (``liked_tweet_id`` / ``liking_user_id``);
  the ``includes`` objects and partial errors go beside them (``includes-NNNNN.jsonl``,
  ``errors-NNNNN.jsonl``); the run is committed with a ``_manifest.json``, which is also the XCom.
  Downstream tasks read it with :func:`airflow_provider_xlikes.output.iter_records`,
  ``iter_includes`` and ``iter_errors``.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_xlikes.endpoints import LIKED_TWEETS, LIKING_USERS
from airflow_provider_xlikes.links import XPostLink, XUserLink
from airflow_provider_xlikes.operators.base import BaseXOperator
from airflow_provider_xlikes.operators.listing import BaseXListingOperator
from airflow_provider_xlikes.operators.listing_storage import ACTIVE_STATES, CHECKPOINT_KEY
from airflow_provider_xlikes.operators.listing_xcom import (
    DEFERRED_XCOM_PREFIX,
    META_XCOM_KEY,
    XCOM_MAX_BYTES,
    IncludesCollector,
)
from airflow_provider_xlikes.operators.writes import (
    LIKES_PER_24_HOURS,
    BaseXLikeWriteOperator,
    XLikeOperator,
    XUnlikeOperator,
)
from airflow_provider_xlikes.task_support import (
    DEFAULT_DEFER_AFTER,
    ON_BUDGET_EXHAUSTED,
    check_output_path,
    is_concrete,
    outlets_with_output,
    output_asset,
    output_location,
    resolve_deferrable,
    validate_budget,
)
from airflow_provider_xlikes.validation import Names


class XLikingUsersOperator(BaseXListingOperator):
    """Collect the users who liked a post (``GET /2/tweets/:id/liking_users``).

    :param tweet_id: the post (templated; ``.expand(tweet_id=[...])`` maps it).
    :param user_fields: ``user.fields`` (list or comma-separated string; templated).
    :param tweet_fields: ``tweet.fields`` of the expanded posts (templated).
    :param expansions: ``pinned_tweet_id``, ``most_recent_tweet_id``, ``affiliation.user_id`` (templated).

    With ``join_includes=True`` each user gets ``includes`` with ``pinned_tweet``,
    ``most_recent_tweet`` and ``affiliation_users``. The other parameters are those of
    :class:`BaseXListingOperator` and ``BaseOperator``.
    """

    endpoint = LIKING_USERS
    operator_extra_links = (XPostLink(),)

    def __init__(
        self,
        *,
        tweet_id: str | int,
        user_fields: Names = None,
        tweet_fields: Names = None,
        expansions: Names = None,
        **kwargs: Any,
    ) -> None:
        self.tweet_id = tweet_id
        self.user_fields = user_fields
        self.tweet_fields = tweet_fields
        self.expansions = expansions
        super().__init__(**kwargs)


class XLikedTweetsOperator(BaseXListingOperator):
    """Collect the posts a user liked (``GET /2/users/:id/liked_tweets``).

    Since 2024 likes are private on X: only the authenticated user's own likes are dependable.

    :param user_id: the user (templated; ``.expand(user_id=[...])`` maps it).
    :param tweet_fields: ``tweet.fields`` (templated); likewise ``user_fields``, ``media_fields``,
        ``poll_fields``, ``place_fields`` and ``expansions`` (e.g. ``author_id``).

    With ``join_includes=True`` each post gets ``includes`` with ``author``, ``in_reply_to_user``,
    ``mentions``, ``referenced_tweets`` (each joined in turn, e.g. with its own author), ``media``,
    ``polls`` and ``place``. The other parameters are those of :class:`BaseXListingOperator`.
    """

    endpoint = LIKED_TWEETS
    operator_extra_links = (XUserLink(),)

    def __init__(
        self,
        *,
        user_id: str | int,
        tweet_fields: Names = None,
        user_fields: Names = None,
        media_fields: Names = None,
        poll_fields: Names = None,
        place_fields: Names = None,
        expansions: Names = None,
        **kwargs: Any,
    ) -> None:
        self.user_id = user_id
        self.tweet_fields = tweet_fields
        self.user_fields = user_fields
        self.media_fields = media_fields
        self.poll_fields = poll_fields
        self.place_fields = place_fields
        self.expansions = expansions
        super().__init__(**kwargs)


__all__ = [
    "ACTIVE_STATES",
    "CHECKPOINT_KEY",
    "DEFAULT_DEFER_AFTER",
    "DEFERRED_XCOM_PREFIX",
    "LIKES_PER_24_HOURS",
    "META_XCOM_KEY",
    "ON_BUDGET_EXHAUSTED",
    "XCOM_MAX_BYTES",
    "BaseXLikeWriteOperator",
    "BaseXListingOperator",
    "BaseXOperator",
    "IncludesCollector",
    "Names",
    "XLikeOperator",
    "XLikedTweetsOperator",
    "XLikingUsersOperator",
    "XUnlikeOperator",
    "check_output_path",
    "is_concrete",
    "outlets_with_output",
    "output_asset",
    "output_location",
    "resolve_deferrable",
    "validate_budget",
]
