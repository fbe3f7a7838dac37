#!/usr/bin/env bash
# Installs the Debian packages the multi-host tests run for real when they are missing: PostgreSQL
# (the metadata database and the atomic state store) and Redis (the Celery broker). The tests start
# their own servers on ports of their own and stop them by PID; nothing here starts a service.
set -euo pipefail
missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
echo "== installing ${missing[*]} (Debian packages; the multi-host tests start their own servers)"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "the multi-host tests need ${missing[*]}: run 'apt-get install -y ${missing[*]}' as root" >&2
    exit 1
  fi
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# (on a machine without a /usr/sbin/policy-rc.d that forbids it, the packages' install scripts may
# start the distribution's own servers on the default ports; the tests never use those)
if ! "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null; then
  "${SUDO[@]}" apt-get update -qq >/dev/null
  "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
