"""What the operators, the sensor and the triggers share, owned by none of them: arguments checked when
the DAG is parsed and again when rendered (the output location, deferral, the cost budget), and the
output asset of a location."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

from airflow.sdk import Asset, ObjectStoragePath

from airflow_provider_xlikes.exceptions import XValidationError
from airflow_provider_xlikes.output import as_storage_path, asset_uri
from airflow_provider_xlikes.version_compat import airflow_conf

#: waits up to this long are slept through by a deferrable task (``defer_after``)
DEFAULT_DEFER_AFTER = 10.0

#: what a listing does when its next page could cross ``max_cost_usd``
ON_BUDGET_EXHAUSTED = ("fail", "commit")


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
