"""pytest plugin (entry point ``xlikes_sandbox``): fixtures that run the offline X API sandbox.

Installed with the provider, so DAG and hook tests can use these fixtures without any import:

``x_sandbox_session`` (session scope)
    One default sandbox (``SandboxConfig()``) in a subprocess for the whole test session
    (per xdist worker: each worker gets its own server on a free port).
``x_sandbox`` (function scope)
    The session sandbox, reset through the admin API before the test (counters, rate limits,
    faults, quirks, likes mutations, tokens and clock back to their start state).
``x_sandbox_factory`` (function scope)
    ``x_sandbox_factory(**config_overrides) -> SandboxProcess`` starts a dedicated sandbox with
    ``SandboxConfig`` fields (quirk names may be given directly, e.g. ``naming="post"``);
    all are stopped at teardown.

Example::

    def test_my_dag(x_sandbox, monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", x_sandbox.conn_json("oauth2_user"))
        post = x_sandbox.admin.world()["featured_posts"][0]
        ...  # run the task, then compare with x_sandbox.admin.likers(post["id"])

    def test_outage(x_sandbox_factory):
        sb = x_sandbox_factory(faults=["status,count=3,status=503"], window_seconds=2)

This module is import-light: the sandbox (and ``requests``) are imported when a fixture is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_xlikes.sandbox.process import SandboxProcess


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
def x_sandbox(x_sandbox_session: SandboxProcess) -> SandboxProcess:
    """The session sandbox, reset to its start state before the test."""
    x_sandbox_session.admin.reset()
    return x_sandbox_session


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
