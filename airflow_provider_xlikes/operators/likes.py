"""Operators for the X API v2 likes endpoints: collect liking users and liked posts, like and unlike.

The operators are thin: every request, page, rate-limit wait and API error is the hook's business
(:class:`~airflow_provider_xlikes.hooks.x.XHook`); output writing is
:class:`~airflow_provider_xlikes.io.JsonLinesWriter`'s. Ids, field lists and the output path are
template fields; static arguments are validated in ``__init__``, rendered ones again in ``execute``,
before any request.

Output of the listing operators:

* without ``output_path``: the records (``data`` items, unchanged; with ``join_includes=True`` an
  ``includes`` key is added) are the task's XCom, a JSON list. XCom lives in the metadata database,
  so a run stops with :class:`XComTooLargeError` (pointing at ``output_path``) as soon as it exceeds
  ``xcom_max_records`` (default :data:`XCOM_MAX_RECORDS` = 1,000) records or :data:`XCOM_MAX_BYTES`
  (1 MiB of JSON); ``max_records`` above the limit is refused before any request.
* with ``output_path``: records stream page by page to JSON Lines part files (every
  ``part_records``, default :data:`~airflow_provider_xlikes.io.DEFAULT_PART_RECORDS` = 5,000), each
  carrying the id it was collected for (``liked_tweet_id`` / ``liking_user_id``); the run is committed
  with a ``_manifest.json``, which is also the XCom. See :mod:`airflow_provider_xlikes.io`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec
from airflow.sdk import Asset, BaseOperator, ObjectStoragePath

from airflow_provider_xlikes.exceptions import XError, XValidationError
from airflow_provider_xlikes.hooks.x import XHook
from airflow_provider_xlikes.io import (
    COMPRESSIONS,
    DEFAULT_PART_RECORDS,
    Compression,
    JsonLinesWriter,
    RunKey,
    as_storage_path,
    asset_uri,
    utcnow_iso,
)
from airflow_provider_xlikes.validation import (
    validate_id,
    validate_max_records,
    validate_max_results,
    validate_names,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_xlikes.hooks._api import Page

#: records a listing may put into XCom (``xcom_max_records`` default); above it, use ``output_path``
XCOM_MAX_RECORDS = 1_000
#: the highest ``xcom_max_records`` accepted
XCOM_MAX_RECORDS_CEILING = 10_000
#: bytes of JSON a listing may put into XCom, whatever ``xcom_max_records`` says
XCOM_MAX_BYTES = 1024 * 1024
#: likes (or unlikes) per user per 24 hours (X's limit); one task never sends more
LIKES_PER_24_HOURS = 1_000

_encoder = msgspec.json.Encoder()


class XComTooLargeError(XError):
    """A listing would put more into XCom than the documented limit; ``output_path`` is the way out."""


class XLikeNotAppliedError(XError):
    """A like or unlike answered 200 without leaving the post in the wanted state (e.g. no such post)."""


# --------------------------------------------------------------------------- helpers
def _is_concrete(value: Any) -> bool:
    """True when ``value`` is final at DAG parse time (no Jinja, no XComArg or mapped argument)."""
    if value is None or isinstance(value, (bool, int, float, ObjectStoragePath, os.PathLike)):
        return True
    if isinstance(value, str):
        return "{{" not in value and "{%" not in value
    if isinstance(value, (list, tuple)):
        return all(_is_concrete(item) for item in value)
    return False


def _check_output_path(value: Any) -> None:
    """Type and emptiness only: no file system or connection is touched (safe at DAG parse time)."""
    if value is None:
        return
    if not isinstance(value, (str, os.PathLike, ObjectStoragePath)) or not str(value).strip():
        raise XValidationError(
            "output_path", value, "an ObjectStoragePath or a URI such as s3://aws_default@bucket/key"
        )


def _output_location(value: Any, conn_id: str | None) -> ObjectStoragePath | None:
    if value is None:
        return None
    _check_output_path(value)
    try:
        return as_storage_path(value, conn_id)
    except (ValueError, TypeError) as exc:
        raise XValidationError("output_path", value, f"a URI of an fsspec file system ({exc})") from None


def output_asset(output_path: ObjectStoragePath | str) -> Asset:
    """The Asset an output location stands for (URI without the connection id), for ``outlets=``.

    The listing operators add it by themselves when ``output_path`` is static. Pass it explicitly when
    the path is templated or the task is mapped (``.partial(outlets=[output_asset(path)])``), since
    outlets must be known when the DAG is parsed.
    """
    return Asset(uri=asset_uri(output_path))


def _index(items: Iterable[Mapping[str, Any]], key: str = "id") -> dict[str, dict[str, Any]]:
    return {str(item[key]): dict(item) for item in items if item.get(key) is not None}


def _ids(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def join_user_includes(user: Mapping[str, Any], page: Page) -> dict[str, Any]:
    """The included objects a user record refers to: ``pinned_tweet``, ``most_recent_tweet`` (or the
    ``post`` names when the API uses them) and ``affiliation_users``."""
    tweets = _index(page.included_tweets)
    users = _index(page.included_users)
    joined: dict[str, Any] = {}
    for key in ("pinned_tweet_id", "pinned_post_id", "most_recent_tweet_id", "most_recent_post_id"):
        ref = user.get(key)
        if ref is not None and str(ref) in tweets:
            joined[key.removesuffix("_id")] = tweets[str(ref)]
    affiliation = user.get("affiliation")
    if isinstance(affiliation, Mapping):
        found = [users[i] for i in _ids(affiliation.get("user_id")) if i in users]
        if found:
            joined["affiliation_users"] = found
    return joined


def join_tweet_includes(tweet: Mapping[str, Any], page: Page) -> dict[str, Any]:
    """The included objects a post record refers to: ``author``, ``in_reply_to_user``, ``mentions``,
    ``referenced_tweets`` (``referenced_posts``), ``media``, ``polls`` and ``place``."""
    users = _index(page.included_users)
    tweets = _index(page.included_tweets)
    joined: dict[str, Any] = {}
    for key in ("author_id", "in_reply_to_user_id"):
        ref = tweet.get(key)
        if ref is not None and str(ref) in users:
            joined[key.removesuffix("_id")] = users[str(ref)]
    entities = tweet.get("entities")
    if isinstance(entities, Mapping):
        by_name = {str(u.get("username", "")).lower(): u for u in users.values()}
        mentions = [
            by_name[str(m.get("username", "")).lower()]
            for m in entities.get("mentions") or []
            if isinstance(m, Mapping) and str(m.get("username", "")).lower() in by_name
        ]
        if mentions:
            joined["mentions"] = mentions
    for key in ("referenced_tweets", "referenced_posts"):
        refs = [r for r in tweet.get(key) or [] if isinstance(r, Mapping) and str(r.get("id")) in tweets]
        if refs:
            joined[key] = [tweets[str(r["id"])] for r in refs]
    attachments = tweet.get("attachments")
    if isinstance(attachments, Mapping):
        for key, name, include, id_key in (
            ("media_keys", "media", "media", "media_key"),
            ("poll_ids", "polls", "polls", "id"),
        ):
            index = _index(page.includes.get(include) or [], id_key)
            found = [index[i] for i in _ids(attachments.get(key)) if i in index]
            if found:
                joined[name] = found
    geo = tweet.get("geo")
    if isinstance(geo, Mapping) and geo.get("place_id") is not None:
        places = _index(page.includes.get("places") or [])
        if str(geo["place_id"]) in places:
            joined["place"] = places[str(geo["place_id"])]
    return joined


# --------------------------------------------------------------------------- listings
class _XLikesListingOperator(BaseOperator):
    """Shared logic of the two listing operators (not for direct use)."""

    #: ``liking_users`` or ``liked_tweets`` (also the key of the validation tables)
    endpoint: ClassVar[str]
    #: the request as the hook names it in logs and errors
    request_name: ClassVar[str]
    #: the id argument (``tweet_id`` / ``user_id``)
    id_parameter: ClassVar[str]
    #: the field added to every written record: the id it was collected for
    source_field: ClassVar[str]
    #: Python argument -> query parameter of the field lists
    field_parameters: ClassVar[dict[str, str]]

    ui_color = "#e8f5fd"

    def __init__(
        self,
        *,
        x_conn_id: str = XHook.default_conn_name,
        max_results: int = 100,
        max_records: int | None = None,
        join_includes: bool = False,
        output_path: ObjectStoragePath | str | None = None,
        output_conn_id: str | None = None,
        compression: Compression = None,
        part_records: int = DEFAULT_PART_RECORDS,
        xcom_max_records: int = XCOM_MAX_RECORDS,
        **kwargs: Any,
    ) -> None:
        given = kwargs.pop("outlets", None)
        outlets = list(given) if isinstance(given, (list, tuple)) else [given] if given is not None else []
        self.x_conn_id = x_conn_id
        self.max_results = max_results
        self.max_records = max_records
        self.join_includes = join_includes
        self.output_path = output_path
        self.output_conn_id = output_conn_id
        self.compression = compression
        self.part_records = part_records
        self.xcom_max_records = xcom_max_records
        if output_path is not None and _is_concrete(output_path):
            _check_output_path(output_path)
            asset = output_asset(output_path)
            if all(getattr(o, "uri", None) != asset.uri for o in outlets):
                outlets.append(asset)
        super().__init__(outlets=outlets, **kwargs)

    # ---- values the subclasses hold
    @property
    def source_id(self) -> Any:
        return getattr(self, self.id_parameter)

    def _iter_pages(self, *, source_id: str, max_records: int | None, pagination_token: str | None) -> Iterator[Page]:
        raise NotImplementedError

    def _join(self, record: Mapping[str, Any], page: Page) -> dict[str, Any]:
        raise NotImplementedError

    # ---- validation
    def _validate(self, *, rendered: bool) -> None:
        """Check every argument; before rendering, templated values are skipped (checked in execute)."""

        def check(value: Any) -> bool:
            return rendered or _is_concrete(value)

        if check(self.source_id):
            validate_id(self.id_parameter, self.source_id)
        validate_max_results(self.endpoint, self.max_results)
        validate_max_records(self.max_records)
        for argument, parameter in self.field_parameters.items():
            value = getattr(self, argument)
            if check(value):
                validate_names(self.endpoint, parameter, argument, value)
        if not isinstance(self.join_includes, bool):
            raise XValidationError("join_includes", self.join_includes, "True or False")
        if self.compression not in COMPRESSIONS:
            raise XValidationError("compression", self.compression, "None or 'gzip'")
        if isinstance(self.part_records, bool) or not isinstance(self.part_records, int) or self.part_records < 1:
            raise XValidationError("part_records", self.part_records, "a positive integer")
        limit = self.xcom_max_records
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= XCOM_MAX_RECORDS_CEILING:
            raise XValidationError("xcom_max_records", limit, f"an integer from 1 to {XCOM_MAX_RECORDS_CEILING}")
        if check(self.output_path):
            _check_output_path(self.output_path)
        if self.output_path is None and self.max_records is not None and self.max_records > limit:
            raise XComTooLargeError(
                f"max_records={self.max_records} is more than XCom may hold ({limit} records): "
                "set output_path (e.g. 's3://aws_default@bucket/likes') to write the records to object storage"
            )

    # ---- hook
    @cached_property
    def hook(self) -> XHook:
        """The hook, built once per task instance (a future deferrable mode passes a DeferringWaiter)."""
        return XHook(x_conn_id=self.x_conn_id)

    # ---- execution
    def execute(self, context: Context) -> Any:
        self._validate(rendered=True)
        source_id = validate_id(self.id_parameter, self.source_id)
        if self.output_path is None:
            return self._collect_to_xcom(context, source_id)
        return self._collect_to_storage(context, source_id)

    def parameters(self, source_id: str) -> dict[str, Any]:
        """The request parameters, as recorded in the manifest (JSON)."""
        params: dict[str, Any] = {
            self.id_parameter: source_id,
            "max_results": self.max_results,
            "max_records": self.max_records,
        }
        for argument, parameter in self.field_parameters.items():
            params[argument] = validate_names(self.endpoint, parameter, argument, getattr(self, argument))
        params["join_includes"] = self.join_includes
        return params

    def _pages(self, source_id: str, *, collected: int = 0, pagination_token: str | None = None) -> Iterator[Page]:
        """Pages from ``pagination_token`` on, ``collected`` records already counted toward ``max_records``."""
        remaining = None if self.max_records is None else self.max_records - collected
        if remaining is not None and remaining <= 0:
            return iter(())
        return self._iter_pages(source_id=source_id, max_records=remaining, pagination_token=pagination_token)

    def _record(self, record: Mapping[str, Any], page: Page, source_id: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {self.source_field: source_id} if source_id is not None else {}
        out.update(record)
        if self.join_includes:
            joined = self._join(record, page)
            if joined:
                out["includes"] = joined
        return out

    def _log_page(self, source_id: str, page: Page, total: int) -> None:
        limit = page.rate_limit
        quota = "unknown"
        if limit is not None and limit.remaining is not None:
            quota = f"{limit.remaining}/{limit.limit}"
            if limit.reset_at is not None:
                reset = datetime.fromtimestamp(limit.reset_at, timezone.utc).isoformat(timespec="seconds")
                quota += f", window resets at {reset}"
        self.log.info(
            "%s %s=%s: page %d, %d records (%d so far), %d partial errors, rate limit remaining %s",
            self.endpoint,
            self.id_parameter,
            source_id,
            page.number,
            len(page.data),
            total,
            len(page.errors),
            quota,
        )
        if page.errors:
            self.log.warning(
                "%s %s=%s: page %d reports %d partial error(s) (kept beside the data): %s",
                self.endpoint,
                self.id_parameter,
                source_id,
                page.number,
                len(page.errors),
                "; ".join(sorted({str(e.get("title") or e.get("type") or "error") for e in page.errors})),
            )

    def _collect_to_xcom(self, context: Context, source_id: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        size = 2
        limit = self.xcom_max_records
        for page in self._pages(source_id):
            for item in page.data:
                record = self._record(item, page, None)
                records.append(record)
                size += len(_encoder.encode(record)) + 1
            errors.extend(page.errors)
            self._log_page(source_id, page, len(records))
            if len(records) > limit or size > XCOM_MAX_BYTES:
                raise XComTooLargeError(
                    f"{self.endpoint} {self.id_parameter}={source_id} has more than XCom may hold "
                    f"({limit} records / {XCOM_MAX_BYTES} bytes of JSON; {len(records)} records, {size} bytes "
                    f"after {page.number} pages): set output_path (e.g. 's3://aws_default@bucket/likes') to "
                    "write the records to object storage, or max_records to take fewer"
                )
        if errors:
            self.log.warning("%d partial error(s) pushed to XCom key 'errors'", len(errors))
            context["ti"].xcom_push(key="errors", value=errors)
        self.log.info("%s %s=%s: %d records to XCom", self.endpoint, self.id_parameter, source_id, len(records))
        return records

    def _collect_to_storage(self, context: Context, source_id: str) -> dict[str, Any]:
        location = _output_location(self.output_path, self.output_conn_id)
        assert location is not None
        writer = JsonLinesWriter(
            location,
            RunKey.from_context(context),
            part_records=self.part_records,
            compression=self.compression,
        )
        self.log.info("Writing %s to %s (staging %s)", self.endpoint, writer.final_dir, writer.staging_dir)
        started_at = utcnow_iso()
        complete = False
        with writer.open(self._load_checkpoint(context)):
            total = writer.record_count
            for page in self._pages(source_id, collected=writer.record_count, pagination_token=writer.next_token):
                closed = writer.write_page(
                    (self._record(item, page, source_id) for item in page.data),
                    errors=page.errors,
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
            "Committed %d records in %d file(s), %d pages, %d partial errors: %s",
            manifest["record_count"],
            len(manifest["files"]),
            manifest["pages"],
            manifest["errors"],
            manifest["manifest"],
        )
        self._emit_asset_event(context, location, manifest)
        return manifest

    def _manifest_metadata(
        self, context: Context, source_id: str, started_at: str, complete: bool, writer: JsonLinesWriter
    ) -> dict[str, Any]:
        dag_run = context.get("dag_run")

        def iso(name: str) -> str | None:
            value = getattr(dag_run, name, None) if dag_run is not None else None
            return value.isoformat() if value is not None else None

        return {
            "endpoint": self.endpoint,
            "request": self.request_name,
            self.id_parameter: source_id,
            "source_field": self.source_field,
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
        for outlet in self.outlets or []:
            if isinstance(outlet, Asset) and outlet.uri == uri:
                events = context.get("outlet_events")
                if events is not None:
                    events[outlet].extra = {
                        "manifest": manifest["manifest"],
                        "record_count": manifest["record_count"],
                        self.id_parameter: manifest[self.id_parameter],
                    }

    # ---- checkpoints: the seam for resume-after-crash (task_state_store, a later issue)
    def _load_checkpoint(self, context: Context) -> dict[str, Any] | None:
        """The checkpoint to resume from; ``None`` (start afresh) until resuming is implemented."""
        return None

    def _save_checkpoint(self, context: Context, checkpoint: dict[str, Any]) -> None:
        """Called after every durable part with the writer's JSON checkpoint (parts + cursor after them)."""

    def _clear_checkpoint(self, context: Context) -> None:
        """Called after the commit."""


