#!/usr/bin/env bash
# Import benchmark: two 100,000-row files against 1,000,000 existing people, through
# `import-worker import` (the same engine the worker runs), on PostgreSQL and SQLite:
#   existing  the existing-people shape: 75% new, 10% existing emails, 5% near-duplicates,
#             5% new with a TRN, 5% invalid;
#   new       a migrating service's file: 90% new, 4% existing emails, 3% nickname
#             near-duplicates, 3% invalid.
# Each import starts from the same seeded database (a PostgreSQL template, a copy of the SQLite
# file). Beside each PostgreSQL import, the floor: PostgreSQL's own COPY of the same file into a
# table with the three lookup indexes (email, TRN, last name with date of birth), in the same
# sitting. Then the peak memory of a 1,000,000-row file. Rows per second = rows / wall time.
# FOLLOW=1 runs admin beside each import, its matcher following the change feed (#18) from the
# seeded people's last change (as a deployment that has caught up), so the import shares the
# database with the follower's key writes and candidate lookups; its queued pairs are reported.
# VARIED=1 (the default with FOLLOW=1) seeds people with a department's names and birthdays and
# makes the file's new people as varied (`seed-people --varied`, `import-file --varied`): without
# it every seeded last name is `Family<n>` and every new one `Person<n>`, alike to the matcher.
#   bench/import.sh
#   BACKENDS=pg EXISTING=200000 SHAPES=new MEMORY_ROWS=0 bench/import.sh
#   FOLLOW=1 BACKENDS=pg SHAPES=new MEMORY_ROWS=0 bench/import.sh
#   FOLLOW=0 VARIED=1 SHAPES=new MEMORY_ROWS=0 bench/import.sh   (the same files, no follower)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BACKENDS="${BACKENDS:-pg sqlite}"
EXISTING="${EXISTING:-1000000}"
ROWS="${ROWS:-100000}"
SHAPES="${SHAPES:-existing new}"
MEMORY_ROWS="${MEMORY_ROWS:-1000000}"
FOLLOW="${FOLLOW:-0}"
VARIED="${VARIED:-$FOLLOW}"
varied=()
[ "$VARIED" = 1 ] && varied=(--varied)
ADMIN_PORT="${ADMIN_PORT:-18485}"
need /usr/bin/time time
[ "$FOLLOW" = 1 ] && need sqlite3 sqlite3

log "machine: $(machine)"
build -p import-worker -p identity-bench -p admin
BIN="$REPO/target/release/import-worker"
TOOL="$REPO/target/release/identity-bench"

mix() {
  case $1 in
    existing) echo "--new 75 --email-repeats 10 --near-duplicates 5 --trn 5 --invalid 5" ;;
    new) echo "--new 90 --email-repeats 4 --near-duplicates 3 --trn 0 --invalid 3" ;;
    *) echo "unknown shape $1" >&2; exit 2 ;;
  esac
}

# timed LABEL FILE URL: runs an import, prints "seconds max_rss_mib max_anon_mib summary". RSS
# counts the database pages SQLite maps into the process (mmap_size, up to 256 MiB: page cache
# the kernel may drop); anonymous memory (RssAnon, sampled every 100 ms) is the process's own.
timed() {
  local label=$1 file=$2 url=$3
  local out="$WORK/import-$label"
  DATABASE_URL="$url" RUST_LOG=warn /usr/bin/time -f '%e %M' -o "$out.time" "$BIN" import "$file" --service bench --output "$out.csv" > "$out.summary" &
  local timer=$! anon
  anon=$(peak_anon "$timer")
  wait "$timer"
  read -r secs rss_kib < "$out.time"
  echo "$secs $((rss_kib / 1024)) $((anon / 1024)) $(cat "$out.summary")"
}

# copy_floor FILE: seconds for PostgreSQL to COPY the file into a fresh table with the lookup
# indexes an import reads by.
copy_floor() {
  local file=$1 url
  url=$(fresh_db pg identity_bench_copy)
  psql "$url" -q -c "CREATE TABLE floor_rows (id text, email text, trn text, first_name text, middle_name text,
      last_name text, preferred_name text, date_of_birth text)" \
    -c "CREATE INDEX ON floor_rows (lower(email))" -c "CREATE INDEX ON floor_rows (trn)" \
    -c "CREATE INDEX ON floor_rows (lower(last_name), date_of_birth)"
  local start end
  start=$(date +%s.%N)
  psql "$url" -q -c "\\copy floor_rows FROM '$file' WITH (FORMAT csv, HEADER true)"
  end=$(date +%s.%N)
  python3 -c "print(round($end - $start, 2))"
}

# seeded BACKEND: a database holding $EXISTING people, made once; prints its URL. PostgreSQL
# keeps it as a template, SQLite as a file to copy.
seeded() {
  local b=$1 url
  url=$(fresh_db "$b" identity_bench_seed)
  log "$b: seeding $EXISTING existing people"
  DATABASE_URL="$url" "$TOOL" seed-people --count "$EXISTING" --out "$WORK/import-seed-$b" "${varied[@]}"
  # The registry records of every shape's TRN rows (the same rows numbers in every file).
  for shape in $SHAPES; do
    # shellcheck disable=SC2046
    DATABASE_URL="$url" "$TOOL" import-file --existing "$EXISTING" --rows "$ROWS" --out "$WORK/import-$shape.csv" \
      --load-registry "${varied[@]}" $(mix "$shape")
  done
  [ "$b" = pg ] && psql "$url" -q -c "VACUUM ANALYZE"
  echo "$url"
}

