#!/usr/bin/env bash
# Import benchmark: a 100,000-row file against 1,000,000 existing people, through
# `import-worker import` (the same engine the worker runs), on PostgreSQL and SQLite; then the
# peak memory of a 1,000,000-row file. Rows per second = rows / wall time of the command.
#   bench/import.sh
#   BACKENDS=sqlite EXISTING=100000 ROWS=20000 MEMORY_ROWS=0 bench/import.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BACKENDS="${BACKENDS:-pg sqlite}"
EXISTING="${EXISTING:-1000000}"
ROWS="${ROWS:-100000}"
MEMORY_ROWS="${MEMORY_ROWS:-1000000}"
need /usr/bin/time time

log "machine: $(machine)"
build -p import-worker -p identity-bench
BIN="$REPO/target/release/import-worker"

# timed LABEL FILE URL: runs an import, prints "seconds max_rss_mib max_anon_mib summary". RSS
# counts the database pages SQLite maps into the process (mmap_size, up to 256 MiB: page cache
# the kernel may drop); anonymous memory (RssAnon, sampled every 100 ms) is the process's own.
timed() {
  local label=$1 file=$2 url=$3
  local out="$WORK/import-$label"
  DATABASE_URL="$url" RUST_LOG=warn /usr/bin/time -f '%e %M' -o "$out.time" "$BIN" import "$file" --service bench --output "$out.csv" > "$out.summary" &
  local timer=$! anon=0 pid kib
  sleep 0.05
  pid=$(pgrep -P "$timer" -n || true)
  while kill -0 "$timer" 2>/dev/null; do
    kib=$(awk '/RssAnon/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${kib:-0}" -gt "$anon" ] && anon=$kib
    sleep 0.1
  done
  wait "$timer"
  read -r secs rss_kib < "$out.time"
  echo "$secs $((rss_kib / 1024)) $((anon / 1024)) $(cat "$out.summary")"
}

rows=()
for b in $BACKENDS; do
  url=$(fresh_db "$b" identity_bench_import)
  log "$b: seeding $EXISTING existing people"
  DATABASE_URL="$url" "$REPO/target/release/identity-bench" seed-people --count "$EXISTING" --out "$WORK/import-seed-$b"
  [ "$b" = pg ] && psql "${PG_ADMIN%/*}/identity_bench_import" -q -c "VACUUM ANALYZE"
  DATABASE_URL="$url" "$REPO/target/release/identity-bench" import-file --existing "$EXISTING" --rows "$ROWS" --out "$WORK/import-$ROWS.csv" --load-registry
  read -r secs rss anon summary <<< "$(timed "$b-$ROWS" "$WORK/import-$ROWS.csv" "$url")"
  rate=$(python3 -c "print(round($ROWS / $secs))")
  log "$b: $ROWS rows against $EXISTING people in ${secs}s = $rate rows/s, peak RSS ${rss} MiB (anonymous ${anon} MiB); $summary"
  rows+=("$b|$ROWS rows against $EXISTING people|$secs|$rate|$rss|$anon")
  if [ "$MEMORY_ROWS" -gt 0 ]; then
    DATABASE_URL="$url" "$REPO/target/release/identity-bench" import-file --existing "$EXISTING" --rows "$MEMORY_ROWS" --out "$WORK/import-$MEMORY_ROWS.csv" --load-registry
    read -r secs rss anon summary <<< "$(timed "$b-$MEMORY_ROWS" "$WORK/import-$MEMORY_ROWS.csv" "$url")"
    rate=$(python3 -c "print(round($MEMORY_ROWS / $secs))")
    log "$b: $MEMORY_ROWS rows in ${secs}s = $rate rows/s, peak RSS ${rss} MiB (anonymous ${anon} MiB); $summary"
    rows+=("$b|$MEMORY_ROWS-row file (memory)|$secs|$rate|$rss|$anon")
  fi
done

python3 - "${rows[@]}" <<'PY'
import sys
print("| backend | run | seconds | rows/s | peak RSS MiB | peak anonymous MiB | targets: ≥10,000 rows/s; <150 MiB for 1M rows |")
print("|---|---|---|---|---|---|---|")
for row in sys.argv[1:]:
    b, run, secs, rate, rss, anon = row.split("|")
    ok = []
    if run.startswith("100000 rows"):
        ok.append("rate ok" if int(rate) >= 10000 else "rate MISSED")
    if "memory" in run:
        ok.append("memory ok" if int(anon) < 150 else "memory MISSED")
    print(f"| {b} | {run} | {secs} | {int(rate):,} | {rss} | {anon} | {', '.join(ok)} |")
PY
