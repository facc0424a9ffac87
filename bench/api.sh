#!/usr/bin/env bash
# api load benchmark: GET a person by id and look one up by email, for random people out of
# 1,000,000 loaded, next to the bare-stack floor's GET by id run in the same sitting: the floor's
# own run (10,000 users), and the floor binary again over as many users as there are people here.
# A random read over a million rows works on more than PostgreSQL's shared_buffers hold, and
# costs the bare stack too; the second floor compares the same query over the same volume.
#   bench/api.sh                         # both backends (seeding 1M people takes a few minutes each)
#   BACKENDS=pg COUNT=100000 bench/api.sh
set -euo pipefail
# A random read over a million rows needs a longer warm-up than the 10,000-user scenarios.
WARMUP="${WARMUP:-20s}"
source "$(dirname "$0")/lib.sh"
BACKENDS="${BACKENDS:-pg sqlite}"
COUNT="${COUNT:-1000000}"
PORT="${PORT:-18282}"

log "machine: $(machine)"
build -p api -p identity-bench
FLOOR_TSV=""
[ "${SKIP_FLOOR:-0}" = 1 ] || FLOOR_TSV=$(run_floor "$BACKENDS")
FLOOR_BIN="$WORK/floor/target/release/floor"
FLOOR_PORT="${FLOOR_PORT:-18283}"

# floor_at_size BACKEND: the floor binary seeded with $COUNT users, GET by id for random ones;
# prints "rps p99_ms non2xx errors".
floor_at_size() {
  local b=$1 furl pool=8 fpid
  [ -x "$FLOOR_BIN" ] || { echo "nan nan 0 0"; return; }
  [ "$b" = sqlite ] && pool=4
  furl=$(fresh_db "$b" identity_bench_floor)
  log "$b: seeding the floor with $COUNT users"
  DATABASE_URL="$furl" COUNT="$COUNT" OUT_DIR="$WORK/floor-$b" "$FLOOR_BIN" seed > /dev/null 2>&1
  settle "$b" "$furl"
  env DATABASE_URL="$furl" POOL_SIZE=$pool BIND="127.0.0.1:$FLOOR_PORT" "$FLOOR_BIN" serve >> "$WORK/server.log" 2>&1 &
  fpid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$FLOOR_PORT/static" && break; sleep 0.1; done
  scenario "floor.$b.$COUNT" get_random.lua "http://127.0.0.1:$FLOOR_PORT/" LIST_FILE="$WORK/floor-$b/ids.txt" PREFIX=/users/
  kill "$fpid"; wait "$fpid" 2>/dev/null || true
}

rows=()
for b in $BACKENDS; do
  read -r srps sp99 _ _ <<< "$(floor_at_size "$b")"
  log "$b: floor over $COUNT users, GET by id: $srps req/s p99 $sp99 ms"
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
  for sc in get_id get_email; do
    case $sc in
      get_id) r=$(scenario "api.$b.$sc" get_random.lua "$base/" LIST_FILE="$data/ids.txt" PREFIX=/api/v1/people/ TOKEN="$key") ;;
      get_email) r=$(scenario "api.$b.$sc" get_random.lua "$base/" LIST_FILE="$data/emails.txt" "PREFIX=/api/v1/people?email=" TOKEN="$key") ;;
    esac
    read -r rps p99 non2xx errors <<< "$r"
    frps=nan; fp99=nan
    if [ -n "$FLOOR_TSV" ]; then frps=$(floor_value "$FLOOR_TSV" "$b" get_id rps); fp99=$(floor_value "$FLOOR_TSV" "$b" get_id p99); fi
    log "$b $sc: $rps req/s p99 $p99 ms (non-2xx $non2xx, errors $errors); floor GET by id $frps req/s p99 $fp99 ms"
    rows+=("$b|$sc|$rps|$p99|$non2xx|$errors|$frps|$fp99|$srps|$sp99")
  done
  stop_server
done

python3 - "${rows[@]}" <<'PY'
import sys
names = {"get_id": "GET /api/v1/people/{id}", "get_email": "GET /api/v1/people?email=…"}
print("| backend | scenario | api req/s | p99 ms | non-2xx/errors | floor (10k users) req/s, p99 ms | ratio | floor (same count) req/s, p99 ms | ratio | target ≥0.7, p99<10 ms |")
print("|---|---|---|---|---|---|---|---|---|---|")
for row in sys.argv[1:]:
    b, sc, rps, p99, non2xx, errors, frps, fp99, srps, sp99 = row.split("|")
    ratio = float(rps) / float(frps) if frps != "nan" else float("nan")
    same = float(rps) / float(srps) if srps != "nan" else float("nan")
    # Judged against the floor over the same number of rows when it ran: the same query.
    judged = same if srps != "nan" else ratio
    rate = "ratio ok" if judged >= 0.7 else "ratio MISSED"
    tail = "p99 ok" if float(p99) < 10 else "p99 MISSED"
    print(f"| {b} | {names[sc]} | {float(rps):,.0f} | {p99} | {non2xx}/{errors} | {float(frps):,.0f}, {fp99} | {ratio:.2f} | {float(srps):,.0f}, {sp99} | {same:.2f} | {rate}, {tail} |")
PY
