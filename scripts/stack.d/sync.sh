# shellcheck shell=bash
# Sourced by scripts/stack.
#
# Synchronous replication as one setting, off | on | strict, over Patroni's two
# DCS flags; `sync-mode` shows or changes it on a running cluster, and
# `probe-write` shows whether commits go through or wait for a replica.

# true/false: Patroni's FLAG (synchronous_mode or synchronous_mode_strict) for MODE.
sync_flag() { # FLAG MODE
  case $1:$2 in
    synchronous_mode:on | synchronous_mode:strict | synchronous_mode_strict:strict) echo true ;;
    *) echo false ;;
  esac
}

# off | on | strict, from the cluster's DCS configuration (NODE's REST API).
dcs_sync_setting() {
  local json
  json=$(http_get "$(rest_url "$1")/config") || return 1
  jq -r 'def on(f): (f // false) | tostring | ascii_downcase == "true";
         if on(.synchronous_mode) | not then "off" elif on(.synchronous_mode_strict) then "strict" else "on" end' <<<"$json"
}

# PATCHes both flags for MODE through NODE (no wait).
patch_sync_mode() { # NODE MODE
  local body
  body=$(jq -cn --argjson m "$(sync_flag synchronous_mode "$2")" --argjson s "$(sync_flag synchronous_mode_strict "$2")" \
    '{synchronous_mode: $m, synchronous_mode_strict: $s}')
  rest_curl -sf -m 10 -X PATCH -H 'Content-Type: application/json' -d "$body" "$(rest_url "$1")/config" >/dev/null
}

# synchronous_standby_names as the leader has it now ('' when commits wait for nobody).
leader_standby_names() {
  local leader
  leader=$(current_leader) || return 1
  sql_super "$leader" "SHOW synchronous_standby_names"
}

# Sets MODE and waits until the leader applies it: a sync standby named (on,
# strict; when a replica streams) or none left (off).
set_sync_mode() {
  local mode=$1 leader t0
  leader=$(current_leader) || die "no current leader (is the stack running?)"
  t0=$(now_us)
  patch_sync_mode "$leader" "$mode" || die "PATCH $(rest_url "$leader")/config failed"
  # shellcheck disable=SC2317
  applied() {
    [[ $(dcs_sync_setting "$leader") == "$mode" ]] || return 1
    if [[ $mode == off ]]; then
      ! sync_standby >/dev/null && [[ -z $(leader_standby_names) ]]
    else
      (( $(streaming_count) == 0 )) || sync_standby >/dev/null
    fi
  }
  wait_until 30 applied || die "synchronous replication not $mode within 30 s (sync standby: $(sync_standby || echo none))"
  say "synchronous replication $mode after $(since "$t0") s: sync standby $(sync_standby || echo none), synchronous_standby_names '$(leader_standby_names)'"
}

cmd_sync_mode() {
  (( $# <= 1 )) || die "usage: scripts/stack sync-mode [off|on|strict]"
  local leader
  leader=$(current_leader) || die "no current leader (is the stack running?)"
  if (( $# == 0 )); then
    say "$(dcs_sync_setting "$leader") (sync standby $(sync_standby || echo none))"
    return 0
  fi
  case $1 in off|on|strict) ;; *) die "sync-mode: '$1' is not off, on or strict" ;; esac
  take_lock
  set_sync_mode "$1"
}

# One transaction that writes WAL (a transactional logical message: no table
# needed) through the write port, so its commit waits for the sync standby as
# an application write does. statement_timeout does not cover that wait (it
# is after the statement): a commit still waiting after TIMEOUT is cancelled
# from a second session, and stays committed on the leader only.
cmd_probe_write() {
  local timeout=5 t0 out rc=0
  while (( $# )); do
    case $1 in
      --timeout) timeout=${2:-}; shift ;;
      *) die "probe-write: unknown argument $1" ;;
    esac
    shift
  done
  [[ $timeout =~ ^[0-9]+$ ]] && (( timeout > 0 )) || die "--timeout needs whole seconds > 0"
  t0=$(now_us)
  out=$(PGPASSWORD=lyceum PGCONNECT_TIMEOUT=2 PGAPPNAME=lyceum-probe-write timeout "$timeout" "$PG_BIN/psql" -X -A -t -q \
    "host=127.0.0.1 port=$WRITE_PORT user=lyceum dbname=lyceum" \
    -c "SELECT pg_logical_emit_message(true, 'lyceum-probe-write', now()::text)" 2>&1) || rc=$?
  if (( rc == 124 )); then
    sql_at "$WRITE_PORT" "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity
                          WHERE application_name = 'lyceum-probe-write'" >/dev/null || true
    say "write blocked: the commit still waited for a synchronous standby after ${timeout} s (synchronous_standby_names '$(leader_standby_names)')"
    return 1
  fi
  (( rc == 0 )) || die "probe write failed after $(since "$t0") s: $out"
  say "write committed in $(since "$t0") s (synchronous_standby_names '$(leader_standby_names)')"
}

# scripts/stack help COMMAND
help_sync_mode() {
  say "usage: scripts/stack sync-mode [off|on|strict]
  Without MODE: the cluster's current setting. With MODE: set Patroni's
  synchronous_mode / synchronous_mode_strict (PATCH /config) and wait until
  the leader applies it.
    off     asynchronous: commits wait for no replica; a failover may lose the
            last acknowledged writes
    on      (default) commits wait for the named sync standby; with no replica
            left they go on unreplicated (and a failover then waits for the
            old leader)
    strict  as on, but with no replica left commits block until one returns
  LYCEUM_SYNC_MODE chooses it at 'scripts/stack up' (docs/FAULTS.md: the measured
  trade-off)."
}

help_probe_write() {
  say "usage: scripts/stack probe-write [--timeout S]
  Commit one transaction (a WAL message, no table) through the write port and
  print how long it took. Exit 1 if the commit still waits for a synchronous
  standby after S seconds (default 5; it is then cancelled, committed on the
  leader only): strict synchronous replication with no replica streaming."
}
