# shellcheck shell=bash
# Sourced by scripts/stack.
#
# Starting and stopping each kind of component (etcd, Patroni, HAProxy,
# Redis, Prometheus, exporters) in the right order.

start_redis() {
  launch redis "$LOG_DIR/redis.log" /usr/bin/redis-server "$RUN_DIR/redis/redis.conf"
}

start_haproxy() {
  # -db: stay in the foreground (we track the pid ourselves); server state
  # changes go to stderr, i.e. the log file.
  launch haproxy "$LOG_DIR/haproxy.log" /usr/sbin/haproxy -db -f "$RUN_DIR/haproxy/haproxy.cfg"
}

start_etcd() {
  local m=$1 peers=() x
  local scheme tls_flags=()
  scheme=$(http_scheme)
  mapfile -t tls_flags < <(etcd_tls_flags "$m")
  for x in "${ETCD_MEMBERS[@]}"; do peers+=("$x=$scheme://127.0.0.1:$(etcd_peer_port "$x")"); done
  local IFS=,
  # Heartbeat 200 ms / election 2 s instead of 100 ms / 1 s: on a loaded
  # 2-core box the defaults cause spurious etcd leader elections, and every
  # etcd hiccup is a Patroni retry. The initial-* flags only matter on the
  # first start; afterwards the data dir wins.
  launch "$m" "$LOG_DIR/$m.log" /usr/bin/etcd \
    --name "$m" --data-dir "$RUN_DIR/$m" \
    --listen-client-urls "$scheme://127.0.0.1:$(etcd_client_port "$m")" \
    --advertise-client-urls "$scheme://127.0.0.1:$(etcd_client_port "$m")" \
    --listen-peer-urls "$scheme://127.0.0.1:$(etcd_peer_port "$m")" \
    --initial-advertise-peer-urls "$scheme://127.0.0.1:$(etcd_peer_port "$m")" \
    "${tls_flags[@]}" \
    --initial-cluster "${peers[*]}" --initial-cluster-state new \
    --initial-cluster-token "lyceum-$OFFSET" \
    --heartbeat-interval 200 --election-timeout 2000 \
    --auto-compaction-retention 1 --quota-backend-bytes 1073741824 \
    --logger zap --log-outputs stderr
}

start_patroni() {
  local n=$1 as_user=()
  (( EUID != 0 )) || as_user=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  # env -i: a clean environment (no pyenv PYTHONPATH, no PG* variables).
  launch "$n" "$LOG_DIR/$n-patroni.log" "${as_user[@]}" env -i PATH=/usr/bin:/bin \
    LANG=C.UTF-8 LC_ALL=C.UTF-8 HOME="$RUN_DIR/$n" \
    "$PYTHON" /usr/bin/patroni "$RUN_DIR/$n/patroni.yml"
}

# Prometheus keeps its TSDB in the run dir; lifecycle API on for
# `curl -X POST .../-/reload` after editing the rendered rules.
start_prometheus() {
  launch prometheus "$LOG_DIR/prometheus.log" /usr/bin/prometheus \
    --config.file="$RUN_DIR/prometheus/prometheus.yml" \
    --storage.tsdb.path="$RUN_DIR/prometheus/data" --storage.tsdb.retention.time=7d \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --web.enable-lifecycle
}

# One postgres_exporter per node, straight to its PostgreSQL as the
# superuser (development credentials, loopback only; pg_monitor would do).
# The DSN goes through the environment so the password is not on the command
# line; --extend.query-path names the run dir there (see owned_pid).
start_pg_exporter() {
  local n=${1#exporter-}
  launch "$1" "$LOG_DIR/$1.log" env \
    DATA_SOURCE_NAME="postgresql://postgres:postgres-dev@127.0.0.1:$(pg_port "$n")/postgres?$(pg_exporter_ssl)&connect_timeout=2" \
    /usr/bin/prometheus-postgres-exporter --web.listen-address="127.0.0.1:$(pg_exporter_port "$n")" \
    --disable-settings-metrics --extend.query-path="$RUN_DIR/exporters/postgres-queries.yaml" \
    --log.level=warn
}

# pg_stat_statements' view in the postgres database, where the exporters read the top
# statements: post_bootstrap.sh makes it in a new cluster, this in one bootstrapped before.
# (Its numbers come once the library is loaded, at each node's next restart.)
ensure_statement_stats() {
  local leader
  leader=$(current_leader 2>/dev/null) || return 0
  sql_super "$leader" "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null ||
    warn "could not create the pg_stat_statements extension on $leader; the top-statements panel stays empty"
}

start_redis_exporter() {
  local tls=()
  (( ! TLS )) || tls=(-redis.user "$REDIS_EXPORTER_USER" -tls-ca-cert-file "$TLS_DIR/ca.crt")
  launch exporter-redis "$LOG_DIR/exporter-redis.log" /usr/bin/prometheus-redis-exporter \
    -redis.addr "$(redis_scheme)://127.0.0.1:$REDIS_PORT" -redis.password-file "$RUN_DIR/exporters/redis-passwords.json" \
    "${tls[@]}" \
    -web.listen-address "127.0.0.1:$REDIS_EXPORTER_PORT" -connection-timeout 1s
}

start_component() {
  case $1 in
    prometheus) start_prometheus ;;
    exporter-redis) start_redis_exporter ;;
    exporter-pg*) start_pg_exporter "$1" ;;
    exporter-backup) start_backup_exporter ;;
    redis) start_redis ;;
    haproxy) start_haproxy ;;
    etcd*) start_etcd "$1" ;;
    pg*) start_patroni "$1" ;;
  esac
}

