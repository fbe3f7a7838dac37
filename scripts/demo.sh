#!/usr/bin/env bash
# Sets everything up, starts the offline X API sandbox and runs the demo DAG (dag.test(), SQLite).
# Results: JSON Lines files and a manifest per task in ./output.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${XLIKES_VENV:-.venv}"
bash scripts/setup.sh
exec "$VENV/bin/python" scripts/run_demo.py
