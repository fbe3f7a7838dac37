"""The names lineage gives the X listing: the connection's base URL without anything secret in it."""

from __future__ import annotations

import pytest

from airflow_provider_xlikes.lineage import api_namespace


@pytest.mark.parametrize(
    ("base_url", "namespace"),
    [
        ("https://api.x.com", "https://api.x.com"),
        ("https://api.x.com/", "https://api.x.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        (
            "https://user:canary-password-1c9@proxy.example:8443/x-api/?key=canary-query-77#frag",
            "https://proxy.example:8443/x-api",
        ),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_the_namespace_is_scheme_host_port_and_path_only(base_url: str, namespace: str) -> None:
    assert api_namespace(base_url) == namespace
