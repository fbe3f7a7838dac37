"""Durable, encrypted stores for rotated OAuth 2.0 tokens (see :class:`TokenStore`).

X rotates refresh tokens: every refresh kills the old one. Airflow 3 tasks cannot update their
Connection, so the newest tokens live in a store that every task using the authorization shares.
Stores are keyed by the authorization (a fingerprint of the client id and the refresh token entered
in the connection), never by the connection id:

- :class:`VariableTokenStore` (the default, ``rotation_store: "variable"`` in the connection extra):
  an Airflow Variable per authorization, encrypted at rest by Airflow's Fernet key. Refreshes are
  serialized by a file lock between processes of one machine and by a lease kept in a second
  Variable between machines.
- :class:`FileTokenStore` (``rotation_store: "/absolute/dir"``): a Fernet-encrypted file per
  authorization, serialized by ``flock`` (one machine or a shared POSIX file system).
- :class:`~airflow_provider_xlikes.hooks.postgres_store.PostgresTokenStore`
  (``state_store_conn_id``: a postgres connection): a row per authorization, refreshes serialized by
  a PostgreSQL advisory lock: the one store that holds across hosts.

Which store a connection uses is decided in :mod:`airflow_provider_xlikes.state`.

Any object with the :class:`TokenStore` methods can be given to ``XHook(token_store=...)``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import msgspec
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from airflow_provider_xlikes.exceptions import XConfigError, XValidationError

__all__ = [
    "FileTokenStore",
    "HeldLock",
    "OAuth2Tokens",
    "RefreshLock",
    "TokenStore",
    "VariableTokenStore",
    "file_lock",
    "get_variable",
    "in_task",
    "set_variable",
]


@dataclass
class OAuth2Tokens:
    """The newest OAuth 2.0 user tokens of one authorization, as kept in a token store.

    The store key is a fingerprint of the client id and the refresh token entered in the
    connection: when the user authorizes again and enters a new refresh token, the key changes and
    stored tokens of the old chain are no longer used.
    """

    refresh_token: str
    access_token: str | None
    expires_at: float | None

    def access_token_valid(self, now: float) -> bool:
        return bool(self.access_token) and (self.expires_at is None or self.expires_at > now)

    def to_json(self) -> str:
        return msgspec.json.encode(
            {
                "refresh_token": self.refresh_token,
                "access_token": self.access_token,
                "expires_at": self.expires_at,
            }
        ).decode()

    @classmethod
    def from_json(cls, text: str) -> OAuth2Tokens:
        data = msgspec.json.decode(text)
        return cls(
            refresh_token=str(data["refresh_token"]),
            access_token=data.get("access_token"),
            expires_at=data.get("expires_at"),
        )

    def __repr__(self) -> str:
        return f"<OAuth2Tokens expires_at={self.expires_at}>"


class RefreshLock(Protocol):
    """What a store's ``lock`` yields: ``confirm()`` raises unless the lock is still held (called
    right before a refresh token is sent)."""

    def confirm(self) -> None: ...


class HeldLock:
    """A lock that cannot be lost while its context is open (``flock``, a thread lock)."""

    def confirm(self) -> None:
        return None


class TokenStore(Protocol):
    """Durable storage of rotated OAuth 2.0 tokens, shared by every process using a connection.

    ``lock`` serializes refreshes of one key across processes (a context manager; what it yields may
    have ``confirm()``, see :class:`RefreshLock`); ``load`` must read the durable copy (not a cache)
    because it is called under the lock to see what another process refreshed. ``location`` says
    where the tokens are, in words (error messages name it).
    """

    location: str

    def load(self, key: str) -> OAuth2Tokens | None: ...

    def save(self, key: str, tokens: OAuth2Tokens) -> None: ...

    def lock(self, key: str) -> Any: ...


KEY_ENV = "XLIKES_TOKEN_STORE_KEY"
LOCK_DIR_ENV = "XLIKES_LOCK_DIR"


def _safe_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", key)


def _lock_dir() -> Path:
    path = Path(os.environ.get(LOCK_DIR_ENV) or Path(tempfile.gettempdir()) / "airflow-provider-xlikes-locks")
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def file_lock(path: Path, timeout: float = 300.0) -> Iterator[None]:
    """An exclusive ``flock`` on ``path``, waited for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    with open(path, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"could not lock {path} within {timeout:.0f} s") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _fernet(key: str | None, store: str = "FileTokenStore") -> MultiFernet:
    if not key:
        key = os.environ.get(KEY_ENV)
    if not key:
        from airflow_provider_xlikes.version_compat import airflow_conf

        key = str(airflow_conf().get("core", "fernet_key", fallback="") or "") or None
    if not key:
        raise XConfigError(
            f"{store} needs an encryption key: set the {KEY_ENV} environment variable or Airflow's "
            "[core] fernet_key (a Fernet key, see cryptography.fernet.Fernet.generate_key())"
        )
    try:
        return MultiFernet([Fernet(part.strip().encode()) for part in key.split(",") if part.strip()])
    except ValueError:
        raise XConfigError(f"the token store key (from {KEY_ENV} or [core] fernet_key) is not a Fernet key") from None