class XLikingUsersOperator(_XLikesListingOperator):
    """Collect the users who liked a post (``GET /2/tweets/:id/liking_users``).

    :param tweet_id: the post (templated; ``.expand(tweet_id=[...])`` maps it).
    :param x_conn_id: the ``x`` connection.
    :param max_results: page size, 1–100.
    :param max_records: stop after this many users (never costs an extra request).
    :param user_fields: ``user.fields`` (list or comma-separated string; templated).
    :param tweet_fields: ``tweet.fields`` for the expanded posts (templated).
    :param expansions: ``pinned_tweet_id``, ``most_recent_tweet_id``, ``affiliation.user_id`` (templated).
    :param join_includes: add an ``includes`` key to each user with the objects it refers to
        (``pinned_tweet``, ``most_recent_tweet``, ``affiliation_users``); ask the expansions too.
    :param output_path: ``ObjectStoragePath`` or URI (templated), e.g. ``s3://aws_default@bucket/likes``;
        ``None`` returns the records as XCom.
    :param output_conn_id: storage connection when the URI names none.
    :param compression: ``None`` or ``"gzip"``.
    :param part_records: records per part file.
    :param xcom_max_records: the XCom limit without ``output_path`` (default 1,000, at most 10,000).
    """

    endpoint = "liking_users"
    request_name = "GET /2/tweets/:id/liking_users"
    id_parameter = "tweet_id"
    source_field = "liked_tweet_id"
    field_parameters = {"user_fields": "user.fields", "tweet_fields": "tweet.fields", "expansions": "expansions"}
    template_fields: Sequence[str] = ("tweet_id", "user_fields", "tweet_fields", "expansions", "output_path")

    def __init__(
        self,
        *,
        tweet_id: str | int,
        x_conn_id: str = XHook.default_conn_name,
        max_results: int = 100,
        max_records: int | None = None,
        user_fields: str | Sequence[str] | None = None,
        tweet_fields: str | Sequence[str] | None = None,
        expansions: str | Sequence[str] | None = None,
        join_includes: bool = False,
        output_path: ObjectStoragePath | str | None = None,
        output_conn_id: str | None = None,
        compression: Compression = None,
        part_records: int = DEFAULT_PART_RECORDS,
        xcom_max_records: int = XCOM_MAX_RECORDS,
        **kwargs: Any,
    ) -> None:
        self.tweet_id = tweet_id
        self.user_fields = user_fields
        self.tweet_fields = tweet_fields
        self.expansions = expansions
        super().__init__(
            x_conn_id=x_conn_id,
            max_results=max_results,
            max_records=max_records,
            join_includes=join_includes,
            output_path=output_path,
            output_conn_id=output_conn_id,
            compression=compression,
            part_records=part_records,
            xcom_max_records=xcom_max_records,
            **kwargs,
        )
        self._validate(rendered=False)

    def _iter_pages(self, *, source_id: str, max_records: int | None, pagination_token: str | None) -> Iterator[Page]:
        return self.hook.iter_liking_users(
            source_id,
            max_results=self.max_results,
            max_records=max_records,
            pagination_token=pagination_token,
            user_fields=self.user_fields,
            tweet_fields=self.tweet_fields,
            expansions=self.expansions,
        )

    def _join(self, record: Mapping[str, Any], page: Page) -> dict[str, Any]:
        return join_user_includes(record, page)


