#!/usr/bin/env bash
# The review queue at scale (#18), on PostgreSQL and SQLite:
#   scan     `admin reviews scan` over $PEOPLE (1,000,000) seeded people (`seed-people --varied`:
#            names and birthdays shared only by chance): wall time, peak RSS,
#            pairs compared and queued (target: <= 120 s, <= 300 MiB);
#   decide   POST /admin/v1/reviews/{id}/decision ("different") on $DECISIONS queued items, one
#            at a time, as a reviewer works: p50 and p99 of curl's time_total (target p99 < 50 ms).
#   bench/scan.sh
#   BACKENDS=sqlite PEOPLE=100000 bench/scan.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BACKENDS="${BACKENDS:-pg sqlite}"
PEOPLE="${PEOPLE:-1000000}"
DECISIONS="${DECISIONS:-300}"
PORT="${PORT:-18484}"
need /usr/bin/time time

log "machine: $(machine)"
build -p admin -p identity-bench
ADMIN="$REPO/target/release/admin"
TOOL="$REPO/target/release/identity-bench"

rows=()
for b in $BACKENDS; do
  url=$(fresh_db "$b" identity_bench_scan)
  log "$b: seeding $PEOPLE people"
  DATABASE_URL="$url" "$TOOL" seed-people --varied --count "$PEOPLE" --out "$WORK/scan-seed-$b" > /dev/null
  [ "$b" = pg ] && psql "$url" -q -c "VACUUM ANALYZE"
  settle "$b" "$url"
  log "$b: admin reviews scan"
  # Peak RSS counts the database pages SQLite maps into the process (mmap_size, up to 256 MiB of
  # page cache the kernel may drop); anonymous memory (RssAnon, sampled every 100 ms) is the
  # process's own.
  DATABASE_URL="$url" RUST_LOG=warn /usr/bin/time -f '%e %M' -o "$WORK/scan-$b.time" "$ADMIN" reviews scan > "$WORK/scan-$b.out" &
  timer=$!
  anon=$(peak_anon "$timer")
  wait "$timer"
  read -r secs rss_kib < "$WORK/scan-$b.time"
  summary=$(cat "$WORK/scan-$b.out")
  log "$b: ${secs}s, peak RSS $((rss_kib / 1024)) MiB (anonymous $((anon / 1024)) MiB): $summary"
  rows+=("$b|scan of $PEOPLE people|${secs} s|$((rss_kib / 1024)) MiB (anonymous $((anon / 1024)) MiB)|$summary")

  token=$(DATABASE_URL="$url" "$ADMIN" tokens create --name bench --role reviewer 2> /dev/null)
  start_server admin "$PORT" "$url" IDENTITY_MATCHER__FOLLOW=false
  DATABASE_URL="$url" "$ADMIN" reviews list --json --limit "$DECISIONS" 2> /dev/null \
    | python3 -c 'import json,sys; [print(json.loads(l)["id"]) for l in sys.stdin]' > "$WORK/scan-items-$b.txt"
  : > "$WORK/decide-$b.txt"
  while read -r id; do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' -d '{"decision":"different"}' \
      "http://127.0.0.1:$PORT/admin/v1/reviews/$id/decision" >> "$WORK/decide-$b.txt"
  done < "$WORK/scan-items-$b.txt"
  stop_server
  stats=$(python3 - "$WORK/decide-$b.txt" <<'PY'
import sys
lines = [l.split() for l in open(sys.argv[1]) if l.strip()]
bad = sum(1 for code, _ in lines if code != "200")
t = sorted(float(s) * 1000 for _, s in lines)
if not t:
    print("no items to decide"); sys.exit()
pick = lambda q: t[min(len(t) - 1, int(q * len(t)))]
print(f"{len(t)} decisions, p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms, non-200 {bad}")
PY
)
  log "$b: $stats"
  rows+=("$b|deciding items one at a time|-|-|$stats")
done

echo "| backend | run | seconds | peak RSS | result |"
echo "|---|---|---|---|---|"
for row in "${rows[@]}"; do
  IFS='|' read -r b run secs rss result <<< "$row"
  echo "| $b | $run | $secs | $rss | $result |"
done
