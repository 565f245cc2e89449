# shellcheck shell=bash
# Sourced by scripts/stack.
#
# Node operations: switchover, kill (the machine dies), kill-postgres,
# stop-node, start-node.

# Resolve NODE|leader|replica|sync-standby into a member name. The roles come from Patroni's
# REST API, whose answer can miss its 2 s timeout on a loaded machine (a fault drill in CI once
# failed 'no synchronous standby' on a healthy cluster): ask for up to 10 s before giving up.
resolve_node() {
  case $1 in
    pg1|pg2|pg3) echo "$1" ;;
    leader) wait_until 10 current_leader || die "no current leader (asked for 10 s)" ;;
    replica) wait_until 10 first_live_replica || die "no running replica (asked for 10 s)" ;;
    sync-standby) wait_until 10 sync_standby || die "no synchronous standby (asked for 10 s)" ;;
    *) die "unknown node '$1' (expected pg1, pg2, pg3, leader, replica or sync-standby)" ;;
  esac
}

# Patroni lists a killed member until its key expires (ttl): skip ours that are dead.
first_live_replica() {
  local r
  for r in $(running_replicas); do is_running "$r" && { echo "$r"; return 0; }; done
  return 1
}

write_port_node() {
  local port n
  # psql -A prints "port|f" for a primary.
  port=$(sql_at "$WRITE_PORT" "SELECT inet_server_port(), pg_is_in_recovery()") || return 1
  [[ $port == *'|f' ]] || return 1
  for n in "${NODES[@]}"; do
    [[ ${port%|*} == "$(pg_port "$n")" ]] && { echo "$n"; return 0; }
  done
  return 1
}

# Wait until the write port serves from a leader other than OLD; prints it.
wait_new_writer() {
  local old=$1 timeout=$2 t
  # shellcheck disable=SC2317
  moved() { t=$(write_port_node) && [[ $t != "$old" ]]; }
  wait_until "$timeout" moved || return 1
  echo "$t"
}

