#!/usr/bin/env bash
# Re-deriving every combined profile after a new precedence (DESIGN.md §7.2, #19; target
# >= 20,000 people/s on PostgreSQL, memory flat), over PEOPLE (1,000,000) seeded people on
# PostgreSQL and SQLite, with the command an operator runs (`admin precedence rederive`: the
# same chunks `admin serve` runs in the background; process start and the numbering of the
# changes for the feed included), after two versions:
#   changed    names no longer taken from imports: every seeded person's combined profile
#              changes (one change appended each);
#   unchanged  SSO added last for TRNs (the seeded people have no SSO profile): every profile is
#              derived again and none changes.
# Each run also shows the peak RSS and peak anonymous memory (RssAnon: without the database
# pages SQLite maps in), and the same for a run over SMALL (100,000) people: flat memory is the
# same peak for both. The floor's GET by id (../shared/bench/floor, 100,000 users, PostgreSQL)
# runs first in the same sitting: the machine's speed that day.
#   bench/precedence.sh                       # both backends (~12 minutes)
#   BACKENDS=pg PEOPLE=200000 bench/precedence.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BACKENDS="${BACKENDS:-pg sqlite}"
PEOPLE="${PEOPLE:-1000000}"
SMALL="${SMALL:-100000}"
BIN="$REPO/target/release"

log "machine: $(machine)"
build -p admin -p identity-bench
build_floor
start_floor pg 100000
floor=$(scenario floor.precedence get_random.lua "http://127.0.0.1:$FLOOR_PORT/" LIST_FILE="$FLOOR_DATA/ids.txt" PREFIX=/users/)
stop_floor
log "floor GET by id (PostgreSQL, 100,000 users): $floor (req/s p99_ms non-2xx errors)"

# The shipped precedence, and two versions of it.
standard=$(DATABASE_URL="$(fresh_db sqlite identity_bench_precedence_show)" "$BIN/admin" precedence show | grep -v '^#')
no_import_names=$(sed 's/^names = .*/names = ["registry", "sso"]/' <<<"$standard")
trn_sso_last=$(sed 's/^trn = .*/trn = ["registry", "import:*", "sso"]/' <<<"$no_import_names")
printf '%s\n' "$no_import_names" > "$WORK/precedence-changed.toml"
printf '%s\n' "$trn_sso_last" > "$WORK/precedence-unchanged.toml"

# rederive URL DOCUMENT: sets it, waits out the few seconds before a pass may begin, and runs the
# re-derivation; prints "seconds peak_rss_mib peak_anon_mib people changed".
rederive() {
  local url=$1 doc=$2 out="$WORK/precedence-run"
  DATABASE_URL="$url" RUST_LOG=warn "$BIN/admin" precedence set "$doc" > /dev/null
  sleep 6
  DATABASE_URL="$url" RUST_LOG=warn IDENTITY_PRECEDENCE__CHUNK_PEOPLE="${CHUNK:-5000}" \
    /usr/bin/time -f '%e %M' -o "$out.time" "$BIN/admin" precedence rederive > "$out.txt" &
  local timer=$! anon
  anon=$(peak_anon "$timer")
  wait "$timer"
  local secs rss people changed
  read -r secs rss < "$out.time"
  people=$(grep -o '[0-9]* people derived again' "$out.txt" | grep -o '^[0-9]*')
  changed=$(grep -o '[0-9]* changed' "$out.txt" | grep -o '^[0-9]*')
  echo "$secs $((rss / 1024)) $((anon / 1024)) $people $changed"
}

rows=()
for b in $BACKENDS; do
  for n in "$SMALL" "$PEOPLE"; do
    url=$(fresh_db "$b" identity_bench_precedence)
    log "$b: seeding $n people"
    DATABASE_URL="$url" "$BIN/identity-bench" seed-people --count "$n" --out "$WORK/precedence-seed" > /dev/null
    [ "$b" = pg ] && psql "$url" -q -c "VACUUM ANALYZE"
    settle "$b" "$url"
    changed=$(rederive "$url" "$WORK/precedence-changed.toml")
    log "$b, $n people, every profile changed: $changed (s, peak RSS MiB, peak anon MiB, people, changed)"
    [ "$b" = pg ] && psql "$url" -q -c "VACUUM ANALYZE"
    unchanged=$(rederive "$url" "$WORK/precedence-unchanged.toml")
    log "$b, $n people, nothing changed: $unchanged"
    rows+=("$b|$n|$changed|$unchanged")
  done
done

python3 - "$floor" "${rows[@]}" <<'PY'
import sys
floor_rps = float(sys.argv[1].split()[0])
print(f"floor GET by id (PostgreSQL, 100,000 users): {floor_rps:,.0f} req/s\n")
print("| backend | people | run | seconds | people/s | changed | peak RSS MiB | peak anon MiB | per floor req | target ≥ 20,000/s |")
print("|---|---|---|---|---|---|---|---|---|---|")
for row in sys.argv[2:]:
    b, n, *runs = row.split("|")
    for label, run in zip(["every profile changed", "nothing changed"], runs):
        secs, rss, anon, people, changed = run.split()
        rate = int(people) / float(secs)
        ok = "ok" if rate >= 20000 else "MISSED"
        print(f"| {b} | {int(n):,} | {label} | {float(secs):.1f} | {rate:,.0f} | {int(changed):,} | {rss} | {anon} | {rate / floor_rps:.2f} | {ok} |")
PY
