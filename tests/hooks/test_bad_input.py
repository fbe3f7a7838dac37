"""Bad input gets an error naming the parameter and what is allowed, and 0 requests are sent.

Each case is checked at a real server that records every request it receives.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from airflow.exceptions import AirflowNotFoundException

from airflow_provider_xlikes import XHook
from airflow_provider_xlikes.exceptions import XConfigError, XPermanentError, XValidationError
from airflow_provider_xlikes.version_compat import AIRFLOW_V_3_2_PLUS

EMPTY = json.dumps({"meta": {"result_count": 0}}).encode()


def _refused_before_any_request(
    server: Any, parameter: str, where: str, call: Callable[[], Any], record: Callable[..., None]
) -> XValidationError:
    """``call()`` raises an ``XValidationError`` naming ``parameter``; the row says whether any
    request was sent (the caller asserts none was)."""
    with pytest.raises(XValidationError) as info:
        call()
    record(
        "bad_input",
        f"{where}: {parameter}={info.value.value!r}",
        error=type(info.value).__name__,
        names_the_parameter=info.value.parameter == parameter,
        requests_sent=len(server.queries),
    )
    assert info.value.parameter == parameter
    return info.value


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda h: h.get_liking_users("20\n"), "tweet_id"),
        (lambda h: h.get_liking_users("20", max_pages=0), "max_pages"),
        (lambda h: h.get_liking_users("20", max_pages=-1), "max_pages"),
        (lambda h: h.get_liking_users("20", pagination_token=""), "pagination_token"),
        (lambda h: h.get_liking_users("20", user_fields=5), "user_fields"),
        (lambda h: h.get_liking_users("20", user_fields=[1]), "user_fields"),
        (lambda h: h.get_liking_users("20", max_results=0), "max_results"),
        (lambda h: h.get_liking_users("20", max_records=-5), "max_records"),
        (lambda h: h.get_liked_tweets("1", max_results=4), "max_results"),
        (lambda h: h.get_liked_tweets("1", place_fields=["nope"]), "place_fields"),
        (lambda h: h.like("x"), "tweet_id"),
        (lambda h: h.unlike("1", user_id="me"), "user_id"),
    ],
)
@pytest.mark.reliability
def test_bad_arguments_send_nothing(hostile, call, parameter, record_reliability) -> None:
    server, hook = hostile(EMPTY)
    error = _refused_before_any_request(server, parameter, "hook", lambda: call(hook), record_reliability)
    assert parameter in str(error) and "Allowed" in str(error)
    assert server.queries == []


@pytest.mark.parametrize(
    ("extra", "parameter"),
    [
        ({"read_timeout": "abc"}, "extra read_timeout"),
        ({"read_timeout": -1}, "extra read_timeout"),
        ({"connect_timeout": 0}, "extra connect_timeout"),
        ({"max_retries": "abc"}, "extra max_retries"),
        ({"max_retries": -1}, "extra max_retries"),
        ({"max_retries": 1.5}, "extra max_retries"),
        ({"max_retries": True}, "extra max_retries"),
        ({"field_naming": "posts"}, "field_naming"),
        ({"auth_type": "oauth3"}, "auth_type"),
        ({"rotation_store": "***"}, "rotation_store"),
        ({"rotation_store": "relative/dir"}, "rotation_store"),
        ({"rotation_store": 7}, "rotation_store"),
    ],
)
@pytest.mark.reliability
def test_bad_connection_extras_send_nothing(hostile, extra, parameter, record_reliability) -> None:
    server, hook = hostile(EMPTY, **extra)
    _refused_before_any_request(
        server, parameter, "connection", lambda: hook.get_liking_users("20"), record_reliability
    )
    assert server.queries == []


def test_numeric_strings_from_the_form_are_accepted(hostile) -> None:
    server, hook = hostile(EMPTY, read_timeout="12.5", connect_timeout=3, max_retries="2")
    assert hook.get_liking_users("20") == []
    assert (hook.settings.read_timeout, hook.settings.connect_timeout, hook.settings.max_retries) == (12.5, 3, 2)
    assert len(server.queries) == 1


def test_an_extra_that_is_not_a_json_object(monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_X_LIST", json.dumps({"conn_type": "x", "password": "t", "extra": [1, 2]}))
    if not AIRFLOW_V_3_2_PLUS:  # Airflow 3.1 refuses such a connection itself: "isn't defined"
        with pytest.raises(AirflowNotFoundException):
            XHook("x_list").get_liking_users("20")
        return
    with pytest.raises(XValidationError) as info:
        XHook("x_list").get_liking_users("20")
    assert info.value.parameter == "extra"
    assert "a JSON object" in str(info.value)


def test_an_old_extra_name_says_what_it_is_called_now(hostile) -> None:
    _, hook = hostile(EMPTY, token_store="variable")
    with pytest.raises(XConfigError, match="'token_store' is now 'rotation_store'"):
        hook.get_liking_users("20")


@pytest.mark.parametrize("where", ["/proc/xlikes-cannot-create-this", "/dev/null/tokens"])
def test_a_store_directory_that_cannot_be_created(monkeypatch, tmp_path, where: str) -> None:
    conn: dict[str, Any] = {
        "conn_type": "x",
        "host": "http://127.0.0.1:9",
        "extra": {"auth_type": "oauth2_user", "client_id": "c", "refresh_token": "r", "rotation_store": where},
    }
    monkeypatch.setenv("AIRFLOW_CONN_X_STORE", json.dumps(conn))
    with pytest.raises(XValidationError) as info:
        XHook("x_store").get_me()
    assert info.value.parameter == "rotation_store"
    assert where in str(info.value)


def test_configuration_and_validation_errors_fail_the_task_without_retry() -> None:
    from airflow_provider_xlikes.version_compat import AirflowFailException  # airflow.sdk's from 3.2 on

    assert issubclass(XValidationError, AirflowFailException)
    assert issubclass(XConfigError, XPermanentError)
