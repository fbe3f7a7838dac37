"""The shared budget's rules and stores: leases, spent windows, headers merged, slots given back."""

from __future__ import annotations

import json
import threading
import time

import pytest
from helpers import featured, migrated_airflow_db

from airflow_provider_xlikes.endpoints import LIKING_USERS
from airflow_provider_xlikes.hooks._auth import StaticBearerAuth
from airflow_provider_xlikes.hooks.budget import (
    InMemoryBudgetStore,
    Lease,
    SharedBudget,
    VariableBudgetStore,
    budget_fingerprint,
    merge_headers,
    release_slots,
    reserve_slots,
)
from airflow_provider_xlikes.hooks.client import XApiClient
from airflow_provider_xlikes.hooks.x import XHook
from airflow_provider_xlikes.rate_limits import RateLimit

NOW = 1_000_000.0


def test_a_lease_takes_an_eighth_of_what_is_left_at_most_five_and_one_slot_near_the_end() -> None:
    state, lease = reserve_slots(None, default_limit=75, now=NOW)
    assert (lease.slots, lease.reset_at, state.remaining) == (5, None, 70)  # a new window, reset unknown
    state, lease = reserve_slots(RateLimit(75, 30, NOW + 60), default_limit=75, now=NOW)
    assert (lease.slots, state.remaining) == (3, 27)
    state, lease = reserve_slots(RateLimit(75, 12, NOW + 60), default_limit=75, now=NOW)
    assert (lease.slots, state.remaining) == (1, 11)


def test_a_spent_window_means_waiting_for_its_reset_and_a_past_one_starts_again() -> None:
    spent = RateLimit(75, 0, NOW + 42)
    assert reserve_slots(spent, default_limit=75, now=NOW)[1] == Lease(0, NOW + 42, wait_until=NOW + 42)
    state, lease = reserve_slots(spent, default_limit=75, now=NOW + 43)
    assert lease.slots == 5
    assert state == RateLimit(75, 70, None)


def test_headers_lower_the_window_raise_it_only_when_newer_and_stale_ones_are_ignored() -> None:
    state = RateLimit(75, 30, NOW + 60)
    assert merge_headers(state, RateLimit(75, 20, NOW + 60), NOW) == RateLimit(75, 20, NOW + 60)
    assert merge_headers(state, RateLimit(75, 50, NOW + 60), NOW) == state  # slots reserved by others
    assert merge_headers(state, RateLimit(75, 74, NOW + 960), NOW) == RateLimit(75, 74, NOW + 960)
    assert merge_headers(state, RateLimit(75, 0, NOW - 1), NOW) == state  # a past window's late answer
    assert merge_headers(state, RateLimit(75, 75, NOW + 60), NOW) == RateLimit(75, 75, NOW + 60)  # not counted
    pending = RateLimit(75, 50, None)
    assert merge_headers(pending, RateLimit(75, 60, NOW + 900), NOW) == RateLimit(75, 50, NOW + 900)


def test_unused_slots_go_back_to_their_own_window_only() -> None:
    state = RateLimit(75, 10, NOW + 60)
    assert release_slots(state, Lease(4, NOW + 60), NOW) == RateLimit(75, 14, NOW + 60)
    assert release_slots(state, Lease(4, NOW - 900), NOW) == state
    assert release_slots(RateLimit(75, 73, NOW + 60), Lease(9, NOW + 60), NOW) == RateLimit(75, 75, NOW + 60)


