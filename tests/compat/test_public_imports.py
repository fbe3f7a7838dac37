"""Every public name of the package imports on each supported Airflow release (the compatibility
tests run on 3.1 and 3.2 too): a name Airflow moved between releases must come through
``version_compat``, never straight from where the newest release keeps it."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import airflow_provider_xlikes

#: modules that need an optional extra or are tools, not provider code run by Airflow
NOT_ON_EVERY_INSTALL = ("airflow_provider_xlikes.hooks.postgres_store", "airflow_provider_xlikes.testing.")


@pytest.mark.parametrize("name", sorted(airflow_provider_xlikes.__all__))
def test_each_public_name_imports(name: str) -> None:
    assert getattr(airflow_provider_xlikes, name) is not None


def test_every_provider_module_imports() -> None:
    prefix = airflow_provider_xlikes.__name__ + "."
    names = [
        info.name
        for info in pkgutil.walk_packages(airflow_provider_xlikes.__path__, prefix)
        if not info.name.startswith(NOT_ON_EVERY_INSTALL) and ".sandbox" not in info.name
    ]
    assert "airflow_provider_xlikes.sensors.likes" in names
    for name in names:
        importlib.import_module(name)
