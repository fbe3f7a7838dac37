"""OpenLineage for the listing operators and the sensor (extra ``[openlineage]``).

The OpenLineage provider calls ``get_openlineage_facets_on_complete`` / ``_on_failure`` of a task
after it ran; those methods import this module, and this module imports OpenLineage only inside
its functions: without ``apache-airflow-providers-openlineage`` nothing here is ever loaded, and
parsing a DAG loads none of it either way.

What a run reports:

* **input**: the X listing read, a dataset named like the request: namespace the API's base URL
  from the connection (scheme, host, port and path only: never a user, password or query),
  name the endpoint path with the id, e.g. ``/2/tweets/1354143047324299264/liking_users``;
* **output**: with ``output_path``, the output location, named as Airflow names an
  ``ObjectStoragePath`` in its own lineage (the storage provider's asset converter, e.g.
  ``s3://bucket`` + ``likes``, ``file`` + ``/data/likes``); none for XCom output, and none for a
  failed run (nothing was committed);
* **run facets**: ``xlikes_collection`` (records, pages, include objects, partial errors, complete
  or why not, the manifest), ``xlikes_cost`` (the estimated cost, billed requests and resources
  by kind, the price source; see :mod:`airflow_provider_xlikes.pricing`), ``xlikes_incremental``
  (incremental listings and the sensor: where the run stopped, the new records) and, for the
  sensor, ``xlikes_sensor`` (the condition and the like count).

Only counts, ids, paths and prices go into facets: no connection field but the sanitized base URL,
no token, no pagination cursor (its key would be masked anyway).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_xlikes.endpoints import LIKED_TWEETS, LIKING_USERS
from airflow_provider_xlikes.exceptions import XValidationError
from airflow_provider_xlikes.output import asset_uri
from airflow_provider_xlikes.pricing import resource_kind
from airflow_provider_xlikes.validation import validate_id

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_xlikes.endpoints import Endpoint
    from airflow_provider_xlikes.pages import Page

#: where the custom facets' JSON schemas are described (a facet's ``_schemaURL``)
#: the facets are described in docs/lineage-and-links.md, shipped in the package's description
SCHEMA_URL = "https://pypi.org/project/airflow-provider-xlikes/"


# --------------------------------------------------------------------------- what a run collected
def pages_outcome(pages: Sequence[Page], **extra: Any) -> dict[str, Any]:
    """What a run collected from ``pages`` (the keys of a manifest), plus ``extra``."""
    return {
        "record_count": sum(len(page.data) for page in pages),
        "pages": len(pages),
        "includes": sum(len(items) for page in pages for items in page.includes.values()),
        "errors": sum(len(page.errors) for page in pages),
        "complete": True,
        **extra,
    }


def api_namespace(base_url: str) -> str:
    """The base URL as a dataset namespace: scheme, host, port and path (no user, password, query)."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def listing_lineage(operator: Any, *, failed: bool) -> Any:
    """The ``OperatorLineage`` of a listing operator's run (``failed``: of its failed run)."""
    return _lineage(
        operator,
        operator.endpoint,
        operator.source_id,
        None if failed else getattr(operator, "run_outcome", None),
        failed=failed,
    )


def sensor_lineage(sensor: Any, *, failed: bool) -> Any:
    """The ``OperatorLineage`` of an :class:`~airflow_provider_xlikes.sensors.likes.XLikesSensor` run."""
    endpoint, source_id = (LIKED_TWEETS, sensor.user_id) if sensor.tweet_id is None else (LIKING_USERS, sensor.tweet_id)
    return _lineage(
        sensor,
        endpoint,
        source_id,
        None if failed else getattr(sensor, "run_outcome", None),
        failed=failed,
    )


