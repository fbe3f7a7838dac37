#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: lint (ruff), types (mypy --strict), pytest;
# then the demo, hook, operator and compatibility tests on each older supported Airflow release
# (scripts/test_older_airflow.sh: its venvs are prepared while the suite runs, its releases' tests
# run side by side afterwards; XLIKES_OLDER_AIRFLOW=0 skips them, except with CI=true).
# Usage: scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${XLIKES_VENV:-.venv}"
bash scripts/setup.sh
bash scripts/system_packages.sh
echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== mypy"
"$VENV/bin/mypy"
echo "== spec module is current"
"$VENV/bin/python" scripts/gen_spec.py --check
older=0
if [ "${CI:-}" = "true" ] || [ "${XLIKES_OLDER_AIRFLOW:-1}" != "0" ]; then
  older=1
  # the older releases' venvs are installed while the suite runs (pip mostly waits on the disk);
  # their output is printed after the suite's
  prepare_log="$(mktemp)"
  # (a process group of its own: its pip and airflow children go with it)
  setsid bash scripts/test_older_airflow.sh --prepare >"$prepare_log" 2>&1 &
  prepare_pid=$!
  # stopped by its PID when this script ends early (interrupted, or a step failing)
  # (`|| true`: under `set -e` a failing command in the trap would become the script's exit status)
  trap 'kill -- "-$prepare_pid" 2>/dev/null || true; rm -f "$prepare_log"' EXIT
fi
echo "== pytest"
# a failure here still lets the older releases run and report (one flake does not hide the rest);
# the script exits non-zero at the end if any part failed
status=0
"$VENV/bin/python" -m pytest -n "${XLIKES_TEST_WORKERS:-auto}" -q "$@" || status=$?
if [ "$older" = 1 ]; then
  echo "== older Airflow releases: install"
  wait "$prepare_pid" || status=1
  cat "$prepare_log"
  bash scripts/test_older_airflow.sh --run || status=$?
else
  echo "== older Airflow releases: skipped (XLIKES_OLDER_AIRFLOW=0)"
fi
if [ "$status" -ne 0 ]; then
  echo "== FAILED: see the pytest summaries above (exit status $status)" >&2
fi
exit "$status"
