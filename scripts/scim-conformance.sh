#!/usr/bin/env bash
# Runs scim2-tester (PyPI: the `scim2 test` command of scim2-cli) against a freshly started
# sso-scim on SQLite and on PostgreSQL; fails if it reports any ERROR or CRITICAL result.
#
#   scripts/scim-conformance.sh            # both backends (PostgreSQL at 127.0.0.1:5432)
#   BACKENDS=sqlite scripts/scim-conformance.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BACKENDS="${BACKENDS:-sqlite postgres}"
PG_ADMIN="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}"

if ! command -v scim2 >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check "scim2-cli" "scim2-tester" >&2
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi
cargo build --quiet -p sso-scim
BIN="$PWD/target/debug/sso-scim"
WORK="$(mktemp -d)"
SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

failed=0
for backend in $BACKENDS; do
  case "$backend" in
    sqlite) url="sqlite://$WORK/scim.db" ;;
    postgres)
      psql "$PG_ADMIN" -q -o /dev/null -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS scim_conformance" -c "CREATE DATABASE scim_conformance"
      url="${PG_ADMIN%/*}/scim_conformance" ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  token=$(DATABASE_URL="$url" "$BIN" tokens create --name scim2-tester 2>/dev/null)
  DATABASE_URL="$url" RUST_LOG=warn "$BIN" serve --bind "127.0.0.1:$port" > "$WORK/server-$backend.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.1; done
  out="$WORK/tester-$backend.txt"
  SCIM_CLI_HEADERS="Authorization: Bearer $token" scim2 --url "http://127.0.0.1:$port/scim/v2" test > "$out" 2>&1 || true
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
  ok=$(grep -c '^SUCCESS' "$out" || true)
  bad=$(grep -c -E '^(ERROR|CRITICAL)' "$out" || true)
  echo "scim2-tester on $backend: $ok SUCCESS, $bad ERROR/CRITICAL"
  if [ "$bad" != 0 ] || [ "$ok" = 0 ]; then
    grep -E -A3 '^(ERROR|CRITICAL)' "$out" || tail -20 "$out"
    failed=1
  fi
done
exit $failed
