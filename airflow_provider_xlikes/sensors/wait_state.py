"""Where a sensor's wait is kept between pokes: the run's wait state (its baseline, head and cost)
and the head of the last successful run, the next run's baseline (see
:mod:`airflow_provider_xlikes.state` for the stores)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_xlikes import state
from airflow_provider_xlikes.incremental import Head, head_key
from airflow_provider_xlikes.output import utcnow_iso
from airflow_provider_xlikes.polling import LikesPoller, LikesTarget, WatchState

if TYPE_CHECKING:
    from airflow.sdk import Context

#: the key of the run's wait state in ``task_state_store``
WAIT_STATE_KEY = "xlikes_sensor_wait"
#: Variables of the run's wait state before Airflow 3.3
WAIT_VARIABLE_PREFIX = "xlikes_sensor_wait__"


class SensorWaitState:
    """The wait state of :class:`~airflow_provider_xlikes.sensors.likes.XLikesSensor` (a mixin):
    loaded at each poke, saved after it (and, with ``max_cost_usd``, before each request), removed
    when the wait succeeds and its head becomes the next run's baseline."""

    _wait: WatchState | None
    #: the value last read from or written to the store: an unchanged state is not written again
    _stored: Any = None

    def _key(self, context: Context, target: LikesTarget) -> str:
        ti = context["ti"]
        return head_key("XLikesSensor", ti.dag_id, ti.task_id, target.endpoint.name, target.source_id)

    def _run_key(self, context: Context, target: LikesTarget) -> str:
        ti = context["ti"]
        return head_key(self._key(context, target), ti.run_id, getattr(ti, "map_index", -1))

    def _last_success_head(self, context: Context, target: LikesTarget) -> Head | None:
        stored = state.sensor_baseline_store().load(self._key(context, target))
        return Head.from_json(stored.get("head")) if isinstance(stored, dict) else None

    def _wait_state(self, context: Context, target: LikesTarget) -> state.KeyValueState:
        """The run's wait state (see :mod:`airflow_provider_xlikes.state`): ``task_state_store``
        (3.3+), else a Variable per run and map index."""
        fallback = state.VariableValue(WAIT_VARIABLE_PREFIX, self._run_key(context, target))
        return state.task_instance_state(context, fallback)

    def _load_wait(self, context: Context, target: LikesTarget) -> tuple[WatchState | None, dict[str, Any] | None]:
        """The wait's state and what it spent; before its baseline is taken, only what it spent
        (saved before the baseline's request: :meth:`_save_ahead`)."""
        if self._wait is not None:
            return self._wait, self._wait.cost
        value = self._stored = self._wait_state(context, target).get(WAIT_STATE_KEY)
        if isinstance(value, dict) and "baseline" not in value:
            return None, value.get("cost")
        self._wait = WatchState.from_json(value) if value is not None else None
        return self._wait, self._wait.cost if self._wait is not None else None

    def _save_ahead(self, context: Context, target: LikesTarget, poller: LikesPoller) -> None:
        """Before a request of a wait with ``max_cost_usd``: its cost with the request's worst case
        reserved, so a try that dies before its state is saved (a killed process, a try failed by
        Airflow under it) leaves the next try a count that cannot be too low."""
        cost = poller.hook.costs.to_json()
        value = poller.with_costs(self._wait).to_json() if self._wait is not None else {"cost": cost}
        self._wait_state(context, target).set(WAIT_STATE_KEY, value)
        self._stored = value

    def _save_wait(self, context: Context, target: LikesTarget, wait: WatchState) -> None:
        self._wait = wait
        value = wait.to_json()
        if value != self._stored:
            self._wait_state(context, target).set(WAIT_STATE_KEY, value)
            self._stored = value

    def _succeeded(self, context: Context, target: LikesTarget, head: Head) -> None:
        """The run's head becomes the baseline of the next run; the run's wait state goes."""
        ti = context["ti"]
        state.sensor_baseline_store().save(
            self._key(context, target),
            {
                "head": head.to_json(),
                "dag_id": ti.dag_id,
                "task_id": ti.task_id,
                **target.kwargs,
                "run_id": ti.run_id,
                "updated_at": utcnow_iso(),
            },
        )
        self._wait_state(context, target).delete(WAIT_STATE_KEY)
