#!/usr/bin/env bash
# peoplefinder benchmark: PUT /api/peoplefinder/people/{slug} (a full replace of a random person's
# profile, derived into the combined profile) over COUNT (10,000) people with a People Finder
# profile each, next to the bare-stack floor's POST (../shared/bench/floor, its one-row insert),
# on PostgreSQL and SQLite; a round runs the floor's scenario and then peoplefinder's back to
# back, and the table gives the median of ROUNDS rounds. Target: ≥ 0.5× the floor's POST, p99 < 10 ms.
#   bench/peoplefinder.sh                    # both backends, 3 rounds (~6 minutes)
#   BACKENDS=pg ROUNDS=1 bench/peoplefinder.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BACKENDS="${BACKENDS:-pg sqlite}"
COUNT="${COUNT:-10000}"
PORT="${PORT:-18385}"
ROUNDS="${ROUNDS:-3}"

log "machine: $(machine)"
build -p peoplefinder -p identity-bench
build_floor

rows=()
for b in $BACKENDS; do
  start_floor "$b" "$COUNT"
  floor="http://127.0.0.1:$FLOOR_PORT"
  url=$(fresh_db "$b" identity_bench_peoplefinder)
  data="$WORK/peoplefinder-$b"
  log "$b: seeding $COUNT SCIM users"
  DATABASE_URL="$url" "$REPO/target/release/identity-bench" seed-sso --count "$COUNT" --out "$data"
  token=$(DATABASE_URL="$url" "$REPO/target/release/peoplefinder" tokens create --name bench 2>/dev/null)
  start_server peoplefinder "$PORT" "$url"
  base="http://127.0.0.1:$PORT"
  log "$b: creating a People Finder profile for each"
  python3 - "$base" "$token" "$data/names.txt" "$data/people.txt" <<'PY'
import http.client, json, sys, urllib.parse, uuid
base, token, names, out = sys.argv[1:5]
u = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(u.hostname, u.port)
with open(names) as f, open(out, "w") as o:
    for name in (l.strip() for l in f):
        if not name:
            continue
        slug = str(uuid.uuid4())
        body = json.dumps({"sso_email_id": name, "slug": slug, "first_name": "Seed", "last_name": "User"})
        conn.request("POST", "/api/peoplefinder/people", body,
                     {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        if r.status != 201:
            sys.exit(f"POST for {name} answered {r.status}")
        o.write(f"{slug} {name}\n")
PY
  settle "$b" "$url"
  rounds=()
  for r in $(seq "$ROUNDS"); do
    f=$(scenario "floor.$b.post.$r" scim_post.lua "$floor/" TARGET=/users)
    o=$(scenario "peoplefinder.$b.put.$r" pf_put.lua "$base/" LIST_FILE="$data/people.txt" TOKEN="$token")
    log "$b put round $r: floor POST $f; peoplefinder PUT $o (req/s p99_ms non-2xx errors)"
    rounds+=("$f $o")
  done
  rows+=("$b|put|$(IFS=';'; echo "${rounds[*]}")")
  stop_server
  stop_floor
done

median_table '{"put": 0.5}' '{"put": "PUT /api/peoplefinder/people/{slug}"}' "${rows[@]}"
