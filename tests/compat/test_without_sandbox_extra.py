"""A worker image with the provider and without the ``[sandbox]`` extra (no starlette, no uvicorn):
the package, its hook, operators and sensor import; the pytest plugin the package registers leaves
the image's own tests alone; a test that asks for a sandbox fails naming the extra.

Airflow's own api-server needs starlette, so no installable environment lacks it: the subprocesses
here hide the two packages from the import system (a ``sitecustomize`` on ``PYTHONPATH``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

HIDE_SERVER_STACK = textwrap.dedent(
    """
    import sys

    class _Hidden:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in ("starlette", "uvicorn"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, _Hidden())
    """
)


def _env(tmp_path: Path) -> dict[str, str]:
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(HIDE_SERVER_STACK, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "AIRFLOW_CONN_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(hide), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")
    return env


def test_the_package_imports_without_the_server_stack(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        try:
            import starlette  # noqa: F401
        except ImportError:
            pass
        else:
            raise SystemExit("starlette is not hidden")
        import airflow_provider_xlikes as x
        for name in x.__all__:
            getattr(x, name)
        from airflow_provider_xlikes.sandbox import SandboxConfig, start_sandbox
        try:
            start_sandbox(SandboxConfig())
        except ImportError as exc:
            print("refused:", exc)
        loaded = sorted(m for m in sys.modules if m.partition(".")[0] in ("starlette", "uvicorn"))
        print("loaded:", loaded)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=_env(tmp_path), capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "refused: The X API sandbox's server needs starlette, which is not installed: " in result.stdout
    assert "pip install 'airflow-provider-xlikes[sandbox]'" in result.stdout
    assert "loaded: []" in result.stdout


def test_the_pytest_plugin_leaves_other_tests_alone_and_names_the_extra(tmp_path: Path) -> None:
    project = tmp_path / "user_project"
    project.mkdir()
    (project / "test_user.py").write_text(
        textwrap.dedent(
            """
            def test_their_own_dag_logic():
                assert 1 + 1 == 2

            def test_with_a_sandbox(x_sandbox):
                pass
            """
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--trace-config", "-rA", str(project)],
        cwd=project,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert "airflow_provider_xlikes.testing.pytest_plugin" in output, "the plugin is loaded from the entry point"
    assert "PASSED test_user.py::test_their_own_dag_logic" in output, output
    assert "ERROR test_user.py::test_with_a_sandbox" in output, output
    assert "pip install 'airflow-provider-xlikes[sandbox]'" in output, output
    assert result.returncode == 1, output
