# shellcheck shell=bash
# Sourced by scripts/stack.
#
# Faults of the other components: Redis stopped or killed, etcd members
# killed and started, HAProxy restarted.

cmd_stop_redis() {
  take_lock
  is_running redis || { say "redis is not running"; return 0; }
  stop_simple redis
  say "stopped redis"
}

cmd_start_redis() {
  take_lock
  is_running redis && { say "redis is already running"; return 0; }
  check_ports_free redis
  prepare_run_dir
  start_redis
  # shellcheck disable=SC2317
  probe() { is_running redis && redis_ok; }
  wait_until "$SIMPLE_TIMEOUT" probe || { log_tail "$LOG_DIR/redis.log"; die "redis did not start"; }
  say "started redis on 127.0.0.1:$REDIS_PORT"
}

# SIGKILL, not SIGTERM: Redis dies the way a crashed cache host does (no persistence is
# configured, so either way it comes back empty).
cmd_kill_redis() {
  [[ $# -eq 0 ]] || die "kill-redis takes no arguments"
  take_lock
  local pid
  pid=$(component_pid redis) || die "redis is not running"
  kill -KILL "$pid"
  # shellcheck disable=SC2016  # eval expands $pid on each try
  wait_until 5 eval '! owned_pid "$pid"' || die "redis (pid $pid) survived SIGKILL"
  rm -f "$(pidfile redis)"
  say "killed redis (pid $pid); 'scripts/stack start-redis' brings it back (empty)"
}

# etcd1|etcd2|etcd3 (or 1..3), or `leader`: the raft leader at this moment.
resolve_etcd_member() {
  [[ -z $EXTERNAL_ETCD ]] || die "etcd is external (LYCEUM_ETCD_ENDPOINTS); this stack runs no etcd member"
  local m
  case $1 in
    etcd1|etcd2|etcd3) echo "$1" ;;
    1|2|3) echo "etcd$1" ;;
    leader)
      local metrics
      for m in "${ETCD_MEMBERS[@]}"; do
        # Read the whole page first: `grep -q` in a pipe would SIGPIPE curl (pipefail).
        metrics=$(http_get "$(http_scheme)://127.0.0.1:$(etcd_client_port "$m")/metrics") || continue
        [[ $metrics == *$'\netcd_server_is_leader 1'* ]] && { echo "$m"; return 0; }
      done
      die "no etcd member says it is the raft leader" ;;
    *) die "unknown etcd member '$1' (expected etcd1, etcd2, etcd3 or leader)" ;;
  esac
}

