"""Where each kind of state lives: one module decides, per Airflow release and per configured store.

=========================== ============================================================================
state                       where it lives
=========================== ============================================================================
rotated OAuth 2.0 tokens    ``state_store_conn_id`` set: PostgreSQL (:class:`PostgresTokenStore`, safe on
                            many hosts); ``rotation_store`` a directory: encrypted files (one host or a
                            shared POSIX file system); else Airflow Variables (one host)
rate-limit budget           ``state_store_conn_id`` set: PostgreSQL (:class:`PostgresBudgetStore`); inside
                            a task: Airflow Variables (one host); elsewhere: the hook's memory
authorization claims        a Variable ``xlikes_authorization__<fingerprint>``: which store keeps an
                            authorization's chain, so a second store for it is refused
resume checkpoints          3.3+: the task instance's ``task_state_store``; before: ``_checkpoint.json``
                            in the staging folder of the output location
incremental heads           3.3+ with an output asset: its ``asset_state_store``; else a Variable
sensor baselines            a Variable per DAG, task and listing (the last successful run's head);
                            the run's wait state (heads, found ids, the cost its polls spent):
                            3.3+ ``task_state_store``, before a Variable; deferred: the trigger's
                            kwargs and events
Asset watcher heads         3.3+: the asset's state store; before: the triggerer's memory
=========================== ============================================================================

Variables, task and asset state stores live in the metadata database and reach every host through
the Task SDK; local files are used only where the user names a directory, and a worker's memory only
for what no other host needs (a hook's own leases, a watcher's head before 3.3).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_xlikes.exceptions import XConfigError, XValidationError

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_xlikes.hooks.budget import BudgetStore
    from airflow_provider_xlikes.hooks.settings import XConnectionSettings
    from airflow_provider_xlikes.hooks.token_store import TokenStore
    from airflow_provider_xlikes.incremental import HeadStore

__all__ = [
    "CLAIM_PREFIX",
    "STAGED_CHECKPOINT",
    "STATE_STORE_PARAMETER",
    "KeyValueState",
    "StagedCheckpoint",
    "VariableValue",
    "budget_store",
    "check_postgres_connection",
    "claim_authorization",
    "listing_head_store",
    "sensor_baseline_store",
    "task_instance_state",
    "token_store",
    "validate_state_store",
    "watcher_head_store",
]

log = logging.getLogger(__name__)

STATE_STORE_PARAMETER = "extra state_store_conn_id"
#: the Variables that say which store keeps an authorization's chain of rotated tokens
CLAIM_PREFIX = "xlikes_authorization__"
_CONN_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,250}$")
_POSTGRES_TYPES = ("postgres", "postgresql")
_ALLOWED = "the id of an Airflow connection of type postgres (empty: Airflow Variables, one host)"


def validate_state_store(value: Any, rotation_store: str) -> str | None:
    """The connection's ``state_store_conn_id``: ``None``, or a connection id (checked for shape
    here, for existence and type when the store is first used, before any request)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _CONN_ID.match(value):
        raise XValidationError(STATE_STORE_PARAMETER, value, _ALLOWED)
    if rotation_store != "variable":
        raise XConfigError(
            f"extra rotation_store {rotation_store!r} and {STATE_STORE_PARAMETER} {value!r} both say where the "
            "rotated tokens go: with state_store_conn_id they are kept in its database; leave rotation_store out"
        )
    return value


def check_postgres_connection(conn_id: str) -> None:
    """Raise, naming the extra and what is allowed, unless ``conn_id`` is a postgres connection."""
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:
        if "NotFound" in type(exc).__name__ or "isn't defined" in str(exc):
            raise XValidationError(STATE_STORE_PARAMETER, conn_id, _ALLOWED + ": no such connection") from None
        raise
    if conn.conn_type not in _POSTGRES_TYPES:
        raise XValidationError(
            STATE_STORE_PARAMETER, conn_id, _ALLOWED + f": {conn_id!r} is of type {conn.conn_type!r}"
        )


# --------------------------------------------------------------------------- tokens and budgets
def token_store(settings: XConnectionSettings) -> TokenStore:
    """Where the rotated OAuth 2.0 tokens of the connection's authorization are kept."""
    if settings.state_store_conn_id is not None:
        from airflow_provider_xlikes.hooks.postgres_store import PostgresTokenStore

        return PostgresTokenStore(settings.state_store_conn_id)
    from airflow_provider_xlikes.hooks.token_store import FileTokenStore, VariableTokenStore

    where = settings.rotation_store
    return VariableTokenStore() if where == "variable" else FileTokenStore(where)


def budget_store(settings: XConnectionSettings) -> BudgetStore:
    """Where the token's rate-limit windows are shared (keyed by a fingerprint, never the token)."""
    if settings.state_store_conn_id is not None:
        from airflow_provider_xlikes.hooks.postgres_store import PostgresBudgetStore

        return PostgresBudgetStore(settings.state_store_conn_id)
    from airflow_provider_xlikes.hooks.budget import InMemoryBudgetStore, VariableBudgetStore
    from airflow_provider_xlikes.hooks.token_store import in_task

    return VariableBudgetStore() if in_task() else InMemoryBudgetStore()


