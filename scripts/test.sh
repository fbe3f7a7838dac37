#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: lint (ruff), types (mypy --strict), pytest;
# and, beside it, the demo, hook, operator and compatibility tests on each older supported Airflow
# release (scripts/test_older_airflow.sh: its venvs installed, then its releases' tests side by side,
# all while the suite runs; XLIKES_OLDER_AIRFLOW=0 skips them, except with CI=true).
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
  # the older releases are installed and tested while the suite runs (most of both waits on real
  # processes, servers and the disk, not on the CPU); their output is printed after the suite's
  older_log="$(mktemp)"
  # (a process group of its own: its pip, pytest and airflow children go with it)
  setsid bash scripts/test_older_airflow.sh >"$older_log" 2>&1 &
  older_pid=$!
  # stopped by its PID when this script ends early (interrupted, or a step failing)
  # (`|| true`: under `set -e` a failing command in the trap would become the script's exit status)
  trap 'kill -- "-$older_pid" 2>/dev/null || true; rm -f "$older_log"' EXIT
fi
echo "== pytest"
# a failure here still lets the older releases run and report (one flake does not hide the rest);
# the script exits non-zero at the end if any part failed
status=0
"$VENV/bin/python" -m pytest -n "${XLIKES_TEST_WORKERS:-auto}" -q "$@" || status=$?
if [ "$older" = 1 ]; then
  echo "== older Airflow releases (installed and tested beside the suite)"
  wait "$older_pid" || status=1
  cat "$older_log"
else
  echo "== older Airflow releases: skipped (XLIKES_OLDER_AIRFLOW=0)"
fi
if [ "$status" -ne 0 ]; then
  echo "== FAILED: see the pytest summaries above (exit status $status)" >&2
fi
exit "$status"
