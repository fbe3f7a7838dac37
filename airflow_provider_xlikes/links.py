"""Extra links of the listing operators: from a task instance to what it read on X.

* "Post on X" (:class:`XPostLink`, ``XLikingUsersOperator``): ``https://x.com/i/status/<tweet_id>``;
* "User on X" (:class:`XUserLink`, ``XLikedTweetsOperator``): ``https://x.com/i/user/<user_id>``.

Airflow asks a task's links when the task instance finishes, with the task as that instance ran
it (templates rendered, a mapped task's own argument), and keeps each URL in an XCom that the UI
and the api-server's extra-links endpoint read: a mapped task instance links its own id, a
templated id its rendered value. An id that is not a valid post or user id gives no link.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperatorLink

from airflow_provider_xlikes.exceptions import XValidationError
from airflow_provider_xlikes.validation import validate_id

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

X_URL = "https://x.com"


class _XIdLink(BaseOperatorLink):
    """A link to the X page of the id in the operator's ``argument`` (as the task instance ran it)."""

    argument: ClassVar[str]
    url: ClassVar[str]

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        value: Any = getattr(operator, self.argument, None)
        try:
            return self.url.format(id=validate_id(self.argument, value))
        except XValidationError:  # unrendered or invalid: no link rather than a wrong one
            return ""


class XPostLink(_XIdLink):
    """ "Post on X": the post whose likers the task lists."""

    name = "Post on X"
    argument = "tweet_id"
    url = X_URL + "/i/status/{id}"


class XUserLink(_XIdLink):
    """ "User on X": the user whose liked posts the task lists."""

    name = "User on X"
    argument = "user_id"
    url = X_URL + "/i/user/{id}"
