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

SERVER_PID=""
stop_server() { if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; fi; }
trap stop_server EXIT

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

# floor BACKENDS: runs the bare-stack floor (quick mode) now and prints its table's path.
run_floor() {
  log "floor: QUICK=1 BACKENDS=\"$1\" $FLOOR_DIR/run.sh"
  (cd "$FLOOR_DIR" && QUICK=1 BACKENDS="$1" SKIP_STATIC=1 FLOOR_WORK="$WORK/floor" DURATION="$DURATION" WARMUP="$WARMUP" ./run.sh > "$WORK/floor.out" 2>&1) || { tail -20 "$WORK/floor.out" >&2; exit 1; }
  echo "$WORK/floor/results/latest/runs.tsv"
}

# floor_value TSV BACKEND SCENARIO FIELD(rps|p99): the median of the floor's runs.
floor_value() {
  python3 - "$@" <<'PY'
import csv, statistics, sys
tsv, backend, scenario, field = sys.argv[1:]
col = {"rps": "rps", "p99": "p99_ms"}[field]
vals = [float(r[col]) for r in csv.DictReader(open(tsv), delimiter="\t") if r["phase"] == "main" and r["backend"] == backend and r["scenario"] == scenario]
print(f"{statistics.median(vals):.2f}" if vals else "nan")
PY
}
