"""Bad input is rejected before any request, naming the parameter and the allowed values."""

from __future__ import annotations

import pytest

from airflow_provider_xlikes.exceptions import XValidationError
from airflow_provider_xlikes.validation import (
    normalize_names,
    validate_id,
    validate_max_records,
    validate_max_results,
    validate_names,
)


@pytest.mark.parametrize("value", ["1", "1354143047324299264", 20, "0000000000000000001"])
def test_valid_ids(value) -> None:
    assert validate_id("tweet_id", value) == str(value)


@pytest.mark.parametrize("value", ["", "abc", "12345678901234567890", "12 3", "-1", None, 1.5, True, "1/../2"])
def test_invalid_ids_name_the_parameter_and_the_pattern(value) -> None:
    with pytest.raises(XValidationError) as info:
        validate_id("tweet_id", value)
    assert info.value.parameter == "tweet_id"
    assert "tweet_id" in str(info.value)
    assert "^[0-9]{1,19}$" in str(info.value)


@pytest.mark.parametrize(
    ("endpoint", "good", "bad"), [("liking_users", [1, 100], [0, 101]), ("liked_tweets", [5, 100], [4, 101])]
)
def test_max_results_ranges(endpoint, good, bad) -> None:
    for value in good:
        assert validate_max_results(endpoint, value) == value
    for value in [*bad, "10", None, True]:
        with pytest.raises(XValidationError, match="max_results") as info:
            validate_max_results(endpoint, value)
        low = 1 if endpoint == "liking_users" else 5
        assert f"from {low} to 100" in str(info.value)


def test_max_records() -> None:
    assert validate_max_records(None) is None
    assert validate_max_records(7) == 7
    for bad in (0, -1, "5", 2.0):
        with pytest.raises(XValidationError, match="max_records"):
            validate_max_records(bad)


def test_field_names_accept_both_namings() -> None:
    assert validate_names("liking_users", "expansions", "expansions", "pinned_tweet_id,pinned_post_id") == [
        "pinned_tweet_id",
        "pinned_post_id",
    ]
    assert validate_names("liked_tweets", "tweet.fields", "tweet_fields", ["referenced_tweets", "note_post"]) == [
        "referenced_tweets",
        "note_post",
    ]


def test_unknown_field_name_lists_the_allowed_values() -> None:
    with pytest.raises(XValidationError) as info:
        validate_names("liking_users", "user.fields", "user_fields", ["username", "favourite_colour"])
    assert info.value.parameter == "user_fields"
    assert info.value.value == "favourite_colour"
    assert "username" in info.value.allowed_values
    assert "user_fields" in str(info.value) and "created_at" in str(info.value)


def test_expansions_differ_per_endpoint() -> None:
    with pytest.raises(XValidationError, match="expansions"):
        validate_names("liking_users", "expansions", "expansions", "author_id")
    assert validate_names("liked_tweets", "expansions", "expansions", "author_id") == ["author_id"]


def test_parameters_an_endpoint_does_not_take() -> None:
    with pytest.raises(XValidationError, match="media_fields"):
        validate_names("liking_users", "media.fields", "media_fields", "url")


def test_normalize_names() -> None:
    assert normalize_names(" a, b,,a ") == ["a", "b"]
    assert normalize_names(None) == []
