"""Like and unlike: one post or a list, each id sent once, waits for the window instead of hitting it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_xlikes.endpoints import DAY_SECONDS, LIKE, UNLIKE, Endpoint
from airflow_provider_xlikes.exceptions import XLikeNotAppliedError, XRateLimitWait, XValidationError
from airflow_provider_xlikes.operators.base import BaseXOperator
from airflow_provider_xlikes.task_support import is_concrete
from airflow_provider_xlikes.validation import validate_id

if TYPE_CHECKING:
    from airflow.sdk import Context

#: likes (or unlikes) per user per 24 hours (X's limit); one task never sends more
LIKES_PER_24_HOURS = next(rule.requests for rule in LIKE.limits if rule.seconds == DAY_SECONDS)


class BaseXLikeWriteOperator(BaseXOperator):
    """What like and unlike share; a subclass names its ``endpoint`` and the ``liked`` state it leaves.

    XCom: what happened to each post, by id: ``{tweet_id: {"liked": bool, "applied": bool}}``.
    ``liked`` is the post's state for the user after the call (the API's answer); ``applied`` says
    whether that is the state asked for (liked after a like, not liked after an unlike). Posts
    already in that state count as applied: X's answer does not say whether anything changed.

    :param tweet_id: one id or a list (templated; ``.expand(tweet_id=[...])`` maps it).
    :param user_id: who likes (templated); default the authenticated user (``/2/users/me``).
    """

    endpoint: ClassVar[Endpoint]
    #: the ``liked`` state a successful call leaves
    wanted: ClassVar[bool]
    template_fields: Sequence[str] = ("x_conn_id", "tweet_id", "user_id")
    ui_color = "#fde8ef"

    def __init__(
        self,
        *,
        tweet_id: str | int | Sequence[str | int],
        user_id: str | int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.tweet_id = tweet_id
        self.user_id = user_id
        self._validate(rendered=False)

    def _tweet_ids(self, *, rendered: bool) -> list[str]:
        value = self.tweet_id
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if not values:
            raise XValidationError("tweet_id", value, "one id or a non-empty list of ids")
        ids: dict[str, None] = {}
        for item in values:
            if rendered or is_concrete(item):
                ids.setdefault(validate_id("tweet_id", item), None)
        if len(ids) > LIKES_PER_24_HOURS:
            raise XValidationError(
                "tweet_id",
                f"{len(ids)} ids",
                f"at most {LIKES_PER_24_HOURS} ids per run (X allows {LIKES_PER_24_HOURS} per user per 24 hours)",
            )
        return list(ids)

    def _validate(self, *, rendered: bool) -> None:
        if rendered or is_concrete(self.tweet_id):
            self._tweet_ids(rendered=rendered)
        if self.user_id is not None and (rendered or is_concrete(self.user_id)):
            validate_id("user_id", self.user_id)

    def _send(self, tweet_id: str, user_id: str | None) -> bool:
        if self.endpoint is LIKE:
            return self.hook.like(tweet_id, user_id=user_id)
        return self.hook.unlike(tweet_id, user_id=user_id)

    def execute(self, context: Context) -> dict[str, dict[str, bool]]:
        """Returns ``{tweet_id: {"liked": bool, "applied": bool}}`` for every id (see the class).

        An id whose state did not become the wanted one (the API answers 200 with an ``errors`` item
        for a post that does not exist) fails the task after the other ids are done; the results are
        then pushed, in the same shape, under the XCom key ``results``.
        """
        return self._apply(context, {})

    def execute_complete(self, context: Context, event: Any = None, **kwargs: Any) -> dict[str, dict[str, bool]]:
        """Go on after a deferral with the ids not sent yet (the results so far come back in the event)."""
        done = self.resume_state(event).get("results")
        if not isinstance(done, dict):
            raise XValidationError("event", type(event).__name__, "an XResumeAtTrigger event with results")
        return self._apply(context, {str(k): bool(v) for k, v in done.items()})

    def _apply(self, context: Context, results: dict[str, bool]) -> dict[str, dict[str, bool]]:
        """Send what is not in ``results`` (``{tweet_id: liked}``, the deferral's state) yet."""
        self._validate(rendered=True)
        ids = self._tweet_ids(rendered=True)
        user_id = validate_id("user_id", self.user_id) if self.user_id is not None else None
        for number, tweet_id in enumerate(ids, start=1):
            if tweet_id in results:
                continue
            try:
                results[tweet_id] = self._send(tweet_id, user_id)
            except XRateLimitWait as wait:  # raised before the request is sent: nothing is sent twice
                self.defer_until_reset(wait, {"results": results})
            self.log.info(
                "%s %d of %d: post %s as user %s -> liked=%s",
                self.endpoint.name,
                number,
                len(ids),
                tweet_id,
                user_id or "(authenticated user)",
                results[tweet_id],
            )
        outcome = {tweet_id: {"liked": liked, "applied": liked is self.wanted} for tweet_id, liked in results.items()}
        failed = [tweet_id for tweet_id, result in outcome.items() if not result["applied"]]
        if failed:
            context["ti"].xcom_push(key="results", value=outcome)
            raise XLikeNotAppliedError(
                f"{self.endpoint.label} did not take effect for {len(failed)} of {len(ids)} post(s): "
                f"{', '.join(failed)} (posts that do not exist or are not visible to this user)"
            )
        return outcome


class XLikeOperator(BaseXLikeWriteOperator):
    """Like one post or a list of posts (``POST /2/users/:id/likes``).

    Posts already liked count as success. The hook waits out the 50-per-15-minutes window instead of
    hitting it; one task never sends more than 1,000 likes (X's 24-hour limit). XCom:
    ``{tweet_id: {"liked": true, "applied": true}}`` per id (see :class:`BaseXLikeWriteOperator`).
    Needs user-context auth (``oauth2_user`` or ``oauth1_user``).
    """

    endpoint = LIKE
    wanted = True


class XUnlikeOperator(BaseXLikeWriteOperator):
    """Remove the like of one post or a list (``DELETE /2/users/:id/likes/:tweet_id``).

    Posts not liked count as success. Limits as :class:`XLikeOperator`. XCom:
    ``{tweet_id: {"liked": false, "applied": true}}`` per id: unliked, the post is not liked now.
    """

    endpoint = UNLIKE
    wanted = False
