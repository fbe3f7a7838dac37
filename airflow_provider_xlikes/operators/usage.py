"""XUsageOperator: the billing cycle's Post reads, checked before a large backfill."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_xlikes.exceptions import XUsageLowError, XValidationError
from airflow_provider_xlikes.operators.base import BaseXOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class XUsageOperator(BaseXOperator):
    """Check the billing cycle's Post reads before a large backfill (``GET /2/usage/tweets``).

    Needs an app-only bearer connection (X serves usage to bearer tokens only). XCom: the usage
    (``project_usage``, ``project_cap``, ``remaining``, ``cap_reset_day`` ...; see
    :meth:`~airflow_provider_xlikes.hooks.x.XHook.get_usage`).

    :param min_remaining: fail (:class:`~airflow_provider_xlikes.exceptions.XUsageLowError`, not
        retried) when fewer Post reads than this are left in the cycle; ``None``: report only.
    :param days: days of daily usage to fetch (1-90).
    """

    template_fields: Sequence[str] = ("x_conn_id",)
    ui_color = "#fdf6e8"

    def __init__(self, *, min_remaining: int | None = None, days: int = 7, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.min_remaining = min_remaining
        self.days = days
        if min_remaining is not None and (
            isinstance(min_remaining, bool) or not isinstance(min_remaining, int) or min_remaining < 0
        ):
            raise XValidationError("min_remaining", min_remaining, "None or an integer >= 0 (Post reads)")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 90:
            raise XValidationError("days", days, "an integer from 1 to 90")

    def execute(self, context: Context) -> dict[str, Any]:
        usage = self.hook.get_usage(days=self.days)
        remaining = usage.get("remaining")
        self.log.info(
            "Billing cycle: %s Post reads used of %s, %s left (resets on day %s of the month)",
            usage.get("project_usage"),
            usage.get("project_cap"),
            remaining,
            usage.get("cap_reset_day"),
        )
        if self.min_remaining is not None and remaining is not None and remaining < self.min_remaining:
            raise XUsageLowError(
                f"the billing cycle has {remaining:,} Post reads left ({usage.get('project_usage'):,} of "
                f"{usage.get('project_cap'):,} used), fewer than min_remaining={self.min_remaining:,}: a listing "
                "that needs more would fail with usage-capped halfway"
            )
        return usage
