#!/usr/bin/env bash
# sso-profile benchmark, over COUNT (1,000,000) SSO users, on PostgreSQL (BACKENDS=sqlite or
# "pg sqlite" for both):
# - GET /api/sso/{id} for random users, with a bearer token and signed with Hawk as Staff SSO
#   signs (each request a fresh nonce, recorded in the shared table), next to the bare-stack
#   floor's GET by id (../shared/bench/floor) seeded with as many, a round running them one after
#   the other and the table giving the median of ROUNDS rounds; target ≥ 2× the floor, p99 < 5 ms;
# - the time to load every user at start, and the peak memory (VmHWM, RssAnon) after the runs;
#   target ≤ 512 MiB;
# - staleness: SCIM creates at RATE (1,000) a second for STALE_SECONDS through sso-scim, and for
#   one in five the time from its 201 to sso-profile serving the new user; target p99 ≤ 250 ms.
#   bench/sso-profile.sh                       # PostgreSQL, 1,000,000 users (~10 minutes)
#   COUNT=100000 ROUNDS=1 bench/sso-profile.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BACKENDS="${BACKENDS:-pg}"
COUNT="${COUNT:-1000000}"
PORT="${PORT:-18386}"
SCIM_PORT="${SCIM_PORT:-18381}"
ROUNDS="${ROUNDS:-3}"
RATE="${RATE:-1000}"
STALE_SECONDS="${STALE_SECONDS:-30}"
SIGNED="${SIGNED:-800000}"
HAWK_ID=bench-staff-sso
HAWK_KEY=a-benchmark-hawk-key-not-a-secret

log "machine: $(machine)"
build -p sso-profile -p sso-scim -p identity-bench
build_floor

SCIM_PID=""
stop_scim() { if [ -n "$SCIM_PID" ]; then kill "$SCIM_PID" 2>/dev/null; wait "$SCIM_PID" 2>/dev/null || true; SCIM_PID=""; fi; }
trap 'stop_server; stop_scim; stop_floor' EXIT

rows=()
notes=()
for b in $BACKENDS; do
  start_floor "$b" "$COUNT"
  floor="http://127.0.0.1:$FLOOR_PORT"
  url=$(fresh_db "$b" identity_bench_profile)
  data="$WORK/profile-$b"
  log "$b: seeding $COUNT SCIM users"
  DATABASE_URL="$url" "$REPO/target/release/identity-bench" seed-sso --count "$COUNT" --out "$data"
  [ "$b" = pg ] && psql "${PG_ADMIN%/*}/identity_bench_profile" -q -c "VACUUM ANALYZE"
  settle "$b" "$url"
  token=$(DATABASE_URL="$url" "$REPO/target/release/sso-profile" tokens create --name bench 2>/dev/null)
  scim_token=$(DATABASE_URL="$url" "$REPO/target/release/sso-scim" tokens create --name bench 2>/dev/null)

  # Not start_server: loading a million users takes longer than its wait for /readyz.
  stop_server
  started=$(date +%s.%N)
  env DATABASE_URL="$url" RUST_LOG=warn IDENTITY_LOG__FORMAT=json IDENTITY_HAWK__ID="$HAWK_ID" \
    IDENTITY_HAWK__KEY="$HAWK_KEY" "$REPO/target/release/sso-profile" serve --bind "127.0.0.1:$PORT" >> "$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 3000); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz" && break; sleep 0.1; done
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz" || { echo "sso-profile did not load" >&2; exit 1; }
  load_s=$(python3 -c "import time; print(f'{time.time() - $started:.1f}')")
  loaded_kib=$(awk '/VmHWM/{print $2}' "/proc/$SERVER_PID/status")
  log "$b: sso-profile loaded $COUNT users in ${load_s} s; peak RSS so far $((loaded_kib / 1024)) MiB"
  base="http://127.0.0.1:$PORT"

  sign() {
    "$REPO/target/release/identity-bench" hawk-headers --id "$HAWK_ID" --key "$HAWK_KEY" --base "$base" \
      --list "$data/names.txt" --prefix /api/sso/ --count "$1" --out "$2"
  }
  bearer=(); signed=()
  for r in $(seq "$ROUNDS"); do
    f=$(scenario "floor.$b.get_id.$r" get_random.lua "$floor/" LIST_FILE="$FLOOR_DATA/ids.txt" PREFIX=/users/)
    o=$(scenario "profile.$b.get.$r" get_random.lua "$base/" LIST_FILE="$data/names.txt" PREFIX=/api/sso/ TOKEN="$token")
    log "$b get round $r: floor GET by id $f; sso-profile $o (req/s p99_ms non-2xx errors)"
    bearer+=("$f $o")
    f=$(scenario "floor.$b.get_id.h$r" get_random.lua "$floor/" LIST_FILE="$FLOOR_DATA/ids.txt" PREFIX=/users/)
    sign "$SIGNED" "$data/signed.txt"
    sign $((SIGNED / 3)) "$data/signed.txt.warm"
    o=$(scenario "profile.$b.hawk.$r" get_signed.lua "$base/" LIST_FILE="$data/signed.txt" THREADS="$THREADS")
    log "$b Hawk round $r: floor GET by id $f; sso-profile signed $o (req/s p99_ms non-2xx errors)"
    signed+=("$f $o")
  done
  rows+=("$b|get|$(IFS=';'; echo "${bearer[*]}")" "$b|hawk|$(IFS=';'; echo "${signed[*]}")")

  log "$b: staleness under $RATE SCIM creates a second for ${STALE_SECONDS} s"
  env DATABASE_URL="$url" RUST_LOG=warn IDENTITY_LOG__FORMAT=json "$REPO/target/release/sso-scim" serve \
    --bind "127.0.0.1:$SCIM_PORT" >> "$WORK/server.log" 2>&1 &
  SCIM_PID=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$SCIM_PORT/readyz" && break; sleep 0.1; done
  stale=$("$REPO/target/release/identity-bench" staleness --scim "http://127.0.0.1:$SCIM_PORT" --scim-token "$scim_token" \
    --profile "$base" --profile-token "$token" --rate "$RATE" --seconds "$STALE_SECONDS" --sample 5)
  log "$b: $stale"
  stop_scim
  hwm=$(awk '/VmHWM/{print $2}' "/proc/$SERVER_PID/status")
  anon=$(awk '/RssAnon/{print $2}' "/proc/$SERVER_PID/status")
  notes+=("$b: load ${load_s} s for $COUNT users; peak RSS (VmHWM) $((hwm / 1024)) MiB, RssAnon now $((anon / 1024)) MiB (target ≤ 512 MiB); $stale (target p99 ≤ 250 ms)")
  stop_server
  stop_floor
done

P99_MS=5 median_table '{"get": 2.0, "hawk": 2.0}' \
  '{"get": "GET /api/sso/{id}, bearer token", "hawk": "GET /api/sso/{id}, signed with Hawk"}' "${rows[@]}"
printf '\n'
printf -- '- %s\n' "${notes[@]}"
