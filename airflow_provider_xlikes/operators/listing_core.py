"""The listing operators' arguments through the endpoint table, their validation, the pages they ask
for and the records they make of them, progress lines, and the incremental head's commit."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from airflow.sdk import Asset, ObjectStoragePath

from airflow_provider_xlikes.endpoints import WINDOW_SECONDS, Endpoint, join_fields
from airflow_provider_xlikes.exceptions import XValidationError
from airflow_provider_xlikes.incremental_listing import IncrementalListing
from airflow_provider_xlikes.operators.base import BaseXOperator
from airflow_provider_xlikes.output import (
    DEFAULT_OUTPUT_FORMAT,
    DEFAULT_PART_RECORDS,
    OUTPUT_FORMATS,
    Compression,
    asset_uri,
)
from airflow_provider_xlikes.output.base import validate_compression
from airflow_provider_xlikes.pages import IncludesIndex, Page, join_includes
from airflow_provider_xlikes.progress import ListingProgress
from airflow_provider_xlikes.task_support import check_output_path, is_concrete, outlets_with_output, validate_budget
from airflow_provider_xlikes.validation import (
    validate_id,
    validate_max_records,
    validate_max_results,
    validate_names,
    validate_positive,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


def _init_taking(cls: type[ListingCore], endpoint: Endpoint) -> Any:
    """An ``__init__`` for a subclass that only names its endpoint: its signature takes the
    endpoint's id (required) and lists (keywords), so Airflow checks them, ``.partial()`` and
    ``.expand()`` included, as if the subclass had written them out."""

    def __init__(self: ListingCore, **kwargs: Any) -> None:
        super(cls, self).__init__(**kwargs)

    keyword = inspect.Parameter.KEYWORD_ONLY
    assert endpoint.id_argument is not None
    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter(endpoint.id_argument, keyword),
            *(inspect.Parameter(name, keyword, default=None) for name in endpoint.list_arguments),
            inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD),
        ]
    )
    return __init__


class ListingCore(BaseXOperator):
    """The arguments and records of a listing (its parameters: see
    :class:`~airflow_provider_xlikes.operators.listing.BaseXListingOperator`)."""

    endpoint: ClassVar[Endpoint]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        endpoint = cls.__dict__.get("endpoint")
        if endpoint is not None:
            assert endpoint.id_argument is not None
            cls.template_fields = ("x_conn_id", endpoint.id_argument, *endpoint.list_arguments, "output_path")
            if "__init__" not in cls.__dict__:
                cls.__init__ = _init_taking(cls, endpoint)  # type: ignore[method-assign]

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
        # the endpoint's id and list arguments, where the subclass does not take them itself (a
        # subclass that only names its endpoint: see BaseXListingOperator)
        for argument in (self.endpoint.id_argument, *self.endpoint.list_arguments):
            if argument is not None and argument not in self.__dict__:
                setattr(self, argument, kwargs.pop(argument, None))
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
