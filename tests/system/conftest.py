"""System tests: the example DAGs of ``example_dags/`` run end to end against the sandbox.

Kept apart from the unit tests (as Airflow's own providers keep theirs in ``tests/system/``): every
test here carries the ``system`` marker (``pytest -m system`` runs only them, ``-m "not system"``
the rest). ``example_dag(name, ...)`` copies an example into this test process's DAGs folder (the
bundle ``dag.test()`` needs), with its output under a test's own location, and loads it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import DagRunResult
from operators.conftest import airflow_db
from system_helpers import EXAMPLE_DATA, EXAMPLES, example_source

__all__ = ["airflow_db"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "system: an example DAG run end to end (tests/system)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.system)


class ExampleDag:
    """A loaded example DAG: ``run()`` is one ``dag.test()`` of it."""

    def __init__(self, dag: Any) -> None:
        self.dag = dag

    def run(self, *, conf: dict[str, Any] | None = None, logical_date: Any = None) -> DagRunResult:
        dag_run = self.dag.test(run_conf=conf, logical_date=logical_date)
        return DagRunResult(self.dag.dag_id, dag_run.run_id, str(dag_run.state))


@pytest.fixture
def examples_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The examples' ``XLIKES_EXAMPLES_OUTPUT`` for this test: a local folder (as a URI)."""
    uri = (tmp_path / "out").as_uri()
    monkeypatch.setenv("XLIKES_EXAMPLES_OUTPUT", uri)
    return uri


@pytest.fixture
def example_dag(airflow_db: None, examples_output: str) -> Iterator[Callable[..., ExampleDag]]:
    """``example_dag(name, replacements=None)``: the example, loaded from this process's DAGs folder."""
    folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def load(name: str, replacements: dict[str, str] | None = None) -> ExampleDag:
        for data in EXAMPLE_DATA:
            shutil.copy(EXAMPLES / data, folder / data)
        path = folder / f"{name}.py"
        path.write_text(example_source(name, replacements), encoding="utf-8")
        written.append(path)
        spec = importlib.util.spec_from_file_location(f"xlikes_example_{uuid.uuid4().hex[:8]}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return ExampleDag(module.dag)

    yield load
    for path in written:
        path.unlink(missing_ok=True)