# --------------------------------------------------------------------------- datasets and facets
def _lineage(task: Any, endpoint: Endpoint, source_id: Any, outcome: Mapping[str, Any] | None, *, failed: bool) -> Any:
    from airflow.providers.common.compat.openlineage.facet import Dataset
    from airflow.providers.openlineage.extractors import OperatorLineage

    try:
        path = endpoint.url_path(validate_id(endpoint.id_argument or "id", source_id))
    except XValidationError:  # not rendered or invalid (the run failed on it): no listing to name
        path = None
    base_url = _base_url(task)
    inputs = [] if base_url is None or path is None else [Dataset(namespace=api_namespace(base_url), name=path)]
    outputs = []
    if not failed and outcome is not None and task.output_path is not None:
        from airflow_provider_xlikes.task_support import output_location

        outputs.append(_storage_dataset(output_location(task.output_path, task.output_conn_id)))
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets=_run_facets(task, endpoint, outcome))


def _base_url(task: Any) -> str | None:
    """The connection's base URL (the hook the run built, else one built now); ``None`` when the
    connection cannot be read (the run failed on it: the failure event then names no input)."""
    hook = task.__dict__.get("hook")
    try:
        if hook is None:
            from airflow_provider_xlikes.hooks.x import XHook

            hook = XHook(x_conn_id=task.x_conn_id)
        return str(hook.settings.base_url)
    except Exception:  # a missing or invalid connection: its error is the run's, not lineage's
        return None


