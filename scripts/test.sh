#!/usr/bin/env bash
# Runs every test of the workspace: on SQLite always, on PostgreSQL when it is reachable.
#
#   scripts/test.sh                 # all tests; PostgreSQL ones skipped (and said so) if it is down
#   IDENTITY_REQUIRE_POSTGRES=1 scripts/test.sh   # CI: PostgreSQL must be reachable, nothing skipped
#
# PostgreSQL: IDENTITY_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test). Each
# test uses its own schema there, and its own SQLite file, so tests run in parallel.
# Extra arguments go to the test runner (cargo nextest run, or cargo test without nextest).
set -euo pipefail
cd "$(dirname "$0")/.."

export IDENTITY_TEST_POSTGRES_URL="${IDENTITY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
hostport="${IDENTITY_TEST_POSTGRES_URL#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"; [ "$port" = "$host" ] && port=5432

if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
  postgres=ran
else
  if [ "${IDENTITY_REQUIRE_POSTGRES:-0}" = 1 ]; then
    echo "FATAL: PostgreSQL is required (IDENTITY_REQUIRE_POSTGRES=1) but $host:$port does not answer." >&2
    exit 1
  fi
  postgres=skipped
  echo "=================================================================================" >&2
  echo " PostgreSQL at $host:$port is not reachable: PostgreSQL tests are SKIPPED." >&2
  echo " Only SQLite is tested. Start PostgreSQL or set IDENTITY_TEST_POSTGRES_URL to run them." >&2
  echo "=================================================================================" >&2
fi

if cargo nextest --version >/dev/null 2>&1; then
  filter=()
  [ "$postgres" = skipped ] && filter=(-E 'not test(/postgres/)')
  cargo nextest run --workspace --no-fail-fast "${filter[@]}" "$@"
else
  # Without nextest the PostgreSQL cases skip themselves (each prints SKIPPED).
  cargo test --workspace --no-fail-fast "$@"
fi

echo "Tests passed: SQLite ran; PostgreSQL $postgres."
