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

import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NoReturn

import msgspec
import pendulum
from airflow.sdk import Asset, BaseOperator, ObjectStoragePath

from airflow_provider_xlikes import state
from airflow_provider_xlikes.endpoints import (
    DAY_SECONDS,
    LIKE,
    LIKED_TWEETS,
    LIKING_USERS,
    UNLIKE,
    WINDOW_SECONDS,
    Endpoint,
    join_fields,
)
from airflow_provider_xlikes.exceptions import (
    OutputError,
    XBudgetExhaustedError,
    XComTooLargeError,
    XLikeNotAppliedError,
    XRateLimitWait,
    XValidationError,
)
from airflow_provider_xlikes.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_xlikes.links import XPostLink, XUserLink
from airflow_provider_xlikes.operators.incremental import IncrementalListing
from airflow_provider_xlikes.output import (
    DEFAULT_OUTPUT_FORMAT,
    DEFAULT_PART_RECORDS,
    OUTPUT_FORMATS,
    Compression,
    OutputWriter,
    RunKey,
    as_storage_path,
    asset_uri,
    utcnow_iso,
)
from airflow_provider_xlikes.output.base import validate_compression
from airflow_provider_xlikes.pages import IncludesIndex, Page, join_includes
from airflow_provider_xlikes.pricing import format_usd
from airflow_provider_xlikes.progress import ListingProgress
from airflow_provider_xlikes.rate_limits import DeferringWaiter
from airflow_provider_xlikes.validation import (
    validate_id,
    validate_max_records,
    validate_max_results,
    validate_names,
    validate_positive,
)
from airflow_provider_xlikes.version_compat import airflow_conf

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_xlikes.hooks.x import XHook

#: bytes of JSON a listing may put into XCom by default (``xcom_max_bytes``); above it, use ``output_path``
XCOM_MAX_BYTES = 1024 * 1024
#: likes (or unlikes) per user per 24 hours (X's limit); one task never sends more
LIKES_PER_24_HOURS = next(rule.requests for rule in LIKE.limits if rule.seconds == DAY_SECONDS)
#: waits up to this long are slept through by a deferrable task (``defer_after``)
DEFAULT_DEFER_AFTER = 10.0
#: the key of the output checkpoint in ``task_state_store`` (Airflow 3.3+)
CHECKPOINT_KEY = "xlikes_output_checkpoint"
#: task instance states in which another try may still write to its staging folder
ACTIVE_STATES = frozenset(
    {"running", "deferred", "queued", "scheduled", "up_for_retry", "up_for_reschedule", "restarting"}
)
#: XCom key prefix of records collected before a deferral (XCom output)
DEFERRED_XCOM_PREFIX = "deferred_page_batch_"
#: what a listing does when its next page could cross ``max_cost_usd``
ON_BUDGET_EXHAUSTED = ("fail", "commit")
#: the XCom key of a listing's ``meta`` (XCom output): completeness, resources and cost
META_XCOM_KEY = "meta"
#: XCom backends that keep values in object storage: no size limit by default
OBJECT_STORAGE_XCOM_BACKENDS = ("XComObjectStorageBackend",)

_encoder = msgspec.json.Encoder()
Names = str | Sequence[str] | None


# --------------------------------------------------------------------------- helpers
def is_concrete(value: Any) -> bool:
    """True when ``value`` is final at DAG parse time (no Jinja, no XComArg or mapped argument)."""
    if value is None or isinstance(value, (bool, int, float, ObjectStoragePath, os.PathLike)):
        return True
    if isinstance(value, str):
        return "{{" not in value and "{%" not in value
    if isinstance(value, (list, tuple)):
        return all(is_concrete(item) for item in value)
    return False


def check_output_path(value: Any) -> None:
    """Type, emptiness and scheme syntax only: no file system or connection is touched (parse time)."""
    if value is None:
        return
    if not isinstance(value, (str, os.PathLike, ObjectStoragePath)) or not str(value).strip():
        raise XValidationError(
            "output_path", value, "an ObjectStoragePath or a URI such as s3://aws_default@bucket/key"
        )


def output_location(value: Any, conn_id: str | None) -> ObjectStoragePath:
    check_output_path(value)
    try:
        location = as_storage_path(value, conn_id)
        location.fs  # noqa: B018 - resolves the file system: an unknown scheme fails here, before any request
    except Exception as exc:  # fsspec raises ValueError, ImportError, KeyError ... for unusable URIs
        raise XValidationError(
            "output_path", value, f"a URI of an installed fsspec file system ({type(exc).__name__}: {exc})"
        ) from None
    return location


def resolve_deferrable(deferrable: bool | None, defer_after: Any) -> tuple[bool, float]:
    """``deferrable`` (``None``: ``[operators] default_deferrable``) and ``defer_after``, checked."""
    if deferrable is None:
        deferrable = bool(airflow_conf().getboolean("operators", "default_deferrable", fallback=False))
    if not isinstance(deferrable, bool):
        raise XValidationError("deferrable", deferrable, "True or False")
    if isinstance(defer_after, bool) or not isinstance(defer_after, (int, float)) or defer_after < 0:
        raise XValidationError("defer_after", defer_after, "a number of seconds >= 0")
    return deferrable, float(defer_after)