# copy_of BACKEND SEED_URL: a fresh copy of the seeded database; prints its URL.
copy_of() {
  local b=$1 seed=$2
  if [ "$b" = pg ]; then
    psql "$PG_ADMIN" -q -o /dev/null -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS identity_bench_import" \
      -c "CREATE DATABASE identity_bench_import TEMPLATE identity_bench_seed"
    echo "${PG_ADMIN%/*}/identity_bench_import"
  else
    local file="$WORK/identity_bench_import.db"
    rm -f "$file" "$file-wal" "$file-shm"
    cp "${seed#sqlite://}" "$file"
    [ -f "${seed#sqlite://}-wal" ] && cp "${seed#sqlite://}-wal" "$file-wal"
    echo "sqlite://$file"
  fi
}

rows=()
for b in $BACKENDS; do
  seed=$(seeded "$b")
  for shape in $SHAPES; do
    url=$(copy_of "$b" "$seed")
    settle "$b" "$url"
    if [ "$FOLLOW" = 1 ]; then
      DATABASE_URL="$url" "$REPO/target/release/admin" migrate 2> /dev/null
      follow_from="INSERT INTO matcher_state (name, after_seq) SELECT 'feed', coalesce(max(seq), 0) FROM changes"
      if [ "$b" = pg ]; then psql "$url" -q -c "$follow_from"; else sqlite3 "${url#sqlite://}" "$follow_from"; fi
      start_server admin "$ADMIN_PORT" "$url" IDENTITY_MATCHER__IDLE_MS=100
    fi
    read -r secs rss anon summary <<< "$(timed "$b-$shape" "$WORK/import-$shape.csv" "$url")"
    if [ "$FOLLOW" = 1 ]; then
      # The follower's lag at the import's end, then its queue once it has caught up.
      behind="SELECT (SELECT max(seq) FROM changes) - after_seq FROM matcher_state"
      query() { if [ "$b" = pg ]; then psql "$url" -tAc "$1"; else sqlite3 "${url#sqlite://}" "$1"; fi; }
      lag=$(query "$behind")
      for _ in $(seq 600); do [ "$(query "$behind")" = 0 ] && break; sleep 0.5; done
      stop_server
      summary="$summary; the follower was $lag changes behind at the end, and queued $(query "SELECT count(*) FROM review_items WHERE kind = 'people'") pairs"
    fi
    rate=$(python3 -c "print(round($ROWS / $secs))")
    log "$b: $shape shape, $ROWS rows against $EXISTING people in ${secs}s = $rate rows/s, peak RSS ${rss} MiB (anonymous ${anon} MiB); $summary"
    floor="-"
    if [ "$b" = pg ]; then
      copy=$(copy_floor "$WORK/import-$shape.csv")
      floor=$(python3 -c "print(round($ROWS / $copy))")
      log "pg: COPY of the same file: ${copy}s = $floor rows/s"
    fi
    rows+=("$b|$shape: $ROWS rows against $EXISTING people|$secs|$rate|$rss|$anon|$floor")
  done
  if [ "$MEMORY_ROWS" -gt 0 ]; then
    url=$(copy_of "$b" "$seed")
    DATABASE_URL="$url" "$TOOL" import-file --existing "$EXISTING" --rows "$MEMORY_ROWS" --out "$WORK/import-$MEMORY_ROWS.csv" --load-registry "${varied[@]}"
    read -r secs rss anon summary <<< "$(timed "$b-$MEMORY_ROWS" "$WORK/import-$MEMORY_ROWS.csv" "$url")"
    rate=$(python3 -c "print(round($MEMORY_ROWS / $secs))")
    log "$b: $MEMORY_ROWS rows in ${secs}s = $rate rows/s, peak RSS ${rss} MiB (anonymous ${anon} MiB); $summary"
    rows+=("$b|$MEMORY_ROWS-row file (memory)|$secs|$rate|$rss|$anon|-")
  fi
done

python3 - "${rows[@]}" <<'PY'
import sys
print("| backend | run | seconds | rows/s | peak RSS MiB | peak anonymous MiB | COPY rows/s | ratio to COPY | targets |")
print("|---|---|---|---|---|---|---|---|---|")
for row in sys.argv[1:]:
    b, run, secs, rate, rss, anon, floor = row.split("|")
    ok, ratio = [], "-"
    if floor != "-":
        ratio = f"{int(rate) / int(floor):.2f}x"
    if run.startswith("new:") and b == "pg":
        ok.append("rate ok" if int(rate) >= 20000 and int(rate) >= 0.2 * int(floor) else "rate MISSED")
        ok.append("memory ok" if int(anon) < 150 else "memory MISSED")
    elif run.startswith("existing:"):
        ok.append("rate ok" if int(rate) >= 10000 else "rate MISSED")
    if "memory" in run:
        ok.append("memory ok" if int(anon) < 150 else "memory MISSED")
    floor_text = f"{int(floor):,}" if floor != "-" else "-"
    print(f"| {b} | {run} | {secs} | {int(rate):,} | {rss} | {anon} | {floor_text} | {ratio} | {', '.join(ok)} |")
PY
