"""The shared state of deployments on several hosts, in PostgreSQL: rotated tokens and rate budgets.

Chosen by the ``x`` connection's extra ``state_store_conn_id``: the id of an Airflow connection of
type ``postgres`` (``pip install 'airflow-provider-xlikes[postgres]'``). Its database gets two tables,
created on first use:

- ``xlikes_oauth2_tokens``: one row per authorization (the fingerprint of the client id and the
  refresh token entered), the tokens encrypted with Airflow's Fernet key. A refresh is serialized by
  a session-level **advisory lock** held on a connection of its own: PostgreSQL keeps it until it
  is released or that session ends (a killed task's lock goes with its connection), so two hosts
  can never both hold it, however slow a write is. The session is checked right before the
  refresh token is sent; if the database has gone, nothing is sent.
- ``xlikes_rate_budget``: one row per (token fingerprint, endpoint) holding its rate-limit window.
  A reservation is one transaction that locks the row (``INSERT ... ON CONFLICT DO UPDATE ...
  RETURNING``), applies the budget's rules and writes the row back: no slot is handed out twice.

What these guarantee holds across any number of hosts that reach the same database. It does not
cover a task whose database session survives while the task itself stalls beyond the HTTP
timeouts; nothing sends a refresh token then, since the lock is only released by the task.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from airflow_provider_xlikes.exceptions import MissingExtraError, XStateStoreError
from airflow_provider_xlikes.hooks.budget import LockedBudgetStore, _decode, _encode
from airflow_provider_xlikes.hooks.token_store import OAuth2Tokens, _fernet
from airflow_provider_xlikes.rate_limits import RateLimit

__all__ = [
    "PostgresBudgetStore",
    "PostgresStateDatabase",
    "PostgresTokenStore",
    "forget_postgres_state",
    "state_database",
]

TOKENS_TABLE = "xlikes_oauth2_tokens"
BUDGET_TABLE = "xlikes_rate_budget"
#: a transaction-level advisory lock that serializes the tables' creation between processes
_DDL_LOCK = 0x786C696B6573  # "xlikes"
_DDL = (
    f"CREATE TABLE IF NOT EXISTS {TOKENS_TABLE} (key text PRIMARY KEY, tokens text NOT NULL, "
    "updated_at timestamptz NOT NULL DEFAULT now())",
    f"CREATE TABLE IF NOT EXISTS {BUDGET_TABLE} (key text PRIMARY KEY, state text NOT NULL DEFAULT '', "
    "updated_at timestamptz NOT NULL DEFAULT now())",
)
PARAMETER = "extra state_store_conn_id"


def _advisory_key(key: str) -> int:
    """A signed 64-bit advisory lock id for a token key."""
    return int.from_bytes(hashlib.sha256(f"xlikes-refresh\0{key}".encode()).digest()[:8], "big", signed=True)


class PostgresStateDatabase:
    """The database of one postgres connection, as this process uses it: one connection for
    short transactions (shared by the threads of the process, one at a time), the tables created
    once. Errors become :class:`~airflow_provider_xlikes.exceptions.XStateStoreError` naming the
    connection; a connection that has gone is opened again on the next use."""

    def __init__(self, conn_id: str) -> None:
        self.conn_id = conn_id
        self._lock = threading.RLock()
        self._conn: Any = None
        self._tables_ready = False

    def __repr__(self) -> str:
        return f"<PostgresStateDatabase conn_id={self.conn_id!r}>"

    # -- connections
    def connect(self) -> Any:
        """A new DB-API connection through the postgres provider's hook (its TLS, IAM and options)."""
        try:
            from airflow.providers.postgres.hooks.postgres import PostgresHook
        except ImportError:
            raise MissingExtraError(
                "apache-airflow-providers-postgres", "postgres", f"{PARAMETER} (the shared state store)"
            ) from None
        from airflow_provider_xlikes.state import check_postgres_connection

        check_postgres_connection(self.conn_id)
        try:
            conn: Any = PostgresHook(postgres_conn_id=self.conn_id).get_conn()
        except Exception as exc:
            raise self._error("cannot connect to", exc) from None
        conn.autocommit = False
        return conn

    def _error(self, doing: str, exc: BaseException) -> XStateStoreError:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return XStateStoreError(
            f"{doing} the shared state store, postgres connection {self.conn_id!r} ({PARAMETER}): {detail}"
        )

    @contextlib.contextmanager
    def transaction(self, doing: str = "cannot use") -> Iterator[Any]:
        """A cursor in one transaction on the process's connection: committed at the end, rolled
        back on an error (and the connection dropped if it broke)."""
        with self._lock:
            if self._conn is None or getattr(self._conn, "closed", False):
                self._conn = self.connect()
            conn = self._conn
            self._ensure_tables(conn)
            try:
                with contextlib.closing(conn.cursor()) as cursor:
                    yield cursor
                conn.commit()
            except XStateStoreError:
                self._discard(conn)
                raise
            except Exception as exc:
                self._discard(conn)
                if _is_database_error(exc):
                    raise self._error(doing, exc) from None
                raise

    def _discard(self, conn: Any) -> None:
        with contextlib.suppress(Exception):
            conn.rollback()
        if getattr(conn, "closed", False) or not _alive(conn):
            with contextlib.suppress(Exception):
                conn.close()
            self._conn = None

    def _ensure_tables(self, conn: Any) -> None:
        if self._tables_ready:
            return
        try:
            with contextlib.closing(conn.cursor()) as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
                for statement in _DDL:
                    cursor.execute(statement)
            conn.commit()
        except Exception as exc:
            with contextlib.suppress(Exception):
                conn.rollback()
            raise self._error("cannot create its tables in", exc) from None
        self._tables_ready = True


