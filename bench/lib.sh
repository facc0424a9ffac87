# Shared by the bench scripts: building, databases, starting a service, one wrk scenario.
# Only 127.0.0.1 is ever contacted.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
FLOOR_DIR="${FLOOR_DIR:-$REPO/../shared/bench/floor}"
WORK="${BENCH_WORK:-/tmp/identity-bench}"
THREADS="${THREADS:-2}"; CONNS="${CONNS:-32}"; DURATION="${DURATION:-10s}"; WARMUP="${WARMUP:-3s}"
PG_ADMIN="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}"
export WRK_LUA_DIR="$BENCH_DIR/wrk"
mkdir -p "$WORK"
log() { echo "[$(date +%T)] $*" >&2; }

need() { command -v "$1" >/dev/null || { apt-get install -y -qq "$2" >/dev/null 2>&1 || true; command -v "$1" >/dev/null; } || { echo "$1 is needed (apt-get install $2)" >&2; exit 2; }; }
need wrk wrk
need psql postgresql-client

machine() {
  echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(wrk -v 2>&1 | head -1 | cut -c1-20); $(psql "$PG_ADMIN" -tAc 'select version()' | cut -d, -f1)"
}

build() {
  log "cargo build --release $*"
  (cd "$REPO" && cargo build --release --quiet "$@")
}

# db_url BACKEND NAME: a fresh database for a run.
fresh_db() {
  local backend=$1 name=$2
  if [ "$backend" = pg ]; then
    psql "$PG_ADMIN" -q -o /dev/null -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
    echo "${PG_ADMIN%/*}/$name"
  else
    rm -f "$WORK/$name.db" "$WORK/$name.db-wal" "$WORK/$name.db-shm"
    echo "sqlite://$WORK/$name.db"
  fi
}

# settle BACKEND URL: after a seed, writes PostgreSQL's dirty pages out now (not during the run)
# and reads the database's files into the OS page cache, so that a run measures the service and
# not the disk: a million people are 1.0-1.4 GB here, and this machine's page cache does not keep
# all of what the seed wrote.
settle() {
  local backend=$1 url=$2
  if [ "$backend" = pg ]; then
    psql "$url" -q -o /dev/null -c "CHECKPOINT" -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" \
      -c "SELECT pg_prewarm(c.oid, 'read') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')"
  else
    cat "${url#sqlite://}"* > /dev/null
  fi
}

