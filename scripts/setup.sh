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
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]"
