#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: lint (ruff), types (mypy --strict), pytest.
# Usage: scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${XLIKES_VENV:-.venv}"
bash scripts/setup.sh
echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== mypy"
"$VENV/bin/mypy"
echo "== spec module is current"
"$VENV/bin/python" scripts/gen_spec.py --check
echo "== pytest"
"$VENV/bin/python" -m pytest -n "${XLIKES_TEST_WORKERS:-auto}" -q "$@"