def outlets_with_output(given: Any, output_path: Any) -> list[Any]:
    """The ``outlets`` given, plus the output asset of a static ``output_path`` (checked first)."""
    outlets = list(given) if isinstance(given, (list, tuple)) else [given] if given is not None else []
    if output_path is not None and is_concrete(output_path):
        check_output_path(output_path)
        asset = output_asset(output_path)
        if all(getattr(o, "uri", None) != asset.uri for o in outlets):
            outlets.append(asset)
    return outlets


def output_asset(output_path: ObjectStoragePath | str) -> Asset:
    """The Asset an output location stands for (URI without the connection id), for ``outlets=``.

    The listing operators add it by themselves when ``output_path`` is static. Pass it explicitly when
    the path is templated or the task is mapped (``.partial(outlets=[output_asset(path)])``), since
    outlets must be known when the DAG is parsed.
    """
    return Asset(uri=asset_uri(output_path))


def _xcom_backend_keeps_values_in_object_storage() -> bool:
    backend = str(airflow_conf().get("core", "xcom_backend", fallback="") or "")
    return backend.rsplit(".", 1)[-1] in OBJECT_STORAGE_XCOM_BACKENDS


class IncludesCollector:
    """The ``includes`` of every page of a listing, each object once (by ``id`` or ``media_key``)."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, dict[str, Any]]] = {}

    def add(self, includes: Mapping[str, Iterable[Mapping[str, Any]]]) -> int:
        """Add a page's includes; returns the bytes of JSON the new objects take."""
        size = 0
        for kind, items in includes.items():
            known = self.objects.setdefault(kind, {})
            for item in items:
                key = str(item.get("id", item.get("media_key", len(known))))
                if key not in known:
                    known[key] = dict(item)
                    size += len(_encoder.encode(item)) + 1
        return size

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {kind: list(items.values()) for kind, items in self.objects.items()}


def validate_budget(max_cost_usd: Any, on_budget_exhausted: Any, allowed: Sequence[str] = ON_BUDGET_EXHAUSTED) -> None:
    """``max_cost_usd`` (``None`` or US dollars >= 0) and ``on_budget_exhausted`` (one of ``allowed``:
    the listings' ``fail``/``commit``, the sensor's ``fail``/``skip``)."""
    if max_cost_usd is not None and (
        isinstance(max_cost_usd, bool)
        or not isinstance(max_cost_usd, (int, float))
        or not math.isfinite(max_cost_usd)
        or max_cost_usd < 0
    ):
        raise XValidationError("max_cost_usd", max_cost_usd, "None or a number of US dollars >= 0, e.g. 2.5")
    if on_budget_exhausted not in allowed:
        raise XValidationError("on_budget_exhausted", on_budget_exhausted, tuple(allowed))


class _BudgetStop(Exception):
    """The listing stops before a request that could cross ``max_cost_usd`` (``on_budget_exhausted="commit"``)."""

    def __init__(self, partial: dict[str, Any]) -> None:
        super().__init__(partial["detail"])
        self.partial = partial


# --------------------------------------------------------------------------- base classes
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


