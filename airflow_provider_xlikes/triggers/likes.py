"""Triggers of the X likes provider.

:class:`XResumeAtTrigger` is Airflow's own ``DateTimeTrigger`` (standard provider) that also hands a
small resume state back to the task: a deferred listing waits for a rate-limit window to reset in
the triggerer, holding no worker, and resumes paging from its cursor. The state travels in the
trigger's kwargs and comes back in the event, because ``dag.test()`` drops the kwargs given to
``defer()`` (the real triggerer keeps them): the event reaches the task on both paths.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from typing import Any

from airflow.providers.standard.triggers.temporal import DateTimeTrigger
from airflow.triggers.base import TriggerEvent

#: the largest resume state a trigger accepts (JSON bytes): cursors and part lists, never pages
MAX_STATE_BYTES = 64 * 1024


class XResumeAtTrigger(DateTimeTrigger):
    """Fires at ``moment`` with ``{"resume_at": ..., "state": state}``.

    :param moment: when the rate-limit window resets (tz-aware).
    :param state: what the task needs to go on: JSON only (a cursor, counts, the parts written),
        never a response, a session or a secret.
    """

    def __init__(self, moment: datetime.datetime, state: dict[str, Any]) -> None:
        super().__init__(moment=moment)
        self.state = state

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}", {"moment": self.moment, "state": self.state})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        async for _ in super().run():
            yield TriggerEvent({"resume_at": self.moment.isoformat(), "state": self.state})  # type: ignore[no-untyped-call]
