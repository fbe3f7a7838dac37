#!/usr/bin/env bash
# Creates (or updates) the project's virtualenv in .venv with the package and its test tools.
# Usage: scripts/setup.sh   (XLIKES_VENV=/path overrides the location; PYTHON picks the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${XLIKES_VENV:-.venv}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
# -qq: errors only (pip otherwise repeats warnings about index locations of the machine's pip config)
"$VENV/bin/python" -m pip install -qq --disable-pip-version-check --upgrade pip
# A constraints file pins the whole tested set (like Airflow's own constraints): reproducible, and
# no resolver backtracking (unconstrained, pip spends minutes on aiobotocore/s3fs versions).
PYVER="$("$VENV/bin/python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
CONSTRAINTS=()
if [ -f "constraints/test-py$PYVER.txt" ]; then
  CONSTRAINTS=(-c "constraints/test-py$PYVER.txt")
fi
"$VENV/bin/python" -m pip install -qq --disable-pip-version-check -e ".[test]" "${CONSTRAINTS[@]}"
