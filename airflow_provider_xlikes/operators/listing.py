"""BaseXListingOperator: what the listing operators share, assembled from its jobs (arguments and
records, cost, XCom output, object-storage output), each in a module of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_xlikes.endpoints import WINDOW_SECONDS
from airflow_provider_xlikes.operators.listing_storage import StorageCollection
from airflow_provider_xlikes.operators.listing_xcom import XComCollection
from airflow_provider_xlikes.progress import ListingProgress
from airflow_provider_xlikes.task_support import output_location
from airflow_provider_xlikes.validation import validate_id

if TYPE_CHECKING:
    from airflow.sdk import Context


class BaseXListingOperator(StorageCollection, XComCollection):
    """What the listing operators share; a subclass names its ``endpoint`` (a listing of the
    endpoint table, :mod:`airflow_provider_xlikes.endpoints`), and that is all it needs::

        class XBookmarksOperator(BaseXListingOperator):
            endpoint = BOOKMARKS

    The id argument and the field and expansion lists are those of the endpoint table
    (``endpoint.id_argument``, ``endpoint.lists``), all templated, mappable with ``.expand()``; a
    subclass may still write them out in its own ``__init__`` (to document them).

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
        ``incremental`` key) says where it stopped. See :mod:`airflow_provider_xlikes.incremental_listing`.
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

    ui_color = "#e8f5fd"

    # ---- OpenLineage (the provider calls these after a run; see airflow_provider_xlikes.lineage)
    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from airflow_provider_xlikes.lineage import listing_lineage

        return listing_lineage(self, failed=False)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        from airflow_provider_xlikes.lineage import listing_lineage

        return listing_lineage(self, failed=True)

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
