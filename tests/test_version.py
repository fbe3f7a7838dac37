"""The version is written once (``__version__``); the package metadata, the provider info and the
changelog agree with it."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

from airflow_provider_xlikes import __version__
from airflow_provider_xlikes.get_provider_info import get_provider_info

ROOT = Path(__file__).resolve().parent.parent


def test_the_package_metadata_and_the_provider_info_read_the_one_version() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")  # (tomllib is 3.11+; Python 3.10 is supported)
    assert re.search(r'^dynamic = \["version"\]$', pyproject, flags=re.M)
    assert not re.search(r"^version\s*=\s*[\"']", pyproject, flags=re.M)
    assert re.search(r'^version = \{ attr = "airflow_provider_xlikes._version.__version__" \}$', pyproject, flags=re.M)
    assert version("airflow-provider-xlikes") == __version__, "installed metadata is stale: bash scripts/setup.sh"
    assert get_provider_info()["versions"] == [__version__]


def test_no_other_module_writes_a_version() -> None:
    package = ROOT / "airflow_provider_xlikes"
    writers = [
        p.relative_to(ROOT).as_posix()
        for p in package.rglob("*.py")
        if re.search(r"^__version__\s*=", p.read_text(encoding="utf-8"), flags=re.M)
    ]
    assert writers == ["airflow_provider_xlikes/_version.py"]


def test_the_changelog_has_unreleased_on_top_then_the_current_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (\S+)", changelog, flags=re.M)
    assert headings[0] == "Unreleased", headings
    assert __version__ in headings[1:], f"no '## {__version__}' section in CHANGELOG.md"
