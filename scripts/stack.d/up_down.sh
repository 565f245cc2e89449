# shellcheck shell=bash
# Sourced by scripts/stack.
#
# `up` and `down`: the whole stack started (or restarted) and waited for,
# stopped, or deleted.

# Components this invocation started (`launch` appends): what a failed `up`
# stops again when something of the stack ran before it.
STARTED=()
UP_IN_PROGRESS=0
UP_FRESH=0   # nothing of this stack ran before this invocation

# EXIT trap during `up`: whatever this invocation started goes away again.
up_cleanup() {
  local rc=$?
  (( UP_IN_PROGRESS )) || return 0
  UP_IN_PROGRESS=0
  trap - INT TERM
  set +e
  if (( rc != 0 )); then
    warn "start failed; stopping what this invocation started"
    if (( UP_FRESH )); then
      stop_everything
    else
      local c nodes=() rest=()
      for c in "${STARTED[@]}"; do
        case $c in pg*) nodes+=("$c") ;; *) rest+=("$c") ;; esac
      done
      (( ${#nodes[@]} )) && stop_nodes "${nodes[@]}"
      (( ${#rest[@]} )) && stop_simple "${rest[@]}"
    fi
  fi
  exit "$rc"
}

check_external_etcd() {
  local ep eps healthy=() bad=()
  IFS=, read -ra eps <<<"$EXTERNAL_ETCD"
  for ep in "${eps[@]}"; do
    [[ $ep =~ ^[^:/]+:[0-9]+$ ]] || die "LYCEUM_ETCD_ENDPOINTS entries must be host:port, got '$ep'"
    if etcd_member_ok "$ep"; then healthy+=("$ep"); else bad+=("$ep"); fi
  done
  (( ${#healthy[@]} )) || die "external etcd unreachable or unhealthy at ${bad[*]} (LYCEUM_ETCD_ENDPOINTS); nothing started"
  (( ${#bad[@]} == 0 )) || warn "external etcd endpoint(s) not healthy: ${bad[*]} (continuing with ${healthy[*]})"
  # A fresh run dir must not join a cluster that an earlier run left in etcd:
  # the nodes would wait forever for a leader whose data is gone.
  if [[ ! -d $RUN_DIR/pg1/data && ! -d $RUN_DIR/pg2/data && ! -d $RUN_DIR/pg3/data ]] &&
     [[ -n $(etcdctl_ get --keys-only "${ETCD_NAMESPACE%/}/$SCOPE/initialize" 2>/dev/null) ]]; then
    die "external etcd already holds cluster state under ${ETCD_NAMESPACE%/}/$SCOPE/ but $RUN_DIR has no data; delete it (etcdctl del --prefix ${ETCD_NAMESPACE%/}/$SCOPE/) or set LYCEUM_ETCD_NAMESPACE"
  fi
}

# LYCEUM_SYNC_MODE only seeds a new cluster's DCS config; when given
# explicitly, also apply it to an existing cluster.
apply_sync_mode() {
  [[ -n ${LYCEUM_SYNC_MODE:-} ]] || return 0
  local leader
  leader=$(current_leader) || return 0
  [[ $(dcs_sync_setting "$leader") != "$SYNC_MODE" ]] || return 0
  set_sync_mode "$SYNC_MODE" | sed 's/^/  /'
}

cmd_up() {
  [[ $# -eq 0 ]] || die "up takes no arguments"
  # Timings are from the start of the command, checks included.
  local t0 missing
  t0=$(now_us)
  missing=$(missing_packages | tr '\n' ' ')
  if [[ -n ${missing// } ]]; then
    cmd_install
    say "install took $(since "$t0") s (not counted in the start time)"
    t0=$(now_us)
  fi
  check_prerequisites
  take_lock

  if stack_healthy; then
    say "Lyceum stack already running and healthy ($RUN_DIR)"
    print_ports
    return 0
  fi

  local c to_start=() was_running=0
  for c in $(all_components); do
    if is_running "$c"; then was_running=1; else to_start+=("$c"); fi
  done
  # Anything left from an earlier run that we have no pidfile for (e.g. a
  # postmaster whose Patroni was killed) would collide with a new start.
  if (( ! was_running )) && [[ -n $(run_dir_pids) ]]; then
    say "stopping leftovers of an earlier run in $RUN_DIR"
    stop_everything
  fi
  check_ports_free "${to_start[@]}"
  [[ -z $EXTERNAL_ETCD ]] || check_external_etcd
  prepare_run_dir

  UP_IN_PROGRESS=1
  (( was_running )) || UP_FRESH=1
  trap up_cleanup EXIT
  trap 'exit 130' INT TERM

  say "starting Lyceum stack in $RUN_DIR (port offset $OFFSET): ${to_start[*]:-nothing to start}"
  local fresh=1
  [[ -d $RUN_DIR/pg1/data || -d $RUN_DIR/pg2/data || -d $RUN_DIR/pg3/data ]] && fresh=0
  # Monitoring starts last, once the database side is up: it must not take
  # CPU from etcd and Patroni while they start (2 cores), and the timings
  # above stay comparable with and without it.
  is_monitoring() { [[ $1 == prometheus || $1 == exporter-* ]]; }
  for c in "${to_start[@]}"; do
    [[ $c == pg* ]] || is_monitoring "$c" || start_component "$c"
  done
  wait_simple redis "Redis 127.0.0.1:$REDIS_PORT" redis_ok
  wait_simple haproxy "HAProxy (stats 127.0.0.1:$STATS_PORT)" stats_ok
  if [[ -z $EXTERNAL_ETCD ]]; then
    wait_etcd
    say "  etcd healthy (3 members) after $(since "$t0") s"
    tls_etcd_auth
  fi
  for c in "${to_start[@]}"; do
    [[ $c != pg* ]] || start_component "$c"
  done
  wait_patroni "$t0"
  apply_sync_mode
  if (( MONITORING )); then
    for c in "${to_start[@]}"; do
      ! is_monitoring "$c" || start_component "$c"
    done
    wait_monitoring
    say "  Prometheus and exporters answer after $(since "$t0") s"
  fi

  UP_IN_PROGRESS=0
  trap - EXIT INT TERM
  backup_after_up
  ensure_statement_stats
  local kind=restart
  (( fresh )) && kind="cold start (fresh data)"
  say "Lyceum stack up in $(since "$t0") s [$kind]: write port after $WRITE_READY s, read port after $READ_READY s"
  print_ports
}

cmd_down() {
  local purge=0
  while (( $# )); do
    case $1 in
      --purge) purge=1 ;;
      *) die "down: unknown argument $1" ;;
    esac
    shift
  done
  if [[ ! -d $RUN_DIR ]]; then
    say "nothing to stop: $RUN_DIR does not exist"
    return 0
  fi
  take_lock
  local t0 rc=0
  t0=$(now_us)
  stop_everything || rc=1
  say "stopped Lyceum stack in $RUN_DIR ($(since "$t0") s)"
  (( rc == 0 )) || die "some processes could not be stopped"
  release_wal_tmpfs
  if (( purge )); then
    if [[ -n $EXTERNAL_ETCD ]]; then
      etcdctl_ del --prefix "${ETCD_NAMESPACE%/}/$SCOPE/" >/dev/null 2>&1 ||
        warn "could not delete ${ETCD_NAMESPACE%/}/$SCOPE/ from external etcd"
    fi
    rm -rf -- "$RUN_DIR"
    say "deleted $RUN_DIR"
  else
    say "data kept; 'scripts/stack up' restarts it, 'scripts/stack down --purge' deletes it"
  fi
}

# scripts/stack help COMMAND
help_up() {
  say "usage: scripts/stack up
  Install if needed, start etcd x3, Patroni/PostgreSQL x3, HAProxy and Redis
  under the run dir, wait until healthy (leader, 2 streaming replicas, write
  port on the leader, read port on a replica, Redis PING), then Prometheus
  and the exporters (unless LYCEUM_MONITORING=off); print timings and
  ports. Harmless on a running stack; restarts a stopped one with its data.
  Fails fast, and stops what it started, if a port is taken or a component
  does not come up."
}

help_down() {
  say "usage: scripts/stack down [--purge]
  Stop everything (Patroni first, replicas before the leader; then HAProxy,
  Redis, Prometheus and the exporters; etcd last), SIGKILL after a timeout,
  then kill any process still naming the run dir. Data is kept unless --purge (same as 'destroy')."
}

help_destroy() {
  say "usage: scripts/stack destroy   (= down --purge)"
}

cmd_destroy() { cmd_down --purge "$@"; }
