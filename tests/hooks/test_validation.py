"""Bad input is rejected before any request, naming the parameter and the allowed values."""

from __future__ import annotations

import pytest

from airflow_provider_xlikes.endpoints import LIKED_TWEETS, LIKING_USERS, TWEET_FIELDS, USER_EXPANSIONS, USER_FIELDS
from airflow_provider_xlikes.exceptions import XValidationError
from airflow_provider_xlikes.validation import (
    names_for_naming,
    normalize_names,
    validate_id,
    validate_max_records,
    validate_max_results,
    validate_names,
    validate_pagination_token,
    validate_positive,
)


@pytest.mark.parametrize("value", ["1", "1354143047324299264", 20, "0000000000000000001"])
def test_valid_ids(value) -> None:
    assert validate_id("tweet_id", value) == str(value)


@pytest.mark.parametrize(
    "value", ["", "abc", "12345678901234567890", "12 3", "-1", None, 1.5, True, "1/../2", "20\n", " 20", "２０"]
)
def test_invalid_ids_name_the_parameter_and_the_pattern(value) -> None:
    with pytest.raises(XValidationError) as info:
        validate_id("tweet_id", value)
    assert info.value.parameter == "tweet_id"
    assert "tweet_id" in str(info.value)
    assert "^[0-9]{1,19}$" in str(info.value)


@pytest.mark.parametrize(
    ("endpoint", "good", "bad"), [(LIKING_USERS, [1, 100], [0, 101]), (LIKED_TWEETS, [5, 100], [4, 101])]
)
def test_max_results_ranges_come_from_the_endpoint_table(endpoint, good, bad) -> None:
    for value in good:
        assert validate_max_results(endpoint, value) == value
    for value in [*bad, "10", None, True]:
        with pytest.raises(XValidationError, match="max_results") as info:
            validate_max_results(endpoint, value)
        assert f"from {endpoint.page_size[0]} to 100" in str(info.value)


def test_max_records_and_max_pages() -> None:
    assert validate_max_records(None) is None
    assert validate_max_records(7) == 7
    for bad in (0, -1, "5", 2.0, True):
        with pytest.raises(XValidationError, match="max_records"):
            validate_max_records(bad)
        with pytest.raises(XValidationError, match="max_pages"):
            validate_positive("max_pages", bad)


@pytest.mark.parametrize("bad", ["", "  ", 5, " abc", "abc\n"])
def test_pagination_token_must_be_a_cursor(bad) -> None:
    with pytest.raises(XValidationError, match="pagination_token"):
        validate_pagination_token(bad)
    assert validate_pagination_token("7140dibdnow9c7btw3z3k") == "7140dibdnow9c7btw3z3k"


def test_field_names_accept_both_namings() -> None:
    assert validate_names(LIKING_USERS, "expansions", "pinned_tweet_id,pinned_post_id") == [
        "pinned_tweet_id",
        "pinned_post_id",
    ]
    assert validate_names(LIKED_TWEETS, "tweet_fields", ["referenced_tweets", "note_post"]) == [
        "referenced_tweets",
        "note_post",
    ]


def test_unknown_field_name_lists_the_allowed_values() -> None:
    with pytest.raises(XValidationError) as info:
        validate_names(LIKING_USERS, "user_fields", ["username", "favourite_colour"])
    assert info.value.parameter == "user_fields"
    assert info.value.value == "favourite_colour"
    assert "username" in info.value.allowed_values
    assert "user_fields" in str(info.value) and "created_at" in str(info.value)


@pytest.mark.parametrize(("value", "shown"), [(5, "5"), ([1], "1"), ({"a": 1}, "{'a': 1}"), (b"id", "b'id'")])
def test_field_lists_of_the_wrong_type_name_the_argument(value, shown) -> None:
    with pytest.raises(XValidationError) as info:
        validate_names(LIKING_USERS, "user_fields", value)
    assert info.value.parameter == "user_fields"
    assert shown in str(info.value)


def test_expansions_differ_per_endpoint() -> None:
    with pytest.raises(XValidationError, match="expansions"):
        validate_names(LIKING_USERS, "expansions", "author_id")
    assert validate_names(LIKED_TWEETS, "expansions", "author_id") == ["author_id"]


def test_parameters_an_endpoint_does_not_take() -> None:
    with pytest.raises(XValidationError, match="media_fields"):
        validate_names(LIKING_USERS, "media_fields", "url")


def test_normalize_names() -> None:
    assert normalize_names("user_fields", " a, b,,a ") == ["a", "b"]
    assert normalize_names("user_fields", None) == []


def test_each_naming_sends_its_own_names() -> None:
    post = names_for_naming(USER_EXPANSIONS, ["pinned_tweet_id", "most_recent_tweet_id", "affiliation.user_id"], "post")
    assert post.names == ["pinned_post_id", "most_recent_post_id", "affiliation"] and post.unlisted == []
    tweet = names_for_naming(USER_EXPANSIONS, ["pinned_post_id"], "tweet")
    assert tweet.names == ["pinned_tweet_id"] and tweet.unlisted == []
    # a name the post spec lacks, with no counterpart there: sent as given, reported
    fields = names_for_naming(TWEET_FIELDS, ["created_at", "author_id", "note_tweet"], "post")
    assert fields.names == ["created_at", "author_id", "note_post"]
    assert fields.unlisted == ["author_id"]
    # the same name twice after translation is sent once
    assert names_for_naming(USER_EXPANSIONS, ["pinned_tweet_id", "pinned_post_id"], "post").names == ["pinned_post_id"]
    assert names_for_naming(USER_FIELDS, ["username"], "post").names == ["username"]
