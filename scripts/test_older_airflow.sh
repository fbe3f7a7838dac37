#!/usr/bin/env bash
# The provider on each older Airflow release it supports, installed as a user would: a fresh venv
# per release (.venv-airflow-X.Y) from its constraints file (constraints/airflow-X.Y.Z-pyP.txt),
# `airflow providers list` showing the provider, then the demo (tests/test_demo.py runs
# scripts/run_demo.py, the demo's DAG against a fresh sandbox, and checks its output) and the
# hook, operator, compatibility and ecosystem (lineage, links, partitions) tests. scripts/test.sh
# prepares the venvs while the whole suite runs on the newest release, then runs the releases' tests
# side by side (their output is printed release by release once all have finished);
# XLIKES_OLDER_AIRFLOW=0 skips this there (never with CI=true).
# Usage: scripts/test_older_airflow.sh [--prepare | --run] [X.Y.Z ...]
#   (default: both phases, every release in constraints/; --prepare: the venvs and the
#   `providers list` check only; --run: the tests only, on venvs already prepared)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
PYVER="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"

PHASES=(prepare run)
case "${1:-}" in
  --prepare) PHASES=(prepare); shift ;;
  --run) PHASES=(run); shift ;;
esac

if [ "$#" -gt 0 ]; then
  VERSIONS=("$@")
else
  VERSIONS=()
  for file in constraints/airflow-*-py"$PYVER".txt; do
    [ -e "$file" ] || continue
    name="${file#constraints/airflow-}"
    VERSIONS+=("${name%-py"$PYVER".txt}")
  done
fi
if [ "${#VERSIONS[@]}" -eq 0 ]; then
  echo "no constraints/airflow-*-py$PYVER.txt: nothing to test" >&2
  exit 1
fi
mapfile -t VERSIONS < <(printf '%s\n' "${VERSIONS[@]}" | sort -V)
OLDEST="${VERSIONS[0]}"
FAILED=()

# the test extra of pyproject.toml without its pin of the newest Airflow (one list, not a copy), and
# without what only the newest release's suite uses (the multi-host deployment: PostgreSQL, Celery,
# Redis; the older releases' constraints files do not pin them, and pip backtracks for minutes)
mapfile -t TEST_REQUIREMENTS < <("$PYTHON" - <<'EOF'
import re
import tomllib

NEWEST_ONLY = {"apache-airflow", "apache-airflow-providers-postgres", "apache-airflow-providers-celery", "redis"}
with open("pyproject.toml", "rb") as handle:
    extra = tomllib.load(handle)["project"]["optional-dependencies"]["test"]
print("\n".join(r for r in extra if re.split(r"[\[<>=!~ ]", r, maxsplit=1)[0] not in NEWEST_ONLY))
EOF
)

prepare() {
  local version="$1" constraints venv stamp installed home listed
  constraints="constraints/airflow-$version-py$PYVER.txt"
  venv=".venv-airflow-${version%.*}"
  echo "== Airflow $version: $venv from $constraints"
  stamp="$(sha256sum "$constraints" | cut -c1-16)"
  if [ "$(cat "$venv/.xlikes-constraints" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv" || return 1
    "$venv/bin/python" -m pip install -qq --disable-pip-version-check --upgrade pip || return 1
  fi
  # -qq: errors only; every version is pinned, so pip does not backtrack. (Each failure returns
  # by hand: the caller's `||` switches `set -e` off inside this function.)
  "$venv/bin/python" -m pip install -qq --disable-pip-version-check -c "$constraints" \
    -e . "apache-airflow==$version" "${TEST_REQUIREMENTS[@]}" || return 1
  echo "$stamp" >"$venv/.xlikes-constraints"
  installed="$("$venv/bin/python" -c 'import airflow; print(airflow.__version__)' 2>/dev/null)"
  if [ "$installed" != "$version" ]; then
    echo "$venv has Airflow $installed, not $version" >&2
    return 1
  fi
  home="$(mktemp -d)"
  listed="$(AIRFLOW_HOME="$home" AIRFLOW__CORE__LOAD_EXAMPLES=False "$venv/bin/airflow" providers list 2>/dev/null)"
  rm -rf "$home"
  if ! grep -q "^airflow-provider-xlikes " <<<"$listed"; then
    echo "Airflow $version: airflow providers list does not show airflow-provider-xlikes" >&2
    return 1
  fi
  echo "airflow providers list: $(grep "^airflow-provider-xlikes " <<<"$listed" | tr -s ' ')"
}

# The oldest release runs every one of these tests. The slow ones (a real scheduler and triggerer,
# tasks killed and retried) run on it only: what they exercise differs before 3.3 in the same way
# on every older release (no task_state_store). XLIKES_OLDER_AIRFLOW_ALL=1 runs them on each release.
run_tests() {
  local version="$1" venv selection=()
  venv=".venv-airflow-${version%.*}"
  echo "== Airflow $version ($venv)"
  if [ "$version" != "$OLDEST" ] && [ "${XLIKES_OLDER_AIRFLOW_ALL:-0}" != "1" ]; then
    selection=(-m "not slow")
    echo "(slow tests: on Airflow $OLDEST only)"
  fi
  # exec: the PID the caller keeps is pytest's own. Slow tests last: the suite beside this one
  # runs its own real deployments first, and the two should not start theirs at the same time
  XLIKES_SLOW_TESTS="${XLIKES_SLOW_TESTS:-last}" exec "$venv/bin/python" -m pytest -n "${XLIKES_TEST_WORKERS:-auto}" -q "${selection[@]}" \
    tests/test_demo.py tests/hooks tests/operators tests/compat tests/ecosystem
}

if [[ " ${PHASES[*]} " == *" prepare "* ]]; then
  for version in "${VERSIONS[@]}"; do
    prepare "$version" || FAILED+=("$version (install)")
  done
fi
if [[ " ${PHASES[*]} " == *" run "* ]]; then
  # the releases side by side (most of these tests wait on real processes and servers, not on the
  # CPU); each one's output is kept apart and printed in order, and a failing release does not stop
  # the others from running and reporting
  logs="$(mktemp -d)"
  pids=()
  # each release's pytest stopped by its PID when this script ends early (interrupted)
  # (`|| true`: under `set -e` a failing command in the trap would become the script's exit status)
  trap 'kill -- "${pids[@]}" 2>/dev/null || true; rm -rf "$logs"' EXIT
  for version in "${VERSIONS[@]}"; do
    run_tests "$version" >"$logs/$version.log" 2>&1 &
    pids+=("$!")
  done
  for i in "${!VERSIONS[@]}"; do
    if ! wait "${pids[$i]}"; then
      FAILED+=("${VERSIONS[$i]}")
    fi
    cat "$logs/${VERSIONS[$i]}.log"
  done
fi
if [ "${#FAILED[@]}" -gt 0 ]; then
  echo "== older Airflow releases: failed on ${FAILED[*]}" >&2
  exit 1
fi