# --------------------------------------------------------------------------- one chain per authorization
def claim_authorization(fingerprint: str, store: Any, conn_id: str) -> None:
    """Record that ``store`` keeps the chain of the authorization ``fingerprint``, or refuse (before
    any refresh) when another connection already keeps it in another store.

    A rotated refresh token sent twice makes X revoke the authorization: two stores holding one
    chain would do exactly that. The claim is a Variable every host reads; the first store to
    refresh an authorization keeps it.
    """
    from airflow_provider_xlikes.hooks.token_store import get_variable, in_task, set_variable

    name = CLAIM_PREFIX + fingerprint
    location = str(getattr(store, "location", None) or repr(store))
    if in_task():
        text = get_variable(name)
    else:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            text = _database_variable(name)
        except SQLAlchemyError as exc:
            # a script outside Airflow (no metadata database): there is nowhere every host would look
            log.warning(
                "No Airflow metadata database here (%s): not checked that no other connection keeps this "
                "authorization's rotated tokens elsewhere",
                type(exc).__name__,
            )
            return
    try:
        claim = json.loads(text) if text else None
    except ValueError:
        claim = None
    if isinstance(claim, dict) and claim.get("store") and claim.get("store") != location:
        raise XConfigError(
            f"connection {conn_id!r} would keep the rotated OAuth 2.0 tokens of its authorization in {location}, "
            f"but connection {claim.get('conn_id')!r} keeps the same authorization (client id and refresh token) "
            f"in {claim['store']}: X rotates the refresh token on every refresh, and two stores would send a "
            "rotated one again, which revokes the user's authorization. Give both connections the same "
            f"rotation_store and state_store_conn_id (or, if {claim.get('conn_id')!r} no longer uses this "
            f"authorization, delete the Variable {name})"
        )
    if not isinstance(claim, dict) or not claim.get("store"):
        set_variable(name, json.dumps({"store": location, "conn_id": conn_id}))


def _database_variable(name: str) -> str | None:
    """A Variable read straight from the metadata database (outside a task; raises when there is none)."""
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(Variable).filter(Variable.key == name).one_or_none()
        return None if row is None else str(row.val)


def forget_authorization_claims() -> int:
    """Delete every claim Variable from the metadata database (outside a task); returns how many.
    For tests: a sandbox reset starts its authorizations again."""
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        query = session.query(Variable).filter(Variable.key.startswith(CLAIM_PREFIX))
        return int(query.delete(synchronize_session=False))


# --------------------------------------------------------------------------- per task instance, per listing
#: the fallback checkpoint file in a task instance's staging folder (before Airflow 3.3)
STAGED_CHECKPOINT = "_checkpoint.json"


class KeyValueState(Protocol):
    """JSON values by key, as ``context["task_state_store"]`` keeps them (Airflow 3.3+)."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...

    def delete(self, key: str) -> None: ...


def task_instance_state(context: Mapping[str, Any], fallback: KeyValueState) -> KeyValueState:
    """The task instance's state that survives retries and reschedules: its ``task_state_store``
    (Airflow 3.3+, in the metadata database), else ``fallback``."""
    store = context.get("task_state_store")
    return store if store is not None else fallback


class StagedCheckpoint:
    """Before 3.3: the resume checkpoint as ``_checkpoint.json`` in the task instance's staging folder
    (beside the parts it lists, in the output location every host reads); it goes with the folder."""

    def __init__(self, staging: ObjectStoragePath) -> None:
        self.path = staging / STAGED_CHECKPOINT

    def get(self, key: str) -> Any:
        import msgspec

        try:
            return msgspec.json.decode(self.path.read_bytes())
        except (FileNotFoundError, msgspec.DecodeError):
            return None

    def set(self, key: str, value: Any) -> None:
        import msgspec

        self.path.write_bytes(msgspec.json.encode(value))

    def delete(self, key: str) -> None:
        return None  # removed with the staging folder at the commit


class VariableValue:
    """Before 3.3: one Airflow Variable ``{prefix}{name}`` standing in for a task instance's state."""

    def __init__(self, prefix: str, name: str) -> None:
        from airflow_provider_xlikes.incremental import VariableHeadStore

        self.store, self.name = VariableHeadStore(prefix), name

    def get(self, key: str) -> Any:
        return self.store.load(self.name)

    def set(self, key: str, value: Any) -> None:
        self.store.save(self.name, value)

    def delete(self, key: str) -> None:
        self.store.delete(self.name)


def listing_head_store(
    context: Mapping[str, Any], asset: Any | None, dag_id: str, task_id: str, listing: tuple[str, ...]
) -> tuple[HeadStore, str]:
    """Where an incremental listing's head is kept, and its key: the output asset's state store
    (3.3+, shared by every DAG writing that asset), else a Variable per DAG, task and listing."""
    from airflow_provider_xlikes.incremental import AssetHeadStore, VariableHeadStore, head_key

    stores = context.get("asset_state_store")
    if asset is not None and stores is not None:
        return AssetHeadStore(stores[asset]), "xlikes_head__" + head_key(*listing)
    return VariableHeadStore(), head_key(dag_id, task_id, *listing)


def sensor_baseline_store() -> HeadStore:
    """Where the sensor keeps the head of its last successful run: a Variable (every release)."""
    from airflow_provider_xlikes.incremental import VariableHeadStore

    return VariableHeadStore()


def watcher_head_store(trigger: Any) -> Any | None:
    """An Asset watcher's head: the asset's state store the triggerer injects (3.3+), or ``None``
    (the trigger keeps it in the triggerer's memory)."""
    return getattr(trigger, "asset_state_store", None)
