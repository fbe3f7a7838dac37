"""Incremental collection for the listing operators: where a listing's head is kept, and the scan
of one run, resumable across deferrals and crashes.

The head (the newest ids of the last committed listing, :class:`~airflow_provider_xlikes.incremental.Head`)
is kept per listing, ``(endpoint, id, authorization)``, where
:func:`airflow_provider_xlikes.state.listing_head_store` decides:

* in the **asset state store** of the task's output asset (Airflow 3.3+, a static ``output_path``):
  every DAG writing that asset shares it, as they share the records;
* otherwise in an Airflow **Variable** ``xlikes_head__<key>`` (``VariableHeadStore``), the key a
  SHA-256 of the DAG id, task id and the listing: readable by every worker, never a local file.

The head advances only when a run commits (its manifest is written, or its records are returned to
XCom): a failed or killed run leaves it where it was, and its retry collects the same new records.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_xlikes import state
from airflow_provider_xlikes.endpoints import Endpoint
from airflow_provider_xlikes.incremental import Head, HeadStore, IncrementalScan, ScanResult
from airflow_provider_xlikes.pages import Page

__all__ = ["IncrementalListing"]

#: the key of a head in its store's JSON value
HEAD_FIELD = "head"


@dataclass
class IncrementalListing:
    """One run's incremental scan of a listing: its store and key, and the scan (resumed from the
    state a deferral or checkpoint carried, or started from the stored head)."""

    store: HeadStore
    key: str
    scan: IncrementalScan

    @classmethod
    def open(
        cls,
        context: Mapping[str, Any],
        endpoint: Endpoint,
        source_id: str,
        authorization: str,
        *,
        asset: Any | None,
        resume: Mapping[str, Any] | None,
        max_pages: int | None = None,
    ) -> IncrementalListing:
        """The store (the asset's state store where there is one, else Variables) and the scan."""
        ti = context["ti"]
        store, key = state.listing_head_store(
            context, asset, ti.dag_id, ti.task_id, (endpoint.name, source_id, authorization)
        )
        label = f"{endpoint.name} {endpoint.id_argument}={source_id}"
        if resume is not None:
            return cls(store, key, IncrementalScan.resume(resume, label=label))
        stored = store.load(key)
        head = Head.from_json(stored.get(HEAD_FIELD) if isinstance(stored, dict) else None, parameter=key)
        return cls(store, key, IncrementalScan(head, max_pages=max_pages, label=label))

    def pages(self, pages: Iterable[Page]) -> Iterator[Page]:
        """``pages`` cut to the new records, up to the previous run's newest record."""
        return self.scan.pages(pages)

    def state(self) -> dict[str, Any]:
        """The scan's JSON state for a deferral or a checkpoint (:meth:`IncrementalScan.resume`)."""
        return self.scan.state()

    def restart_token(self, next_token: str | None) -> str | None:
        """Where a resumed run pages from: before the pages the scan read but has not decided yet."""
        return self.scan.restart_token(next_token)

    @property
    def result(self) -> ScanResult:
        return self.scan.result

    @property
    def finished(self) -> bool:
        return self.scan.result.stop is not None

    def summary(self) -> dict[str, Any]:
        """What a manifest (or the XCom key ``incremental``) says of the scan."""
        result = self.scan.result
        return {
            "incremental": True,
            "backfill": self.scan.head is None,
            "stop": result.stop.value if result.stop is not None else None,
            "stopped_at": result.marker,
            "boundary_confirmed": result.confirmed,
            "new_records": result.new_count,
            "pages_read": result.pages,
        }

    def commit(self) -> None:
        """Advance the stored head (call only once the run's output is committed)."""
        head = self.scan.result.head
        if head is not None:
            self.store.save(self.key, {HEAD_FIELD: head.to_json()})
