"""The provider info validates against the ``provider_info.schema.json`` of the Airflow release it
is installed with (the compatibility tests run on each supported release), and what it registers
imports there."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import airflow
import jsonschema
from airflow.sdk import BaseOperatorLink

from airflow_provider_xlikes.get_provider_info import get_provider_info


def test_provider_info_validates_against_this_releases_schema() -> None:
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_registered_extra_links_are_operator_links_of_the_listing_operators() -> None:
    from airflow_provider_xlikes import XLikedTweetsOperator, XLikingUsersOperator

    links = [
        getattr(importlib.import_module(module), name)
        for module, _, name in (path.rpartition(".") for path in get_provider_info()["extra-links"])
    ]
    assert all(issubclass(link, BaseOperatorLink) for link in links)
    assert {link.name for link in links} == {"Post on X", "User on X"}
    assert [type(link).__name__ for link in XLikingUsersOperator.operator_extra_links] == ["XPostLink"]
    assert [type(link).__name__ for link in XLikedTweetsOperator.operator_extra_links] == ["XUserLink"]