def _storage_dataset(location: ObjectStoragePath) -> Any:
    """``location`` as Airflow's lineage names it: its Asset through the storage provider's
    OpenLineage converter (as the hook lineage of ``ObjectStoragePath`` reads and writes is
    translated), else the namespace and key of the path (as common.io's file transfer does)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset
    from airflow.providers.openlineage.utils.utils import translate_airflow_asset
    from airflow.sdk import Asset

    dataset = translate_airflow_asset(Asset(uri=asset_uri(location)), None)
    if dataset is not None:
        return dataset
    return Dataset(namespace=location.namespace, name=location.key.rstrip("/"))


def _run_facets(task: Any, endpoint: Endpoint, outcome: Mapping[str, Any] | None) -> dict[str, Any]:
    facets = _facet_classes()
    cost = outcome.get("cost") if outcome is not None else None
    hook = task.__dict__.get("hook")
    if cost is None and hook is not None:  # the sensor, a failed run: what the hook's requests cost
        summary = getattr(task, "cost_summary", None)  # a listing's: with its budget and expectation
        cost = summary() if callable(summary) else hook.costs.summary()
    run_facets: dict[str, Any] = {}
    if outcome is not None:
        partial = outcome.get("partial")
        run_facets["xlikes_collection"] = facets.collection(
            endpoint=endpoint.name,
            request=endpoint.label,
            records=int(outcome["record_count"]),
            pages=int(outcome["pages"]),
            includes=int(outcome["includes"]),
            partialErrors=int(outcome["errors"]),
            complete=bool(outcome["complete"]),
            stoppedBy=None if not partial else _stop_of(partial),
            manifest=outcome.get("manifest"),
        )
    elif cost is not None:  # failed: the records read before the failure (nothing committed)
        run_facets["xlikes_collection"] = facets.collection(
            endpoint=endpoint.name,
            request=endpoint.label,
            records=int(cost["resources"]["data"].get(resource_kind(endpoint.records or ""), 0)),
            pages=None,
            includes=sum(cost["resources"]["includes"].values()),
            partialErrors=None,
            complete=False,
            stoppedBy=None,
            manifest=None,
        )
    if cost is not None:
        run_facets["xlikes_cost"] = facets.cost(
            estimatedCostUsd=float(cost["estimated_cost_usd"]),
            billedRequests=int(cost["billed_requests"]),
            resources={part: dict(kinds) for part, kinds in cost["resources"].items()},
            expectedCostUsd=cost.get("expected_cost_usd"),
            maxCostUsd=cost.get("max_cost_usd"),
            ownedReads=cost.get("owned_reads"),
            priceSource=str(cost["assumptions"]["prices"]["source"]),
        )
    incremental = outcome.get("incremental") if outcome is not None else None
    if isinstance(incremental, Mapping):
        run_facets["xlikes_incremental"] = facets.incremental(
            backfill=bool(incremental["backfill"]),
            stop=incremental["stop"],
            stoppedAt=incremental["stopped_at"],
            boundaryConfirmed=incremental["boundary_confirmed"],
            newRecords=int(incremental["new_records"]),
            pagesRead=int(incremental["pages_read"]),
        )
    sensor = outcome.get("sensor") if outcome is not None else None
    if isinstance(sensor, Mapping):
        run_facets["xlikes_incremental"] = facets.incremental(
            backfill=False,
            stop=sensor["stop"],
            stoppedAt=sensor["marker"],
            boundaryConfirmed=sensor["confirmed"],
            newRecords=int(sensor["new_count"]),
            pagesRead=int(sensor["pages"]),
        )
        run_facets["xlikes_sensor"] = facets.sensor(condition=str(sensor["condition"]), likeCount=sensor["like_count"])
    return run_facets


def _stop_of(partial: Mapping[str, Any]) -> dict[str, Any]:
    """Why a run committed part of the listing (``on_budget_exhausted="commit"``), without its cursor."""
    return {
        "reason": partial.get("reason"),
        "detail": partial.get("detail"),
        "maxCostUsd": partial.get("max_cost_usd"),
        "spentUsd": partial.get("spent_usd"),
        "nextPageBoundUsd": partial.get("next_page_bound_usd"),
    }


@functools.cache
def _facet_classes() -> Any:
    """The custom run facets, defined on first use (OpenLineage's classes are imported only here)."""
    from types import SimpleNamespace

    from airflow.providers.common.compat.openlineage.facet import RunFacet
    from attrs import define

    @define
    class XLikesRunFacet(RunFacet):
        """A run facet of this provider: its schema is the ``#<anchor>`` of :data:`SCHEMA_URL`."""

        anchor: ClassVar[str] = ""

        @classmethod
        def _get_schema(cls) -> str:
            return f"{SCHEMA_URL}#{cls.anchor}"

    @define
    class XLikesCollectionRunFacet(XLikesRunFacet):
        """What the run collected from the listing."""

        anchor: ClassVar[str] = "xlikes_collection"

        endpoint: str
        request: str
        records: int
        pages: int | None
        includes: int
        partialErrors: int | None  # OpenLineage facets use camelCase
        complete: bool
        stoppedBy: dict[str, Any] | None
        manifest: str | None

    @define
    class XLikesCostRunFacet(XLikesRunFacet):
        """The run's estimated cost (see airflow_provider_xlikes.pricing for what it assumes)."""

        anchor: ClassVar[str] = "xlikes_cost"

        estimatedCostUsd: float
        billedRequests: int
        resources: dict[str, dict[str, int]]
        expectedCostUsd: float | None
        maxCostUsd: float | None
        ownedReads: bool | None
        priceSource: str

    @define
    class XLikesIncrementalRunFacet(XLikesRunFacet):
        """Where an incremental run (or the sensor's search for new records) stopped."""

        anchor: ClassVar[str] = "xlikes_incremental"

        backfill: bool
        stop: str | None
        stoppedAt: str | None
        boundaryConfirmed: bool | None
        newRecords: int
        pagesRead: int

    @define
    class XLikesSensorRunFacet(XLikesRunFacet):
        """The condition the sensor waited for, and the like count it saw (count conditions)."""

        anchor: ClassVar[str] = "xlikes_sensor"

        condition: str
        likeCount: int | None

    return SimpleNamespace(
        collection=XLikesCollectionRunFacet,
        cost=XLikesCostRunFacet,
        incremental=XLikesIncrementalRunFacet,
        sensor=XLikesSensorRunFacet,
    )
