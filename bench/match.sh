#!/usr/bin/env bash
# Match quality (#18): the matcher's precision and recall over labelled people, beside the
# seed's exact rule (same email, same TRN, or same last name and date of birth with nickname
# first names). No database. PEOPLE (100000) people, about half recorded twice with the
# differences real records have, 2% with a stranger who shares their names and birthday.
#   bench/match.sh
#   PEOPLE=20000 SEED=3 bench/match.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
log "machine: $(machine)"
build -p identity-bench
"$REPO/target/release/identity-bench" match-quality --people "${PEOPLE:-100000}" --seed "${SEED:-7}"
