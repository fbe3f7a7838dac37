"""One rate-limit budget per token and endpoint, shared by every task of a deployment.

X counts the requests of a token (an app, or a user of an app) per endpoint in 15-minute windows,
whichever process sends them: mapped tasks and parallel DAG runs on one token share one window.
A :class:`BudgetStore` keeps, per (token fingerprint, endpoint), what the current window looks like
as a :class:`~airflow_provider_xlikes.rate_limits.RateLimit`: ``limit``, ``remaining`` (the requests
nobody has *reserved* yet, so never more than X would still allow) and ``reset_at`` (``None`` while
no response of a new window has told it yet).

Before it sends, a client takes a request slot from its :class:`SharedBudget`. Slots are reserved
from the store in leases (an eighth of what is left, at most ``max_lease``, one at a time near the
end of a window), so a store round trip is paid once per lease, not per request; the reservation
is one read-modify-write under the store's lock. A spent window (``remaining`` 0, ``reset_at`` in
the future) makes the client wait for the reset through its waiter instead of provoking a 429.
Response headers are merged into the store (same window: the lower ``remaining``; a newer window:
replaced) at once when they open or close a window, and with the next reservation otherwise.
Unused slots are given back when a listing ends.

Stores: :class:`VariableBudgetStore` (Airflow Variables ``xlikes_ratelimit__<fingerprint>__<endpoint>``,
a file lock per machine; the hook's default inside a task) and :class:`InMemoryBudgetStore` (one
process; the hook's default elsewhere, one per hook).
Keys hold a fingerprint of the token identity (:attr:`XAuth.budget_identity
<airflow_provider_xlikes.hooks.client.XAuth.budget_identity>`), never the token.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from airflow_provider_xlikes.endpoints import Endpoint
from airflow_provider_xlikes.hooks.token_store import _lock_dir, _safe_name, file_lock, get_variable, set_variable
from airflow_provider_xlikes.rate_limits import RateLimit

__all__ = [
    "BudgetStore",
    "InMemoryBudgetStore",
    "Lease",
    "LockedBudgetStore",
    "SharedBudget",
    "VariableBudgetStore",
    "budget_fingerprint",
    "forget_shared_budgets",
]

#: a lease takes this share of the slots left in the window
LEASE_FRACTION = 8
#: the most slots one lease takes (slots a slow task holds at a window's end are lost for others)
MAX_LEASE = 5
#: the names of the budget Variables: ``xlikes_ratelimit__<fingerprint>__<endpoint name>``
VARIABLE_PREFIX = "xlikes_ratelimit__"


def budget_fingerprint(base_url: str, identity: str) -> str:
    """The non-reversible name of a token identity at an API in budget keys (16 hex digits of a
    SHA-256: the same token at another host, the sandbox say, has a budget of its own)."""
    return hashlib.sha256(f"{base_url}\0{identity}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Lease:
    """Request slots reserved in one window (``reset_at``; ``None``: not told yet), or a wait.

    ``slots`` 0 means the window is spent: wait until ``wait_until``.
    """

    slots: int
    reset_at: float | None
    wait_until: float | None = None

    def usable(self, now: float) -> bool:
        return self.slots > 0 and (self.reset_at is None or self.reset_at > now)


# --------------------------------------------------------------------------- the shared state's rules
def _is_open(state: RateLimit | None, now: float) -> bool:
    """Whether ``state`` describes a window not over yet (a new one's reset may be unknown)."""
    return state is not None and state.remaining is not None and (state.reset_at is None or state.reset_at > now)


def merge_headers(state: RateLimit | None, observed: RateLimit, now: float) -> RateLimit | None:
    """The shared state after a response's headers: a lower ``remaining`` in the same window, the
    observed window when it is newer or shows nothing spent (a server that does not count); headers
    of a past window or without numbers change nothing."""
    if observed.remaining is None or observed.reset_at is None or observed.reset_at <= now:
        return state
    if observed.limit is not None and observed.remaining >= observed.limit:
        return observed  # nothing counted, not even the request answered: the server does not limit it
    if not _is_open(state, now):
        return observed
    assert state is not None
    assert state.remaining is not None
    if state.reset_at is None or state.reset_at == observed.reset_at:
        remaining = min(state.remaining, observed.remaining)
        return RateLimit(observed.limit or state.limit, remaining, observed.reset_at)
    return observed if observed.reset_at > state.reset_at else state


def reserve_slots(
    state: RateLimit | None, *, default_limit: int, now: float, max_lease: int = MAX_LEASE
) -> tuple[RateLimit, Lease]:
    """The state after a reservation, and the lease: slots, or a wait when the window is spent.

    A window whose reset has passed is over: the next one starts with its full limit, its reset
    unknown until its first response. A new window spent before any response told its reset (a
    whole window reserved without one answer) gives single probes: a 429 tells the reset.
    """
    if state is None or not _is_open(state, now):
        limit = (state.limit if state is not None else None) or default_limit
        state = RateLimit(limit, limit, None)
    remaining = state.remaining or 0
    if remaining <= 0:
        if state.reset_at is not None:
            return state, Lease(0, state.reset_at, wait_until=state.reset_at)
        return state, Lease(1, None)
    slots = max(1, min(max_lease, remaining // LEASE_FRACTION))
    return dataclasses.replace(state, remaining=remaining - slots), Lease(slots, state.reset_at)


def release_slots(state: RateLimit | None, lease: Lease, now: float) -> RateLimit | None:
    """The state after unused slots of ``lease`` are given back (only to the window they came from)."""
    if state is None or state.remaining is None or not lease.usable(now):
        return state
    if state.reset_at is not None and lease.reset_at is not None and state.reset_at != lease.reset_at:
        return state
    remaining = state.remaining + lease.slots
    return dataclasses.replace(state, remaining=min(remaining, state.limit) if state.limit else remaining)


# --------------------------------------------------------------------------- stores
class BudgetStore(Protocol):
    """Where the windows of every (token fingerprint, endpoint) key are shared.

    ``reserve`` and ``release`` must be atomic with respect to each other among the processes that
    share the store; ``observed`` headers are merged first (one round trip for both).
    """

    def load(self, key: str) -> RateLimit | None: ...

    def update(self, key: str, observed: RateLimit) -> None: ...

    def reserve(
        self, key: str, *, default_limit: int, max_lease: int = MAX_LEASE, observed: RateLimit | None = None
    ) -> Lease: ...

    def release(self, key: str, lease: Lease, observed: RateLimit | None = None) -> None: ...


def _encode(state: RateLimit) -> str:
    return msgspec.json.encode(dataclasses.asdict(state)).decode()


def _decode(text: str | None) -> RateLimit | None:
    if not text:
        return None
    try:
        data = msgspec.json.decode(text)
        return RateLimit(limit=data["limit"], remaining=data["remaining"], reset_at=data["reset_at"])
    except (msgspec.DecodeError, KeyError, TypeError):
        return None  # unreadable (edited by hand?): start again from the endpoint's limit


class LockedBudgetStore:
    """The :class:`BudgetStore` operations as read-modify-writes under a lock; a subclass gives
    ``_read``, ``_write`` and ``_locked``."""

    clock: Callable[[], float] = staticmethod(time.time)

    def _read(self, key: str) -> RateLimit | None:
        raise NotImplementedError

    def _write(self, key: str, state: RateLimit) -> None:
        raise NotImplementedError

    def _locked(self, key: str) -> contextlib.AbstractContextManager[Any]:
        raise NotImplementedError

    def load(self, key: str) -> RateLimit | None:
        return self._read(key)

    def _change(self, key: str, observed: RateLimit | None, change: Callable[[RateLimit | None], Any]) -> Any:
        with self._locked(key):
            before = self._read(key)
            state = before if observed is None else merge_headers(before, observed, self.clock())
            state, result = change(state)
            if state is not None and state != before:
                self._write(key, state)
            return result

    def update(self, key: str, observed: RateLimit) -> None:
        self._change(key, observed, lambda state: (state, None))

    def reserve(
        self, key: str, *, default_limit: int, max_lease: int = MAX_LEASE, observed: RateLimit | None = None
    ) -> Lease:
        now = self.clock()
        lease: Lease = self._change(
            key,
            observed,
            lambda state: reserve_slots(state, default_limit=default_limit, now=now, max_lease=max_lease),
        )
        return lease

    def release(self, key: str, lease: Lease, observed: RateLimit | None = None) -> None:
        now = self.clock()
        self._change(key, observed, lambda state: (release_slots(state, lease, now), None))


class InMemoryBudgetStore(LockedBudgetStore):
    """The windows of one process (threads share them): for scripts and tests without Airflow."""

    def __init__(self) -> None:
        self._states: dict[str, RateLimit] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<InMemoryBudgetStore keys={len(self._states)}>"

    def _read(self, key: str) -> RateLimit | None:
        return self._states.get(key)

    def _write(self, key: str, state: RateLimit) -> None:
        self._states[key] = state

    def _locked(self, key: str) -> contextlib.AbstractContextManager[Any]:
        return self._lock


class VariableBudgetStore(LockedBudgetStore):
    """The windows in Airflow Variables ``{prefix}{key}`` (JSON ``{"limit", "remaining", "reset_at"}``),
    which every task of the deployment reads and writes (Task SDK inside a task, the metadata database
    elsewhere).

    Reservations are serialized by a ``flock`` per machine; between machines they are not (the
    Variable API has no compare-and-set): two hosts reserving at the same instant may both take the
    same slots, which the next response's headers correct (a 429 at worst).
    """

    def __init__(self, prefix: str = VARIABLE_PREFIX, lock_timeout: float = 30.0) -> None:
        self.prefix = prefix
        self.lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"<VariableBudgetStore prefix={self.prefix!r}>"

    def _read(self, key: str) -> RateLimit | None:
        return _decode(get_variable(self.prefix + key))

    def _write(self, key: str, state: RateLimit) -> None:
        set_variable(self.prefix + key, _encode(state))

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        with file_lock(_lock_dir() / f"{_safe_name(self.prefix + key)}.lock", timeout=self.lock_timeout):
            yield


def forget_shared_budgets(prefix: str = VARIABLE_PREFIX) -> int:
    """Delete every budget Variable from the metadata database (outside a task); returns how many.

    For tests: a sandbox reset starts its windows again, which windows never do on X.
    """
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        return int(session.query(Variable).filter(Variable.key.startswith(prefix)).delete(synchronize_session=False))


# --------------------------------------------------------------------------- the client's side
class SharedBudget:
    """One client's view of a token's shared budget: its leases, and the headers not yet shared.

    Keys are ``<fingerprint>__<endpoint name>``. Endpoints without a published 15-minute limit are
    not budgeted.
    """

    def __init__(self, store: BudgetStore, base_url: str, identity: str, *, max_lease: int = MAX_LEASE) -> None:
        self.store = store
        self.fingerprint = budget_fingerprint(base_url, identity)
        self.max_lease = max_lease
        self._leases: dict[str, Lease] = {}
        #: the newest headers per endpoint not written to the store yet
        self._unshared: dict[str, RateLimit] = {}
        #: the reset of the window the store is known to hold, per endpoint
        self._known_reset: dict[str, float | None] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<SharedBudget fingerprint={self.fingerprint!r} store={self.store!r}>"

    def _key(self, endpoint_name: str) -> str:
        return f"{self.fingerprint}__{endpoint_name}"

    def acquire(self, endpoint: Endpoint) -> float | None:
        """Take one request slot: ``None`` to send now, or the seconds until the window's reset."""
        limit = endpoint.window_limit
        if limit is None:
            return None
        with self._lock:
            now = time.time()
            lease = self._leases.get(endpoint.name)
            if lease is None or not lease.usable(now):
                lease = self.store.reserve(
                    self._key(endpoint.name),
                    default_limit=limit,
                    max_lease=self.max_lease,
                    observed=self._unshared.pop(endpoint.name, None),
                )
                self._known_reset[endpoint.name] = lease.reset_at
                if lease.slots == 0:
                    self._leases.pop(endpoint.name, None)
                    return max((lease.wait_until or now) - now, 0.0)
            self._leases[endpoint.name] = dataclasses.replace(lease, slots=lease.slots - 1)
            return None

    def observe(self, endpoint: Endpoint, rate_limit: RateLimit | None) -> None:
        """Take in a response's headers: shared at once when they tell the store something it may
        not know (a window's reset, a spent window), else with the next reservation."""
        if rate_limit is None or rate_limit.reset_at is None or endpoint.window_limit is None:
            return
        name = endpoint.name
        with self._lock:
            lease = self._leases.get(name)
            if lease is not None and lease.reset_at is None:
                self._leases[name] = lease = dataclasses.replace(lease, reset_at=rate_limit.reset_at)
            if rate_limit.remaining == 0 or (lease is not None and rate_limit.reset_at > (lease.reset_at or 0)):
                self._leases.pop(name, None)  # spent, or the server is in a newer window than the lease
            if rate_limit.remaining == 0 or self._known_reset.get(name) != rate_limit.reset_at:
                self._unshared.pop(name, None)
                self._known_reset[name] = rate_limit.reset_at
                self.store.update(self._key(endpoint.name), rate_limit)
            else:
                self._unshared[name] = rate_limit

    def release(self) -> None:
        """Give the unused slots of every lease back (a listing has ended)."""
        with self._lock:
            leases, self._leases = self._leases, {}
            for name, lease in leases.items():
                if lease.slots > 0:
                    self.store.release(self._key(name), lease, self._unshared.pop(name, None))
