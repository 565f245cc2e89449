# shellcheck shell=bash
#
# scripts/stack.d/backup.sh — backups and point-in-time recovery with pgBackRest, sourced
# by scripts/stack (it uses the runner's settings and helpers: RUN_DIR, NODES, render,
# as_db_user, current_leader, stop_nodes, start_patroni, ...).
#
# Layout under the run dir:
#   backup/pgbackrest.conf        shared settings (patroni/pgbackrest.conf.tmpl)
#   backup/repo/                  the repository (LYCEUM_BACKUP_REPO moves it elsewhere)
#   backup/cipher-pass            the repository's encryption key, when encrypted
#   backup/runner/                the runner's include dir, spool, lock and wrapper
#   pgN/pgbackrest/conf.d/        node pgN's include dir (pg1 = pgN), spool and lock beside
#   pgN/pgbackrest-lyceum         node pgN's wrapper: archive_command, restore_command and
#                                 Patroni's replica/bootstrap methods call it
#   logs/pgbackrest-*/            pgBackRest's own logs per caller
# docs/RECOVERY.md is the runbook and explains the choices (pgBackRest 2.45, Patroni 3.0.2).

readonly BACKUP_DIR=$RUN_DIR/backup
BACKUP_REPO=${LYCEUM_BACKUP_REPO:-$BACKUP_DIR/repo}
[[ $BACKUP_REPO == /* ]] || BACKUP_REPO=$PWD/$BACKUP_REPO
readonly BACKUP_REPO
readonly BACKUP_STANZA=lyceum
readonly BACKUP_CONF=$BACKUP_DIR/pgbackrest.conf
readonly RUNNER_PGBR=$BACKUP_DIR/runner/pgbackrest-lyceum
# patroni/pgbackrest_report.py, copied beside the config (the db user may not read the checkout).
readonly BACKUP_REPORT=$BACKUP_DIR/pgbackrest_report.py
# prometheus/pgbackrest_exporter.py (component exporter-backup).
readonly BACKUP_EXPORTER_PORT=$((9190 + OFFSET))
# The scratch instance of verify-backup; 5436 is the port after the three nodes'.
readonly VERIFY_PORT=$((5436 + OFFSET))
# Bounds for the long steps: a restore and its recovery grow with the data.
readonly RESTORE_TIMEOUT=${LYCEUM_RESTORE_TIMEOUT:-1800}
case ${LYCEUM_BACKUP_ENCRYPTION:-off} in
  on|true|1) BACKUP_ENCRYPTION=1 ;;
  off|false|0) BACKUP_ENCRYPTION=0 ;;
  *) echo "stack: LYCEUM_BACKUP_ENCRYPTION must be on or off" >&2; exit 2 ;;
esac
readonly BACKUP_ENCRYPTION

node_pgbr() { echo "$RUN_DIR/$1/pgbackrest-lyceum"; }

# pgBackRest as the database's OS user, with the runner's configuration (all three nodes).
pgbr() { as_db_user "$RUNNER_PGBR" "$@"; }

# Render one caller's include file and wrapper. Usage:
#   render_pgbr_caller WHO INCLUDE_DIR STATE_DIR LOG_PATH WRAPPER TEMPLATE KEY=VALUE...
render_pgbr_caller() {
  local who=$1 inc=$2 state=$3 logp=$4 wrapper=$5 tmpl=$6; shift 6
  mkdir -p "$inc" "$state/spool" "$state/lock" "$logp"
  render "$TEMPLATE_DIR/$tmpl" "$inc/pgbackrest.conf" STATE_DIR="$state" LOG_PATH="$logp" "$@"
  render "$TEMPLATE_DIR/pgbackrest-wrapper.sh.tmpl" "$wrapper" WHO="$who" CONFIG="$BACKUP_CONF" \
    INCLUDE_DIR="$inc"
  chmod 755 "$wrapper"
  if (( EUID == 0 )); then chown -R postgres:postgres "$inc" "$state" "$logp" "$wrapper"; fi
}

# The cipher lines of the shared config. A repository is encrypted from its first file on
# or never: once backup/cipher-pass exists it is used whatever LYCEUM_BACKUP_ENCRYPTION
# says, and turning encryption on for a repository that already holds data is refused.
cipher_lines() {
  local pass=$BACKUP_DIR/cipher-pass
  if [[ ! -s $pass ]]; then
    (( BACKUP_ENCRYPTION )) || return 0
    [[ ! -e $BACKUP_REPO/backup/$BACKUP_STANZA/backup.info ]] ||
      die "LYCEUM_BACKUP_ENCRYPTION=on but the repository $BACKUP_REPO already holds unencrypted data; use a new LYCEUM_BACKUP_REPO (or delete this one)"
    (umask 077; head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$pass")
  elif (( ! BACKUP_ENCRYPTION )) && [[ -n ${LYCEUM_BACKUP_ENCRYPTION:-} ]]; then
    warn "the repository is encrypted ($pass); LYCEUM_BACKUP_ENCRYPTION=off cannot change that"
  fi
  printf 'repo1-cipher-type=aes-256-cbc\nrepo1-cipher-pass=%s' "$(<"$pass")"
}

# Renders every pgBackRest file (called by prepare_run_dir, so on every `up`).
prepare_backup() {
  [[ -x /usr/bin/pgbackrest ]] || die "/usr/bin/pgbackrest not found (run 'scripts/stack install')"
  mkdir -p "$BACKUP_DIR" "$BACKUP_REPO"
  chmod 700 "$BACKUP_DIR"
  render "$TEMPLATE_DIR/pgbackrest.conf.tmpl" "$BACKUP_CONF" REPO_PATH="$BACKUP_REPO" \
    CIPHER="$(cipher_lines)"
  # The cipher pass is in it: the db user only.
  chmod 600 "$BACKUP_CONF"
  local n i=1 lines=()
  for n in "${NODES[@]}"; do
    render_pgbr_caller "node $n" "$RUN_DIR/$n/pgbackrest/conf.d" "$RUN_DIR/$n/pgbackrest" \
      "$LOG_DIR/pgbackrest-$n" "$(node_pgbr "$n")" pgbackrest-node.conf.tmpl NODE="$n" \
      PG_PATH="$RUN_DIR/$n/data" PG_PORT="$(pg_port "$n")" SOCK_DIR="$RUN_DIR/$n/sock"
    lines+=("pg$i-path=$RUN_DIR/$n/data" "pg$i-port=$(pg_port "$n")" "pg$i-socket-path=$RUN_DIR/$n/sock")
    i=$((i + 1))
  done
  local IFS=$'\n'
  render_pgbr_caller "scripts/stack (backup, check, info)" "$BACKUP_DIR/runner/conf.d" \
    "$BACKUP_DIR/runner" "$LOG_DIR/pgbackrest-runner" "$RUNNER_PGBR" pgbackrest-runner.conf.tmpl \
    PG_LINES="${lines[*]}"
  if (( EUID == 0 )); then chown -R postgres:postgres "$BACKUP_DIR" "$BACKUP_REPO"; fi
  # A copy in the run dir, like the other exporters' files: the db user may not be able to
  # read the checkout.
  mkdir -p "$RUN_DIR/exporters"
  install -m 755 "$REPO_DIR/prometheus/pgbackrest_exporter.py" "$RUN_DIR/exporters/pgbackrest_exporter.py"
  install -m 755 "$TEMPLATE_DIR/pgbackrest_report.py" "$BACKUP_REPORT"
  install -m 644 "$TEMPLATE_DIR/ledger-invariants.sql" "$BACKUP_DIR/ledger-invariants.sql"
}

# The repository's metrics for Prometheus, as the db user (the config holds the cipher pass).
start_backup_exporter() {
  local as_user=()
  (( EUID != 0 )) || as_user=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  launch exporter-backup "$LOG_DIR/exporter-backup.log" "${as_user[@]}" env -i PATH=/usr/bin:/bin \
    LANG=C.UTF-8 "$PYTHON" "$RUN_DIR/exporters/pgbackrest_exporter.py" \
    --listen "127.0.0.1:$BACKUP_EXPORTER_PORT" --pgbackrest "$RUNNER_PGBR" --repo "$BACKUP_REPO" \
    --stanza "$BACKUP_STANZA"
}

# -------------------------------------------------------------- at `up` --

# A cluster bootstrapped before archiving existed has no archive_mode in its DCS config
# (bootstrap.dcs only applies to a new cluster): set it and restart the nodes that need it,
# replicas first, so the leader restarts in place without a failover.
ensure_archiving() {
  local leader json n
  leader=$(current_leader) || return 0
  json=$(http_get "$(rest_url "$leader")/config") || return 0
  [[ $("$PYTHON" -c 'import json,sys; print(json.load(sys.stdin).get("postgresql",{}).get("parameters",{}).get("archive_mode",""))' <<<"$json") == on ]] &&
    return 0
  say "  enabling WAL archiving in the DCS config (archive_mode needs a restart of every node)"
  rest_curl -sf -m 10 -X PATCH -H 'Content-Type: application/json' \
    -d '{"postgresql": {"parameters": {"archive_mode": "on", "archive_timeout": 60}}}' \
    "$(rest_url "$leader")/config" >/dev/null || { warn "could not PATCH $(rest_url "$leader")/config"; return 0; }
  sleep 4  # loop_wait 2 s: let every member see the change and flag pending_restart
  for n in $(running_replicas) "$leader"; do
    rest_curl -sf -m 60 -X POST -H 'Content-Type: application/json' -d '{"restart_pending": true}' \
      "$(rest_url "$n")/restart" >/dev/null || warn "restart of $n for archive_mode failed"
  done
  wait_until 60 write_port_ok || warn "write port not back within 60 s after the restarts"
}

# Called at the end of `up`: archiving on, the stanza exists. A failure here is reported
# loudly but does not take the running stack down (the WalArchiveFailing alert stays red).
backup_after_up() {
  local out t0
  t0=$(now_us)
  ensure_archiving
  if out=$(pgbr stanza-create 2>&1); then
    local count
    count=$(pgbr info --output=json 2>/dev/null | "$PYTHON" -c 'import json,sys; print(sum(len(s.get("backup",[])) for s in json.load(sys.stdin)))' 2>/dev/null || echo "?")
    say "  pgBackRest stanza $BACKUP_STANZA ready after $(since "$t0") s: repository $BACKUP_REPO ($count backups$([[ -s $BACKUP_DIR/cipher-pass ]] && echo ', encrypted'))"
    [[ $count != 0 ]] || say "  no backup yet: 'scripts/stack backup full' makes the first one"
    # The leader tried to archive before the stanza existed, failed and waits up to a minute
    # before trying again; `check` switches WAL, which wakes its archiver now, and waits until
    # the segment is in the repository.
    pgbr --archive-timeout=30 check >/dev/null 2>&1 ||
      warn "pgbackrest check failed after stanza-create: WAL archiving is not working ('scripts/stack status')"
  else
    warn "pgBackRest stanza-create failed; WAL is NOT being archived and no backup can be taken:"
    printf '%s\n' "$out" >&2
    [[ $out != *"do not match the database"* ]] ||
      warn "the repository $BACKUP_REPO belongs to another cluster (e.g. data dirs deleted by hand); move it away or set LYCEUM_BACKUP_REPO"
  fi
}

# ------------------------------------------------------------ backup --

# `pgbackrest info --output=json` of our stanza.
backup_info_json() { pgbr info --output=json; }

cmd_backup() {
  local type=incr
  (( $# <= 1 )) || die "backup takes at most one argument: full, diff or incr"
  case ${1:-incr} in
    full|diff|incr) type=${1:-incr} ;;
    *) die "backup: unknown type '$1' (expected full, diff or incr)" ;;
  esac
  [[ -x $RUNNER_PGBR ]] || die "no pgBackRest configuration in $RUN_DIR (run 'scripts/stack up' first)"
  current_leader >/dev/null || die "no leader: a backup needs the primary running (is the stack up? 'scripts/stack status')"
  local flags=() t0 out archiving
  # backup-standby needs a running standby in pgBackRest 2.45 (falling back to the primary
  # only came in 2.54): without one, say so and back up from the primary.
  if [[ -z $(streaming_members) ]]; then
    say "no standby is streaming: backing up from the primary (--no-backup-standby); this backup loads the leader"
    flags+=(--no-backup-standby)
  fi
  say "$type backup of stanza $BACKUP_STANZA ..."
  t0=$(now_us)
  if ! out=$(pgbr "${flags[@]}" --type="$type" backup 2>&1); then
    printf '%s\n' "$out" >&2
    # A backup waits (archive-timeout, 60 s) for its WAL to reach the repository: when that is
    # what failed, the archiver's own reason is the one to read (a full repository disk, say).
    if ! archiving=$(archiving_status) && [[ $archiving == *FAILING* ]]; then
      die "$type backup failed: its WAL could not be archived: ${archiving#wal archiving: }"
    fi
    die "$type backup failed (log: $LOG_DIR/pgbackrest-runner/$BACKUP_STANZA-backup.log)"
  fi
  [[ -z $out ]] || printf '%s\n' "$out"
  say "$type backup done in $(since "$t0") s:"
  backups_table 1
}

# ----------------------------------------------------------- backups --

# Prints the backups (the last N if given) with type, start, duration, sizes and WAL range.
backups_table() {
  local json
  json=$(backup_info_json) || die "pgbackrest info failed (is $BACKUP_REPO readable?)"
  "$PYTHON" "$BACKUP_REPORT" table "${1:-0}" <<<"$json"
}

# Gaps in the WAL archive (patroni/pgbackrest_report.py gaps): a summary line and the gaps;
# exit status 1 if there is one.
wal_gaps() { as_db_user "$PYTHON" "$BACKUP_REPORT" gaps "$BACKUP_REPO/archive/$BACKUP_STANZA"; }

cmd_backups() {
  (( $# == 0 )) || die "backups takes no arguments"
  [[ -x $RUNNER_PGBR ]] || die "no pgBackRest configuration in $RUN_DIR (run 'scripts/stack up' first)"
  backups_table 0
  say "repository on disk: $(du -sh "$BACKUP_REPO" 2>/dev/null | cut -f1) in $BACKUP_REPO"
  wal_gaps
}

# One line on the leader's WAL archiving (pg_stat_archiver): when it last succeeded, or since
# when it fails, why (the last error of the leader's archive-push log) and how much WAL waits in
# pg_wal meanwhile (what fills the leader's disk if the repository stays full or unreachable).
# Status 0 when archiving works, 1 when it fails, 2 when the leader cannot be asked.
# LEADER if the caller knows it (status does), else asked here.
archiving_status() {
  local leader=${1:-} row state last_wal last_t failed fail_wal fail_t waiting wal_size why
  [[ -n $leader ]] || leader=$(current_leader 2>/dev/null) || { say "wal archiving: unknown (no leader)"; return 2; }
  row=$(sql_super "$leader" "SELECT CASE WHEN last_failed_time > coalesce(last_archived_time, '-infinity') THEN 'FAILING' ELSE 'ok' END,
      coalesce(last_archived_wal, '-'), coalesce(to_char(last_archived_time AT TIME ZONE 'UTC', 'HH24:MI:SS'), '-'),
      failed_count, coalesce(last_failed_wal, '-'), coalesce(to_char(last_failed_time AT TIME ZONE 'UTC', 'HH24:MI:SS'), '-'),
      (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'),
      (SELECT pg_size_pretty(sum(size)) FROM pg_ls_waldir())
    FROM pg_stat_archiver") || { say "wal archiving: unknown ($leader does not answer)"; return 2; }
  IFS='|' read -r state last_wal last_t failed fail_wal fail_t waiting wal_size <<<"$row"
  if [[ $state == ok ]]; then
    say "wal archiving: ok on $leader, last segment $last_wal at $last_t UTC; $waiting waiting, pg_wal $wal_size"
    return 0
  fi
  # pgBackRest's reason, e.g. "[FileWriteError] unable to write '...': [28] No space left on device".
  why=$(grep -ho 'repo1: \[[A-Za-z]*\] .*' "$LOG_DIR/pgbackrest-$leader"/*archive-push*.log 2>/dev/null | tail -n1)
  say "wal archiving: FAILING on $leader since $fail_t UTC (segment $fail_wal; $failed failures in all; last success $last_t UTC)," \
    "$waiting segments waiting in pg_wal ($wal_size); ${why:-see $LOG_DIR/pgbackrest-$leader/}"
  return 1
}

# ----------------------------------------------------------- restore --

# "EARLIEST LATEST NEWEST_BACKUP" (epoch seconds): patroni/pgbackrest_report.py range.
restorable_range() {
  local json
  json=$(backup_info_json) || return 1
  as_db_user "$PYTHON" "$BACKUP_REPORT" range "$BACKUP_REPO/archive/$BACKUP_STANZA" <<<"$json"
}

# restore's arguments and range check, verify-backup's report: shared with compose's backup
# service.
# shellcheck source=patroni/backup-common.sh
source "$TEMPLATE_DIR/backup-common.sh"

# Removes the cluster's keys from the DCS (all nodes are stopped): patronictl remove asks for
# the scope, a confirmation and, while a leader key has not expired, the leader's name
# (LEADER, if known). Whatever is left is deleted with etcdctl.
wipe_dcs() {
  local prefix=${ETCD_NAMESPACE%/}/$SCOPE/
  printf '%s\nYes I am aware\n%s\n' "$SCOPE" "${1:-}" |
    env -i PATH=/usr/bin:/bin LANG=C.UTF-8 LC_ALL=C.UTF-8 "$PYTHON" /usr/bin/patronictl \
      -c "$RUN_DIR/pg1/patroni.yml" remove "$SCOPE" >/dev/null 2>&1 || true
  if [[ -n $(etcdctl_ get --prefix --keys-only "$prefix" 2>/dev/null) ]]; then
    etcdctl_ del --prefix "$prefix" >/dev/null || die "could not delete $prefix from etcd"
  fi
  [[ -z $(etcdctl_ get --prefix --keys-only "$prefix" 2>/dev/null) ]] || die "cluster keys still in etcd under $prefix"
}

# SIGKILL every node's Patroni, postmaster and postgres children at once.
kill_nodes_now() {
  local n pid pm pids=()
  for n in "${NODES[@]}"; do
    if pid=$(component_pid "$n"); then pids+=("$pid"); mapfile -t -O "${#pids[@]}" pids < <(children_of "$pid"); fi
    if pm=$(postmaster_pid "$n"); then pids+=("$pm"); mapfile -t -O "${#pids[@]}" pids < <(children_of "$pm"); fi
  done
  (( ${#pids[@]} == 0 )) || kill -KILL "${pids[@]}" 2>/dev/null || true
  wait_until 10 none_alive "${pids[@]}" || warn "still alive after SIGKILL: ${pids[*]}"
  for n in "${NODES[@]}"; do rm -f "$(pidfile "$n")"; done
}

# pg1's patroni.yml with a one-off `bootstrap.method: pitr` running COMMAND.
write_pitr_config() {
  "$PYTHON" - "$RUN_DIR/pg1/patroni.yml" "$1" <<'PY'
import sys, yaml
path, cmd = sys.argv[1], sys.argv[2]
with open(path) as f:
    c = yaml.safe_load(f)
# target-action=promote: the default (pause) would hang the bootstrap. no_params: pgBackRest
# rejects Patroni's --scope/--datadir. keep_existing_recovery_conf: the recovery target is
# in what pgBackRest wrote.
c["bootstrap"]["method"] = "pitr"
c["bootstrap"]["pitr"] = {"command": cmd, "no_params": True, "keep_existing_recovery_conf": True}
with open(path + ".tmp", "w") as f:
    yaml.safe_dump(c, f, sort_keys=False)
PY
  (( EUID != 0 )) || chown postgres:postgres "$RUN_DIR/pg1/patroni.yml.tmp"
  chmod 600 "$RUN_DIR/pg1/patroni.yml.tmp"
  mv -f "$RUN_DIR/pg1/patroni.yml.tmp" "$RUN_DIR/pg1/patroni.yml"
}

# What NODE's logs say of its last bootstrap from the repository: PostgreSQL's recovery (which
# WAL it restored last, where it stopped, why it gave up) and Patroni's errors. A failed
# restore's cause is in them; the log tails before are mostly Patroni's traceback.
recovery_story() {
  local pg=$LOG_DIR/$1-postgresql.log patroni=$LOG_DIR/$1-patroni.log
  if [[ -s $pg ]]; then
    printf -- '--- recovery of %s (%s) ---\n' "$1" "$pg" >&2
    grep -E 'FATAL|PANIC|point-in-time recovery|recovery stopping|recovery ended|redo (starts|done)|consistent recovery state|selected new timeline|restored log file|could not|invalid|shut down|ready to accept' "$pg" |
      grep -vE 'is (starting up|shutting down|not yet accepting|not accepting)' | tail -n 30 >&2 || true
  fi
  if [[ -s $patroni ]]; then
    printf -- '--- errors of %s'"'"'s Patroni (%s) ---\n' "$1" "$patroni" >&2
    grep -E 'ERROR|CRITICAL|WARNING|bootstrap' "$patroni" | tail -n 15 >&2 || true
  fi
}

cmd_restore() {
  parse_restore_args "$@"
  local target=$RESTORE_TARGET target_epoch=$RESTORE_TARGET_EPOCH yes=$RESTORE_YES
  [[ -x $RUNNER_PGBR ]] || die "no pgBackRest configuration in $RUN_DIR (run 'scripts/stack up' first)"
  [[ -n $EXTERNAL_ETCD ]] || (( $(etcd_healthy_count) >= 2 )) || die "etcd has no quorum; start it first (scripts/stack start-etcd)"
  if [[ -t 0 ]] && (( ! yes )); then
    local answer
    read -r -p "This deletes every node's data and rebuilds the cluster from the repository. Type the scope ($SCOPE) to go on: " answer
    [[ $answer == "$SCOPE" ]] || die "not confirmed; nothing changed"
  fi
  take_lock
  local t0 range lo hi newest leader=""
  t0=$(now_us)
  # Whatever the leader still has goes to the repository first: `check` switches to a new
  # WAL segment and waits until it is archived.
  if leader=$(current_leader); then
    say "archiving the leader's current WAL (pgbackrest check) ..."
    pgbr --archive-timeout=30 check >/dev/null 2>&1 || warn "pgbackrest check failed: the newest WAL may be missing from the archive"
    say "  leader's WAL archived after $(since "$t0") s"
  fi
  range=$(restorable_range) || die "no backup in the repository $BACKUP_REPO: nothing to restore from (scripts/stack backup full)"
  read -r lo hi newest <<<"$range"
  restore_target_in_range "$lo" "$hi"
  if [[ -n $target ]]; then
    say "restoring the cluster to $target (archive covers $(restore_utc "$lo") .. $(restore_utc "$hi"))"
  else
    say "restoring the cluster to the end of the WAL archive ($(restore_utc "$hi"))"
  fi

  # 1. Every node down, the DCS forgotten, every data directory emptied: otherwise Patroni
  # adopts the old data or a node refuses the restored system id.
  if [[ -n $target ]]; then
    # Their data is discarded and every WAL record up to the target is archived (the check
    # above): no need for a clean shutdown.
    kill_nodes_now
  else
    # A clean shutdown archives the leader's last WAL: --latest wants all of it.
    stop_nodes "${NODES[@]}"
  fi
  say "  nodes stopped after $(since "$t0") s"
  wipe_dcs "$leader"
  # Renamed, not deleted: deleting gigabytes takes seconds the restore does not need to wait
  # for; they go once the cluster is back.
  local n
  for n in "${NODES[@]}"; do
    rm -rf -- "${RUN_DIR:?}/$n/data.discarded"
    [[ ! -e $RUN_DIR/$n/data ]] || mv -- "$RUN_DIR/$n/data" "$RUN_DIR/$n/data.discarded"
    rm -rf -- "$RUN_DIR/$n/pgbackrest/spool"
    mkdir -p "$RUN_DIR/$n/pgbackrest/spool"
    (( EUID != 0 )) || chown postgres:postgres "$RUN_DIR/$n/pgbackrest/spool"
  done
  say "  nodes stopped, DCS wiped, data directories moved aside after $(since "$t0") s"

  # 2. pg1 bootstraps the new cluster from the repository (pgBackRest restore, recovery to
  # the target, promotion); the others wait until it leads.
  local cmd
  cmd="$(node_pgbr pg1) --delta"
  if [[ -n $target ]]; then
    cmd+=" --type=time '--target=$target' --target-action=promote restore"
  else
    cmd+=" --type=default restore"
  fi
  cp -p "$RUN_DIR/pg1/patroni.yml" "$RUN_DIR/pg1/patroni.yml.normal"
  write_pitr_config "$cmd"
  start_patroni pg1
  # Under load the exec can take longer than launch() waits; until then the child's command
  # line is ours and is_running would call it dead.
  wait_until 10 is_running pg1 || { log_tail pg1; die "pg1's Patroni did not start"; }
  # shellcheck disable=SC2317
  restored() {
    is_running pg1 || { mv -f "$RUN_DIR/pg1/patroni.yml.normal" "$RUN_DIR/pg1/patroni.yml"; log_tail pg1; recovery_story pg1
                        die "pg1's Patroni gave up bootstrapping from the repository (its log and PostgreSQL's recovery above)"; }
    current_leader >/dev/null && write_port_ok
  }
  if ! wait_until "$RESTORE_TIMEOUT" restored; then
    mv -f "$RUN_DIR/pg1/patroni.yml.normal" "$RUN_DIR/pg1/patroni.yml"
    log_tail pg1
    recovery_story pg1
    die "pg1 did not come up as leader within ${RESTORE_TIMEOUT}s (LYCEUM_RESTORE_TIMEOUT)"
  fi
  # The method only matters for a bootstrap; the normal config is back for the next start.
  mv -f "$RUN_DIR/pg1/patroni.yml.normal" "$RUN_DIR/pg1/patroni.yml"
  local t_write
  t_write=$(since "$t0")
  say "  pg1 restored, recovered and promoted: the write port accepts writes after $t_write s"

  # 3. The replicas are restored from the newest backup. One that ended after the target
  # lies on the old timeline beyond the branch point and cannot follow the new one: then
  # the new timeline is backed up first (from the primary: no standby exists yet).
  if [[ -n $target ]] && awk -v t="$target_epoch" -v n="$newest" 'BEGIN { exit !(n > t) }'; then
    local t1
    t1=$(now_us)
    pgbr --no-backup-standby --type=incr backup >/dev/null 2>&1 ||
      warn "backup of the restored cluster failed; replicas may fall back to pg_basebackup"
    say "  a backup ended after the target: the new timeline backed up in $(since "$t1") s"
  fi

  # 4. The replicas, restored from that backup (or cloned when that fails).
  start_patroni pg2
  start_patroni pg3
  # shellcheck disable=SC2317
  replicas_back() { [[ $(streaming_count) == 2 ]] && haproxy_in_step; }
  wait_until "$RESTORE_TIMEOUT" replicas_back ||
    { log_tail pg2 pg3; die "replicas not streaming within ${RESTORE_TIMEOUT}s after the restore"; }
  say "restore done in $(since "$t0") s: writes accepted after $t_write s, both replicas streaming after $(since "$t0") s"
  rm -rf -- "$RUN_DIR"/pg[123]/data.discarded
}

# ------------------------------------------------------ verify-backup --

# Row counts and the ledger invariants of the restored lyceum database:
# patroni/ledger-invariants.sql (compose's verify-backup runs the same file).
cmd_verify_backup() {
  (( $# == 0 )) || die "verify-backup takes no arguments"
  [[ -x $RUNNER_PGBR ]] || die "no pgBackRest configuration in $RUN_DIR (run 'scripts/stack up' first)"
  local t0 out dir=$BACKUP_DIR/verify
  t0=$(now_us)
  say "pgbackrest verify (checksums of every backup file and WAL segment) ..."
  verify_repository pgbr || die "pgbackrest verify found damaged or missing files in $BACKUP_REPO (above)"
  say "  verify passed after $(since "$t0") s"
  wal_gaps || die "the WAL archive has a gap: point-in-time recovery across it is impossible"
  [[ -z $(ss -ltnH "sport = :$VERIFY_PORT" 2>/dev/null) ]] || die "port $VERIFY_PORT (scratch instance) is in use"

  # A scratch copy of the latest backup on its own port. archive-mode=off: it must never
  # archive its own timeline into the production repository.
  rm -rf -- "$dir"
  mkdir -p "$dir/data" "$dir/sock"
  chmod 700 "$dir/data" "$dir/sock"
  render_pgbr_caller "verify-backup's scratch instance" "$dir/conf.d" "$dir/state" \
    "$LOG_DIR/pgbackrest-verify" "$dir/pgbackrest-lyceum" pgbackrest-node.conf.tmpl NODE=verify \
    PG_PATH="$dir/data" PG_PORT="$VERIFY_PORT" SOCK_DIR="$dir/sock"
  printf 'local all all trust\n' >"$dir/hba.conf"
  : >"$dir/ident.conf"
  (( EUID != 0 )) || chown -R postgres:postgres "$dir"
  # shellcheck disable=SC2317
  verify_cleanup() {
    [[ ! -e $dir/data/postmaster.pid ]] || as_db_user "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf -- "$dir"
  }
  trap verify_cleanup EXIT
  local t1
  t1=$(now_us)
  out=$(as_db_user "$dir/pgbackrest-lyceum" --archive-mode=off --type=immediate --target-action=promote restore 2>&1) ||
    { printf '%s\n' "$out" >&2; die "restore into the scratch instance failed"; }
  say "  latest backup restored into a scratch directory in $(since "$t1") s"
  # The restored postgresql.conf is the source node's (port, sockets, hba file, logging):
  # every one of those is overridden; the max_* values match the cluster's.
  t1=$(now_us)
  as_db_user "$PG_BIN/pg_ctl" -D "$dir/data" -l "$LOG_DIR/verify-postgresql.log" -w -t "$RESTORE_TIMEOUT" \
    -o "-c port=$VERIFY_PORT -c listen_addresses='' -c unix_socket_directories=$dir/sock -c hba_file=$dir/hba.conf -c ident_file=$dir/ident.conf -c archive_mode=off -c logging_collector=off -c hot_standby=off -c shared_buffers=128MB -c max_connections=300 -c max_worker_processes=8 -c max_wal_senders=10 -c max_replication_slots=10" \
    start >/dev/null || { tail -20 "$LOG_DIR/verify-postgresql.log" >&2; die "scratch instance did not start"; }
  local psql=(as_db_user "$PG_BIN/psql" -X -A -t -q -v ON_ERROR_STOP=1 -h "$dir/sock" -p "$VERIFY_PORT" -U postgres)
  # shellcheck disable=SC2317
  promoted() { [[ $("${psql[@]}" -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null) == f ]]; }
  wait_until "$RESTORE_TIMEOUT" promoted || die "scratch instance did not finish recovery"
  say "  scratch instance on port $VERIFY_PORT consistent and open after $(since "$t1") s"

  if [[ $("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'lyceum'") != 1 ]] ||
     [[ $("${psql[@]}" -d lyceum -c "SELECT to_regclass('public.purchases') IS NOT NULL") != t ]]; then
    say "  no lyceum schema in the backup: only the instance was checked"
  else
    ledger_report "$BACKUP_DIR/ledger-invariants.sql" "${psql[@]}" ||
      die "the restored backup breaks the ledger invariants (see above)"
  fi
  verify_cleanup
  trap - EXIT
  say "verify-backup passed in $(since "$t0") s; scratch instance removed"
}

# ------------------------------------------------------------- help --

backup_usage() {
  case $1 in
    backup) say "usage: scripts/stack backup [full|diff|incr]   (default incr)
  pgBackRest backup of the running cluster into the repository ($BACKUP_REPO).
  Files come from a streaming replica (backup-standby) so the leader is not loaded;
  with no replica streaming the backup is taken from the primary, and says so. An
  incr or diff without a full before it becomes a full. Prints the new backup's line." ;;
    backups) say "usage: scripts/stack backups
  The repository's backups (type, start, duration, database size, size in the repo,
  WAL range), its size on disk, and the WAL archive's continuity: exit 1 if a
  segment is missing between the oldest and the newest." ;;
    restore) say "usage: scripts/stack restore --to 'TIMESTAMP' | --latest   [--yes]
  Rebuild the whole cluster from the repository: archive the leader's current WAL
  (if a leader runs), stop every node, delete the cluster from the DCS (patronictl
  remove), move every data directory aside, bootstrap pg1 from the newest backup before
  the target with recovery to TIMESTAMP (or to the end of the archive) and promote,
  back up the new timeline, then restore the replicas. Prints how long it took.
  A time outside the archive's range is refused, naming the range. TIMESTAMP is
  anything date(1) reads; give the zone (e.g. '2026-12-06 12:34:56.5+00').
  Asks for confirmation on a terminal unless --yes." ;;
    verify-backup) say "usage: scripts/stack verify-backup
  pgbackrest verify, the WAL archive's continuity, then the latest backup restored
  into a scratch instance on port $VERIFY_PORT (archive-mode=off), checked with
  row counts and the ledger invariants (every purchase once, seats consistent),
  then removed." ;;
  esac
}

# `help NAME` and `NAME --help` (the dispatcher looks for help_NAME).
help_backup() { backup_usage backup; }
help_backups() { backup_usage backups; }
help_restore() { backup_usage restore; }
help_verify_backup() { backup_usage verify-backup; }
