#!/usr/bin/env bash
# api load benchmark: GET a person by id and look one up by email, for random people out of
# 1,000,000 loaded, next to the bare-stack floor's GET by id run in the same sitting.
#   bench/api.sh                         # both backends (seeding 1M people takes a few minutes each)
#   BACKENDS=pg COUNT=100000 bench/api.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BACKENDS="${BACKENDS:-pg sqlite}"
COUNT="${COUNT:-1000000}"
PORT="${PORT:-18282}"

log "machine: $(machine)"
build -p api -p identity-bench
FLOOR_TSV=""
[ "${SKIP_FLOOR:-0}" = 1 ] || FLOOR_TSV=$(run_floor "$BACKENDS")

rows=()
for b in $BACKENDS; do
  url=$(fresh_db "$b" identity_bench_api)
  data="$WORK/api-$b"
  log "$b: seeding $COUNT people"
  DATABASE_URL="$url" "$REPO/target/release/identity-bench" seed-people --count "$COUNT" --out "$data"
  [ "$b" = pg ] && psql "${PG_ADMIN%/*}/identity_bench_api" -q -c "VACUUM ANALYZE"
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
    rows+=("$b|$sc|$rps|$p99|$non2xx|$errors|$frps|$fp99")
  done
  stop_server
done

python3 - "${rows[@]}" <<'PY'
import sys
names = {"get_id": "GET /api/v1/people/{id}", "get_email": "GET /api/v1/people?email=…"}
print("| backend | scenario | api req/s | p99 ms | non-2xx/errors | floor GET by id req/s | floor p99 ms | ratio | target ≥0.7, p99<10 ms |")
print("|---|---|---|---|---|---|---|---|---|")
for row in sys.argv[1:]:
    b, sc, rps, p99, non2xx, errors, frps, fp99 = row.split("|")
    ratio = float(rps) / float(frps) if frps != "nan" else float("nan")
    ok = "ok" if ratio >= 0.7 and float(p99) < 10 else "MISSED"
    print(f"| {b} | {names[sc]} | {float(rps):,.0f} | {p99} | {non2xx}/{errors} | {float(frps):,.0f} | {fp99} | {ratio:.2f} | {ok} |")
PY