cmd_kill_etcd() {
  [[ $# -eq 1 ]] || die "which member? (etcd1, etcd2, etcd3 or leader)"
  take_lock
  local m pid
  m=$(resolve_etcd_member "$1")
  pid=$(component_pid "$m") || die "$m is not running"
  (( $(etcd_healthy_count) == 3 )) ||
    warn "etcd already has a member down: killing $m as well loses quorum (Patroni then demotes the leader)"
  kill -KILL "$pid"
  # shellcheck disable=SC2016  # eval expands $pid on each try
  wait_until 5 eval '! owned_pid "$pid"' || die "$m (pid $pid) survived SIGKILL"
  rm -f "$(pidfile "$m")"
  local t0
  t0=$(now_us)
  say "killed $m (pid $pid)"
  # shellcheck disable=SC2317
  quorum() { (( $(etcd_healthy_count) >= 2 )); }
  # Killing the raft leader costs an election (election timeout 2 s) before /health is true.
  if wait_until "$ETCD_TIMEOUT" quorum; then
    say "the other members have a leader again after $(since "$t0") s: $(etcd_healthy_count)/3 healthy"
  else
    warn "etcd has no healthy quorum ${ETCD_TIMEOUT}s after killing $m: $(etcd_healthy_count)/3 healthy"
  fi
}

# Without a member: every member that is not running. All of them start
# before any is waited for: with two or three members down, one member alone
# has no quorum and never reports healthy.
cmd_start_etcd() {
  (( $# <= 1 )) || die "one member at most (etcd1, etcd2 or etcd3)"
  local m t0 members=() starting=()
  if (( $# )); then
    case $1 in etcd1|etcd2|etcd3|1|2|3) members=("$(resolve_etcd_member "$1")") ;; *) die "start-etcd needs etcd1, etcd2 or etcd3" ;; esac
  else
    resolve_etcd_member etcd1 >/dev/null  # fails with an external etcd
    members=("${ETCD_MEMBERS[@]}")
  fi
  take_lock
  for m in "${members[@]}"; do
    if is_running "$m"; then (( $# == 0 )) || say "$m is already running"; else starting+=("$m"); fi
  done
  (( ${#starting[@]} )) || return 0
  check_prerequisites
  check_ports_free "${starting[@]}"
  prepare_run_dir
  t0=$(now_us)
  for m in "${starting[@]}"; do start_etcd "$m"; done
  # Each member is reported when it first says healthy (it sees a leader,
  # so a quorum exists).
  local -A healthy=()
  # shellcheck disable=SC2317
  members_back() {
    local m all=0
    for m in "${starting[@]}"; do
      [[ -z ${healthy[$m]:-} ]] || continue
      is_running "$m" || { log_tail "$m"; die "$m exited while starting"; }
      if etcd_member_ok "127.0.0.1:$(etcd_client_port "$m")"; then
        healthy[$m]=1
        say "started $m: healthy after $(since "$t0") s; $(etcd_healthy_count)/3 members healthy"
      else
        all=1
      fi
    done
    return "$all"
  }
  if ! wait_until "$ETCD_TIMEOUT" members_back; then
    local bad=()
    for m in "${starting[@]}"; do [[ -n ${healthy[$m]:-} ]] || bad+=("$m"); done
    log_tail "${bad[@]}"
    die "${bad[*]} not healthy within ${ETCD_TIMEOUT}s"
  fi
}

# Stop (SIGTERM: HAProxy closes every connection at once) and start again; waits until the
# write port reaches the leader and HAProxy agrees with Patroni about the replicas.
cmd_restart_haproxy() {
  [[ $# -eq 0 ]] || die "restart-haproxy takes no arguments"
  take_lock
  local t0
  t0=$(now_us)
  if is_running haproxy; then stop_simple haproxy; else warn "haproxy was not running; starting it"; fi
  check_prerequisites
  check_ports_free haproxy
  prepare_run_dir
  start_haproxy
  # shellcheck disable=SC2317
  serving() { is_running haproxy || { log_tail haproxy; die "haproxy exited while starting"; }; write_port_ok; }
  wait_until "$PORT_TIMEOUT" serving || { log_tail haproxy; die "write port 127.0.0.1:$WRITE_PORT does not reach the leader within ${PORT_TIMEOUT}s"; }
  say "restarted haproxy: write port serves again after $(since "$t0") s"
  wait_until "$PORT_TIMEOUT" haproxy_in_step || warn "HAProxy does not yet route to every streaming replica (see scripts/stack status)"
  say "HAProxy routes to the leader and the replicas after $(since "$t0") s"
}

# scripts/stack help COMMAND
help_stop_redis() {
  say "usage: scripts/stack stop-redis | start-redis"
}
help_start_redis() { help_stop_redis; }

help_kill_redis() {
  say "usage: scripts/stack kill-redis
  SIGKILL Redis (a crashed cache host). It has no persistence: 'start-redis'
  brings it back empty."
}

help_kill_etcd() {
  say "usage: scripts/stack kill-etcd etcd1|etcd2|etcd3|leader
  SIGKILL one etcd member ('leader': the raft leader right now). Two of three
  keep quorum, so Patroni goes on; warns when a member was already down."
}

help_start_etcd() {
  say "usage: scripts/stack start-etcd [etcd1|etcd2|etcd3]
  Start a stopped or killed etcd member (without MEMBER: every member that is
  not running, all before waiting, so that two or three lost members regain
  quorum) with its data; it rejoins the cluster. Waits until each reports
  healthy (at most ${ETCD_TIMEOUT} s)."
}

help_restart_haproxy() {
  say "usage: scripts/stack restart-haproxy
  Stop HAProxy (every client connection is cut) and start it again; waits
  until the write port reaches the leader, then until HAProxy routes to every
  streaming replica, and prints both times."
}
