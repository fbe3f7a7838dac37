"""pytest plugin (entry point ``xlikes_sandbox``): fixtures that run the offline X API sandbox.

Installed with the provider, so DAG and hook tests can use these fixtures without any import:

``x_sandbox_session`` (session scope)
    One default sandbox (``SandboxConfig()``) in a subprocess for the whole test session
    (per xdist worker: each worker gets its own server on a free port).
``x_sandbox`` (function scope)
    The session sandbox, reset through the admin API before the test (counters, rate limits,
    faults, quirks, likes mutations, tokens and clock back to their start state; budget Variables
    that tasks of this process shared about its windows, and the claims of its authorizations, are
    deleted). The marker
    ``@pytest.mark.x_sandbox(clean=True, **quirks)`` changes quirks after the reset: ``clean``
    switches the paging quirks off (exact pages), other names set quirks (``app_only="owner"``).
``postgres_server`` (session scope)
    A PostgreSQL server of its own (``airflow_provider_xlikes.testing.services``), for the shared
    state store (``state_store_conn_id``).
``x_sandbox_factory`` (function scope)
    ``x_sandbox_factory(**config_overrides) -> SandboxProcess`` starts a dedicated sandbox with
    ``SandboxConfig`` fields (quirk names may be given directly, e.g. ``naming="post"``, and
    ``clean=True``); all are stopped at teardown.

The sandbox is as strict as X by default: short pages, empty last pages and partial errors come
at seeded rates, an app-only token has no user behind it, scopes are enforced, ``liking_users``
ends after 100 accounts per post (X's cap since 2026), and a monthly Post cap answers 429
``usage-capped`` once spent (see docs/sandbox.md and docs/cost-and-limits.md). A test that needs a longer liker
listing lifts the cap explicitly: ``x_sandbox_factory(liking_users_cap=None)`` or
``@pytest.mark.x_sandbox(liking_users_cap=None)``; ``self_serve=True`` makes like and unlike
answer X's Enterprise-only 403.

Example::

    def test_my_dag(x_sandbox, monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", x_sandbox.conn_json("oauth2_user"))
        post = x_sandbox.admin.world()["featured_posts"][0]
        ...  # run the task, then compare with x_sandbox.admin.likers(post["id"])

    def test_outage(x_sandbox_factory):
        sb = x_sandbox_factory(faults=["status,count=3,status=503"], window_seconds=2)

    @pytest.mark.x_sandbox(clean=True)
    def test_exact_pages(x_sandbox): ...

    def test_long_listing(x_sandbox_factory):
        sb = x_sandbox_factory(post_likes=["5000"], liking_users_cap=None)  # X itself lists 100

This module is import-light: the sandbox (and ``requests``) are imported when a fixture is used.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_xlikes.sandbox.process import SandboxProcess
    from airflow_provider_xlikes.testing.cluster import AirflowCluster
    from airflow_provider_xlikes.testing.services import PostgresServer


MARKER = "x_sandbox"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(clean=False, **quirks): quirk changes applied to x_sandbox after its reset"
    )


@pytest.fixture(scope="session")
def x_sandbox_session() -> Iterator[SandboxProcess]:
    """A default sandbox subprocess shared by the session (one per xdist worker)."""
    from airflow_provider_xlikes.sandbox.process import start_sandbox

    sandbox = start_sandbox()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def x_sandbox(x_sandbox_session: SandboxProcess, request: pytest.FixtureRequest) -> SandboxProcess:
    """The session sandbox, reset to its start state before the test (then the marker's quirks)."""
    marker = request.node.get_closest_marker(MARKER)
    x_sandbox_session.admin.reset(**(marker.kwargs if marker else {}))
    _forget_shared_budgets()
    return x_sandbox_session


def _forget_shared_budgets() -> None:
    """The sandbox's windows start again on reset: forget what tasks of this process shared about
    them (budget Variables), when this process uses Airflow's metadata database at all."""
    if "airflow.models.variable" not in sys.modules:
        return
    from airflow_provider_xlikes.hooks.budget import forget_shared_budgets
    from airflow_provider_xlikes.state import forget_authorization_claims

    with contextlib.suppress(Exception):  # no database, or not migrated
        forget_shared_budgets()
        forget_authorization_claims()


@pytest.fixture
def x_sandbox_factory() -> Iterator[Callable[..., SandboxProcess]]:
    """Factory starting dedicated sandboxes: ``x_sandbox_factory(**config_overrides)``."""
    from airflow_provider_xlikes.sandbox.process import start_sandbox

    started: list[SandboxProcess] = []

    def factory(**overrides: Any) -> SandboxProcess:
        sandbox = start_sandbox(**overrides)
        started.append(sandbox)
        return sandbox

    try:
        yield factory
    finally:
        for sandbox in started:
            sandbox.stop()


@pytest.fixture
def airflow_cluster_factory() -> Iterator[Callable[..., AirflowCluster]]:
    """Factory starting real Airflows (scheduler, dag-processor, api-server, triggerer):
    ``airflow_cluster_factory(parallelism=4, env={...})``; every one is stopped at teardown."""
    from airflow_provider_xlikes.testing.cluster import AirflowCluster

    started: list[AirflowCluster] = []

    def factory(**kwargs: Any) -> AirflowCluster:
        cluster = AirflowCluster(**kwargs)
        started.append(cluster)
        return cluster.start()

    try:
        yield factory
    finally:
        for cluster in started:
            cluster.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this session's own (one per xdist worker), stopped at the end;
    ``postgres_server.create_database(name)`` returns a URI for an Airflow connection."""
    from airflow_provider_xlikes.testing.services import PostgresServer

    with PostgresServer() as server:
        yield server