# Stop one Patroni node gracefully: SIGTERM makes Patroni shut PostgreSQL
# down (fast mode) and release the leader key before exiting.
stop_node_processes() {
  local n=$1 pid pm kids
  if pid=$(component_pid "$n"); then
    terminate TERM "$PATRONI_STOP_TIMEOUT" "$pid"
  fi
  # A postmaster can outlive its Patroni (Patroni killed, or a timeout).
  if pm=$(postmaster_pid "$n"); then
    kids=$(children_of "$pm")
    terminate INT "$STOP_TIMEOUT" "$pm"          # SIGINT = fast shutdown
    # shellcheck disable=SC2086  # a list of pids
    [[ -z $kids ]] || kill -KILL $kids 2>/dev/null || true
  fi
  rm -f "$(pidfile "$n")"
}

# Stops nodes in parallel, replicas first: stopping the leader while its
# replicas still run would make one of them take over (a needless new
# timeline and a pg_rewind on the next start).
stop_nodes() {
  local leader n pids=()
  leader=$(current_leader 2>/dev/null || true)
  for n in "$@"; do
    [[ $n == "$leader" ]] && continue
    stop_node_processes "$n" &
    pids+=($!)
  done
  (( ${#pids[@]} == 0 )) || wait "${pids[@]}" || true
  for n in "$@"; do
    [[ $n == "$leader" ]] && stop_node_processes "$n"
  done
  return 0
}

stop_simple() {
  local name pid pids=()
  for name in "$@"; do
    pid=$(component_pid "$name") && pids+=("$pid")
  done
  terminate TERM "$STOP_TIMEOUT" "${pids[@]}"
  for name in "$@"; do rm -f "$(pidfile "$name")"; done
}

# Stops etcd members one at a time, the raft leader first. A leader that is
# told to stop tries to hand leadership over and, when its followers are
# already going away, waits seconds for that; a leader with live followers
# hands over in milliseconds, and a member without a leader stops at once.
stop_etcd() {
  local m running leader tries
  for tries in 1 2 3 4; do
    running=() leader=""
    for m in "${ETCD_MEMBERS[@]}"; do
      is_running "$m" || continue
      running+=("$m")
      http_get "$(http_scheme)://127.0.0.1:$(etcd_client_port "$m")/metrics" 1 | grep -q '^etcd_server_is_leader 1' &&
        leader=$m
    done
    (( ${#running[@]} )) || break
    if (( tries == 4 )); then stop_simple "${running[@]}"; else stop_simple "${leader:-${running[0]}}"; fi
  done
  rm -f "$PID_DIR"/etcd*.pid
}

# Stops everything in dependency order, then kills anything still carrying
# the run directory in its command line (e.g. from a crashed earlier run).
stop_everything() {
  stop_nodes "${NODES[@]}"
  stop_simple haproxy redis prometheus "${EXPORTERS[@]}"
  stop_etcd
  local left
  left=$(run_dir_pids | tr '\n' ' ')
  if [[ -n ${left// } ]]; then
    warn "sweeping leftover processes: $left"
    # shellcheck disable=SC2086
    terminate TERM 5 $left
  fi
  left=$(run_dir_pids | tr '\n' ' ')
  [[ -z ${left// } ]] || { warn "processes still running: $left"; return 1; }
  rm -f "$PID_DIR"/*.pid
}
