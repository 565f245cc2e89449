#!/usr/bin/env bash
#
# Backup and point-in-time recovery drills against a real stack of its own (pgBackRest,
# Patroni, etcd), with acknowledged writes counted by a client-side ledger
# (scripts/tests/backup_drill.py: one connection buying and paying through the write port).
#
#   continuity   a switchover, then a leader kill, under the writes; after each
#                `pgbackrest check` passes on the new leader and the WAL archive has no gap
#                (scripts/stack backups)
#   pitr         at a recorded time T (between two writes), a DELETE of a slice of purchases
#                and a DROP TABLE reviews; `scripts/stack restore --to T`: every purchase and
#                payment acknowledged before T is there exactly once, nothing after T, seats
#                consistent, reviews back with their rows
#   can fail     the same check against a later point T2: exactly the writes acknowledged
#                between T and T2 (a restore to before them) are reported lost
#   total loss   every node killed and its data directory deleted under the writes;
#                `scripts/stack restore --latest`: writes lost counted, all of them
#                acknowledged within archive_timeout (60 s) of the loss, none duplicated
#   verify       scripts/stack verify-backup on the restored cluster
#
# Prints the RTO of each restore. LYCEUM_BACKUP_TEST_SCALE=N seeds the database with
# lyceum-seeder at scale N first (target/release or target/debug; docs/RECOVERY.md's table
# is measured with 40), the drill's own rows on top. Isolation: its own run dir under /tmp and
# LYCEUM_PORT_OFFSET=${LYCEUM_BACKUP_TEST_PORT_OFFSET:-3000}; torn down on exit. Bounded:
# every step has a timeout. About 3 minutes on 2 cores.
# Output is TAP-like and ends with "N passed, M failed"; exit non-zero if any check failed.
set -euo pipefail

REPO_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$REPO_DIR"
case ${1:-} in -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;; esac
# shellcheck source=scripts/tests/tap.sh
source scripts/tests/tap.sh

OFFSET=${LYCEUM_BACKUP_TEST_PORT_OFFSET:-3000}
TEST_DIR=$(mktemp -d /tmp/lyceum-backup-test.XXXXXX)
chmod 755 "$TEST_DIR"
export LYCEUM_RUN_DIR=$TEST_DIR/run LYCEUM_PORT_OFFSET=$OFFSET LYCEUM_MONITORING=off
unset LYCEUM_ETCD_ENDPOINTS LYCEUM_SYNC_MODE LYCEUM_ETCD_NAMESPACE LYCEUM_BACKUP_REPO
STACK=scripts/stack
DRILL=(/usr/bin/python3 scripts/tests/backup_drill.py)
PSQL=/usr/lib/postgresql/15/bin/psql
DSN="host=127.0.0.1 port=$((5000 + OFFSET)) user=lyceum password=lyceum dbname=lyceum"
ARCHIVE_TIMEOUT=60
WRITER=""