class XLikedTweetsOperator(_XLikesListingOperator):
    """Collect the posts a user liked (``GET /2/users/:id/liked_tweets``).

    Since 2024 likes are private on X: only the authenticated user's own likes are dependable.

    :param user_id: the user (templated; ``.expand(user_id=[...])`` maps it).
    :param max_results: page size, 5–100.
    :param tweet_fields: ``tweet.fields`` (templated); likewise ``user_fields``, ``media_fields``,
        ``poll_fields``, ``place_fields`` and ``expansions`` (e.g. ``author_id``).
    :param join_includes: add an ``includes`` key to each post with the objects it refers to
        (``author``, ``in_reply_to_user``, ``mentions``, ``referenced_tweets``, ``media``, ``polls``,
        ``place``); ask the expansions too.

    The other parameters are those of :class:`XLikingUsersOperator`.
    """

    endpoint = "liked_tweets"
    request_name = "GET /2/users/:id/liked_tweets"
    id_parameter = "user_id"
    source_field = "liking_user_id"
    field_parameters = {
        "tweet_fields": "tweet.fields",
        "user_fields": "user.fields",
        "media_fields": "media.fields",
        "poll_fields": "poll.fields",
        "place_fields": "place.fields",
        "expansions": "expansions",
    }
    template_fields: Sequence[str] = (
        "user_id",
        "tweet_fields",
        "user_fields",
        "media_fields",
        "poll_fields",
        "place_fields",
        "expansions",
        "output_path",
    )

    def __init__(
        self,
        *,
        user_id: str | int,
        x_conn_id: str = XHook.default_conn_name,
        max_results: int = 100,
        max_records: int | None = None,
        tweet_fields: str | Sequence[str] | None = None,
        user_fields: str | Sequence[str] | None = None,
        media_fields: str | Sequence[str] | None = None,
        poll_fields: str | Sequence[str] | None = None,
        place_fields: str | Sequence[str] | None = None,
        expansions: str | Sequence[str] | None = None,
        join_includes: bool = False,
        output_path: ObjectStoragePath | str | None = None,
        output_conn_id: str | None = None,
        compression: Compression = None,
        part_records: int = DEFAULT_PART_RECORDS,
        xcom_max_records: int = XCOM_MAX_RECORDS,
        **kwargs: Any,
    ) -> None:
        self.user_id = user_id
        self.tweet_fields = tweet_fields
        self.user_fields = user_fields
        self.media_fields = media_fields
        self.poll_fields = poll_fields
        self.place_fields = place_fields
        self.expansions = expansions
        super().__init__(
            x_conn_id=x_conn_id,
            max_results=max_results,
            max_records=max_records,
            join_includes=join_includes,
            output_path=output_path,
            output_conn_id=output_conn_id,
            compression=compression,
            part_records=part_records,
            xcom_max_records=xcom_max_records,
            **kwargs,
        )
        self._validate(rendered=False)

    def _iter_pages(self, *, source_id: str, max_records: int | None, pagination_token: str | None) -> Iterator[Page]:
        return self.hook.iter_liked_tweets(
            source_id,
            max_results=self.max_results,
            max_records=max_records,
            pagination_token=pagination_token,
            tweet_fields=self.tweet_fields,
            user_fields=self.user_fields,
            media_fields=self.media_fields,
            poll_fields=self.poll_fields,
            place_fields=self.place_fields,
            expansions=self.expansions,
        )

    def _join(self, record: Mapping[str, Any], page: Page) -> dict[str, Any]:
        return join_tweet_includes(record, page)


