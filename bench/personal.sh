#!/usr/bin/env bash
# A subject's export and erasure, and the retention sweep (DESIGN.md §7.9), on PostgreSQL and
# SQLite, with the commands an operator runs (process start and connection included):
#   - `admin people export ID` of a person with CHANGES (10,000) changes: wall time (target < 1 s)
#     and peak RSS, beside the peak RSS of exporting a person with 10 changes and one with BIG
#     (100,000) changes (flat memory: the pages streamed are the same size);
#   - `admin people erase ID` of that person (target < 1 s), ROUNDS people, a fresh one each;
#   - `import-worker retention sweep` (import_rows_days = 0) over JOBS x ROWS (10 x 100,000)
#     stored import rows of finished jobs (target >= 50,000 rows/s).
# The floor's GET by id (../shared/bench/floor, 100,000 users, PostgreSQL) runs first in the same
# sitting: the machine's speed that day.
#   bench/personal.sh                        # both backends (~15 minutes)
#   BACKENDS=pg ROUNDS=1 bench/personal.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BACKENDS="${BACKENDS:-pg sqlite}"
CHANGES="${CHANGES:-10000}"
ROUNDS="${ROUNDS:-3}"
JOBS="${JOBS:-10}"
ROWS="${ROWS:-100000}"
BIG="${BIG:-100000}"
BIN="$REPO/target/release"

log "machine: $(machine)"
build -p admin -p import-worker -p identity-bench
build_floor
start_floor pg 100000
floor=$(scenario floor.personal get_random.lua "http://127.0.0.1:$FLOOR_PORT/" LIST_FILE="$FLOOR_DATA/ids.txt" PREFIX=/users/)
stop_floor
log "floor GET by id (PostgreSQL, 100,000 users): $floor (req/s p99_ms non-2xx errors)"

# timed OUT CMD...: runs CMD with stdout to OUT; prints "seconds peak_rss_kib".
timed() {
  local out=$1; shift
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$WORK/rss.txt" "$@" > "$out"
  end=$(date +%s.%N)
  echo "$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.3f", b - a}') $(cat "$WORK/rss.txt")"
}

rows=()
for b in $BACKENDS; do
  url=$(fresh_db "$b" identity_bench_personal)
  log "$b: seeding $ROUNDS people with $CHANGES changes each, one with 10"
  people=()
  for r in $(seq "$ROUNDS"); do
    people+=("$(DATABASE_URL="$url" "$BIN/identity-bench" seed-history --changes "$CHANGES" --name "subject$r")")
  done
  small=$(DATABASE_URL="$url" "$BIN/identity-bench" seed-history --changes 10 --name small)
  log "$b: seeding a person with $BIG changes"
  big=$(DATABASE_URL="$url" "$BIN/identity-bench" seed-history --changes "$BIG" --name big)
  log "$b: seeding $JOBS finished import jobs of $ROWS rows"
  DATABASE_URL="$url" "$BIN/identity-bench" seed-import-rows --jobs "$JOBS" --rows "$ROWS"
  [ "$b" = pg ] && psql "$url" -q -c "VACUUM ANALYZE"
  settle "$b" "$url"

  read -r _ small_rss < <(DATABASE_URL="$url" RUST_LOG=warn timed "$WORK/export-small.json" "$BIN/admin" people export "$small")
  read -r big_s big_rss < <(DATABASE_URL="$url" RUST_LOG=warn timed "$WORK/export-big.json" "$BIN/admin" people export "$big")
  log "$b: export of $BIG changes: $big_s s, peak $big_rss KiB"
  exports=(); erasures=()
  for p in "${people[@]}"; do
    e=$(DATABASE_URL="$url" RUST_LOG=warn timed "$WORK/export.json" "$BIN/admin" people export "$p")
    changes=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['changes']))" "$WORK/export.json")
    [ "$changes" -ge "$CHANGES" ] || { echo "the export holds $changes changes, not $CHANGES" >&2; exit 1; }
    x=$(DATABASE_URL="$url" RUST_LOG=warn timed /dev/null "$BIN/admin" people erase "$p" --reason "bench")
    log "$b: export of $changes changes $e (s, peak KiB; 10 changes: $small_rss KiB); erasure $x"
    exports+=("$e"); erasures+=("$x")
  done

  s=$(DATABASE_URL="$url" RUST_LOG=warn IDENTITY_RETENTION__IMPORT_ROWS_DAYS=0 timed "$WORK/sweep.txt" "$BIN/import-worker" retention sweep)
  log "$b: sweep $s (s, peak KiB): $(cat "$WORK/sweep.txt")"
  swept=$(grep -o 'of [0-9]* import rows' "$WORK/sweep.txt" | grep -o '[0-9]*')
  rows+=("$b|$small_rss $big_rss $big_s|$(IFS=';'; echo "${exports[*]}")|$(IFS=';'; echo "${erasures[*]}")|$s|$swept")
done

python3 - "$floor" "$CHANGES" "$BIG" "${rows[@]}" <<'PY'
import statistics, sys
floor_rps = float(sys.argv[1].split()[0])
changes, big = sys.argv[2], int(sys.argv[3])
print(f"floor GET by id (PostgreSQL, 100,000 users): {floor_rps:,.0f} req/s\n")
print(f"| backend | export of {changes} changes: s (median; rounds) | peak RSS: 10 / {changes} / {big:,} changes (s) | erasure: s (median; rounds) | sweep: rows, s | sweep rows/s | per floor req | targets |")
print("|---|---|---|---|---|---|---|---|")
for row in sys.argv[4:]:
    b, memory, exports, erasures, sweep, swept = row.split("|")
    small, big_rss, big_s = map(float, memory.split())
    ex = [list(map(float, x.split())) for x in exports.split(";")]
    er = [list(map(float, x.split())) for x in erasures.split(";")]
    st, _ = map(float, sweep.split())
    swept = int(swept)
    e_med, x_med = statistics.median(x[0] for x in ex), statistics.median(x[0] for x in er)
    rss = max(x[1] for x in ex) / 1024
    rate = swept / st
    ok = lambda c: "ok" if c else "MISSED"
    print(f"| {b} | {e_med:.2f}; {', '.join(f'{x[0]:.2f}' for x in ex)} | {small/1024:.0f} / {rss:.0f} / {big_rss/1024:.0f} MiB ({big_s:.1f} s) | "
          f"{x_med:.2f}; {', '.join(f'{x[0]:.2f}' for x in er)} | {swept:,}, {st:.1f} | {rate:,.0f} | {rate/floor_rps:.1f} | "
          f"export <1 s: {ok(e_med < 1)}, erasure <1 s: {ok(x_med < 1)}, sweep ≥50,000/s: {ok(rate >= 50000)} |")
PY