def _is_database_error(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("psycopg2", "psycopg")


def _alive(conn: Any) -> bool:
    try:
        with contextlib.closing(conn.cursor()) as cursor:
            cursor.execute("SELECT 1")
        conn.rollback()
    except Exception:
        return False
    return True


#: one database object per (process, connection id): its connection is not shared across a fork
_DATABASES: dict[tuple[int, str], PostgresStateDatabase] = {}
_DATABASES_LOCK = threading.Lock()


def state_database(conn_id: str) -> PostgresStateDatabase:
    """This process's :class:`PostgresStateDatabase` of ``conn_id``."""
    with _DATABASES_LOCK:
        key = (os.getpid(), conn_id)
        database = _DATABASES.get(key)
        if database is None:
            database = _DATABASES[key] = PostgresStateDatabase(conn_id)
        return database


class _AdvisoryLock:
    """A session-level advisory lock held on a connection of its own (see :meth:`PostgresTokenStore.lock`)."""

    def __init__(self, database: PostgresStateDatabase, lock_id: int, conn: Any) -> None:
        self._database, self._lock_id, self._conn = database, lock_id, conn

    def confirm(self) -> None:
        """Raise unless the lock's session is still alive (then the lock is still ours)."""
        if not _alive(self._conn):
            raise XStateStoreError(
                f"lost the session that held the token refresh lock in postgres connection "
                f"{self._database.conn_id!r} ({PARAMETER}): refresh not sent"
            )


class PostgresTokenStore:
    """Rotated OAuth 2.0 tokens in PostgreSQL (``state_store_conn_id``), refreshes serialized by an
    advisory lock: safe across hosts (see :mod:`airflow_provider_xlikes.hooks.postgres_store`)."""

    def __init__(self, conn_id: str, *, key: str | None = None, lock_timeout: float = 300.0) -> None:
        self.database = state_database(conn_id)
        self.lock_timeout = lock_timeout
        self._fernet = _fernet(key, store=f"The shared state store ({PARAMETER})")
        self.location = f"the postgres connection {conn_id!r} (state_store_conn_id)"

    def __repr__(self) -> str:
        return f"<PostgresTokenStore conn_id={self.database.conn_id!r}>"

    def load(self, key: str) -> OAuth2Tokens | None:
        with self.database.transaction("cannot read the tokens from") as cursor:
            cursor.execute(f"SELECT tokens FROM {TOKENS_TABLE} WHERE key = %s", (key,))  # noqa: S608
            row = cursor.fetchone()
        if row is None:
            return None
        from cryptography.fernet import InvalidToken

        try:
            return OAuth2Tokens.from_json(self._fernet.decrypt(str(row[0]).encode()).decode())
        except InvalidToken:
            raise XStateStoreError(
                f"the tokens in table {TOKENS_TABLE} of postgres connection {self.database.conn_id!r} were "
                "encrypted with another Fernet key: every host needs the same [core] fernet_key"
            ) from None

    def save(self, key: str, tokens: OAuth2Tokens) -> None:
        blob = self._fernet.encrypt(tokens.to_json().encode()).decode()
        with self.database.transaction("cannot store the rotated tokens in") as cursor:
            cursor.execute(
                f"INSERT INTO {TOKENS_TABLE} (key, tokens) VALUES (%s, %s) "  # noqa: S608
                "ON CONFLICT (key) DO UPDATE SET tokens = EXCLUDED.tokens, updated_at = now()",
                (key, blob),
            )

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[_AdvisoryLock]:
        """Hold the key's advisory lock on a connection of its own (waited for at most ``lock_timeout``)."""
        lock_id = _advisory_key(key)
        conn = self.database.connect()
        try:
            conn.autocommit = True
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    with contextlib.closing(conn.cursor()) as cursor:
                        cursor.execute("SELECT pg_try_advisory_lock(%s)", (lock_id,))
                        row = cursor.fetchone()
                except Exception as exc:
                    raise self.database._error("cannot lock the token refresh in", exc) from None
                if row is not None and row[0]:
                    break
                if time.monotonic() > deadline:
                    raise XStateStoreError(
                        f"the token refresh lock in postgres connection {self.database.conn_id!r} was held "
                        f"elsewhere for more than {self.lock_timeout:.0f} s"
                    )
                time.sleep(0.05)
            yield _AdvisoryLock(self.database, lock_id, conn)
        finally:
            with contextlib.suppress(Exception):
                conn.close()  # ends the session: the advisory lock goes with it


class PostgresBudgetStore(LockedBudgetStore):
    """Rate-limit windows in PostgreSQL (``state_store_conn_id``): each reservation is one
    transaction holding the row's lock, so no slot is handed out twice, on any number of hosts."""

    def __init__(self, conn_id: str) -> None:
        self.database = state_database(conn_id)
        self._cursor: Any = None
        self._state: RateLimit | None = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"<PostgresBudgetStore conn_id={self.database.conn_id!r}>"

    def load(self, key: str) -> RateLimit | None:
        with self.database.transaction("cannot read the rate budget from") as cursor:
            cursor.execute(f"SELECT state FROM {BUDGET_TABLE} WHERE key = %s", (key,))  # noqa: S608
            row = cursor.fetchone()
        return _decode(row[0]) if row is not None else None

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        with self._lock, self.database.transaction("cannot reserve rate budget in") as cursor:
            cursor.execute(
                f"INSERT INTO {BUDGET_TABLE} (key) VALUES (%s) "  # noqa: S608
                "ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key RETURNING state",
                (key,),
            )
            row = cursor.fetchone()
            self._cursor, self._state = cursor, _decode(row[0] if row is not None else None)
            try:
                yield
            finally:
                self._cursor, self._state = None, None

    def _read(self, key: str) -> RateLimit | None:
        return self._state

    def _write(self, key: str, state: RateLimit) -> None:
        assert self._cursor is not None, "written outside its reservation"
        self._cursor.execute(
            f"UPDATE {BUDGET_TABLE} SET state = %s, updated_at = now() WHERE key = %s",  # noqa: S608
            (_encode(state), key),
        )


def forget_postgres_state(conn_id: str) -> None:
    """Delete every row of both tables (for tests: a sandbox reset starts its windows and tokens again)."""
    with state_database(conn_id).transaction("cannot clear") as cursor:
        cursor.execute(f"DELETE FROM {TOKENS_TABLE}")  # noqa: S608
        cursor.execute(f"DELETE FROM {BUDGET_TABLE}")  # noqa: S608
