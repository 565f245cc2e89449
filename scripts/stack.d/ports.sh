# shellcheck shell=bash
# Sourced by scripts/stack.
#
# Ports of every component (all shifted by LYCEUM_PORT_OFFSET), and the check
# that none is taken before a start.

node_index() {
  case $1 in
    pg1|etcd1|exporter-pg1) echo 0 ;; pg2|etcd2|exporter-pg2) echo 1 ;; pg3|etcd3|exporter-pg3) echo 2 ;;
    *) return 1 ;;
  esac
}
pg_port()          { echo $((5433 + $(node_index "$1") + OFFSET)); }
rest_port()        { echo $((8008 + $(node_index "$1") + OFFSET)); }
etcd_client_port() { echo $((23790 + $(node_index "$1") + OFFSET)); }
etcd_peer_port()   { echo $((23800 + $(node_index "$1") + OFFSET)); }
rest_url()         { echo "$(http_scheme)://127.0.0.1:$(rest_port "$1")"; }
# curl with the credentials of Patroni's unsafe endpoints (restapi.authentication in
# patroni/patroni.yml.tmpl), passed as a config file so they stay off the command line; with
# LYCEUM_TLS=1 also the CA and the client certificate (scripts/stack.d/tls.sh).
readonly REST_AUTH=patroni:patroni-rest-dev
rest_curl()        { curl -K <(printf 'user = "%s"\n' "$REST_AUTH") "${CURL_TLS[@]}" "$@"; }
# postgres_exporter of a node (pg1 or exporter-pg1).
pg_exporter_port() { echo $((9187 + $(node_index "$1") + OFFSET)); }

# host:port list Patroni and etcdctl talk to.
etcd_endpoints() {
  if [[ -n $EXTERNAL_ETCD ]]; then echo "$EXTERNAL_ETCD"; return; fi
  local m eps=()
  for m in "${ETCD_MEMBERS[@]}"; do eps+=("127.0.0.1:$(etcd_client_port "$m")"); done
  local IFS=,; echo "${eps[*]}"
}

# "port<TAB>description" for every listener a component needs.
component_ports() {
  case $1 in
    etcd*)   printf '%s\t%s\n' "$(etcd_client_port "$1")" "$1 client port" \
                               "$(etcd_peer_port "$1")" "$1 peer port" ;;
    pg*)     printf '%s\t%s\n' "$(pg_port "$1")" "PostgreSQL $1" \
                               "$(rest_port "$1")" "Patroni REST $1" ;;
    haproxy) printf '%s\t%s\n' "$WRITE_PORT" "HAProxy write port" "$READ_PORT" "HAProxy read port" \
                               "$STATS_PORT" "HAProxy stats port" "$API_PORT" "HAProxy API port" ;;
    redis)   printf '%s\t%s\n' "$REDIS_PORT" "Redis" ;;
    prometheus)     printf '%s\t%s\n' "$PROMETHEUS_PORT" "Prometheus" ;;
    exporter-redis) printf '%s\t%s\n' "$REDIS_EXPORTER_PORT" "redis_exporter" ;;
    exporter-pg*)   printf '%s\t%s\n' "$(pg_exporter_port "$1")" "postgres_exporter ${1#exporter-}" ;;
    exporter-backup) printf '%s\t%s\n' "$BACKUP_EXPORTER_PORT" "pgBackRest exporter" ;;
  esac
}

# Every component this stack runs, in start order.
all_components() {
  echo redis haproxy
  [[ -n $EXTERNAL_ETCD ]] || echo "${ETCD_MEMBERS[@]}"
  echo "${NODES[@]}"
  (( ! MONITORING )) || echo prometheus "${EXPORTERS[@]}"
}

print_ports() {
  local n
  say "  HAProxy write (leader)     127.0.0.1:$WRITE_PORT"
  say "  HAProxy read (replicas)    127.0.0.1:$READ_PORT"
  say "  HAProxy stats, /metrics    http://127.0.0.1:$STATS_PORT/stats  http://127.0.0.1:$STATS_PORT/metrics"
  for n in "${NODES[@]}"; do
    say "  $n PostgreSQL / REST      127.0.0.1:$(pg_port "$n")  $(rest_url "$n")"
  done
  say "  etcd clients               $(etcd_endpoints)"
  say "  Redis                      $(redis_scheme)://127.0.0.1:$REDIS_PORT"
  (( ! TLS )) || say "  TLS on (LYCEUM_TLS=1): CA $TLS_DIR/ca.crt"
  if (( MONITORING )); then
    say "  Prometheus                 http://127.0.0.1:$PROMETHEUS_PORT  (scrapes the backend at 127.0.0.1:$BACKEND_PORT, lyceum-loadtest at 127.0.0.1:$LOADTEST_METRICS_PORT)"
    say "  postgres_exporter pg1..3   $(for n in "${NODES[@]}"; do printf 'http://127.0.0.1:%s  ' "$(pg_exporter_port "$n")"; done)"
    say "  redis_exporter             http://127.0.0.1:$REDIS_EXPORTER_PORT"
    say "  pgBackRest exporter        http://127.0.0.1:$BACKUP_EXPORTER_PORT/metrics"
  fi
  say "  database lyceum, user lyceum/lyceum; run dir $RUN_DIR"
}

check_ports_free() {
  local c port what addr users
  # One `ss` for all ports: port -> "pid N (name)" of its listener.
  local -A holder=()
  while read -r _ _ _ addr _ users; do
    port=${addr##*:}
    if [[ $users =~ \(\(\"([^\"]+)\",pid=([0-9]+) ]]; then
      holder[$port]="pid ${BASH_REMATCH[2]} (${BASH_REMATCH[1]})"
    else
      holder[$port]="another process"
    fi
  done < <(ss -ltnpH 2>/dev/null)
  for c in "$@"; do
    # A postmaster whose Patroni died keeps its port; the new Patroni adopts it.
    if [[ $c == pg* ]] && postmaster_pid "$c" >/dev/null; then continue; fi
    while IFS=$'\t' read -r port what; do
      [[ -z ${holder[$port]:-} ]] ||
        die "port $port ($what) is already in use by ${holder[$port]}; stop it or choose another LYCEUM_PORT_OFFSET"
    done < <(component_ports "$c")
  done
}
