# shellcheck shell=bash
# Sourced by scripts/stack.
#
# Bounded waits of a start: each component in turn, and the database
# milestones timed as they happen. A failure names the component and shows
# its logs.

# Report a failed start with the logs of COMPONENTS and exit (the EXIT
# trap tears down). Usage: fail_component MESSAGE COMPONENT...
fail_component() {
  warn "$1"
  shift
  log_tail "$@"
  exit 1
}

# While waiting, a component whose process has died fails the start at once.
assert_alive() {
  local c
  for c in "$@"; do
    is_running "$c" || fail_component "$c exited during start-up" "$c"
  done
}

etcd_up() {
  assert_alive "${ETCD_MEMBERS[@]}"
  # /health is true only while the member sees a leader.
  [[ $(etcd_healthy_count) == 3 ]] && [[ $(etcdctl_ member list 2>/dev/null | grep -c started) == 3 ]]
}

wait_etcd() {
  wait_until "$ETCD_TIMEOUT" etcd_up && return 0
  local m bad=()
  for m in "${ETCD_MEMBERS[@]}"; do
    etcd_member_ok "127.0.0.1:$(etcd_client_port "$m")" || bad+=("$m")
  done
  fail_component "etcd not healthy within ${ETCD_TIMEOUT}s: unhealthy ${bad[*]:-?} at $(etcd_endpoints)" \
    "${bad[@]:-${ETCD_MEMBERS[@]}}"
}

wait_simple() { # COMPONENT DESCRIPTION CHECK
  local c=$1 what=$2 check=$3
  # shellcheck disable=SC2317
  probe() { assert_alive "$c"; "$check"; }
  wait_until "$SIMPLE_TIMEOUT" probe ||
    fail_component "$what did not come up within ${SIMPLE_TIMEOUT}s" "$c"
}

stats_ok() { http_get "http://127.0.0.1:$STATS_PORT/stats;csv" >/dev/null; }
prometheus_ok() { http_get "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" >/dev/null; }

# Prometheus and the exporters answer (each within SIMPLE_TIMEOUT).
wait_monitoring() {
  local c
  wait_simple prometheus "Prometheus (127.0.0.1:$PROMETHEUS_PORT)" prometheus_ok
  for c in "${EXPORTERS[@]}"; do
    # wait_simple takes a check without arguments: the port goes through a global.
    PROBE_PORT=$(component_ports "$c" | cut -f1)
    wait_simple "$c" "$c (127.0.0.1:$PROBE_PORT)" probe_port_answers
  done
}
# The exporters' landing page: answers without querying the database.
probe_port_answers() { http_get "http://127.0.0.1:$PROBE_PORT/" >/dev/null; }

# Waits for the database side, checking all milestones in one loop so each
# is timed when it really happens: a leader, the write port on it, the read
# port on a replica, and both replicas streaming (plus a chosen sync standby
# in synchronous mode: until then a commit is not protected against losing
# the leader). Each milestone has its own deadline.
wait_patroni() {
  local t0=$1 start now t_leader="" t_write="" t_read="" t_repl="" t_proxy="" need_sync=false leader
  start=$(now_us)
  while :; do
    assert_alive "${NODES[@]}" haproxy
    now=$(now_us)
    if [[ -z $t_leader ]]; then
      if leader=$(current_leader); then
        t_leader=$now
        need_sync=$(dcs_sync_mode "$leader" || echo false)
        say "  leader $leader after $(since "$t0") s"
      elif (( now > start + LEADER_TIMEOUT * 1000000 )); then
        fail_component "no Patroni leader within ${LEADER_TIMEOUT}s (REST $(rest_url pg1) ...; etcd $(etcd_endpoints))" "${NODES[@]}"
      fi
    fi
    if [[ -n $t_leader && -z $t_write ]]; then
      if write_port_ok; then
        t_write=$now WRITE_READY=$(since "$t0")
        say "  write port 127.0.0.1:$WRITE_PORT answers after $WRITE_READY s"
      elif (( now > t_leader + PORT_TIMEOUT * 1000000 )); then
        fail_component "write port 127.0.0.1:$WRITE_PORT does not reach the leader within ${PORT_TIMEOUT}s" \
          haproxy "$(current_leader)"
      fi
    fi
    if [[ -n $t_leader && -z $t_read ]]; then
      if read_port_ok; then
        t_read=$now READ_READY=$(since "$t0")
        say "  read port 127.0.0.1:$READ_PORT reaches a replica after $READ_READY s"
      elif (( now > t_leader + (REPLICA_TIMEOUT + PORT_TIMEOUT) * 1000000 )); then
        fail_component "read port 127.0.0.1:$READ_PORT does not reach a replica within $((REPLICA_TIMEOUT + PORT_TIMEOUT))s" haproxy
      fi
    fi
    if [[ -n $t_leader && -z $t_repl ]]; then
      if [[ $(streaming_count) == 2 ]] && { [[ $need_sync != true ]] || sync_standby >/dev/null; }; then
        t_repl=$now
        if [[ $need_sync == true ]]; then
          say "  2 replicas streaming, sync standby $(sync_standby) after $(since "$t0") s"
        else
          say "  2 replicas streaming (asynchronous) after $(since "$t0") s"
        fi
      elif (( now > t_leader + REPLICA_TIMEOUT * 1000000 )); then
        local n missing=()
        for n in "${NODES[@]}"; do
          [[ $n == "$(current_leader)" ]] || grep -qx "$n" <<<"$(running_replicas)" || missing+=("$n")
        done
        fail_component "replicas not ready within ${REPLICA_TIMEOUT}s ($(streaming_count)/2 streaming, not running: ${missing[*]:-none}, sync standby: $(sync_standby || echo none))" \
          "${missing[@]:-${NODES[@]}}"
      fi
    fi
    if [[ -n $t_repl && -z $t_proxy ]]; then
      if haproxy_in_step; then
        t_proxy=$now
        say "  HAProxy routes to the leader and both replicas after $(since "$t0") s"
      elif (( now > t_repl + PORT_TIMEOUT * 1000000 )); then
        fail_component "HAProxy does not agree with Patroni within ${PORT_TIMEOUT}s (see scripts/stack status)" haproxy
      fi
    fi
    [[ -n $t_write && -n $t_read && -n $t_proxy ]] && return 0
    sleep 0.2
  done
}
