"""Fixtures of the sandbox tests (the sandbox fixtures themselves come from the pytest plugin)."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_helpers import Client


@pytest.fixture
def client(x_sandbox: Any) -> Client:
    return Client(x_sandbox)


@pytest.fixture
def user_client(x_sandbox: Any) -> Client:
    return Client(x_sandbox, "oauth2_user")