cmd_switchover() {
  local to=""
  while (( $# )); do
    case $1 in
      --to) to=${2:-}; [[ -n $to ]] || die "--to needs a node name"; shift ;;
      --to=*) to=${1#--to=} ;;
      *) die "switchover: unknown argument $1" ;;
    esac
    shift
  done
  take_lock
  local leader sync_on candidate sync=""
  leader=$(current_leader) || die "no current leader (is the stack running?)"
  sync_on=$(dcs_sync_mode "$leader") || die "cannot read $(rest_url "$leader")/config"
  if [[ $sync_on == true ]]; then
    # Patroni only lets the synchronous standby take over in synchronous
    # mode. Right after a failover none may be chosen yet: wait briefly.
    wait_until 15 sync_standby >/dev/null || die "synchronous_mode is on but there is no sync standby; cannot switch over"
    sync=$(sync_standby)
  fi
  if [[ -z $to ]]; then
    candidate=${sync:-$(running_replicas | head -n1)}
    [[ -n $candidate ]] || die "no running replica to switch over to"
  else
    candidate=$(resolve_node "$to")
    [[ $candidate != "$leader" ]] || die "$candidate is already the leader"
    grep -qx "$candidate" <<<"$(running_replicas)" || die "$candidate is not a running replica"
  fi

  local restore_sync=""
  if [[ $sync_on == true && $candidate != "$sync" ]]; then
    # Explicit non-sync target: turn synchronous mode off for the duration.
    # The old leader's clean shutdown still ships all its WAL to the
    # candidate, so a planned switchover loses nothing.
    restore_sync=$(dcs_sync_setting "$leader") || die "cannot read $(rest_url "$leader")/config"
    say "$candidate is not the sync standby ($sync); synchronous replication off for this switchover"
    patch_sync_mode "$leader" off || die "could not disable synchronous_mode"
    trap 'restore_sync_mode "$restore_sync"' EXIT
    # The leader must have dropped its sync standby before Patroni accepts.
    wait_until 10 eval '! sync_standby >/dev/null' || true
  fi

  say "switchover $leader -> $candidate ..."
  local t0 out code new
  t0=$(now_us)
  # POST /switchover returns only when the switchover is done: allow 30 s.
  out=$(rest_curl -s -m 30 -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d "{\"leader\": \"$leader\", \"candidate\": \"$candidate\"}" "$(rest_url "$leader")/switchover") || true
  code=${out##*$'\n'}
  [[ $code == 200 ]] || die "switchover refused or failed (HTTP ${code:-none}): ${out%$'\n'*}"
  new=$(wait_new_writer "$leader" 30) || die "write port did not move off $leader within 30 s"
  say "switchover $leader -> $new done: write port serves from $new after $(since "$t0") s"
  [[ $new == "$candidate" ]] || warn "expected $candidate, got $new"
  if [[ -n $restore_sync ]]; then restore_sync_mode "$restore_sync"; trap - EXIT; fi
}

restore_sync_mode() { # MODE: the setting before the switchover
  local leader
  leader=$(current_leader 2>/dev/null) || leader=pg1
  if patch_sync_mode "$leader" "$1"; then
    say "synchronous replication $1 again"
  else
    warn "could not restore synchronous replication: scripts/stack sync-mode $1"
  fi
}

parse_node_and_wait() {  # sets NODE_ARG, WAIT_FLAG and WAIT_TIMEOUT
  NODE_ARG="" WAIT_FLAG=0 WAIT_TIMEOUT=90
  while (( $# )); do
    case $1 in
      --wait) WAIT_FLAG=1 ;;
      --timeout) WAIT_TIMEOUT=${2:-}; shift
                 [[ $WAIT_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "--timeout needs whole seconds > 0" ;;
      -*) die "unknown option $1" ;;
      *) [[ -z $NODE_ARG ]] || die "one node only"; NODE_ARG=$1 ;;
    esac
    shift
  done
  [[ -n $NODE_ARG ]] || die "which node? (pg1, pg2, pg3, leader)"
}

cmd_kill() {
  parse_node_and_wait "$@"
  take_lock
  local n leader pid pm pids=() kids=() desc=()
  leader=$(current_leader 2>/dev/null || true)
  n=$(resolve_node "$NODE_ARG")
  if pid=$(component_pid "$n"); then
    pids+=("$pid"); desc+=("patroni pid $pid")
    mapfile -t -O "${#pids[@]}" pids < <(children_of "$pid")
  fi
  if pm=$(postmaster_pid "$n"); then
    mapfile -t kids < <(children_of "$pm")
    pids+=("$pm" "${kids[@]}")
    desc+=("postmaster pid $pm" "${#kids[@]} postgres children")
  fi
  (( ${#pids[@]} )) || die "$n is not running"
  if [[ $n == "$leader" && $(dcs_sync_mode "$n" 2>/dev/null) == true ]] && ! sync_standby >/dev/null; then
    # Patroni only promotes the recorded sync standby; with none (e.g. right
    # after another failover) it waits for this node to come back.
    warn "synchronous mode and no sync standby yet: Patroni will not fail over until $n returns"
  fi
  # One kill(1) for all of them: the "machine" dies at once, nothing gets
  # a chance to shut down cleanly or hand over.
  kill -KILL "${pids[@]}" 2>/dev/null || true
  rm -f "$(pidfile "$n")"
  local t0 role=replica
  t0=$(now_us)
  [[ $n == "$leader" ]] && role=leader
  say "killed $n ($role): ${desc[*]}"
  if (( WAIT_FLAG )) && [[ $role == leader ]]; then
    local new
    new=$(wait_new_writer "$n" "$WAIT_TIMEOUT") || die "no new leader on the write port within $WAIT_TIMEOUT s"
    say "write port serves from new leader $new after $(since "$t0") s"
  fi
}

cmd_kill_postgres() {
  parse_node_and_wait "$@"
  take_lock
  local n pm t0
  n=$(resolve_node "$NODE_ARG")
  pm=$(postmaster_pid "$n") || die "no running postmaster for $n"
  t0=$(now_us)
  kill -KILL "$pm"
  say "killed postmaster of $n (pid $pm); Patroni will restart it"
  if (( WAIT_FLAG )); then
    # shellcheck disable=SC2317
    restarted() {
      local new
      new=$(postmaster_pid "$n") && [[ $new != "$pm" ]] && [[ $(node_state "$n") == *" running" ]]
    }
    wait_until 90 restarted || die "$n did not come back within 90 s"
    say "$n running again after $(since "$t0") s ($(node_state "$n"))"
    [[ $(node_state "$n") != leader* ]] || {
      wait_until 30 write_port_ok && say "write port answers after $(since "$t0") s"; }
  fi
}

cmd_stop_node() {
  parse_node_and_wait "$@"
  take_lock
  local n t0
  n=$(resolve_node "$NODE_ARG")
  is_running "$n" || postmaster_pid "$n" >/dev/null || die "$n is not running"
  t0=$(now_us)
  stop_node_processes "$n"
  say "stopped $n ($(since "$t0") s)"
}

node_state() { cluster_members | awk -v n="$1" '$1 == n { print $2, $3 }'; }

cmd_start_node() {
  parse_node_and_wait "$@"
  local n
  case $NODE_ARG in pg1|pg2|pg3) n=$NODE_ARG ;; *) die "start-node needs pg1, pg2 or pg3" ;; esac
  take_lock
  is_running "$n" && { say "$n is already running"; return 0; }
  [[ $(etcd_healthy_count) -ge 1 ]] || die "etcd is not running; use 'scripts/stack up'"
  check_prerequisites
  if ! postmaster_pid "$n" >/dev/null; then check_ports_free "$n"; fi
  prepare_run_dir
  local t0 state
  t0=$(now_us)
  start_patroni "$n"
  # shellcheck disable=SC2317
  node_up() {
    is_running "$n" || { warn "$n exited"; log_tail "$n"; exit 1; }
    state=$(node_state "$n")
    # A replica counts once the leader sees it streaming, not merely started.
    [[ $state == "leader running" ]] ||
      { [[ $state == "replica running" || $state == "sync_standby running" ]] &&
        grep -qx "$n" <<<"$(streaming_members)"; }
  }
  wait_until "$NODE_START_TIMEOUT" node_up || {
    warn "$n not running within ${NODE_START_TIMEOUT}s (state: ${state:-unknown})"
    log_tail "$n"; exit 1; }
  say "started $n: ${state% *} after $(since "$t0") s"
}

# scripts/stack help COMMAND
help_switchover() {
  say "usage: scripts/stack switchover [--to NODE]
  Planned switchover through Patroni (POST /switchover). Without --to the
  candidate is the sync standby (or any running replica in async mode). A
  --to that is not the sync standby turns synchronous_mode off for the
  switchover and back on afterwards. Waits until the write port serves from
  the new leader and prints the time taken."
}

help_kill() {
  say "usage: scripts/stack kill NODE|leader|replica|sync-standby [--wait [--timeout S]]
  SIGKILL the node's Patroni, postmaster and all postgres children at once
  (the machine dies). --wait: when it was the leader, wait until the write
  port serves from a new leader (at most S seconds, default 90) and print the
  time."
}

help_kill_postgres() {
  say "usage: scripts/stack kill-postgres NODE|leader [--wait]
  SIGKILL only the postmaster; Patroni restarts PostgreSQL in place."
}

help_stop_node() {
  say "usage: scripts/stack stop-node NODE|leader   graceful stop of one Patroni and its PostgreSQL"
}

help_start_node() {
  say "usage: scripts/stack start-node NODE
  Start a stopped or killed node; it rejoins (pg_rewind if needed). Waits
  until Patroni reports it running."
}
