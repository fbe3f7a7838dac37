"""A listing collected into object storage: part files written as pages arrive, checkpoints a
killed or deferred try resumes from, the commit with its manifest, the clean-up of staging left
behind, and the outlet asset event that announces the run."""

from __future__ import annotations

import errno
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import Asset, ObjectStoragePath

from airflow_provider_xlikes import state
from airflow_provider_xlikes.exceptions import OutputError, XRateLimitWait, XValidationError
from airflow_provider_xlikes.incremental_listing import IncrementalListing
from airflow_provider_xlikes.operators.listing_cost import BudgetStop, ListingBudget
from airflow_provider_xlikes.output import OutputWriter, RunKey, asset_uri, utcnow_iso
from airflow_provider_xlikes.pages import Page
from airflow_provider_xlikes.task_support import output_location

if TYPE_CHECKING:
    from airflow.sdk import Context

#: the key of the output checkpoint in ``task_state_store`` (Airflow 3.3+)
CHECKPOINT_KEY = "xlikes_output_checkpoint"

#: what says the output location cannot be written (no retry changes it): missing, not a folder,
#: refused, read-only (s3fs maps AccessDenied and NoSuchBucket to the first two)
UNWRITABLE_ERRORS = (PermissionError, FileNotFoundError, NotADirectoryError, IsADirectoryError, FileExistsError)
UNWRITABLE_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EROFS})

#: task instance states in which another try may still write to its staging folder
ACTIVE_STATES = frozenset(
    {"running", "deferred", "queued", "scheduled", "up_for_retry", "up_for_reschedule", "restarting"}
)


class StorageCollection(ListingBudget):
    """Collect a listing into object storage (see :mod:`airflow_provider_xlikes.output`)."""

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
            complete, partial = self._write_pages(
                context, source_id, writer, bool(state and state.get("complete")), scan
            )
            manifest = self._commit_output(context, source_id, writer, complete, partial, scan)
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

    def _write_pages(
        self, context: Context, source_id: str, writer: OutputWriter, complete: bool, scan: IncrementalListing | None
    ) -> tuple[bool, dict[str, Any] | None]:
        """Page the listing into part files from the writer's cursor, a checkpoint after each closed
        part; a spent window checkpoints and defers. Returns whether the listing was read to its end
        and, for a run stopped by ``max_cost_usd`` (``"commit"``), why it is partial."""
        total = writer.record_count
        self._progress.pages_before = writer.page_count
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
        except BudgetStop as stop:
            return False, stop.partial
        except XRateLimitWait as wait:
            self._log_last_page(source_id)
            writer.close_part()  # what the task holds is durable before the worker slot is given up
            checkpoint = self._checkpoint(writer, False, scan)
            self._save_checkpoint(context, checkpoint)
            self.defer_until_reset(wait, checkpoint)
        return complete or (scan is not None and scan.finished), None

    def _commit_output(
        self,
        context: Context,
        source_id: str,
        writer: OutputWriter,
        complete: bool,
        partial: dict[str, Any] | None,
        scan: IncrementalListing | None,
    ) -> dict[str, Any]:
        """The manifest's metadata, the last part closed and checkpointed, then the commit (see
        :meth:`OutputWriter.commit <airflow_provider_xlikes.output.OutputWriter.commit>`)."""
        self._log_last_page(source_id)
        metadata = self._manifest_metadata(context, source_id, complete, writer)
        metadata["partial"] = partial
        metadata["cost"] = self.cost_summary()
        if scan is not None:
            metadata["incremental"] = scan.summary()
        # the last part closed and checkpointed before the commit: a try killed inside the commit
        # resumes from here and sends no page again (the commit's steps can all be repeated)
        writer.close_part()
        self._save_checkpoint(context, self._checkpoint(writer, complete, scan))
        return writer.commit(metadata)

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

    def _open_writer(self, location: ObjectStoragePath, context: Context, state: dict[str, Any] | None) -> OutputWriter:
        """The writer, opened fresh or from a checkpoint (a checkpoint whose parts are gone: fresh,
        and ``state`` is emptied). A location that cannot be written is an error naming ``output_path``."""
        try:
            return self._opened_writer(location, context, state)
        except OSError as exc:  # fsspec's file systems raise OSError subclasses (PermissionError ...)
            if exc.errno not in UNWRITABLE_ERRNOS and not isinstance(exc, UNWRITABLE_ERRORS):
                raise  # a connection reset, a timeout, a storage service's 5xx: a retry may succeed
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
