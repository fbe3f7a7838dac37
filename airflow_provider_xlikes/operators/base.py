"""BaseXOperator: the templated connection, the hook built from it, and deferral, for every X operator."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

import msgspec
import pendulum
from airflow.sdk import BaseOperator

from airflow_provider_xlikes.exceptions import XRateLimitWait, XValidationError
from airflow_provider_xlikes.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_xlikes.rate_limits import DeferringWaiter
from airflow_provider_xlikes.task_support import DEFAULT_DEFER_AFTER, resolve_deferrable

if TYPE_CHECKING:
    from airflow_provider_xlikes.hooks.x import XHook

_encoder = msgspec.json.Encoder()


class BaseXOperator(BaseOperator):
    """What every X operator shares: a templated ``x_conn_id``, the hook built from it, and deferral.

    :param x_conn_id: the ``x`` connection (templated).
    :param deferrable: wait for a spent rate-limit window in the triggerer instead of the worker:
        the task commits what it holds, defers until the reset (``XResumeAtTrigger``) and resumes
        from its cursor (default: ``[operators] default_deferrable``).
    :param defer_after: waits up to this many seconds are slept through even when deferrable
        (a deferral costs a few seconds of scheduling).
    """

    template_fields: Sequence[str] = ("x_conn_id",)

    def __init__(
        self,
        *,
        x_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool | None = None,
        defer_after: float = DEFAULT_DEFER_AFTER,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.x_conn_id = x_conn_id
        self.deferrable, self.defer_after = resolve_deferrable(deferrable, defer_after)

    @cached_property
    def hook(self) -> XHook:
        """The hook, built once per task instance (deferrable: long waits raise ``XRateLimitWait``)."""
        from airflow_provider_xlikes.hooks.x import XHook  # a run needs HTTP; parsing a DAG does not

        waiter = DeferringWaiter(max_sleep=self.defer_after) if self.deferrable else None
        return XHook(x_conn_id=self.x_conn_id, waiter=waiter)

    def defer_until_reset(self, wait: XRateLimitWait, state: dict[str, Any]) -> NoReturn:
        """Defer until the window resets, handing ``state`` (JSON: cursor, counts) to ``execute_complete``."""
        from airflow_provider_xlikes.triggers.likes import MAX_STATE_BYTES, XResumeAtTrigger

        moment = pendulum.from_timestamp(wait.resume_at, tz="UTC")
        size = len(_encoder.encode(state))
        if size > MAX_STATE_BYTES:  # pragma: no cover - cursors and part lists are far smaller
            raise XValidationError("resume state", f"{size} bytes", f"at most {MAX_STATE_BYTES} bytes")
        self.log.info(
            "Rate limit of %s spent: deferring until %s (%.0f s); the worker slot is free meanwhile",
            wait.endpoint,
            moment.to_iso8601_string(),
            max(wait.resume_at - pendulum.now("UTC").timestamp(), 0.0),
        )
        self.defer(trigger=XResumeAtTrigger(moment, state), method_name="execute_complete")

    @staticmethod
    def resume_state(event: Any) -> dict[str, Any]:
        """The state an ``XResumeAtTrigger`` event brings back, checked before it is trusted."""
        state = event.get("state") if isinstance(event, Mapping) else None
        if not isinstance(state, dict):
            raise XValidationError("event", type(event).__name__, "an XResumeAtTrigger event with a state")
        return state
