"""XLikesSensor: wait for likes of a post, or for a user's new liked posts.

Conditions (one per sensor):

* ``tweet_id=`` alone: new liking users, new since the sensor's last successful run of this DAG
  (on its first run: since it started);
* ``tweet_id=`` and ``min_count=``: the post's like count (``public_metrics.like_count`` of
  ``GET /2/tweets/:id``) reaches ``min_count``;
* ``tweet_id=`` and ``user_ids=``: all of these users are among the likers (those already among
  the newest ``max_scan_pages`` pages when the wait begins count);
* ``user_id=`` alone (or with ``min_count``): new liked posts of the user.

Whatever ended the wait, the XCom is the records new since the baseline (the head of the last
successful run, or of the listing when this run began), newest first, as the API sent them; with
``output_path`` they are written with the output commit protocol and the XCom is the manifest.
How the search for new records ended goes to the XCom key ``likes_scan`` (see
:mod:`airflow_provider_xlikes.incremental` for what "new" guarantees).

**Where the head of the last successful run is kept.** In an Airflow Variable
``xlikes_head__<key>``, ``<key>`` a SHA-256 fingerprint of (DAG id, task id, endpoint, post or user
id): every worker reads it through the Task SDK, a DAG run of another logical date as well, and
it is written only when a run succeeds (after its output is committed), so a failed or timed-out
run leaves it as it was. Not the previous run's XCom: clearing or deleting a run deletes it, and
finding "the last successful run" through XCom depends on logical dates that manual and
asset-triggered runs lack. Not the asset state store: a sensor has no asset of its own. The
baseline of the run in progress (its first poke) is kept in the task instance's
``task_state_store`` (Airflow 3.3; it survives reschedules and retries), before 3.3 in a Variable
``xlikes_sensor_wait__<key>`` deleted on success; in deferrable mode it travels with the trigger.

A poke costs one request while nothing happens (the first page of the listing, or the count
lookup), more only when it returns records (the pages after the first while they are new), and
takes its slot from the token's shared rate-limit budget; a spent window makes the poke report
"not yet" without sending anything.

**What the wait costs.** X bills every resource a poll's responses return (a page of likers is
``max_results`` users at $0.010 each, see :mod:`airflow_provider_xlikes.pricing`). The hook's
cost meter counts them; the count travels with the wait's state (:class:`WatchState` ``cost``: the
task instance's state between reschedules, the trigger's kwargs and events when deferrable), so
every poll of the wait is counted once. ``max_cost_usd`` is checked before each request as on the
listing operators: a request whose response could cross it is not sent, and the sensor fails
(``on_budget_exhausted="fail"``) or ends skipped (``"skip"``). The XCom key ``likes_scan`` (and
the manifest's ``cost``) says what the wait cost.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NoReturn

from airflow.sdk import BaseSensorOperator, ObjectStoragePath, PokeReturnValue

from airflow_provider_xlikes.endpoints import Endpoint
from airflow_provider_xlikes.exceptions import XBudgetExhaustedError, XError, XRateLimitWait, XValidationError
from airflow_provider_xlikes.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_xlikes.incremental import DEFAULT_MAX_PAGES, ScanResult
from airflow_provider_xlikes.lineage import pages_outcome
from airflow_provider_xlikes.output import (
    COMPRESSIONS,
    DEFAULT_OUTPUT_FORMAT,
    OUTPUT_FORMATS,
    Compression,
    OutputWriter,
    RunKey,
)
from airflow_provider_xlikes.pages import Page, Record
from airflow_provider_xlikes.polling import LikesPoller, LikesTarget, WatchState, validate_condition
from airflow_provider_xlikes.pricing import format_usd
from airflow_provider_xlikes.rate_limits import DeferringWaiter
from airflow_provider_xlikes.sensors.wait_state import SensorWaitState
from airflow_provider_xlikes.task_support import (
    DEFAULT_DEFER_AFTER,
    check_output_path,
    is_concrete,
    outlets_with_output,
    output_location,
    resolve_deferrable,
    validate_budget,
)
from airflow_provider_xlikes.triggers.new_likes import XLikesSensorTrigger, XLikesTriggerError
from airflow_provider_xlikes.validation import validate_max_results, validate_names, validate_positive
from airflow_provider_xlikes.version_compat import AirflowFailException, AirflowSensorTimeout, AirflowSkipException

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_xlikes.hooks.x import XHook
    from airflow_provider_xlikes.validation import Names

#: the XCom key telling how the search for new records ended
SCAN_XCOM_KEY = "likes_scan"
#: what the sensor does before a request that could cross ``max_cost_usd``: fail, or end skipped
SENSOR_ON_BUDGET_EXHAUSTED = ("fail", "skip")


class XLikesSensor(SensorWaitState, BaseSensorOperator):
    """Wait for likes: new likers of a post, a like count, given users, or a user's new liked posts.

    :param tweet_id: the post whose likers are watched (templated), or
    :param user_id: the user whose liked posts are watched (templated); exactly one of the two.
    :param min_count: succeed when the like count reaches it (a positive integer).
    :param user_ids: succeed when all these users liked the post (ids; ``tweet_id`` only).
    :param x_conn_id: the ``x`` connection (templated).
    :param max_results: page size of the listing requests (the endpoint's bounds).
    :param max_scan_pages: pages a poke reads at most looking for the last head (default 10).
    :param user_fields: ``user.fields`` of the records (templated); likewise ``tweet_fields`` and
        ``expansions``.
    :param output_path: write the new records there (``ObjectStoragePath`` or URI, templated) and
        return the manifest; ``None``: the records are the XCom.
    :param output_conn_id: storage connection when the URI names none.
    :param output_format: ``"jsonl"`` or ``"parquet"``; ``compression``: ``None`` or ``"gzip"``.
    :param deferrable: wait in the triggerer between pokes (:class:`XLikesSensorTrigger`), holding
        no worker (default: ``[operators] default_deferrable``).
    :param defer_after: rate-limit waits up to this many seconds are slept through in a poke.
    :param max_cost_usd: the wait's budget: no poll request is sent whose response could take what
        all the wait's polls spent (every poke, reschedule and trigger poll; estimated at the
        connection's prices) past this many US dollars; ``None`` (default): no limit.
    :param on_budget_exhausted: ``"fail"`` (default: the task fails with ``XBudgetExhaustedError``,
        not retried) or ``"skip"`` (the sensor ends skipped, as ``soft_fail`` does on a timeout).

    ``poke_interval``, ``timeout``, ``mode`` (``poke`` / ``reschedule``), ``soft_fail``,
    ``exponential_backoff`` and ``max_wait`` are those of ``BaseSensorOperator``, honoured in every
    mode (deferrable: by the trigger).

    Another listing of the endpoint table is watched by a subclass naming it (``endpoint =
    BOOKMARKS``, taking the id argument that listing declares).
    """

    #: the listing watched; ``None``: ``liking_users`` for a ``tweet_id``, ``liked_tweets`` for a ``user_id``
    endpoint: ClassVar[Endpoint | None] = None

    template_fields: Sequence[str] = (
        "x_conn_id",
        "tweet_id",
        "user_id",
        "user_ids",
        "user_fields",
        "tweet_fields",
        "expansions",
        "output_path",
    )
    ui_color = "#e8f5fd"

    def __init__(
        self,
        *,
        tweet_id: str | int | None = None,
        user_id: str | int | None = None,
        min_count: int | None = None,
        user_ids: Sequence[str | int] | None = None,
        x_conn_id: str = DEFAULT_CONN_ID,
        max_results: int = 100,
        max_scan_pages: int = DEFAULT_MAX_PAGES,
        user_fields: Names = None,
        tweet_fields: Names = None,
        expansions: Names = None,
        output_path: ObjectStoragePath | str | None = None,
        output_conn_id: str | None = None,
        output_format: str = DEFAULT_OUTPUT_FORMAT,
        compression: Compression = None,
        deferrable: bool | None = None,
        defer_after: float = DEFAULT_DEFER_AFTER,
        max_cost_usd: float | None = None,
        on_budget_exhausted: Literal["fail", "skip"] = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(outlets=outlets_with_output(kwargs.pop("outlets", None), output_path), **kwargs)
        self.tweet_id = tweet_id
        self.user_id = user_id
        self.min_count = min_count
        self.user_ids = user_ids
        self.x_conn_id = x_conn_id
        self.max_results = max_results
        self.max_scan_pages = max_scan_pages
        self.user_fields = user_fields
        self.tweet_fields = tweet_fields
        self.expansions = expansions
        self.output_path = output_path
        self.output_conn_id = output_conn_id
        self.output_format = output_format
        self.compression = compression
        self.deferrable, self.defer_after = resolve_deferrable(deferrable, defer_after)
        self.max_cost_usd = max_cost_usd
        self.on_budget_exhausted = on_budget_exhausted
        self._wait: WatchState | None = None
        #: what the run collected (the keys of a manifest), for OpenLineage
        self.run_outcome: dict[str, Any] | None = None
        self._validate(rendered=False)

    # ------------------------------------------------------------------ validation
    @property
    def lists(self) -> dict[str, Names]:
        return {"user_fields": self.user_fields, "tweet_fields": self.tweet_fields, "expansions": self.expansions}

    def _validate(self, *, rendered: bool) -> LikesTarget | None:
        """Check every argument (before rendering, templated ones are skipped); the target once known."""
        ids_known = rendered or (is_concrete(self.tweet_id) and is_concrete(self.user_id))
        target = LikesTarget.of(self.tweet_id, self.user_id, self.endpoint) if ids_known else None
        if target is not None and (rendered or is_concrete(self.user_ids)):
            validate_condition(target, self.min_count, self.user_ids)
        else:
            validate_positive("min_count", self.min_count)
        validate_positive("max_scan_pages", self.max_scan_pages)
        if target is not None:
            validate_max_results(target.endpoint, self.max_results)
            for argument, value in self.lists.items():
                if rendered or is_concrete(value):
                    validate_names(target.endpoint, argument, value)
        if self.output_format not in OUTPUT_FORMATS:
            raise XValidationError("output_format", self.output_format, OUTPUT_FORMATS)
        if self.compression not in COMPRESSIONS:
            raise XValidationError("compression", self.compression, "None or 'gzip'")
        if rendered or is_concrete(self.output_path):
            check_output_path(self.output_path)
        validate_budget(self.max_cost_usd, self.on_budget_exhausted, SENSOR_ON_BUDGET_EXHAUSTED)
        return target

    # ------------------------------------------------------------------ OpenLineage (airflow_provider_xlikes.lineage)
    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from airflow_provider_xlikes.lineage import sensor_lineage

        return sensor_lineage(self, failed=False)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        from airflow_provider_xlikes.lineage import sensor_lineage

        return sensor_lineage(self, failed=True)

    # ------------------------------------------------------------------ the hook and the poller
    @cached_property
    def hook(self) -> XHook:
        """The hook: rate-limit waits longer than ``defer_after`` end the poke instead of sleeping."""
        from airflow_provider_xlikes.hooks.x import XHook  # a poke needs HTTP; parsing a DAG does not

        return XHook(x_conn_id=self.x_conn_id, waiter=DeferringWaiter(max_sleep=self.defer_after))

    def _poller(self) -> LikesPoller:
        target = self._validate(rendered=True)
        assert target is not None
        min_count, user_ids = validate_condition(target, self.min_count, self.user_ids)
        return LikesPoller(
            self.hook,
            target,
            min_count=min_count,
            user_ids=user_ids,
            max_results=self.max_results,
            max_pages=self.max_scan_pages,
            lists={argument: value for argument, value in self.lists.items() if value},
            max_cost_usd=self.max_cost_usd,
        )

    # ------------------------------------------------------------------ one poke
    def poke(self, context: Context) -> bool | PokeReturnValue:
        try:
            return self._poke(context)
        except XBudgetExhaustedError as exc:
            self._budget_exhausted(str(exc))
        finally:  # a poke reads listings only as far as they are new: give the leased slots back
            self.hook.release_budget()

    def _poke(self, context: Context) -> bool | PokeReturnValue:
        poller = self._poller()
        target = poller.target
        state, cost = self._load_wait(context, target)
        poller.resume_costs(cost)  # what the wait's earlier polls spent
        if self.max_cost_usd is not None:
            poller.before_request = lambda: self._save_ahead(context, target, poller)
        try:
            if state is None:
                baseline = self._last_success_head(context, target)
                state = poller.start(baseline)
                self._save_wait(context, target, state)
                self.log.info(
                    "%s: waiting for %s, new since %s (%d head ids)",
                    target,
                    poller.condition,
                    "the last successful run" if baseline is not None else "now",
                    len(state.baseline),
                )
                if baseline is None and poller.condition == "new_likes":
                    return False  # the baseline was just taken: nothing can be new yet
            check = poller.check(state)
            self._save_wait(context, target, check.state)
            if not check.done:
                self._log_progress(poller, check.state, check.like_count)
                return False
            if check.pages is not None and check.scan is not None:
                scan, pages = check.scan, check.pages
            else:
                scan, pages = poller.scan(state.baseline)
        except XRateLimitWait as wait:
            self.log.info(
                "%s: rate limit of %s spent for %.0f s more: not polled this time",
                target,
                wait.endpoint,
                max(wait.resume_at - time.time(), 0.0),
            )
            poller.hook.costs.settle()  # the request the wait stopped was not sent
            if self._wait is not None:  # pages read before the wait were billed: count them
                self._save_wait(context, target, poller.with_costs(self._wait))
            return False
        value = self._output(context, target, poller, pages, scan, check.like_count)
        assert scan.head is not None
        self._succeeded(context, target, scan.head)
        return PokeReturnValue(is_done=True, xcom_value=value)

    def _log_progress(self, poller: LikesPoller, state: WatchState, count: int | None) -> None:
        spent = f" ({self._spent_line()})"
        if poller.condition == "min_count":
            self.log.info("%s: like count %s of %s%s", poller.target, count, poller.min_count, spent)
        elif poller.condition == "user_ids":
            self.log.info("%s: %d of %d users liked%s", poller.target, len(state.found), len(poller.user_ids), spent)
        else:
            self.log.info("%s: nothing new yet%s", poller.target, spent)

    # ------------------------------------------------------------------ cost
    def _spent_line(self) -> str:
        """``~$0.030 spent by the wait's 3 billed request(s) of at most $0.050``."""
        meter = self.hook.costs
        limit = f" of at most {format_usd(self.max_cost_usd)}" if self.max_cost_usd is not None else ""
        return f"~{format_usd(meter.usd)} spent by the wait's {meter.requests} billed request(s){limit}"

    def cost_summary(self, target: LikesTarget | None = None) -> dict[str, Any]:
        """What the wait's polls returned by kind and their estimated cost, with its assumptions
        (as the listing operators report it: :meth:`~airflow_provider_xlikes.pricing.CostMeter.summary`);
        without ``target`` (a failed run's lineage), the sensor's own when its ids are known."""
        owned = False
        with contextlib.suppress(XError):  # ids not rendered or invalid, an unusable connection: not owned
            target = target or self._validate(rendered=True)
            owned = target is not None and self.hook.is_owned(target.endpoint, target.source_id)
        return self.hook.costs.summary(max_cost_usd=self.max_cost_usd, owned_reads=owned)

    def _budget_exhausted(self, detail: str) -> NoReturn:
        """Stop the wait before a request that could cross ``max_cost_usd``: fail, or end skipped."""
        if self.on_budget_exhausted == "skip":
            self.log.warning("%s; the sensor ends skipped (on_budget_exhausted='skip')", detail)
            raise AirflowSkipException(f"{detail}; skipped (on_budget_exhausted='skip')")
        raise XBudgetExhaustedError(
            f"{detail}; the wait fails (on_budget_exhausted='fail'): raise max_cost_usd, or set "
            "on_budget_exhausted='skip' to end such a wait skipped"
        )

    def _output(
        self,
        context: Context,
        target: LikesTarget,
        poller: LikesPoller,
        pages: Sequence[Page],
        scan: ScanResult,
        like_count: int | None,
    ) -> Any:
        summary = {**scan.to_json(), "condition": poller.condition, "like_count": like_count, **target.kwargs}
        cost = self.cost_summary(target)
        context["ti"].xcom_push(key=SCAN_XCOM_KEY, value={**summary, "cost": cost})
        self.log.info("%s: %d new record(s), scan stopped at %s", target, scan.new_count, summary["stop"])
        self.log.info("%s: the wait cost %s (estimate; resources %s)", target, self._spent_line(), cost["resources"])
        self.run_outcome = pages_outcome(pages, sensor=summary, cost=cost)  # what OpenLineage reports of the run
        if self.output_path is None:
            return [record for page in pages for record in page.data]
        location = output_location(self.output_path, self.output_conn_id)
        source_field = target.endpoint.source_field
        assert source_field is not None
        with OutputWriter(
            location, RunKey.from_context(context), output_format=self.output_format, compression=self.compression
        ) as writer:
            for page in pages:
                records: list[Record] = [{source_field: target.source_id, **record} for record in page.data]
                writer.write_page(records, errors=page.errors, includes=page.includes)
            manifest = writer.commit(
                {
                    "endpoint": target.endpoint.name,
                    "request": target.endpoint.label,
                    **target.kwargs,
                    "source_field": source_field,
                    "sensor": summary,
                    "incremental": True,
                    "complete": True,
                    "cost": cost,
                }
            )
        self.run_outcome["manifest"] = manifest["manifest"]
        return manifest

    # ------------------------------------------------------------------ deferrable
    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        return self._poke_or_defer(context, time.time() + self.timeout)

    def execute_complete(self, context: Context, event: Any = None, **kwargs: Any) -> Any:
        """Back from the trigger: poke on the worker (collecting the records) or defer again."""
        statuses = ("done", "timeout", "budget_exhausted", "error")
        if not isinstance(event, dict) or event.get("status") not in statuses:
            raise XValidationError("event", type(event).__name__, "an XLikesSensorTrigger event")
        if event["status"] == "error":
            raise XLikesTriggerError(f"the sensor's trigger stopped: {event.get('error_type')}: {event.get('error')}")
        if event.get("state") is not None:
            self._wait = WatchState.from_json(event["state"])
            self._poller().resume_costs(self._wait.cost)  # the trigger's polls are the wait's too
        if event["status"] == "budget_exhausted":
            self._budget_exhausted(str(event.get("detail")))
        if event["status"] == "timeout":
            self.log.info("The wait cost %s (estimate)", self._spent_line())
            raise AirflowSensorTimeout(f"Sensor has timed out after {self.timeout} s without its condition")
        deadline = event.get("deadline")
        return self._poke_or_defer(context, float(deadline) if deadline is not None else time.time() + self.timeout)

    def _poke_or_defer(self, context: Context, deadline: float) -> Any:
        try:
            result = self.poke(context)
        except (AirflowFailException, AirflowSensorTimeout) as exc:
            if self.soft_fail:
                raise AirflowSkipException("Skipping due to soft_fail is set to True.") from exc
            raise
        if isinstance(result, PokeReturnValue) and result.is_done:
            return result.xcom_value
        remaining = deadline - time.time()
        if remaining <= 0:
            message = f"Sensor has timed out after {self.timeout} s without its condition"
            if self.soft_fail:
                raise AirflowSkipException(message)
            raise AirflowSensorTimeout(message)
        self._defer(context, deadline, remaining)

    def _defer(self, context: Context, deadline: float, remaining: float) -> NoReturn:
        poller = self._poller()
        state, _ = self._load_wait(context, poller.target)
        baseline = self._last_success_head(context, poller.target) if state is None else None
        max_wait = self.max_wait.total_seconds() if self.max_wait is not None else None
        trigger = XLikesSensorTrigger(
            state=state.to_json() if state is not None else None,  # None: a spent window came first
            baseline=baseline.to_json() if baseline is not None else None,
            **poller.target.spec,
            x_conn_id=self.x_conn_id,
            min_count=poller.min_count,
            user_ids=list(poller.user_ids) or None,
            poke_interval=self.poke_interval,
            exponential_backoff=self.exponential_backoff,
            max_wait=max_wait,
            deadline=deadline,
            max_results=self.max_results,
            max_scan_pages=self.max_scan_pages,
            max_cost_usd=self.max_cost_usd,
        )
        self.log.info("%s: deferring (%s), %.0f s left", poller.target, poller.condition, remaining)
        self.defer(trigger=trigger, method_name="execute_complete", timeout=timedelta(seconds=remaining))