class FileTokenStore:
    """A Fernet-encrypted JSON file per connection under ``directory``; refreshes serialized by ``flock``."""

    def __init__(self, directory: str | os.PathLike[str], key: str | None = None) -> None:
        self.directory = Path(directory)
        allowed = "'variable' or an absolute path of a directory this process can write"
        if not self.directory.is_absolute():
            raise XValidationError("rotation_store", str(directory), allowed)
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise XValidationError("rotation_store", str(directory), f"{allowed} ({exc.strerror})") from None
        if not os.access(self.directory, os.W_OK | os.X_OK):
            raise XValidationError("rotation_store", str(directory), f"{allowed} (not writable)")
        self._fernet = _fernet(key)
        self.location = f"the directory {str(self.directory)!r} (rotation_store)"

    def __repr__(self) -> str:
        return f"<FileTokenStore directory={str(self.directory)!r}>"

    def _path(self, key: str) -> Path:
        return self.directory / f"{_safe_name(key)}.token"

    def load(self, key: str) -> OAuth2Tokens | None:
        try:
            blob = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        try:
            return OAuth2Tokens.from_json(self._fernet.decrypt(blob).decode())
        except InvalidToken:
            raise XConfigError(f"{self._path(key)} was encrypted with another key") from None

    def save(self, key: str, tokens: OAuth2Tokens) -> None:
        target = self._path(key)
        blob = self._fernet.encrypt(tokens.to_json().encode())
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[HeldLock]:
        with file_lock(self.directory / f"{_safe_name(key)}.lock"):
            yield HeldLock()


def in_task() -> bool:
    """Whether this code runs inside an Airflow task (the Task SDK talks to the supervisor)."""
    try:
        from airflow.sdk.execution_time import task_runner
    except ImportError:  # pragma: no cover
        return False
    return getattr(task_runner, "SUPERVISOR_COMMS", None) is not None


def get_variable(name: str) -> str | None:
    """An Airflow Variable, read fresh (never from the cache): through the Task SDK inside a task,
    through the metadata database elsewhere (API server, CLI, scripts)."""
    if in_task():
        from airflow.sdk import Variable

        with contextlib.suppress(Exception):
            from airflow.sdk.execution_time.cache import SecretCache

            SecretCache.invalidate_variable(name)
        value: Any = Variable.get(name, default=None)
    else:
        from airflow.models.variable import Variable as DbVariable

        value = DbVariable.get(name, default_var=None)
    return None if value is None else str(value)


def set_variable(name: str, value: str) -> None:
    """Write an Airflow Variable, inside a task (Task SDK) or elsewhere (metadata database)."""
    if in_task():
        from airflow.sdk import Variable

        Variable.set(name, value)
    else:
        from airflow.models.variable import Variable as DbVariable

        DbVariable.set(name, value)