# --------------------------------------------------------------------------- like / unlike
class _XLikeWriteOperator(BaseOperator):
    """Shared logic of like and unlike (not for direct use)."""

    action: ClassVar[str]
    #: the ``liked`` state a successful call leaves
    wanted: ClassVar[bool]
    template_fields: Sequence[str] = ("tweet_id", "user_id")
    ui_color = "#fde8ef"

    def __init__(
        self,
        *,
        tweet_id: str | int | Sequence[str | int],
        user_id: str | int | None = None,
        x_conn_id: str = XHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.tweet_id = tweet_id
        self.user_id = user_id
        self.x_conn_id = x_conn_id
        self._validate(rendered=False)

    def _tweet_ids(self, *, rendered: bool) -> list[str]:
        value = self.tweet_id
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if not values:
            raise XValidationError("tweet_id", value, "one id or a non-empty list of ids")
        ids: dict[str, None] = {}
        for item in values:
            if rendered or _is_concrete(item):
                ids.setdefault(validate_id("tweet_id", item), None)
        if len(ids) > LIKES_PER_24_HOURS:
            raise XValidationError(
                "tweet_id",
                f"{len(ids)} ids",
                f"at most {LIKES_PER_24_HOURS} ids per run (X allows {LIKES_PER_24_HOURS} per user per 24 hours)",
            )
        return list(ids)

    def _validate(self, *, rendered: bool) -> None:
        if rendered or _is_concrete(self.tweet_id):
            self._tweet_ids(rendered=rendered)
        if self.user_id is not None and (rendered or _is_concrete(self.user_id)):
            validate_id("user_id", self.user_id)

    @cached_property
    def hook(self) -> XHook:
        return XHook(x_conn_id=self.x_conn_id)

    def _send(self, tweet_id: str, user_id: str | None) -> bool:
        raise NotImplementedError

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
                self.action,
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
                f"{self.action} did not take effect for {len(failed)} of {len(ids)} post(s): {', '.join(failed)} "
                "(posts that do not exist or are not visible to this user)"
            )
        return results


class XLikeOperator(_XLikeWriteOperator):
    """Like one post or a list of posts (``POST /2/users/:id/likes``).

    Posts already liked count as success. The hook waits out the 50-per-15-minutes window instead of
    hitting it; one task never sends more than 1,000 likes (X's 24-hour limit). XCom:
    ``{tweet_id: true}`` per id.

    :param tweet_id: one id or a list (templated; ``.expand(tweet_id=[...])`` maps it).
    :param user_id: who likes (templated); default the authenticated user (``/2/users/me``).
    :param x_conn_id: the ``x`` connection (user-context auth: ``oauth2_user`` or ``oauth1_user``).
    """

    action = "like"
    wanted = True

    def _send(self, tweet_id: str, user_id: str | None) -> bool:
        return self.hook.like(tweet_id, user_id=user_id)


class XUnlikeOperator(_XLikeWriteOperator):
    """Remove the like of one post or a list (``DELETE /2/users/:id/likes/:tweet_id``).

    Posts not liked count as success. Limits as :class:`XLikeOperator`. XCom: ``{tweet_id: false}``.
    """

    action = "unlike"
    wanted = False

    def _send(self, tweet_id: str, user_id: str | None) -> bool:
        return self.hook.unlike(tweet_id, user_id=user_id)