def test_threads_sharing_a_store_never_reserve_more_than_the_window() -> None:
    store = InMemoryBudgetStore()
    budgets = [SharedBudget(store, "https://api.x.com", "token") for _ in range(8)]
    reset = time.time() + 60
    store.update(budgets[0]._key("liking_users"), RateLimit(75, 75, reset))
    granted: list[float | None] = []

    def take(budget: SharedBudget) -> None:
        for _ in range(20):
            granted.append(budget.acquire(LIKING_USERS))

    threads = [threading.Thread(target=take, args=(b,)) for b in budgets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = sum(1 for g in granted if g is None)
    assert 75 - 8 * 5 < sent <= 75  # slots still in leases are unused, never doubled
    assert all(g is None or 55 < g <= 60 for g in granted)  # the others wait for the reset
    for budget in budgets:
        budget.release()
    assert store.load(budgets[0]._key("liking_users")) == RateLimit(75, 75 - sent, reset)


def test_the_variable_store_is_shared_by_fingerprint_and_never_names_the_token(x_sandbox, monkeypatch) -> None:
    migrated_airflow_db()
    from airflow.models.variable import Variable

    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", x_sandbox.conn_json("bearer"))
    x_sandbox.admin.reset(clean=True, liking_users_cap=None)  # pages past the 100 likers X lists
    hook = XHook(budget_store=VariableBudgetStore())
    hook.get_liking_users(featured(x_sandbox, 1000), max_results=100)
    token = x_sandbox.credentials["bearer_token"]
    fingerprint = budget_fingerprint(x_sandbox.url, token)
    name = f"xlikes_ratelimit__{fingerprint}__liking_users"
    stored = json.loads(Variable.get(name))
    assert stored["limit"] == 75
    assert stored["reset_at"] is not None
    # 10 pages: two leases of 5 slots (a lease's unused slots go back when a listing ends)
    assert stored["remaining"] == 75 - 10
    assert token not in name
    assert VariableBudgetStore().load(f"{fingerprint}__liking_users") == RateLimit(**stored)


@pytest.mark.slow
def test_a_client_without_airflow_shares_its_budget_in_memory(x_sandbox_factory) -> None:
    sandbox = x_sandbox_factory(
        window_seconds=2, rate_limit_key="token", clean=True, post_likes=["1700:400"], liking_users_cap=None
    )  # pages past the 100 likers X lists
    store = InMemoryBudgetStore()
    token = sandbox.credentials["bearer_token"]
    clients = []
    for _ in range(3):
        client = XApiClient(base_url=sandbox.url, auth=StaticBearerAuth(token))
        client.budget = SharedBudget(store, sandbox.url, token)
        clients.append(client)
    results: list[list[str]] = []

    def listing(client: XApiClient) -> None:
        pages = client.paginate(LIKING_USERS, LIKING_USERS.url_path("1700"), params={"max_results": 5})
        results.append([u["id"] for page in pages for u in page.data])

    threads = [threading.Thread(target=listing, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    truth = sandbox.admin.likers("1700")
    assert results == [truth] * 3
    counts = sandbox.admin.request_counts()
    assert counts["by_endpoint"]["liking_users"] == 3 * 80  # 3 × 80 pages: 3.2 windows of 75
    assert counts["by_status"].get("429", 0) == 0


def test_a_listing_stopped_early_and_collected_later_does_no_io_and_release_budget_gives_back(
    x_sandbox, monkeypatch
) -> None:
    """The garbage collector may finalize an abandoned listing anywhere, here inside a database
    session: that must not touch the budget (it once closed the session it interrupted)."""
    import gc

    migrated_airflow_db()
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", x_sandbox.conn_json("bearer"))
    x_sandbox.admin.reset(clean=True, liking_users_cap=None)  # pages past the 100 likers X lists
    hook = XHook(budget_store=VariableBudgetStore())
    fingerprint = budget_fingerprint(x_sandbox.url, x_sandbox.credentials["bearer_token"])
    name = f"xlikes_ratelimit__{fingerprint}__liking_users"

    class Holder:  # a reference cycle: only the cyclic garbage collector frees the listing
        pass

    holder = Holder()
    holder.itself = holder  # type: ignore[attr-defined]
    holder.pages = hook.iter_liking_users(featured(x_sandbox, 1000), max_results=100)  # type: ignore[attr-defined]
    next(holder.pages)  # type: ignore[attr-defined]  # one page: a lease of 5 slots, 1 used
    del holder
    leased = json.loads(Variable.get(name))["remaining"]
    assert leased == 75 - 5

    gc.disable()
    try:
        with create_session() as session:
            query = session.query(Variable).filter(Variable.key.startswith("xlikes_ratelimit__"))
            gc.collect()  # the listing is finalized here, inside the session
            assert [v.key for v in query.all()] == [name]  # the session is still open and usable
    finally:
        gc.enable()
    assert json.loads(Variable.get(name))["remaining"] == leased  # nothing given back by the collector
    hook.release_budget()
    assert json.loads(Variable.get(name))["remaining"] == 75 - 1  # the 4 unused slots are back
