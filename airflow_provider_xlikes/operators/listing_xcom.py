"""A listing collected into XCom: the records as the task's XCom, includes and partial errors under
their keys, the batches pushed before each deferral, and the early check that they will fit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from airflow_provider_xlikes.exceptions import XComTooLargeError, XRateLimitWait, XValidationError
from airflow_provider_xlikes.incremental_listing import IncrementalListing
from airflow_provider_xlikes.operators.listing_cost import BudgetStop, ListingBudget
from airflow_provider_xlikes.pages import Page
from airflow_provider_xlikes.version_compat import airflow_conf

if TYPE_CHECKING:
    from airflow.sdk import Context

#: bytes of JSON a listing may put into XCom by default (``xcom_max_bytes``); above it, use ``output_path``
XCOM_MAX_BYTES = 1024 * 1024

#: XCom key prefix of records collected before a deferral (XCom output)
DEFERRED_XCOM_PREFIX = "deferred_page_batch_"

#: the XCom key of a listing's ``meta`` (XCom output): completeness, resources and cost
META_XCOM_KEY = "meta"

#: XCom backends that keep values in object storage: no size limit by default
OBJECT_STORAGE_XCOM_BACKENDS = ("XComObjectStorageBackend",)


_encoder = msgspec.json.Encoder()


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


class XComCollection(ListingBudget):
    """Collect a listing into XCom."""

    @property
    def xcom_limit(self) -> int | None:
        """The XCom limit in bytes of JSON, or ``None`` for none."""
        if self.xcom_max_bytes == "auto":
            return None if _xcom_backend_keeps_values_in_object_storage() else XCOM_MAX_BYTES
        return self.xcom_max_bytes

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
        except BudgetStop as stop:
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
        cost = self.cost_summary()
        context["ti"].xcom_push(
            key=META_XCOM_KEY,
            value={
                "complete": partial is None,
                "partial": partial,
                "record_count": len(records),
                "broken_unicode": broken_unicode,
                **cost,
            },
        )
        self.run_outcome = {  # what OpenLineage reports of the run (the keys of a manifest)
            "record_count": len(records),
            "pages": pages_read,
            "includes": sum(len(objects) for objects in includes.objects.values()),
            "errors": len(errors),
            "complete": partial is None,
            "partial": partial,
            "cost": cost,
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
