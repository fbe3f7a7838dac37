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


def test_an_unrendered_or_invalid_id_names_no_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that failed before its id was rendered (or on an invalid id) reports no input, and no error."""
    pytest.importorskip("airflow.providers.openlineage")
    from airflow_provider_xlikes import XLikesSensor, XLikingUsersOperator

    monkeypatch.setenv("AIRFLOW_CONN_X_DEFAULT", '{"conn_type": "x", "host": "https://api.x.com", "password": "t"}')
    unrendered = XLikingUsersOperator(task_id="likers", tweet_id="{{ params.post }}")
    lineage = unrendered.get_openlineage_facets_on_failure(None)
    assert (lineage.inputs, lineage.outputs) == ([], [])
    sensor = XLikesSensor(task_id="wait", user_id="{{ var.value.x_user_id }}")
    assert sensor.get_openlineage_facets_on_failure(None).inputs == []
    rendered = XLikingUsersOperator(task_id="likers", tweet_id="20")
    (dataset,) = rendered.get_openlineage_facets_on_failure(None).inputs
    assert (dataset.namespace, dataset.name) == ("https://api.x.com", "/2/tweets/20/liking_users")
