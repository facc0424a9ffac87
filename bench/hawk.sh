#!/usr/bin/env bash
# Hawk against an API key on the same route: api's GET /api/v1/people/{id} for random people out
# of COUNT (100,000), once with a bearer API key (credential cached) and once signed with Hawk
# (every request its own nonce, recorded in the shared `hawk_nonces` table), back to back in each
# round, on PostgreSQL and SQLite; target: Hawk ≥ 0.9× the API key. The signed requests are made
# just before each run (identity-bench hawk-headers), since a signature is good for 60 s.
# Before the rounds, FILL_SECONDS (180) of signed traffic fill the nonce table to what it holds in
# service (nonces are swept once a minute when older than two minutes), so that the rounds do
# not measure a table, and on SQLite a file, still growing; FILL_SECONDS=0 measures from empty.
#   bench/hawk.sh                          # both backends, 3 rounds (~12 minutes)
#   BACKENDS=pg ROUNDS=1 bench/hawk.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BACKENDS="${BACKENDS:-pg sqlite}"
COUNT="${COUNT:-100000}"
PORT="${PORT:-18282}"
ROUNDS="${ROUNDS:-3}"
# More than a run can send, so that no signed request is sent twice.
SIGNED="${SIGNED:-600000}"
FILL_SECONDS="${FILL_SECONDS:-180}"
HAWK_ID=bench-caller
HAWK_KEY=a-benchmark-hawk-key-not-a-secret

log "machine: $(machine)"
build -p api -p identity-bench

rows=()
for b in $BACKENDS; do
  url=$(fresh_db "$b" identity_bench_hawk)
  data="$WORK/hawk-$b"
  log "$b: seeding $COUNT people"
  DATABASE_URL="$url" "$REPO/target/release/identity-bench" seed-people --count "$COUNT" --out "$data"
  [ "$b" = pg ] && psql "${PG_ADMIN%/*}/identity_bench_hawk" -q -c "VACUUM ANALYZE"
  settle "$b" "$url"
  key=$(DATABASE_URL="$url" "$REPO/target/release/api" keys create --name bench --scope people:read 2>/dev/null)
  start_server api "$PORT" "$url" IDENTITY_API__RATE_LIMIT_PER_SECOND=10000000 IDENTITY_API__RATE_LIMIT_BURST=10000000 \
    IDENTITY_HAWK__ID="$HAWK_ID" IDENTITY_HAWK__KEY="$HAWK_KEY"
  base="http://127.0.0.1:$PORT"
  sign() {
    "$REPO/target/release/identity-bench" hawk-headers --id "$HAWK_ID" --key "$HAWK_KEY" --base "$base" \
      --list "$data/ids.txt" --prefix /api/v1/people/ --count "$1" --out "$2"
  }
  for ((left = FILL_SECONDS; left > 0; left -= 25)); do
    sign "$SIGNED" "$data/fill.txt"
    env LIST_FILE="$data/fill.txt" THREADS="$THREADS" RUN_ID="f$RANDOM$RANDOM" wrk -t"$THREADS" -c"$CONNS" -d25s \
      --timeout 10s -s "$WRK_LUA_DIR/get_signed.lua" "$base/" > /dev/null 2>&1
  done
  if [ "$FILL_SECONDS" -gt 0 ] && [ "$b" = pg ]; then
    log "$b: filled for ${FILL_SECONDS}s: $(psql "${PG_ADMIN%/*}/identity_bench_hawk" -tAc 'SELECT count(*) FROM hawk_nonces') nonces held"
  fi
  rounds=()
  for r in $(seq "$ROUNDS"); do
    k=$(scenario "hawk.$b.key.$r" get_random.lua "$base/" LIST_FILE="$data/ids.txt" PREFIX=/api/v1/people/ TOKEN="$key")
    sign "$SIGNED" "$data/signed.txt"
    sign $((SIGNED / 3)) "$data/signed.txt.warm"
    h=$(scenario "hawk.$b.hawk.$r" get_signed.lua "$base/" LIST_FILE="$data/signed.txt" THREADS="$THREADS")
    log "$b round $r: API key $k; Hawk $h (req/s p99_ms non-2xx errors)"
    rounds+=("$k $h")
  done
  rows+=("$b|get_id|$(IFS=';'; echo "${rounds[*]}")")
  if [ "$b" = pg ]; then
    log "$b: $(psql "${PG_ADMIN%/*}/identity_bench_hawk" -tAc 'SELECT count(*) FROM hawk_nonces') nonces held after the runs"
  fi
  stop_server
done

# The "floor" columns here are the API key's run.
median_table '{"get_id": 0.9}' '{"get_id": "GET /api/v1/people/{id}: Hawk / API key"}' "${rows[@]}"