cleanup() {
  [[ -z $WRITER ]] || kill "$WRITER" 2>/dev/null || true
  "$STACK" down --purge >/dev/null 2>&1 || echo "# cleanup: 'stack down --purge' failed" >&2
  rm -rf "$TEST_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
sql() { PGCONNECT_TIMEOUT=3 timeout 300 "$PSQL" -X -A -t -q -v ON_ERROR_STOP=1 "$DSN" -c "$1"; }
T0=$(date +%s.%N)
# Comment lines carry the seconds since the start, to see where the time goes.
note() { printf '# [%5.1f s] %s\n' "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')" "$*"; }

# Runs the stack command, output to $TEST_DIR/last.log (shown on failure), bounded.
stack() {
  if ! timeout "${LYCEUM_BACKUP_TEST_STEP_TIMEOUT:-300}" "$STACK" "$@" >"$TEST_DIR/last.log" 2>&1; then
    sed 's/^/#   | /' "$TEST_DIR/last.log"
    return 1
  fi
}

start_writer() { # PREFIX FIRST
  rm -f "$TEST_DIR/stop"
  "${DRILL[@]}" write --dsn "$DSN" --log "$TEST_DIR/$1.log" --prefix "$1" --first "$2" \
    --seconds 150 --stop-file "$TEST_DIR/stop" --user-base "$USER_BASE" --run-ids "$RUN_IDS" &
  WRITER=$!
}
stop_writer() { touch "$TEST_DIR/stop"; wait "$WRITER" || true; WRITER=""; }
acks() { [[ -e $TEST_DIR/$1.log ]] || { echo 0; return; }; grep -c '^A ' "$TEST_DIR/$1.log" || true; }
wait_acks() { # PREFIX N: until the writer has N more acknowledged purchases (max 30 s)
  local want=$(( $(acks "$1") + $2 ))
  for _ in $(seq 150); do (( $(acks "$1") >= want )) && return 0; sleep 0.2; done
  return 1
}
json_field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
show_steps() { grep -E '^ |^restore done' "$TEST_DIR/last.log" | sed 's/^ */#   /'; }
restore_seconds() { sed -n 's/^restore done in \([0-9.]*\) s: writes accepted after \([0-9.]*\) s.*/\1 \2/p' "$TEST_DIR/last.log"; }

# ------------------------------------------------------------------ setup --

t_start=$(now)
note "backup drills: run dir $LYCEUM_RUN_DIR, port offset $OFFSET"
stack up || { echo "not ok - stack starts"; echo "0 passed, 1 failed"; exit 1; }
note "stack up after $(awk -v a="$t_start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"

# The schema from migrations/, optionally the seeder's data, and the drill's fixture:
# 2,000 students, one course with ten runs of 100,000 seats, 200 reviews.
for f in migrations/V*.sql; do
  PGCONNECT_TIMEOUT=3 "$PSQL" -X -q -v ON_ERROR_STOP=1 "$DSN" -f "$f" >/dev/null
done
if [[ -n ${LYCEUM_BACKUP_TEST_SCALE:-} ]]; then
  seeder=target/release/lyceum-seeder
  [[ -x $seeder ]] || seeder=target/debug/lyceum-seeder
  eval "$("$STACK" env 2>/dev/null)"
  "$seeder" --scale "$LYCEUM_BACKUP_TEST_SCALE" >"$TEST_DIR/seed.log" 2>&1 || { tail "$TEST_DIR/seed.log"; exit 1; }
  note "seeded at scale $LYCEUM_BACKUP_TEST_SCALE ($seeder)"
fi
sql "INSERT INTO specializations (slug, name) VALUES ('backup-drill', 'Backup drill');
     INSERT INTO users (email, password_hash, first_name, last_name, birth_date)
       SELECT 'u' || g || '@drill.test', '\$argon2id\$drill', 'U', 'D', '1990-01-01' FROM generate_series(1, 2000) g;
     INSERT INTO courses (title, specialization_id, difficulty_level_id, duration_weeks, price, published)
       SELECT 'Backup drill', id, 1, 4, 1000, true FROM specializations WHERE slug = 'backup-drill';
     INSERT INTO course_runs (course_id, start_date, sales_end_date, seats_total, seats_left)
       SELECT max(id), DATE '2030-01-01', DATE '2029-12-01', 100000, 100000 FROM courses, generate_series(1, 10) GROUP BY generate_series;
     INSERT INTO reviews (user_id, course_id, rating)
       SELECT u.id, (SELECT max(id) FROM courses), 5 FROM users u WHERE u.email LIKE '%@drill.test' ORDER BY u.id LIMIT 200;"
USER_BASE=$(sql "SELECT min(id) FROM users WHERE email LIKE '%@drill.test'")
RUN_IDS=$(sql "SELECT string_agg(id::text, ',' ORDER BY id) FROM course_runs WHERE course_id = (SELECT max(id) FROM courses)")
REVIEWS=$(sql "SELECT count(*) FROM reviews")
note "schema and fixture loaded"
check "full backup (from a standby)" stack backup full
note "backup done"

# ------------------------------------------------------------- continuity --

start_writer pitr 0
wait_acks pitr 20 || note "writer slow to start"
# `pgbackrest check` passes and the archive has no gap (`check`, `info` and plain `verify` do not
# see a gap; `scripts/stack backups` does).
archive_intact() {
  timeout 120 setpriv --reuid=postgres --regid=postgres --init-groups -- \
    "$LYCEUM_RUN_DIR/backup/runner/pgbackrest-lyceum" check >"$TEST_DIR/check.log" 2>&1 ||
    { sed 's/^/#   | /' "$TEST_DIR/check.log"; return 1; }
  stack backups || { note "WAL archive has a gap"; return 1; }
  grep '^WAL archive: segments' "$TEST_DIR/last.log" | sed 's/^/# /'
}
check_continuity() {
  stack switchover || return 1
  wait_acks pitr 20 || { note "no writes after the switchover"; return 1; }
  archive_intact
}
check "switchover under writes: pgbackrest check passes, no WAL gap" check_continuity
note "continuity checked"

# A failover: the dead leader cannot archive what it had not archived yet, so a gap would show
# here (the new leader archives the old timeline's .partial and the .history file).
check_failover() {
  local old status deadline=$((SECONDS + 20))
  # Patroni promotes only the synchronous standby; right after the switchover there may be
  # none yet. (The whole output first: `grep -q` in a pipe would SIGPIPE status.)
  until status=$("$STACK" status 2>/dev/null || true); [[ $status == *"sync standby pg"* ]]; do
    (( SECONDS < deadline )) || { note "no sync standby to fail over to"; return 1; }
    sleep 0.5
  done
  old=$("$STACK" leader) || return 1
  stack kill leader --wait || return 1
  grep '^write port serves' "$TEST_DIR/last.log" | sed 's/^/# /'
  wait_acks pitr 10 || { note "no writes after the failover"; return 1; }
  stack start-node "$old" || return 1
  archive_intact
}
check "leader killed under writes: pgbackrest check passes, no WAL gap" check_failover
note "failover checked"

# ------------------------------------------------------------------- pitr --

# T: a pause between two writes a moment from now; T2: a later pause, still before the
# destructive statements.
read -r K T < <(sleep 1; "${DRILL[@]}" gap --log "$TEST_DIR/pitr.log" --after "$(now)" || echo "- -")
wait_acks pitr 15 || true
read -r K2 T2 < <("${DRILL[@]}" gap --log "$TEST_DIR/pitr.log" --after "$(now)" || echo "- -")
wait_acks pitr 3 || true
deleted=$(sql "WITH d AS (DELETE FROM purchases WHERE id % 3 = 0 RETURNING 1) SELECT count(*) FROM d")
wait_acks pitr 5 || true
sql "DROP TABLE reviews"
wait_acks pitr 5 || true
stop_writer
note "T = $(date -u -d "@$T" '+%H:%M:%S.%N') after write $K; T2 after write $K2; then DELETE of $deleted purchases and DROP TABLE reviews; $(acks pitr) purchases acknowledged in all"

check "restore --to T" stack restore --to "$(date -u -d "@$T" '+%Y-%m-%d %H:%M:%S.%N+00')"
show_steps
read -r pitr_total pitr_write < <(restore_seconds)
out=$("${DRILL[@]}" check --dsn "$DSN" --log "$TEST_DIR/pitr.log" --prefix pitr --before "$T" || true)
note "check at T: $out"
pitr_ok() {
  [[ $(json_field "$out" lost) == 0 && $(json_field "$out" duplicated) == 0 &&
     $(json_field "$out" after_target) == 0 && $(json_field "$out" payments_lost) == 0 &&
     $(json_field "$out" runs_inconsistent) == 0 && $(json_field "$out" acknowledged_before) -gt 0 ]]
}
check "PITR: every write acknowledged before T present once, none after, seats consistent" pitr_ok
check "PITR: the dropped table is back with its $REVIEWS rows" [ "$(sql 'SELECT count(*) FROM reviews')" = "$REVIEWS" ]

# The check is able to fail: measured against T2, the restore to T is a restore to before
# writes K+1..K2, and exactly those must be reported lost.
out2=$("${DRILL[@]}" check --dsn "$DSN" --log "$TEST_DIR/pitr.log" --prefix pitr --before "$T2" || true)
expected=$(seq -s, $((K + 1)) "$K2")
got=$(/usr/bin/python3 -c 'import json,sys; print(",".join(map(str, json.loads(sys.argv[1])["lost_keys"])))' "$out2")
note "check at T2: lost writes $got (expected $expected)"
check "the check fails as it should: a restore to before writes $((K + 1))..$K2 reports exactly those lost" \
  [ "$got" = "$expected" ]

# ------------------------------------------------------------- total loss --

start_writer loss 10000
wait_acks loss 100 || note "writer slow"
kills=()
for n in pg1 pg2 pg3; do "$STACK" kill "$n" >/dev/null 2>&1 & kills+=($!); done
wait "${kills[@]}" || true
# Every node is dead: nothing can be acknowledged after this, so every acknowledgement
# before it counts.
loss_at=$(now)
stop_writer
rm -rf "$LYCEUM_RUN_DIR"/pg{1,2,3}/data
note "all three nodes killed and their data directories deleted after $(acks loss) acknowledged purchases"
check "restore --latest after total loss" stack restore --latest
show_steps
read -r loss_total loss_write < <(restore_seconds)
out3=$("${DRILL[@]}" check --dsn "$DSN" --log "$TEST_DIR/loss.log" --prefix loss --before "$loss_at" || true)
note "check at the loss: $out3"
loss_ok() {
  [[ $(json_field "$out3" duplicated) == 0 && $(json_field "$out3" runs_inconsistent) == 0 &&
     $(json_field "$out3" after_target) == 0 ]] &&
  awk -v age="$(json_field "$out3" oldest_lost_ack_age)" -v bound="$ARCHIVE_TIMEOUT" 'BEGIN { exit !(age <= bound + 5) }'
}
check "total loss: writes lost only within archive_timeout of the loss, none duplicated, seats consistent" loss_ok
check "the PITR's rows survive the total loss" \
  [ "$(sql "SELECT count(*) FROM purchases WHERE idempotency_key LIKE 'pitr-%'")" -gt 0 ]

note "total-loss drill checked"
check "verify-backup on the restored cluster" stack verify-backup
grep -E 'ledger|duplicated|seats|passed' "$TEST_DIR/last.log" | sed 's/^/# /' || true

note "RTO: PITR ${pitr_total:-?} s (writes accepted after ${pitr_write:-?} s); total loss ${loss_total:-?} s (writes after ${loss_write:-?} s), $(json_field "$out3" lost) acknowledged writes lost (oldest $(json_field "$out3" oldest_lost_ack_age) s before the loss)"
note "whole drill $(awk -v a="$t_start" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
