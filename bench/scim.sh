#!/usr/bin/env bash
# SCIM load benchmark: sso-scim with 10,000 seeded users next to the bare-stack floor
# (../shared/bench/floor) seeded with as many, on PostgreSQL and SQLite.
#   bench/scim.sh                        # both backends, 3 rounds (~8 minutes)
#   BACKENDS=pg ROUNDS=1 bench/scim.sh
# Scenarios (wrk, 2 threads, 32 connections, random users), each against the floor's matching
# one: GET /Users/{id} (the floor's GET by id), GET /Users?filter=userName eq "…" (its GET by user
# name), POST /Users (its one-row insert). This machine's speed drifts by a third within minutes,
# so a round runs the floor's scenario and then sso-scim's back to back, and the table gives
# the median of ROUNDS rounds.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BACKENDS="${BACKENDS:-pg sqlite}"
COUNT="${COUNT:-10000}"
PORT="${PORT:-18181}"
ROUNDS="${ROUNDS:-3}"

log "machine: $(machine)"
build -p sso-scim -p identity-bench
build_floor

rows=()
for b in $BACKENDS; do
  start_floor "$b" "$COUNT"
  floor="http://127.0.0.1:$FLOOR_PORT"
  url=$(fresh_db "$b" identity_bench_scim)
  data="$WORK/scim-$b"
  log "$b: seeding $COUNT SCIM users"
  DATABASE_URL="$url" "$REPO/target/release/identity-bench" seed-sso --count "$COUNT" --out "$data"
  sed 's/.*/userName%20eq%20%22&%22/' "$data/names.txt" > "$data/filters.txt"
  settle "$b" "$url"
  token=$(DATABASE_URL="$url" "$REPO/target/release/sso-scim" tokens create --name bench 2>/dev/null)
  start_server sso-scim "$PORT" "$url"
  base="http://127.0.0.1:$PORT"
  for sc in get_id get_filter post; do
    rounds=()
    for r in $(seq "$ROUNDS"); do
      case $sc in
        get_id)
          f=$(scenario "floor.$b.$sc.$r" get_random.lua "$floor/" LIST_FILE="$FLOOR_DATA/ids.txt" PREFIX=/users/)
          o=$(scenario "$b.$sc.$r" get_random.lua "$base/" LIST_FILE="$data/ids.txt" PREFIX=/scim/v2/Users/ TOKEN="$token") ;;
        get_filter)
          f=$(scenario "floor.$b.$sc.$r" get_random.lua "$floor/" LIST_FILE="$FLOOR_DATA/names.txt" "PREFIX=/users?userName=")
          o=$(scenario "$b.$sc.$r" get_random.lua "$base/" LIST_FILE="$data/filters.txt" "PREFIX=/scim/v2/Users?filter=" TOKEN="$token") ;;
        post)
          f=$(scenario "floor.$b.$sc.$r" scim_post.lua "$floor/" TARGET=/users)
          o=$(scenario "$b.$sc.$r" scim_post.lua "$base/" TOKEN="$token") ;;
      esac
      log "$b $sc round $r: floor $f; sso-scim $o (req/s p99_ms non-2xx errors)"
      rounds+=("$f $o")
    done
    rows+=("$b|$sc|$(IFS=';'; echo "${rounds[*]}")")
  done
  stop_server
  stop_floor
done

median_table '{"get_id": 0.8, "get_filter": 0.8, "post": 0.5}' \
  '{"get_id": "GET /Users/{id}", "get_filter": "GET /Users?filter=userName eq \"…\"", "post": "POST /Users"}' \
  "${rows[@]}"