class BaseXListingOperator(BaseXOperator):
    """What the listing operators share; a subclass names its ``endpoint`` and holds its arguments.

    The id argument and the field and expansion lists are those of the endpoint table
    (``endpoint.id_argument``, ``endpoint.lists``), all templated.

    :param max_results: page size, within the endpoint's bounds (default 100).
    :param max_records: stop after this many records (never costs an extra request).
    :param join_includes: add an ``includes`` key to each record with the included objects it refers to.
    :param output_path: ``ObjectStoragePath`` or URI (templated), e.g. ``s3://aws_default@bucket/likes``;
        ``None`` returns the records as XCom.
    :param output_conn_id: storage connection when the URI names none.
    :param output_format: ``"jsonl"`` (JSON Lines, default) or ``"parquet"`` (extra ``[parquet]``;
        nested fields kept as structs and lists, see :mod:`airflow_provider_xlikes.output.parquet`).
    :param compression: ``None`` or ``"gzip"`` (Parquet: ``None`` is snappy).
    :param compression_level: with ``compression="gzip"``, 1 (fastest; the default, ``None``) to 9
        (smallest files, several times the CPU; see docs/output.md for the measured trade-off).
    :param part_records: records per part file (default 5,000).
    :param xcom_max_bytes: without ``output_path``, the most JSON the task may put into XCom:
        ``"auto"`` (default: 1 MiB, or no limit where the XCom backend keeps values in object
        storage, common-io's ``XComObjectStorageBackend``), a number of bytes, or ``None`` (no limit).
        With an expected total, a listing that will not fit fails after its first page.
    :param incremental: collect only what is new since the last successful run of this listing
        (same endpoint, id and authorization): paging stops at the newest record that run
        collected; the first run is a full backfill. The output (XCom, or the manifest's
        ``incremental`` key) says where it stopped. See :mod:`airflow_provider_xlikes.operators.incremental`.
    :param incremental_max_pages: with ``incremental``, read at most this many pages looking for the
        last run's newest records (``None``, default: until found or the listing ends, so that no
        new like is ever missed; when none of them is listed any more, every record is taken as new
        and the log says so).
    :param lookup_total: before paging, look up the total to expect (one request: the post's or the
        user's ``like_count``, at most what X lists per id: 100 liking users per post) for the
        progress lines, the expected cost and the early XCom check; a refused lookup is skipped
        with a log line.
    :param max_cost_usd: stop before the request whose page could cross this estimated cost (US
        dollars, this task's requests, the count lookup included; the worst case of a page is
        ``max_results`` records with their includes, see :mod:`airflow_provider_xlikes.pricing`);
        ``None`` (default): no limit.
    :param on_budget_exhausted: ``"fail"`` (default: the task fails, nothing is committed) or
        ``"commit"`` (what was read is committed; the manifest, or the XCom key ``meta``, says it
        is partial and why).
    """

    endpoint: ClassVar[Endpoint]
    ui_color = "#e8f5fd"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        endpoint = cls.__dict__.get("endpoint")
        if endpoint is not None:
            assert endpoint.id_argument is not None
            cls.template_fields = ("x_conn_id", endpoint.id_argument, *endpoint.list_arguments, "output_path")

    def __init__(
        self,
        *,
        max_results: int = 100,
        max_records: int | None = None,
        join_includes: bool = False,
        output_path: ObjectStoragePath | str | None = None,
        output_conn_id: str | None = None,
        output_format: str = DEFAULT_OUTPUT_FORMAT,
        compression: Compression = None,
        compression_level: int | None = None,
        part_records: int = DEFAULT_PART_RECORDS,
        xcom_max_bytes: int | Literal["auto"] | None = "auto",
        lookup_total: bool = True,
        incremental: bool = False,
        incremental_max_pages: int | None = None,
        max_cost_usd: float | None = None,
        on_budget_exhausted: Literal["fail", "commit"] = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(outlets=outlets_with_output(kwargs.pop("outlets", None), output_path), **kwargs)
        self.max_results = max_results
        self.max_records = max_records
        self.join_includes = join_includes
        self.output_path = output_path
        self.output_conn_id = output_conn_id
        self.output_format = output_format
        self.compression = compression
        self.compression_level = compression_level
        self.part_records = part_records
        self.xcom_max_bytes = xcom_max_bytes
        self.lookup_total = lookup_total
        self.incremental = incremental
        self.incremental_max_pages = incremental_max_pages
        self.max_cost_usd = max_cost_usd
        self.on_budget_exhausted = on_budget_exhausted
        self._progress = ListingProgress(None, max_results, WINDOW_SECONDS)
        self._owned = False
        #: what the last run collected (the keys of a manifest), for OpenLineage
        self.run_outcome: dict[str, Any] | None = None
        self._validate(rendered=False)

    # ---- OpenLineage (the provider calls these after a run; see airflow_provider_xlikes.lineage)
    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from airflow_provider_xlikes.lineage import listing_lineage

        return listing_lineage(self, failed=False)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        from airflow_provider_xlikes.lineage import listing_lineage

        return listing_lineage(self, failed=True)

    # ---- the subclass's arguments, through the endpoint table
    @property
    def source_id(self) -> Any:
        assert self.endpoint.id_argument is not None
        return getattr(self, self.endpoint.id_argument)

    @property
    def lists(self) -> dict[str, Any]:
        """The field and expansion arguments, by name (``user_fields=...``)."""
        return {argument: getattr(self, argument) for argument in self.endpoint.list_arguments}

    # ---- validation
    def _validate(self, *, rendered: bool) -> None:
        """Check every argument; before rendering, templated values are skipped (checked in execute)."""
        endpoint = self.endpoint
        if rendered or is_concrete(self.source_id):
            assert endpoint.id_argument is not None
            validate_id(endpoint.id_argument, self.source_id)
        validate_max_results(endpoint, self.max_results)
        validate_max_records(self.max_records)
        for argument, value in self.lists.items():
            if rendered or is_concrete(value):
                validate_names(endpoint, argument, value)
        for flag in ("join_includes", "lookup_total", "incremental"):
            if not isinstance(getattr(self, flag), bool):
                raise XValidationError(flag, getattr(self, flag), "True or False")
        if self.output_format not in OUTPUT_FORMATS:
            raise XValidationError("output_format", self.output_format, OUTPUT_FORMATS)
        validate_compression(self.compression, self.compression_level)
        if self.part_records is None or validate_positive("part_records", self.part_records) is None:
            raise XValidationError("part_records", self.part_records, "a positive integer")
        if self.incremental_max_pages is not None:
            validate_positive("incremental_max_pages", self.incremental_max_pages)
        if self.xcom_max_bytes != "auto":
            validate_positive("xcom_max_bytes", self.xcom_max_bytes)
        if rendered or is_concrete(self.output_path):
            check_output_path(self.output_path)
        validate_budget(self.max_cost_usd, self.on_budget_exhausted)

    @property
    def xcom_limit(self) -> int | None:
        """The XCom limit in bytes of JSON, or ``None`` for none."""
        if self.xcom_max_bytes == "auto":
            return None if _xcom_backend_keeps_values_in_object_storage() else XCOM_MAX_BYTES
        return self.xcom_max_bytes

    # ---- execution
    def execute(self, context: Context) -> Any:
        return self._collect(context, None)

    def execute_complete(self, context: Context, event: Any = None, **kwargs: Any) -> Any:
        """Go on after a deferral, from the cursor the trigger event brings back."""
        return self._collect(context, self.resume_state(event))

    def _collect(self, context: Context, resume: dict[str, Any] | None) -> Any:
        try:
            return self._collect_listing(context, resume)
        finally:  # a listing cut short (incremental head, max_results, deferral) keeps leased slots
            self.hook.release_budget()

    def _collect_listing(self, context: Context, resume: dict[str, Any] | None) -> Any:
        self._validate(rendered=True)
        assert self.endpoint.id_argument is not None
        source_id = validate_id(self.endpoint.id_argument, self.source_id)
        location = None if self.output_path is None else output_location(self.output_path, self.output_conn_id)
        if resume is None and location is not None:
            resume = self._load_checkpoint(context)
        # opened before any request: an output location this worker cannot write fails here
        writer = None if location is None else self._open_writer(location, context, resume)
        scan = self._open_scan(context, source_id, location, resume) if self.incremental else None
        meter = self.hook.costs = self.hook.costs.restored(resume.get("cost") if resume else None)
        if self.max_cost_usd is not None and self.endpoint.id_argument == "user_id":
            self.hook.owner_id(resolve=True)  # an owned read costs a fifth: know it before budgeting
        self._owned = self.hook.is_owned(self.endpoint, source_id)
        # a later incremental run expects the few new likes, not the whole listing: no total to look up
        backfill = scan is None or scan.scan.head is None
        expected = self._expected_total(source_id, resume) if backfill else None
        self._progress = ListingProgress(
            expected, self.max_results, WINDOW_SECONDS, meter=meter, expected_usd=self._expected_usd(resume, expected)
        )
        if location is None or writer is None:
            return self._collect_to_xcom(context, source_id, resume, scan)
        return self._collect_to_storage(context, source_id, location, writer, resume, scan)

    def _open_scan(
        self,
        context: Context,
        source_id: str,
        location: ObjectStoragePath | None,
        resume: Mapping[str, Any] | None,
    ) -> IncrementalListing:
        """The incremental scan: resumed from a deferral's or checkpoint's state, else from the
        head stored by the last committed run (in the output asset's state store where there is one)."""
        asset = None
        if location is not None:
            uri = asset_uri(location)
            asset = next((o for o in self.outlets or [] if isinstance(o, Asset) and o.uri == uri), None)
        state = resume.get("incremental") if resume is not None else None
        return IncrementalListing.open(
            context,
            self.endpoint,
            source_id,
            self.hook.authorization_fingerprint,
            asset=asset,
            resume=state if isinstance(state, dict) else None,
            max_pages=self.incremental_max_pages,
        )

    def _expected_total(self, source_id: str, resume: Mapping[str, Any] | None) -> int | None:
        """The records to expect (``max_records`` at most): from the resume state after a deferral,
        else one count lookup (``lookup_total``)."""
        if resume is not None and "expected" in resume:
            expected = resume["expected"]
            return expected if isinstance(expected, int) and not isinstance(expected, bool) else None
        if not self.lookup_total:
            return None
        count = self.hook.like_count(self.endpoint, source_id)
        if count is None:
            return None
        expected = self.endpoint.listable(count)
        if self.max_records is not None:
            expected = min(expected, self.max_records)
        capped = (
            f"; X lists at most {self.endpoint.listing_cap:,} per id, for all time"
            if self.endpoint.listing_cap is not None and count > self.endpoint.listing_cap
            else ""
        )
        self.log.info(
            "%s %s=%s: like_count %s, expecting ~%s records (likes by protected accounts are not listed%s)",
            self.endpoint.name,
            self.endpoint.id_argument,
            source_id,
            f"{count:,}",
            f"{expected:,}",
            capped,
        )
        return expected

    def _expected_usd(self, resume: Mapping[str, Any] | None, expected: int | None) -> float | None:
        """The estimated cost of the whole listing: what was spent (the count lookup) and the
        expected records at their price (includes come on top, as they arrive)."""
        if resume is not None and "expected_usd" in resume:
            value = resume["expected_usd"]
            return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if expected is None:
            return None
        meter = self.hook.costs
        usd = meter.usd + meter.prices.cost(self.endpoint, expected, owned=self._owned)
        self.log.info(
            "%s: expected cost ~%s for ~%s records%s (estimate: %s; includes on top as they arrive)%s",
            self.endpoint.name,
            format_usd(usd),
            f"{expected:,}",
            " (owned reads)" if self._owned else "",
            meter.prices.source,
            f"; max_cost_usd={self.max_cost_usd}" if self.max_cost_usd is not None else "",
        )
        return usd

    def _cost_state(self) -> dict[str, Any]:
        """What a resumed try needs to go on counting the cost."""
        return {"cost": self.hook.costs.to_json(), "expected_usd": self._progress.expected_usd}

    def cost_summary(self) -> dict[str, Any]:
        """Resources returned by kind and the estimated cost, with its assumptions (manifest, ``meta``)."""
        return self.hook.costs.summary(
            expected_cost_usd=None if self._progress.expected_usd is None else round(self._progress.expected_usd, 6),
            max_cost_usd=self.max_cost_usd,
            owned_reads=self._owned,
        )

    def _next_page_bound(self, collected: int) -> tuple[int, float]:
        """(records, USD) of the costliest next page: ``max_results`` records (fewer where
        ``max_records`` or X's per-id cap leaves fewer), each with its includes at their bound."""
        size = self.max_results
        if self.max_records is not None:
            assert self.endpoint.page_size is not None
            size = max(min(size, self.max_records - collected), self.endpoint.page_size[0])
        if self.endpoint.listing_cap is not None:
            size = min(size, max(self.endpoint.listing_cap - collected, 0))
        meter = self.hook.costs
        expansions = validate_names(self.endpoint, "expansions", self.lists.get("expansions"))
        bounds = meter.include_bounds(expansions)
        return size, meter.prices.page_bound(self.endpoint, size, bounds, owned=self._owned)

    def _within_budget(
        self, pages: Iterable[Page], source_id: str, collected: int, token: str | None
    ) -> Iterator[Page]:
        """``pages`` (from the cursor ``token``), stopped before the request whose page could cross
        ``max_cost_usd``."""
        limit = self.max_cost_usd
        if limit is None:
            yield from pages
            return
        iterator = iter(pages)
        while True:
            size, bound = self._next_page_bound(collected)
            spent = self.hook.costs.usd
            if size > 0 and self.hook.costs.could_cross(bound, limit):
                self._budget_exhausted(source_id, collected, spent, size, bound, token)
            page = next(iterator, None)
            if page is None:
                return
            collected += len(page.data)
            token = page.next_token
            yield page
            if page.next_token is None or (self.max_records is not None and collected >= self.max_records):
                yield from iterator  # no request follows (the listing ends)
                return

    def _budget_exhausted(
        self, source_id: str, collected: int, spent: float, size: int, bound: float, token: str | None
    ) -> NoReturn:
        detail = (
            f"{self.endpoint.name} {self.endpoint.id_argument}={source_id}: stopped before the next request, "
            f"whose page could cross max_cost_usd={self.max_cost_usd} (spent ~{format_usd(spent)} on this task's "
            f"requests; the next page may cost up to {format_usd(bound)}: {size} records with their includes); "
            f"{collected:,} records read"
        )
        if self.on_budget_exhausted == "fail":
            raise XBudgetExhaustedError(
                detail + "; nothing was committed: raise max_cost_usd, or set on_budget_exhausted='commit' to keep "
                "what was read"
            )
        self.log.warning("%s; committing what was read (on_budget_exhausted='commit')", detail)
        raise _BudgetStop(
            {
                "reason": "max_cost_usd",
                "detail": detail,
                "max_cost_usd": self.max_cost_usd,
                "spent_usd": round(spent, 6),
                "next_page_bound_usd": round(bound, 6),
                "records": collected,
                "next_token": token,
            }
        )

    def parameters(self, source_id: str) -> dict[str, Any]:
        """The request parameters, as recorded in the manifest (JSON)."""
        assert self.endpoint.id_argument is not None
        params: dict[str, Any] = {
            self.endpoint.id_argument: source_id,
            "max_results": self.max_results,
            "max_records": self.max_records,
        }
        for argument, value in self.lists.items():
            params[argument] = validate_names(self.endpoint, argument, value)
        params["join_includes"] = self.join_includes
        return params

    def _pages(self, source_id: str, *, collected: int = 0, pagination_token: str | None = None) -> Iterator[Page]:
        """Pages from ``pagination_token`` on, ``collected`` records already counted toward ``max_records``."""
        remaining = None if self.max_records is None else self.max_records - collected
        if remaining is not None and remaining <= 0:
            return iter(())
        pages = self.hook.iter_listing(
            self.endpoint,
            source_id,
            max_results=self.max_results,
            max_records=remaining,
            pagination_token=pagination_token,
            **self.request_lists,
        )
        return self._within_budget(pages, source_id, collected, pagination_token)

    @property
    def request_lists(self) -> dict[str, Any]:
        """The lists as sent: with ``join_includes``, plus the id fields the expansions join on
        (``pinned_tweet_id`` for ``expansions=["pinned_tweet_id"]``), in the connection's naming."""
        lists = {argument: validate_names(self.endpoint, argument, value) for argument, value in self.lists.items()}
        if not self.join_includes:
            return lists
        return join_fields(self.endpoint, lists, self.hook.settings.field_naming)

    def _records(self, page: Page, source_id: str | None) -> list[dict[str, Any]]:
        """The page's records as written: unchanged, unless a source field or joins are added
        (to files, records not joined get their source field from the writer, uncopied)."""
        if source_id is None and not self.join_includes:
            return page.data
        assert self.endpoint.source_field is not None
        assert self.endpoint.records is not None
        index = IncludesIndex(page) if self.join_includes else None
        out: list[dict[str, Any]] = []
        for item in page.data:
            record: dict[str, Any] = {self.endpoint.source_field: source_id} if source_id is not None else {}
            record.update(item)
            if index is not None and (joined := join_includes(self.endpoint.records, item, index)):
                record["includes"] = joined
            out.append(record)
        return out

    def _log_page(self, source_id: str, page: Page, total: int) -> None:
        """``liking_users tweet_id=…: page 12: 1,200 of ~50,000 (2.4 %), 63/75 requests left in this
        window, about 1 h 29 min to go``: for the first and the last page, and a page every few
        seconds in between (see ``ListingProgress``); the partial errors of every page that has some."""
        line = self._progress.page_line(page.number, total, page.rate_limit, last=page.next_token is None)
        if line is not None:
            self._log_progress(source_id, line)
        if page.errors:  # normal on X (deleted posts, suspended users): kept and counted, not a failure
            self.log.info(
                "%s %s=%s: page %d reports %d partial error(s) (kept beside the data): %s",
                self.endpoint.name,
                self.endpoint.id_argument,
                source_id,
                self._progress.pages_before + page.number,
                len(page.errors),
                "; ".join(sorted({str(e.get("title") or e.get("type") or "error") for e in page.errors})),
            )

    def _log_progress(self, source_id: str, line: str) -> None:
        self.log.info("%s %s=%s: %s", self.endpoint.name, self.endpoint.id_argument, source_id, line)

    def _log_last_page(self, source_id: str) -> None:
        """The progress line of the last page read, where the listing stopped before its end
        (``max_records``, the incremental head, a deferral) and it was not logged yet."""
        line = self._progress.pending_line()
        if line is not None:
            self._log_progress(source_id, line)

    def _collect_to_xcom(
        self, context: Context, source_id: str, resume: dict[str, Any] | None, scan: IncrementalListing | None
    ) -> list[dict[str, Any]]:
        state = resume or {"batches": 0, "records": 0, "size": 2, "next_token": None}
        self._progress.pages_before = pages_read = int(state.get("pages", 0))
        records: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        includes = IncludesCollector()
        size = int(state["size"])
        broken_unicode = int(state.get("broken_unicode", 0))
        limit = self.xcom_limit
        partial: dict[str, Any] | None = None
        try:
            pages = self._pages(source_id, collected=state["records"], pagination_token=state["next_token"])
            for page in pages if scan is None else scan.pages(pages):
                page_records = self._records(page, None)
                records.extend(page_records)
                errors.extend(page.errors)
                broken_unicode += page.broken_unicode
                size += len(_encoder.encode(page_records)) + len(_encoder.encode(page.errors))
                size += includes.add(page.includes)
                collected = int(state["records"]) + len(records)
                pages_read += 1
                self._log_page(source_id, page, collected)
                self._check_xcom_room(source_id, page, collected, size, limit)
        except _BudgetStop as stop:
            partial = stop.partial
        except XRateLimitWait as wait:
            self._log_last_page(source_id)
            # what was collected waits in XCom (never in the trigger); the cursor goes with the trigger
            batch = int(state["batches"])
            context["ti"].xcom_push(
                key=f"{DEFERRED_XCOM_PREFIX}{batch}",
                value={"records": records, "errors": errors, "includes": includes.as_dict()},
            )
            self.defer_until_reset(
                wait,
                {
                    "batches": batch + 1,
                    "records": int(state["records"]) + len(records),
                    "size": size,
                    "broken_unicode": broken_unicode,
                    "pages": pages_read,
                    "next_token": wait.pagination_token if scan is None else scan.restart_token(wait.pagination_token),
                    "expected": self._progress.expected,
                    **self._cost_state(),
                    **({} if scan is None else {"incremental": scan.state()}),
                },
            )
        self._log_last_page(source_id)
        records, errors = self._with_deferred_batches(context, int(state["batches"]), records, errors, includes)
        if errors:
            self.log.info("%d partial error(s) pushed to XCom key 'errors'", len(errors))
            context["ti"].xcom_push(key="errors", value=errors)
        if includes.objects:
            context["ti"].xcom_push(key="includes", value=includes.as_dict())
        self.log.info(
            "%s %s=%s: %d records to XCom%s",
            self.endpoint.name,
            self.endpoint.id_argument,
            source_id,
            len(records),
            " (partial: max_cost_usd)" if partial else "",
        )
        context["ti"].xcom_push(
            key=META_XCOM_KEY,
            value={
                "complete": partial is None,
                "partial": partial,
                "record_count": len(records),
                "broken_unicode": broken_unicode,
                **self.cost_summary(),
            },
        )
        self.run_outcome = {  # what OpenLineage reports of the run (the keys of a manifest)
            "record_count": len(records),
            "pages": pages_read,
            "includes": sum(len(objects) for objects in includes.objects.values()),
            "errors": len(errors),
            "complete": partial is None,
            "partial": partial,
            "cost": self.cost_summary(),
            "incremental": None if scan is None else scan.summary(),
        }
        if scan is not None:
            context["ti"].xcom_push(key="incremental", value=scan.summary())
            if partial is None:
                self._commit_scan(scan)
            else:
                self.log.warning("Incremental %s: the head stays where it was (partial run)", self.endpoint.name)
        return records

    def _check_xcom_room(self, source_id: str, page: Page, collected: int, size: int, limit: int | None) -> None:
        """Fail as soon as the records will not fit into XCom: when they already do not, or when the
        expected total at the size of the records so far would not (after one page, not twelve)."""
        if limit is None:
            return
        expected = self._progress.expected
        projected = size * expected // collected if expected and collected and expected > collected else size
        if projected <= limit:
            return
        pages = self._progress.pages_before + page.number
        what = (
            f"{size:,} bytes of JSON after {pages} page(s) and {collected:,} records"
            if projected == size
            else f"about {projected:,} bytes of JSON for the ~{expected:,} records expected, at "
            f"{size:,} bytes for the first {collected:,}"
        )
        raise XComTooLargeError(
            f"{self.endpoint.name} {self.endpoint.id_argument}={source_id} gives more than XCom may hold ({what}; "
            f"xcom_max_bytes={limit}): set output_path (e.g. 's3://aws_default@bucket/likes') to write the "
            "records to object storage, max_records to take fewer, or a larger xcom_max_bytes"
        )

    def _with_deferred_batches(
        self,
        context: Context,
        batches: int,
        records: list[dict[str, Any]],
        errors: list[dict[str, Any]],
        includes: IncludesCollector,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Records and errors of the batches pushed before each deferral, then this run's."""
        if not batches:
            return records, errors
        ti = context["ti"]
        all_records: list[dict[str, Any]] = []
        all_errors: list[dict[str, Any]] = []
        for batch in range(batches):
            value = ti.xcom_pull(task_ids=ti.task_id, key=f"{DEFERRED_XCOM_PREFIX}{batch}", map_indexes=ti.map_index)
            if not isinstance(value, dict):
                raise XValidationError(f"XCom {DEFERRED_XCOM_PREFIX}{batch}", type(value).__name__, "a deferred batch")
            all_records.extend(value["records"])
            all_errors.extend(value["errors"])
            includes.add(value["includes"])
        return all_records + records, all_errors + errors

    def _collect_to_storage(
        self,
        context: Context,
        source_id: str,
        location: ObjectStoragePath,
        writer: OutputWriter,
        state: dict[str, Any] | None,
        scan: IncrementalListing | None,
    ) -> dict[str, Any]:
        self._clean_abandoned_staging(context, writer)
        self.log.info("Writing %s to %s (staging %s)", self.endpoint.name, writer.final_dir, writer.staging_dir)
        with writer:
            if state:
                self.log.info(
                    "Resuming from a checkpoint: %d records in %d part(s) are already written",
                    writer.record_count,
                    len(writer.parts),
                )
                self._save_checkpoint(context, state)  # opening trimmed the staging folder to the checkpoint
            complete = bool(state and state.get("complete"))
            total = writer.record_count
            self._progress.pages_before = writer.page_count
            partial: dict[str, Any] | None = None
            try:
                pages: Iterable[Page] = ()
                if not complete:
                    pages = self._pages(source_id, collected=total, pagination_token=writer.next_token)
                    pages = pages if scan is None else scan.pages(pages)
                assert self.endpoint.source_field is not None
                # records passed through unchanged get their source field from the writer, uncopied
                fields = None if self.join_includes else {self.endpoint.source_field: source_id}
                for page in pages:
                    closed = writer.write_page(
                        page.data if fields is not None else self._records(page, source_id),
                        errors=page.errors,
                        includes=page.includes,
                        next_token=page.next_token,
                        fields=fields,
                        broken_unicode=page.broken_unicode,
                    )
                    total += len(page.data)
                    self._log_page(source_id, page, total)
                    complete = page.next_token is None or (scan is not None and scan.finished)
                    if closed is not None:
                        self._save_checkpoint(context, self._checkpoint(writer, complete, scan))
            except _BudgetStop as stop:
                partial = stop.partial
            except XRateLimitWait as wait:
                self._log_last_page(source_id)
                writer.close_part()  # what the task holds is durable before the worker slot is given up
                checkpoint = self._checkpoint(writer, False, scan)
                self._save_checkpoint(context, checkpoint)
                self.defer_until_reset(wait, checkpoint)
            self._log_last_page(source_id)
            complete = partial is None and (complete or (scan is not None and scan.finished))
            metadata = self._manifest_metadata(context, source_id, complete, writer)
            metadata["partial"] = partial
            metadata["cost"] = self.cost_summary()
            if scan is not None:
                metadata["incremental"] = scan.summary()
            # the last part closed and checkpointed before the commit: a try killed inside the commit
            # resumes from here and sends no page again (the commit's steps can all be repeated)
            writer.close_part()
            self._save_checkpoint(context, self._checkpoint(writer, complete, scan))
            manifest = writer.commit(metadata)
        if scan is not None and partial is None:
            self._commit_scan(scan)
        elif scan is not None:
            self.log.warning("Incremental %s: the head stays where it was (partial run)", self.endpoint.name)
        self._clear_checkpoint(context)
        self.log.info(
            "Committed %d records in %d file(s), %d pages, %d include objects, %d partial errors: %s",
            manifest["record_count"],
            len(manifest["files"]),
            manifest["pages"],
            manifest["includes"],
            manifest["errors"],
            manifest["manifest"],
        )
        self._emit_asset_event(context, location, manifest)
        self.run_outcome = manifest
        return manifest

    def _checkpoint(self, writer: OutputWriter, complete: bool, scan: IncrementalListing | None) -> dict[str, Any]:
        """What a resumed try needs: the durable parts and the cursor after them, the expected total,
        the incremental scan's state."""
        checkpoint = {
            "writer": writer.checkpoint(),
            "complete": complete,
            "expected": self._progress.expected,
            **self._cost_state(),
        }
        if scan is not None:
            checkpoint["incremental"] = scan.state()
        return checkpoint

    def _commit_scan(self, scan: IncrementalListing) -> None:
        """Advance the listing's head, now that the run's output is committed."""
        scan.commit()
        result = scan.result
        if result.stop is not None and result.stop.value == "end" and scan.scan.head is not None:
            self.log.warning(
                "Incremental %s: none of the previous run's %d newest records is listed any more (unliked): "
                "the whole listing was taken as new, records of earlier runs among it",
                self.endpoint.name,
                len(scan.scan.head),
            )
        self.log.info(
            "Incremental %s: %d new record(s), stopped %s%s; the next run stops at the newest of them",
            self.endpoint.name,
            result.new_count,
            {"head": "at the previous run's newest record", "end": "at the end of the listing"}.get(
                result.stop.value if result.stop is not None else "", "after a bounded overlap scan"
            ),
            f" ({result.marker})" if result.marker else "",
        )

    def _open_writer(self, location: ObjectStoragePath, context: Context, state: dict[str, Any] | None) -> OutputWriter:
        """The writer, opened fresh or from a checkpoint (a checkpoint whose parts are gone: fresh,
        and ``state`` is emptied). A location that cannot be written is an error naming ``output_path``."""
        try:
            return self._opened_writer(location, context, state)
        except OSError as exc:  # fsspec's file systems raise OSError subclasses (PermissionError ...)
            raise XValidationError(
                "output_path",
                self.output_path,
                f"a location this worker can create and write files in ({type(exc).__name__}: {exc}); check that "
                "the path exists or can be created, its permissions, and the storage connection's credentials",
            ) from None

    def _opened_writer(
        self, location: ObjectStoragePath, context: Context, state: dict[str, Any] | None
    ) -> OutputWriter:

        def writer() -> OutputWriter:
            return OutputWriter(
                location,
                RunKey.from_context(context),
                output_format=self.output_format,
                part_records=self.part_records,
                compression=self.compression,
                compression_level=self.compression_level,
            )

        if state is not None:
            try:
                return writer().open(state["writer"])
            except OutputError as exc:
                self.log.warning("Checkpoint not usable (%s): starting the listing afresh", exc)
                state.clear()
        return writer().open(None)

    def _clean_abandoned_staging(self, context: Context, writer: OutputWriter) -> None:
        """Remove the staging other task instances of this task left behind and will not come back
        to (their task instance is not running, queued, deferred or up for retry)."""
        others = writer.staged_runs()
        ti = context["ti"]
        get_task_states = getattr(ti, "get_task_states", None)
        if not others or get_task_states is None:
            return
        states = get_task_states(dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=sorted({o.run_id for o in others}))
        for other in others:
            key = other.task_id if other.map_index < 0 else f"{other.task_id}_{other.map_index}"
            state = (states.get(other.run_id) or {}).get(key)
            if str(getattr(state, "value", state)) in ACTIVE_STATES:
                continue
            self.log.info(
                "Removing the staging of %s map_index=%d, which will not come back to it (state %s)",
                other.run_id,
                other.map_index,
                state,
            )
            writer.remove_staging_of(other)

    def _manifest_metadata(
        self, context: Context, source_id: str, complete: bool, writer: OutputWriter
    ) -> dict[str, Any]:
        dag_run = context.get("dag_run")

        def iso(name: str) -> str | None:
            value = getattr(dag_run, name, None) if dag_run is not None else None
            return pendulum.instance(value).to_iso8601_string() if value is not None else None

        assert self.endpoint.id_argument is not None
        return {
            "endpoint": self.endpoint.name,
            "request": self.endpoint.label,
            self.endpoint.id_argument: source_id,
            "source_field": self.endpoint.source_field,
            "parameters": self.parameters(source_id),
            "window": {"started_at": writer.started_at, "finished_at": utcnow_iso()},
            "data_interval": {
                "logical_date": iso("logical_date"),
                "start": iso("data_interval_start"),
                "end": iso("data_interval_end"),
            },
            "complete": complete,
            "next_token": None if complete else writer.next_token,
            "asset": asset_uri(writer.base),
        }

    def _emit_asset_event(self, context: Context, location: ObjectStoragePath, manifest: Mapping[str, Any]) -> None:
        uri = asset_uri(location)
        assert self.endpoint.id_argument is not None
        for outlet in self.outlets or []:
            if isinstance(outlet, Asset) and outlet.uri == uri:
                events = context.get("outlet_events")
                if events is not None:
                    events[outlet].extra = {
                        "manifest": manifest["manifest"],
                        "record_count": manifest["record_count"],
                        self.endpoint.id_argument: manifest[self.endpoint.id_argument],
                    }

    # ---- checkpoints: resume after a crash (the durable parts and the cursor after them)
    def _checkpoint_state(self, context: Context) -> state.KeyValueState:
        """Where the resume checkpoint lives (see :mod:`airflow_provider_xlikes.state`): the task
        instance's ``task_state_store`` (3.3+), else ``_checkpoint.json`` in its staging folder."""
        return state.task_instance_state(context, state.StagedCheckpoint(self._staging_of(context)))

    def _load_checkpoint(self, context: Context) -> dict[str, Any] | None:
        """The checkpoint a killed earlier try of this task instance left, if any."""
        value = self._checkpoint_state(context).get(CHECKPOINT_KEY)
        return value if isinstance(value, dict) and isinstance(value.get("writer"), dict) else None

    def _save_checkpoint(self, context: Context, checkpoint: dict[str, Any]) -> None:
        self._checkpoint_state(context).set(CHECKPOINT_KEY, checkpoint)

    def _clear_checkpoint(self, context: Context) -> None:
        self._checkpoint_state(context).delete(CHECKPOINT_KEY)

    def _staging_of(self, context: Context) -> ObjectStoragePath:
        location = output_location(self.output_path, self.output_conn_id)
        return OutputWriter(location, RunKey.from_context(context)).staging_dir


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


# --------------------------------------------------------------------------- like / unlike
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
