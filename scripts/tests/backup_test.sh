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
#   bad input    a corrupted and a missing backup file: verify-backup fails naming both,
#                the exporter's verify counts them, writes go on, it passes with them back; a full repository disk (a filled
#                tmpfs, so root): the backup fails saying so, `status` says archiving fails,
#                writes go on, and with space again the archive catches up without a gap
#
# Prints the RTO of each restore. LYCEUM_BACKUP_TEST_SCALE=N seeds the database with
# lyceum-seeder at scale N first (target/release or target/debug; docs/RECOVERY.md's table
# is measured with 40), the drill's own rows on top. Isolation: its own run dir under /tmp and
# LYCEUM_PORT_OFFSET=${LYCEUM_BACKUP_TEST_PORT_OFFSET:-3000}; torn down on exit. Bounded:
# every step has a timeout. About 3 minutes on 2 cores. BACKUP_TEST_KEEP_LOGS=DIR keeps the
# stack's logs and the drill's ledgers there when a check failed.
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
  # The full-repository drill's tmpfs (lazily: the nodes may still hold files in it).
  [[ -z ${REPO_FS:-} ]] || umount -l "$REPO_FS" || true
  if [[ -n ${BACKUP_TEST_KEEP_LOGS:-} && ${failed:-0} != 0 ]]; then
    mkdir -p "$BACKUP_TEST_KEEP_LOGS" && cp -r "$LYCEUM_RUN_DIR/logs" "$TEST_DIR"/*.log "$BACKUP_TEST_KEEP_LOGS"/ 2>/dev/null || true
  fi
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
# In version order, as refinery applies them (a glob puts V10 before V1).
while read -r f; do
  PGCONNECT_TIMEOUT=3 "$DRILL_PSQL" -X -q -v ON_ERROR_STOP=1 "$DSN" -f "$f" >/dev/null
done < <(printf '%s\n' migrations/V*.sql | sort -V)
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

# -------------------------------------------------------------- bad input --

# A damaged repository: one file of the newest full backup corrupted (a zeroed block in its
# middle) and another deleted. verify-backup fails and names both; writes go on; with the files
# put back it passes again.
REPO=$LYCEUM_RUN_DIR/backup/repo
damage_repository() {
  local full files
  full=$(find "$REPO/backup/lyceum" -maxdepth 1 -name '*F' -type d | sort | tail -n1)
  [[ -n $full ]] || { note "no full backup in $REPO"; return 1; }
  mapfile -t files < <(find "$full/pg_data" -type f -size +8k -printf '%s %p\n' | sort -n | tail -n2 | cut -d' ' -f2-)
  (( ${#files[@]} == 2 )) || { note "fewer than two files over 8 kB in $full"; return 1; }
  CORRUPTED=${files[1]} MISSING=${files[0]}
  cp -p "$CORRUPTED" "$TEST_DIR/corrupted.orig"
  mv "$MISSING" "$TEST_DIR/missing.orig"
  dd if=/dev/zero of="$CORRUPTED" bs=512 count=1 seek=$(( $(stat -c %s "$CORRUPTED") / 1024 )) conv=notrunc status=none
  note "corrupted ${CORRUPTED#"$REPO"/}, deleted ${MISSING#"$REPO"/}"
}
repair_repository() { cp -p "$TEST_DIR/corrupted.orig" "$CORRUPTED" && mv "$TEST_DIR/missing.orig" "$MISSING"; }
# verify-backup fails, naming each file by its path under the backup (pgBackRest names it
# without the compression suffix).
verify_names_damage() {
  if stack verify-backup; then note "verify-backup passed"; return 1; fi
  local f rel rc=0
  for f in "$CORRUPTED" "$MISSING"; do
    rel=${f#"$REPO/backup/lyceum/"}
    rel=${rel%.lz4}
    grep -F -- "$rel" "$DRILL_DIR/last.log" | sed 's/^/#   /' | head -n2
    grep -qF -- "$rel" "$DRILL_DIR/last.log" || { note "verify-backup's output does not name $rel"; rc=1; }
  done
  return "$rc"
}
# What the exporter's periodic verify reports (the series LyceumBackupCorrupted fires on).
verify_metric() { # EXPECTED
  local got
  # A copy the database's user can read, wherever the checkout is.
  install -m 755 prometheus/pgbackrest_exporter.py "$TEST_DIR/pgbackrest_exporter.py"
  got=$(setpriv --reuid=postgres --regid=postgres --init-groups -- /usr/bin/python3 "$TEST_DIR/pgbackrest_exporter.py" --once \
          --pgbackrest "$LYCEUM_RUN_DIR/backup/runner/pgbackrest-lyceum" --repo "$REPO" --verify-every 1 |
        awk '$1 == "pgbackrest_verify_bad_files" { print $2 }')
  note "exporter: pgbackrest_verify_bad_files ${got:-absent}"
  [[ $got == "$1" ]]
}
if damage_repository; then
  check "verify-backup fails on a corrupted and a missing backup file, naming both" verify_names_damage
  check "the exporter's periodic verify counts the two bad files (LyceumBackupCorrupted)" verify_metric 2
  check "writes go on while the repository is damaged" stack probe-write
  repair_repository
  check "verify-backup passes with the files put back" stack verify-backup
  check "the exporter's verify counts none with the files put back" verify_metric 0
else
  not_ok "a backup file to damage"
fi

# A full repository disk: the repository moved onto a small tmpfs, which is then filled. The
# backup fails saying why, archiving fails and `status` says since when and how much WAL
# waits in pg_wal, writes go on; with space again the archive catches up without a gap.
LEADER_SQL=(env PGPASSWORD=postgres-dev PGCONNECT_TIMEOUT=3 timeout 10 "$DRILL_PSQL" -X -A -t -q
  "host=127.0.0.1 port=$((5000 + OFFSET)) user=postgres dbname=postgres")
switch_wal() { "${LEADER_SQL[@]}" -c "SELECT pg_logical_emit_message(false, 'backup-test', 'x'); SELECT pg_switch_wal()" >/dev/null; }
archiving_is() { # ok|FAILING: what `status` says of the leader's archiving
  "$STACK" status >"$DRILL_DIR/status.log" 2>&1 || true
  grep -q "^wal archiving: $1 " "$DRILL_DIR/status.log"
}
wait_archiving() { # ok|FAILING SECONDS
  local deadline=$((SECONDS + $2))
  until archiving_is "$1"; do (( SECONDS < deadline )) || { sed 's/^/#   | /' "$DRILL_DIR/status.log"; return 1; }; switch_wal || true; sleep 2; done
  grep '^wal archiving' "$DRILL_DIR/status.log" | sed 's/^/# /'
}
REPO_FS=""
fill_repository() {
  (( EUID == 0 )) || { note "needs root (mounts a tmpfs)"; return 1; }
  local used
  used=$(du -sm "$REPO" | cut -f1)
  # The leader's current WAL first, so nothing new arrives between the copy and the mount.
  timeout 60 setpriv --reuid=postgres --regid=postgres --init-groups -- \
    "$LYCEUM_RUN_DIR/backup/runner/pgbackrest-lyceum" check >/dev/null 2>&1 || true
  cp -a "$REPO" "$TEST_DIR/repo.copy"
  mount -t tmpfs -o "size=$((used + 32))m,mode=750" lyceum-backup-test-repo "$REPO" || return 1
  REPO_FS=$REPO
  cp -a "$TEST_DIR/repo.copy/." "$REPO/" && rm -rf "$TEST_DIR/repo.copy"
  fallocate -l "$(df --output=avail -B1 "$REPO" | tail -n1 | tr -d ' ')" "$REPO/filler"
  note "repository on a full $((used + 32)) MB tmpfs ($(df --output=avail -B1 "$REPO" | tail -n1 | tr -d ' ') bytes free)"
}
backup_says_full() {
  # pgBackRest's own variable: wait 10 s, not 60, for the backup's WAL to be archived.
  if PGBACKREST_ARCHIVE_TIMEOUT=10 stack backup incr; then note "the backup succeeded"; return 1; fi
  grep -i 'space' "$DRILL_DIR/last.log" | head -n2 | sed 's/^/#   /'
  grep -qi 'no space left' "$DRILL_DIR/last.log"
}
if fill_repository; then
  check "a backup into the full repository fails, saying it is full" backup_says_full
  check "archiving into the full repository fails and status says so" wait_archiving FAILING 60
  check "writes go on while the repository is full" stack probe-write
  rm -f "$REPO/filler"
  check "with space again the leader's archiving catches up" wait_archiving ok 90
  check "no WAL gap after the full repository" stack backups
  grep '^WAL archive: segments' "$DRILL_DIR/last.log" | sed 's/^/# /'
else
  not_ok "the repository on a tmpfs to fill"
fi

note "RTO: PITR ${PITR_RTO:-?} s (writes accepted after ${PITR_WRITE_S:-?} s; restore attempts: ${PITR_ATTEMPTS:-?}); total loss ${LOSS_RTO:-?} s (writes after ${LOSS_WRITE_S:-?} s), $(json_field "$LOSS_CHECK" lost) acknowledged writes lost (oldest $(json_field "$LOSS_CHECK" oldest_lost_ack_age) s before the loss)"
note "whole drill $(awk -v a="$t_start" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