class VariableTokenStore:
    """Tokens in an Airflow Variable ``{prefix}{key}`` (encrypted at rest with Airflow's Fernet key;
    ``key`` is the authorization's fingerprint, and the name holds ``token`` so Airflow masks it).

    Inside a task it goes through the Task SDK; elsewhere (API server, CLI, scripts) through the
    metadata database. Refreshes are serialized by a ``flock`` per machine and, across machines,
    by a lease in the Variable ``{prefix}{key}__lease``: a process writes its id with an expiry,
    waits ``settle`` seconds and holds the lease only if its id is still there (and again right
    before it sends the refresh token).

    **Safe on one host only.** Variables have no compare-and-set: when a Variable write takes longer
    than ``settle`` to land (a loaded api-server, a slow database), two hosts can both hold the lease
    and send the same refresh token, and X (as OAuth 2.1 recommends) may then revoke the user's
    whole token family. On several hosts set ``state_store_conn_id`` (PostgreSQL) instead.
    """

    location = "Airflow Variables (the default)"

    def __init__(self, prefix: str = "xlikes_oauth2_token__", lease_ttl: float = 120.0, settle: float = 0.3) -> None:
        self.prefix = prefix
        self.lease_ttl = lease_ttl
        self.settle = settle

    def __repr__(self) -> str:
        return f"<VariableTokenStore prefix={self.prefix!r}>"

    # -- raw Variable access (never cached: the lock holder must see other processes' writes)
    _get = staticmethod(get_variable)
    _set = staticmethod(set_variable)

    def load(self, key: str) -> OAuth2Tokens | None:
        text = self._get(self.prefix + key)
        if not text:
            return None
        try:
            return OAuth2Tokens.from_json(text)
        except (ValueError, KeyError, TypeError):
            raise XConfigError(
                f"Variable {self.prefix + key!r} does not hold OAuth 2.0 tokens (written with another Fernet key, "
                "or edited by hand?); delete it to start again from the connection's refresh_token"
            ) from None

    def save(self, key: str, tokens: OAuth2Tokens) -> None:
        self._set(self.prefix + key, tokens.to_json())

    @contextlib.contextmanager
    def lock(self, key: str, timeout: float = 300.0) -> Iterator[RefreshLock]:
        lease_name = f"{self.prefix}{key}__lease"
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + timeout
        with file_lock(_lock_dir() / f"{_safe_name(self.prefix + key)}.lock", timeout=timeout):
            while True:
                lease = self._read_lease(lease_name)
                if lease.get("owner") and float(lease.get("until", 0)) > time.time():
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"token refresh lease {lease_name} held elsewhere for too long")
                    time.sleep(0.25)
                    continue
                self._set(lease_name, json.dumps({"owner": owner, "until": time.time() + self.lease_ttl}))
                time.sleep(self.settle)
                if self._read_lease(lease_name).get("owner") == owner:
                    break
            try:
                yield _VariableLease(self, lease_name, owner)
            finally:
                if self._read_lease(lease_name).get("owner") == owner:
                    self._set(lease_name, json.dumps({"owner": None, "until": 0}))

    def _read_lease(self, name: str) -> dict[str, Any]:
        text = self._get(name)
        try:
            value = json.loads(text) if text else {}
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


class _VariableLease:
    """The Variable lease as held: ``confirm`` reads it again (it narrows the race between hosts,
    it cannot close it: see :class:`VariableTokenStore`)."""

    def __init__(self, store: VariableTokenStore, name: str, owner: str) -> None:
        self._store, self._name, self._owner = store, name, owner

    def confirm(self) -> None:
        from airflow_provider_xlikes.exceptions import XStateStoreError

        if self._store._read_lease(self._name).get("owner") != self._owner:
            raise XStateStoreError(
                f"the token refresh lease {self._name} was taken by another process: refresh not sent"
            )
