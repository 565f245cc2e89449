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
DSN="host=127.0.0.1 port=$((5000 + OFFSET)) user=lyceum password=lyceum dbname=lyceum"
DRILL_DIR=$TEST_DIR
# shellcheck source=scripts/tests/backup_drills.sh
source scripts/tests/backup_drills.sh

cleanup() {
  [[ -z $WRITER ]] || kill "$WRITER" 2>/dev/null || true
  "$STACK" down --purge >/dev/null 2>&1 || echo "# cleanup: 'stack down --purge' failed" >&2
  rm -rf "$TEST_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ setup --

t_start=$(now)
note "backup drills: run dir $LYCEUM_RUN_DIR, port offset $OFFSET"
stack up || { echo "not ok - stack starts"; echo "0 passed, 1 failed"; exit 1; }
note "stack up after $(awk -v a="$t_start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"

# The schema from migrations/, optionally the seeder's data, and the drill's fixture:
# 2,000 students, one course with ten runs of 100,000 seats, 200 reviews.
for f in migrations/V*.sql; do
  PGCONNECT_TIMEOUT=3 "$DRILL_PSQL" -X -q -v ON_ERROR_STOP=1 "$DSN" -f "$f" >/dev/null
done
if [[ -n ${LYCEUM_BACKUP_TEST_SCALE:-} ]]; then
  seeder=target/release/lyceum-seeder
  [[ -x $seeder ]] || seeder=target/debug/lyceum-seeder
  eval "$("$STACK" env 2>/dev/null)"
  "$seeder" --scale "$LYCEUM_BACKUP_TEST_SCALE" >"$TEST_DIR/seed.log" 2>&1 || { tail "$TEST_DIR/seed.log"; exit 1; }
  note "seeded at scale $LYCEUM_BACKUP_TEST_SCALE ($seeder)"
fi
drill_fixture ci
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
  grep '^WAL archive: segments' "$DRILL_DIR/last.log" | sed 's/^/# /'
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

# Not through `check`: its subshell would lose the drill's results.
if drill_pitr; then ok "restore --to T (a DELETE and a DROP TABLE after T)"; else not_ok "restore --to T (a DELETE and a DROP TABLE after T)"; fi
check "PITR: every write acknowledged before T present once, none after, seats consistent" pitr_ok
check "PITR: the dropped table is back with its $REVIEWS rows" reviews_back

# The check is able to fail: measured against T2, the restore to T is a restore to before
# writes K+1..K2, and exactly those must be reported lost.
read -r got expected < <(pitr_lost_at_t2)
note "check at T2: lost writes $got (expected $expected)"
check "the check fails as it should: a restore to before writes $((PITR_K + 1))..$PITR_K2 reports exactly those lost" \
  [ "$got" = "$expected" ]

# ------------------------------------------------------------- total loss --

if drill_total_loss; then ok "restore --latest after total loss"; else not_ok "restore --latest after total loss"; fi
check "total loss: writes lost only within archive_timeout of the loss, none duplicated, seats consistent" loss_ok
check "the PITR's rows survive the total loss" \
  [ "$(sql "SELECT count(*) FROM purchases WHERE idempotency_key LIKE 'pitr-%'")" -gt 0 ]

note "total-loss drill checked"
check "verify-backup on the restored cluster" stack verify-backup
grep -E 'ledger|duplicated|seats|passed' "$DRILL_DIR/last.log" | sed 's/^/# /' || true

note "RTO: PITR ${PITR_RTO:-?} s (writes accepted after ${PITR_WRITE_S:-?} s); total loss ${LOSS_RTO:-?} s (writes after ${LOSS_WRITE_S:-?} s), $(json_field "$LOSS_CHECK" lost) acknowledged writes lost (oldest $(json_field "$LOSS_CHECK" oldest_lost_ack_age) s before the loss)"
note "whole drill $(awk -v a="$t_start" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
