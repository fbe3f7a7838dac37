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

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import msgspec
import pendulum
from airflow.sdk import Asset, BaseOperator, ObjectStoragePath

from airflow_provider_xlikes.endpoints import DAY_SECONDS, LIKE, LIKED_TWEETS, LIKING_USERS, UNLIKE, Endpoint
from airflow_provider_xlikes.exceptions import XComTooLargeError, XLikeNotAppliedError, XValidationError
from airflow_provider_xlikes.hooks.x import XHook
from airflow_provider_xlikes.output import (
    COMPRESSIONS,
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
from airflow_provider_xlikes.pages import IncludesIndex, Page, join_includes
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

#: bytes of JSON a listing may put into XCom by default (``xcom_max_bytes``); above it, use ``output_path``
XCOM_MAX_BYTES = 1024 * 1024
#: likes (or unlikes) per user per 24 hours (X's limit); one task never sends more
LIKES_PER_24_HOURS = next(rule.requests for rule in LIKE.limits if rule.seconds == DAY_SECONDS)
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


def _check_output_path(value: Any) -> None:
    """Type, emptiness and scheme syntax only: no file system or connection is touched (parse time)."""
    if value is None:
        return
    if not isinstance(value, (str, os.PathLike, ObjectStoragePath)) or not str(value).strip():
        raise XValidationError(
            "output_path", value, "an ObjectStoragePath or a URI such as s3://aws_default@bucket/key"
        )


def _output_location(value: Any, conn_id: str | None) -> ObjectStoragePath:
    _check_output_path(value)
    try:
        location = as_storage_path(value, conn_id)
        location.fs  # noqa: B018 - resolves the file system: an unknown scheme fails here, before any request
    except Exception as exc:  # fsspec raises ValueError, ImportError, KeyError ... for unusable URIs
        raise XValidationError(
            "output_path", value, f"a URI of an installed fsspec file system ({type(exc).__name__}: {exc})"
        ) from None
    return location


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


# --------------------------------------------------------------------------- base classes
class BaseXOperator(BaseOperator):
    """What every X operator shares: a templated ``x_conn_id`` and the hook built from it.

    :param x_conn_id: the ``x`` connection (templated).
    """

    template_fields: Sequence[str] = ("x_conn_id",)

    def __init__(self, *, x_conn_id: str = XHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.x_conn_id = x_conn_id

    @cached_property
    def hook(self) -> XHook:
        """The hook, built once per task instance."""
        return XHook(x_conn_id=self.x_conn_id)


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
    :param part_records: records per part file (default 5,000).
    :param xcom_max_bytes: without ``output_path``, the most JSON the task may put into XCom:
        ``"auto"`` (default: 1 MiB, or no limit where the XCom backend keeps values in object
        storage, common-io's ``XComObjectStorageBackend``), a number of bytes, or ``None`` (no limit).
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
        part_records: int = DEFAULT_PART_RECORDS,
        xcom_max_bytes: int | Literal["auto"] | None = "auto",
        **kwargs: Any,
    ) -> None:
        given = kwargs.pop("outlets", None)
        outlets = list(given) if isinstance(given, (list, tuple)) else [given] if given is not None else []
        if output_path is not None and is_concrete(output_path):
            _check_output_path(output_path)
            asset = output_asset(output_path)
            if all(getattr(o, "uri", None) != asset.uri for o in outlets):
                outlets.append(asset)
        super().__init__(outlets=outlets, **kwargs)
        self.max_results = max_results
        self.max_records = max_records
        self.join_includes = join_includes
        self.output_path = output_path
        self.output_conn_id = output_conn_id
        self.output_format = output_format
        self.compression = compression
        self.part_records = part_records
        self.xcom_max_bytes = xcom_max_bytes
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
        if not isinstance(self.join_includes, bool):
            raise XValidationError("join_includes", self.join_includes, "True or False")
        if self.output_format not in OUTPUT_FORMATS:
            raise XValidationError("output_format", self.output_format, OUTPUT_FORMATS)
        if self.compression not in COMPRESSIONS:
            raise XValidationError("compression", self.compression, "None or 'gzip'")
        if self.part_records is None or validate_positive("part_records", self.part_records) is None:
            raise XValidationError("part_records", self.part_records, "a positive integer")
        if self.xcom_max_bytes != "auto":
            validate_positive("xcom_max_bytes", self.xcom_max_bytes)
        if rendered or is_concrete(self.output_path):
            _check_output_path(self.output_path)

    @property
    def xcom_limit(self) -> int | None:
        """The XCom limit in bytes of JSON, or ``None`` for none."""
        if self.xcom_max_bytes == "auto":
            return None if _xcom_backend_keeps_values_in_object_storage() else XCOM_MAX_BYTES
        return self.xcom_max_bytes

    # ---- execution
    def execute(self, context: Context) -> Any:
        self._validate(rendered=True)
        assert self.endpoint.id_argument is not None
        source_id = validate_id(self.endpoint.id_argument, self.source_id)
        if self.output_path is None:
            return self._collect_to_xcom(context, source_id)
        location = _output_location(self.output_path, self.output_conn_id)
        return self._collect_to_storage(context, source_id, location)

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
        return self.hook.iter_listing(
            self.endpoint,
            source_id,
            max_results=self.max_results,
            max_records=remaining,
            pagination_token=pagination_token,
            **self.lists,
        )

    def _records(self, page: Page, source_id: str | None) -> list[dict[str, Any]]:
        """The page's records as written: unchanged, unless a source field or joins are added."""
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
        quota = page.rate_limit.describe() if page.rate_limit is not None else "unknown"
        self.log.info(
            "%s %s=%s: page %d, %d records (%d so far), %d partial errors, rate limit %s",
            self.endpoint.name,
            self.endpoint.id_argument,
            source_id,
            page.number,
            len(page.data),
            total,
            len(page.errors),
            quota,
        )
        if page.errors:  # normal on X (deleted posts, suspended users): kept and counted, not a failure
            self.log.info(
                "%s %s=%s: page %d reports %d partial error(s) (kept beside the data): %s",
                self.endpoint.name,
                self.endpoint.id_argument,
                source_id,
                page.number,
                len(page.errors),
                "; ".join(sorted({str(e.get("title") or e.get("type") or "error") for e in page.errors})),
            )

    def _collect_to_xcom(self, context: Context, source_id: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        includes = IncludesCollector()
        size = 2
        limit = self.xcom_limit
        for page in self._pages(source_id):
            page_records = self._records(page, None)
            records.extend(page_records)
            errors.extend(page.errors)
            size += len(_encoder.encode(page_records)) + len(_encoder.encode(page.errors)) + includes.add(page.includes)
            self._log_page(source_id, page, len(records))
            if limit is not None and size > limit:
                raise XComTooLargeError(
                    f"{self.endpoint.name} {self.endpoint.id_argument}={source_id} gives more than XCom may hold "
                    f"({size} bytes of JSON after {page.number} pages and {len(records)} records; xcom_max_bytes="
                    f"{limit}): set output_path (e.g. 's3://aws_default@bucket/likes') to write the records to "
                    "object storage, max_records to take fewer, or a larger xcom_max_bytes"
                )
        if errors:
            self.log.info("%d partial error(s) pushed to XCom key 'errors'", len(errors))
            context["ti"].xcom_push(key="errors", value=errors)
        if includes.objects:
            context["ti"].xcom_push(key="includes", value=includes.as_dict())
        self.log.info(
            "%s %s=%s: %d records to XCom", self.endpoint.name, self.endpoint.id_argument, source_id, len(records)
        )
        return records

    def _collect_to_storage(self, context: Context, source_id: str, location: ObjectStoragePath) -> dict[str, Any]:
        writer = OutputWriter(
            location,
            RunKey.from_context(context),
            output_format=self.output_format,
            part_records=self.part_records,
            compression=self.compression,
        )
        self.log.info("Writing %s to %s (staging %s)", self.endpoint.name, writer.final_dir, writer.staging_dir)
        started_at = utcnow_iso()
        complete = False
        with writer.open(self._load_checkpoint(context)):
            total = writer.record_count
            for page in self._pages(source_id, collected=writer.record_count, pagination_token=writer.next_token):
                closed = writer.write_page(
                    self._records(page, source_id),
                    errors=page.errors,
                    includes=page.includes,
                    next_token=page.next_token,
                )
                total += len(page.data)
                self._log_page(source_id, page, total)
                complete = page.next_token is None
                if closed is not None:
                    self._save_checkpoint(context, writer.checkpoint())
            manifest = writer.commit(self._manifest_metadata(context, source_id, started_at, complete, writer))
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
        return manifest

    def _manifest_metadata(
        self, context: Context, source_id: str, started_at: str, complete: bool, writer: OutputWriter
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
            "window": {"started_at": started_at, "finished_at": utcnow_iso()},
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

    # ---- checkpoints: the seam for resume-after-crash (task_state_store, the deferral issue)
    def _load_checkpoint(self, context: Context) -> dict[str, Any] | None:
        """The checkpoint to resume from; ``None`` (start afresh) until resuming is implemented."""
        return None

    def _save_checkpoint(self, context: Context, checkpoint: dict[str, Any]) -> None:
        """Called after every durable part with the writer's JSON checkpoint (parts + cursor after them)."""

    def _clear_checkpoint(self, context: Context) -> None:
        """Called after the commit."""


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

    def execute(self, context: Context) -> dict[str, bool]:
        """Returns ``{tweet_id: liked}`` for every id (after the call: True for like, False for unlike).

        An id whose state did not become the wanted one (the API answers 200 with an ``errors`` item
        for a post that does not exist) fails the task after the other ids are done; the results are
        then pushed under the XCom key ``results``.
        """
        self._validate(rendered=True)
        ids = self._tweet_ids(rendered=True)
        user_id = validate_id("user_id", self.user_id) if self.user_id is not None else None
        results: dict[str, bool] = {}
        for number, tweet_id in enumerate(ids, start=1):
            results[tweet_id] = self._send(tweet_id, user_id)
            self.log.info(
                "%s %d of %d: post %s as user %s -> liked=%s",
                self.endpoint.name,
                number,
                len(ids),
                tweet_id,
                user_id or "(authenticated user)",
                results[tweet_id],
            )
        failed = [tweet_id for tweet_id, liked in results.items() if liked is not self.wanted]
        if failed:
            context["ti"].xcom_push(key="results", value=results)
            raise XLikeNotAppliedError(
                f"{self.endpoint.label} did not take effect for {len(failed)} of {len(ids)} post(s): "
                f"{', '.join(failed)} (posts that do not exist or are not visible to this user)"
            )
        return results


class XLikeOperator(BaseXLikeWriteOperator):
    """Like one post or a list of posts (``POST /2/users/:id/likes``).

    Posts already liked count as success. The hook waits out the 50-per-15-minutes window instead of
    hitting it; one task never sends more than 1,000 likes (X's 24-hour limit). XCom:
    ``{tweet_id: true}`` per id. Needs user-context auth (``oauth2_user`` or ``oauth1_user``).
    """

    endpoint = LIKE
    wanted = True


class XUnlikeOperator(BaseXLikeWriteOperator):
    """Remove the like of one post or a list (``DELETE /2/users/:id/likes/:tweet_id``).

    Posts not liked count as success. Limits as :class:`XLikeOperator`. XCom: ``{tweet_id: false}``.
    """

    endpoint = UNLIKE
    wanted = False
