#!/usr/bin/env bash
# SCIM load benchmark: sso-scim with 10,000 seeded users, next to the bare-stack floor
# (../shared/bench/floor) run in the same sitting, on PostgreSQL and SQLite.
#   bench/scim.sh                      # both backends (~6 minutes)
#   BACKENDS=pg DURATION=5s bench/scim.sh
# Scenarios (wrk, 2 threads, 32 connections, random users): GET /Users/{id},
# GET /Users?filter=userName eq "…", POST /Users. Prints a markdown table with ratios.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BACKENDS="${BACKENDS:-pg sqlite}"
COUNT="${COUNT:-10000}"
PORT="${PORT:-18181}"

log "machine: $(machine)"
build -p sso-scim -p identity-bench
FLOOR_TSV=""
[ "${SKIP_FLOOR:-0}" = 1 ] || FLOOR_TSV=$(run_floor "$BACKENDS")

rows=()
for b in $BACKENDS; do
  url=$(fresh_db "$b" identity_bench_scim)
  data="$WORK/scim-$b"
  log "$b: seeding $COUNT SCIM users"
  DATABASE_URL="$url" "$REPO/target/release/identity-bench" seed-sso --count "$COUNT" --out "$data"
  sed 's/.*/userName%20eq%20%22&%22/' "$data/names.txt" > "$data/filters.txt"
  token=$(DATABASE_URL="$url" "$REPO/target/release/sso-scim" tokens create --name bench 2>/dev/null)
  start_server sso-scim "$PORT" "$url"
  base="http://127.0.0.1:$PORT"
  for sc in get_id get_filter post; do
    case $sc in
      get_id) r=$(scenario "$b.$sc" get_random.lua "$base/" LIST_FILE="$data/ids.txt" PREFIX=/scim/v2/Users/ TOKEN="$token"); floor_sc=get_id ;;
      get_filter) r=$(scenario "$b.$sc" get_random.lua "$base/" LIST_FILE="$data/filters.txt" "PREFIX=/scim/v2/Users?filter=" TOKEN="$token"); floor_sc=get_name ;;
      post) r=$(scenario "$b.$sc" scim_post.lua "$base/" TOKEN="$token"); floor_sc=post ;;
    esac
    read -r rps p99 non2xx errors <<< "$r"
    frps=nan; fp99=nan
    if [ -n "$FLOOR_TSV" ]; then frps=$(floor_value "$FLOOR_TSV" "$b" "$floor_sc" rps); fp99=$(floor_value "$FLOOR_TSV" "$b" "$floor_sc" p99); fi
    log "$b $sc: $rps req/s p99 $p99 ms (non-2xx $non2xx, errors $errors); floor $frps req/s p99 $fp99 ms"
    rows+=("$b|$sc|$rps|$p99|$non2xx|$errors|$frps|$fp99")
  done
  stop_server
done

python3 - "${rows[@]}" <<'PY'
import sys
targets = {"get_id": 0.8, "get_filter": 0.8, "post": 0.5}
names = {"get_id": "GET /Users/{id}", "get_filter": 'GET /Users?filter=userName eq "…"', "post": "POST /Users"}
print("| backend | scenario | sso-scim req/s | p99 ms | non-2xx/errors | floor req/s | floor p99 ms | ratio | target |")
print("|---|---|---|---|---|---|---|---|---|")
for row in sys.argv[1:]:
    b, sc, rps, p99, non2xx, errors, frps, fp99 = row.split("|")
    ratio = float(rps) / float(frps) if frps != "nan" else float("nan")
    ok = "ok" if ratio >= targets[sc] and float(p99) < 10 else "MISSED"
    print(f"| {b} | {names[sc]} | {float(rps):,.0f} | {p99} | {non2xx}/{errors} | {float(frps):,.0f} | {fp99} | {ratio:.2f} | ≥{targets[sc]}, p99<10 ms: {ok} |")
PY