# peak_anon TIMER_PID: waits for the process that /usr/bin/time (TIMER_PID) runs to end and prints
# its peak anonymous memory in KiB (RssAnon, sampled every 100 ms): the process's own memory,
# without the database pages SQLite maps into it.
peak_anon() {
  local timer=$1 anon=0 pid kib
  sleep 0.05
  pid=$(pgrep -P "$timer" -n || true)
  while kill -0 "$timer" 2>/dev/null; do
    kib=$(awk '/RssAnon/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${kib:-0}" -gt "$anon" ] && anon=$kib
    sleep 0.1
  done
  echo "$anon"
}

SERVER_PID=""
stop_server() { if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; fi; }

# start_server BINARY PORT DATABASE_URL [VAR=value ...]
start_server() {
  local bin=$1 port=$2 url=$3; shift 3
  stop_server
  env DATABASE_URL="$url" RUST_LOG=warn IDENTITY_LOG__FORMAT=json "$@" "$REPO/target/release/$bin" serve --bind "127.0.0.1:$port" >> "$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && return 0; sleep 0.1; done
  echo "$bin did not become ready" >&2; tail -5 "$WORK/server.log" >&2; exit 1
}

# scenario NAME SCRIPT URL [VAR=value ...]: warm-up, then a measured run; prints "rps p99_ms non2xx errors".
scenario() {
  local name=$1 script=$2 url=$3; shift 3
  env "$@" RUN_ID="w$RANDOM$RANDOM" wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" --timeout 10s -s "$WRK_LUA_DIR/$script" "$url" > /dev/null 2>&1
  local out="$WORK/wrk.$name.txt"
  env "$@" RUN_ID="m$RANDOM$RANDOM" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 10s --latency -s "$WRK_LUA_DIR/$script" "$url" > "$out" 2>&1
  python3 - "$out" <<'PY'
import json, sys
line = next(l for l in open(sys.argv[1]) if l.startswith("WRKJSON "))
j = json.loads(line[8:])
print(f'{j["rps"]:.0f} {j["p99_ms"]:.2f} {j["non2xx"]} {j["errors"]}')
PY
}

# The bare-stack floor (../shared/bench/floor), built where its own run.sh builds it.
FLOOR_BIN="$WORK/floor/target/release/floor"
FLOOR_PORT="${FLOOR_PORT:-18080}"
build_floor() {
  log "building the floor ($FLOOR_DIR)"
  (cd "$FLOOR_DIR" && CARGO_TARGET_DIR="$WORK/floor/target" cargo build --release --locked --quiet)
}

# start_floor BACKEND COUNT: the floor seeded with COUNT users in its own database, serving on
# FLOOR_PORT with the pool sizes its run.sh uses (8 on PostgreSQL, 4 on SQLite); its id and name
# lists are in $FLOOR_DATA.
FLOOR_PID=""
FLOOR_DATA=""
stop_floor() { if [ -n "$FLOOR_PID" ]; then kill "$FLOOR_PID" 2>/dev/null; wait "$FLOOR_PID" 2>/dev/null || true; FLOOR_PID=""; fi; }
start_floor() {
  local b=$1 count=$2 furl pool=8
  [ "$b" = sqlite ] && pool=4
  stop_floor
  furl=$(fresh_db "$b" identity_bench_floor)
  FLOOR_DATA="$WORK/floor-$b"
  log "$b: seeding the floor with $count users"
  DATABASE_URL="$furl" COUNT="$count" OUT_DIR="$FLOOR_DATA" "$FLOOR_BIN" seed > /dev/null 2>&1
  settle "$b" "$furl"
  env DATABASE_URL="$furl" POOL_SIZE=$pool BIND="127.0.0.1:$FLOOR_PORT" "$FLOOR_BIN" serve >> "$WORK/server.log" 2>&1 &
  FLOOR_PID=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$FLOOR_PORT/static" && return 0; sleep 0.1; done
  echo "the floor did not start" >&2; exit 1
}
trap 'stop_server; stop_floor' EXIT

# median_table TARGETS_JSON NAMES_JSON ROW...: each ROW is "backend|scenario|round;round;…" with
# a round "floor_rps floor_p99 floor_non2xx floor_errors rps p99 non2xx errors"; prints a markdown
# table of medians. The ratio is the median of the rounds' ratios, each round's floor and product
# run back to back; p99 is judged on the median of the rounds' p99s, the worst shown beside it,
# against P99_MS (10 unless set).
median_table() {
  P99_MS="${P99_MS:-10}" python3 - "$@" <<'PY'
import json, os, statistics, sys
targets, names = json.loads(sys.argv[1]), json.loads(sys.argv[2])
limit = float(os.environ["P99_MS"])
print("| backend | scenario | req/s | p99 ms (median, worst) | non-2xx/errors | floor req/s | floor p99 ms | ratio (median; rounds) | target |")
print("|---|---|---|---|---|---|---|---|---|")
for row in sys.argv[3:]:
    b, sc, rounds = row.split("|")
    r = [list(map(float, x.split())) for x in rounds.split(";")]
    med = lambda i: statistics.median(x[i] for x in r)
    ratios = [x[4] / x[0] for x in r]
    ratio, p99 = statistics.median(ratios), med(5)
    bad = sum(int(x[6] + x[7]) for x in r)
    ok = "ok" if ratio >= targets[sc] and p99 < limit and bad == 0 else "MISSED"
    print(f"| {b} | {names[sc]} | {med(4):,.0f} | {p99:.2f}, {max(x[5] for x in r):.2f} | "
          f"{sum(int(x[6]) for x in r)}/{sum(int(x[7]) for x in r)} | {med(0):,.0f} | {med(1):.2f} | "
          f"{ratio:.2f}; {', '.join(f'{x:.2f}' for x in ratios)} | ≥{targets[sc]}, p99<{limit:g} ms: {ok} |")
PY
}
