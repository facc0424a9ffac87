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

skip() {
  if [ "${IDENTITY_REQUIRE_POSTGRES:-0}" = 1 ]; then
    echo "FATAL: PostgreSQL is required (IDENTITY_REQUIRE_POSTGRES=1) but $1." >&2
    exit 1
  fi
  postgres=skipped
  echo "=================================================================================" >&2
  echo " PostgreSQL: $1: PostgreSQL tests are SKIPPED." >&2
  echo " Only SQLite is tested. Start PostgreSQL or set IDENTITY_TEST_POSTGRES_URL to run them." >&2
  echo "=================================================================================" >&2
}

# The test database must exist; it is made when psql can (the server answering is not enough:
# without it every PostgreSQL test would skip itself and the run would look green).
database="${IDENTITY_TEST_POSTGRES_URL##*/}"; database="${database%%\?*}"
user="${IDENTITY_TEST_POSTGRES_URL#*://}"; user="${user%%@*}"; user="${user%%:*}"
[ "$user" = "${IDENTITY_TEST_POSTGRES_URL#*://}" ] && user=postgres
has_database() {
  psql -h "$host" -p "$port" -U "$user" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'" 2>/dev/null | grep -q 1
}

postgres=ran
if ! (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
  skip "$host:$port does not answer"
elif ! command -v psql >/dev/null; then
  echo "psql is not installed: cannot check that database '$database' exists; a missing one fails the run." >&2
elif ! has_database; then
  echo "Creating the test database '$database' on $host:$port"
  psql -h "$host" -p "$port" -U "$user" -d postgres -qc "CREATE DATABASE \"$database\"" >/dev/null 2>&1 || true
  has_database || skip "database '$database' on $host:$port is missing and could not be created"
fi
# From here on a PostgreSQL test that cannot reach its database fails instead of skipping itself.
[ "$postgres" = ran ] && export IDENTITY_REQUIRE_POSTGRES=1

if cargo nextest --version >/dev/null 2>&1; then
  filter=()
  [ "$postgres" = skipped ] && filter=(-E 'not test(/postgres/)')
  cargo nextest run --workspace --no-fail-fast "${filter[@]}" "$@"
  if [ "$postgres" = skipped ]; then
    skipped=$(cargo nextest list --workspace --message-format oneline -E 'test(/postgres/)' 2>/dev/null | wc -l)
    echo "Tests passed on SQLite; $skipped PostgreSQL tests were SKIPPED."
    exit 0
  fi
else
  # Without nextest, each PostgreSQL case checks IDENTITY_REQUIRE_POSTGRES itself.
  cargo test --workspace --no-fail-fast "$@"
fi

echo "Tests passed: SQLite ran; PostgreSQL $postgres."
