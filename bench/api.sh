#!/usr/bin/env bash
# api load benchmark: GET a person by id and look one up by email, for random people out of
# 1,000,000 loaded, next to the bare-stack floor's GET by id (../shared/bench/floor) seeded with
# as many users, on PostgreSQL and SQLite. A random read over a million rows works on more than
# PostgreSQL's shared_buffers hold and costs the bare stack too, so the floor reads as many rows.
# This machine's speed drifts by a third within minutes, so a round runs the floor's GET by id
# and then the api's scenario back to back, and the table gives the median of ROUNDS rounds.
#   bench/api.sh                                # both backends, 3 rounds (~10 minutes)
#   BACKENDS=pg COUNT=100000 ROUNDS=1 bench/api.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BACKENDS="${BACKENDS:-pg sqlite}"
COUNT="${COUNT:-1000000}"
PORT="${PORT:-18282}"
ROUNDS="${ROUNDS:-3}"
# Each server's first run after a million-row seed warms up for longer than the 3 s between rounds.
FIRST_WARMUP="${FIRST_WARMUP:-20s}"

log "machine: $(machine)"
build -p api -p identity-bench
build_floor

rows=()
for b in $BACKENDS; do
  start_floor "$b" "$COUNT"
  floor="http://127.0.0.1:$FLOOR_PORT"
  url=$(fresh_db "$b" identity_bench_api)
  data="$WORK/api-$b"
  log "$b: seeding $COUNT people"
  DATABASE_URL="$url" "$REPO/target/release/identity-bench" seed-people --count "$COUNT" --out "$data"
  [ "$b" = pg ] && psql "${PG_ADMIN%/*}/identity_bench_api" -q -c "VACUUM ANALYZE"
  settle "$b" "$url"
  key=$(DATABASE_URL="$url" "$REPO/target/release/api" keys create --name bench --scope people:read 2>/dev/null)
  # The benchmark measures the route, not the rate limit.
  start_server api "$PORT" "$url" IDENTITY_API__RATE_LIMIT_PER_SECOND=10000000 IDENTITY_API__RATE_LIMIT_BURST=10000000
  base="http://127.0.0.1:$PORT"
  floor_get_id() { scenario "floor.$b.$1" get_random.lua "$floor/" LIST_FILE="$FLOOR_DATA/ids.txt" PREFIX=/users/; }
  api_get() {
    case $1 in
      get_id) scenario "api.$b.$1.$2" get_random.lua "$base/" LIST_FILE="$data/ids.txt" PREFIX=/api/v1/people/ TOKEN="$key" ;;
      get_email) scenario "api.$b.$1.$2" get_random.lua "$base/" LIST_FILE="$data/emails.txt" "PREFIX=/api/v1/people?email=" TOKEN="$key" ;;
    esac
  }
  log "$b: warming both servers up ($FIRST_WARMUP each)"
  WARMUP=$FIRST_WARMUP floor_get_id warm > /dev/null
  WARMUP=$FIRST_WARMUP api_get get_id warm > /dev/null
  for sc in get_id get_email; do
    rounds=()
    for r in $(seq "$ROUNDS"); do
      f=$(floor_get_id "get_id.$r")
      o=$(api_get "$sc" "$r")
      log "$b $sc round $r: floor GET by id $f; api $o (req/s p99_ms non-2xx errors)"
      rounds+=("$f $o")
    done
    rows+=("$b|$sc|$(IFS=';'; echo "${rounds[*]}")")
  done
  stop_server
  stop_floor
done

median_table '{"get_id": 0.7, "get_email": 0.7}' \
  '{"get_id": "GET /api/v1/people/{id}", "get_email": "GET /api/v1/people?email=…"}' \
  "${rows[@]}"
