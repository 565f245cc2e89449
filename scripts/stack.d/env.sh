# shellcheck shell=bash
# Sourced by scripts/stack.
#
# `env` (export lines for the application) and `logs`.

# export NAME=VALUE, single-quoting VALUE unless it is plainly safe for eval.
export_line() {
  local value=$2
  if [[ ! $value =~ ^[A-Za-z0-9_./:,@+=-]*$ ]]; then
    value="'${value//\'/\'\\\'\'}'"
  fi
  printf 'export %s=%s\n' "$1" "$value"
}

cmd_env() {
  is_running haproxy || warn "the stack in $RUN_DIR is not running; printing its settings anyway"
  local urls n
  urls=$(for n in "${NODES[@]}"; do rest_url "$n"; done | paste -sd, -)
  export_line LYCEUM_DB__HOST 127.0.0.1
  export_line LYCEUM_DB__WRITE_PORT "$WRITE_PORT"
  export_line LYCEUM_DB__READ_PORT "$READ_PORT"
  export_line LYCEUM_DB__USER lyceum
  export_line LYCEUM_DB__PASSWORD lyceum
  export_line LYCEUM_DB__DBNAME lyceum
  export_line LYCEUM_REDIS__URL "$(redis_url)"
  if (( TLS )); then
    # The Rust clients verify PostgreSQL and Redis against the stack's CA (docs/SECURITY.md).
    export_line LYCEUM_DB__TLS_CA_FILE "$TLS_DIR/ca.crt"
    export_line LYCEUM_REDIS__TLS_CA_FILE "$TLS_DIR/ca.crt"
  fi
  export_line LYCEUM_STACK_RUN_DIR "$RUN_DIR"
  export_line LYCEUM_PATRONI_URLS "$urls"
  # HAProxy's API load balancer and the two backend addresses behind it (started by whoever
  # runs them), and its statistics (each server's state and requests served).
  export_line LYCEUM_API_ADDR "127.0.0.1:$API_PORT"
  export_line LYCEUM_API_SERVER_ADDRS "127.0.0.1:$API1_PORT,127.0.0.1:$API2_PORT"
  export_line LYCEUM_HAPROXY_STATS_URL "http://127.0.0.1:$STATS_PORT/stats"
  (( MONITORING )) || return 0
  # Where Prometheus looks for the backend and the load generator; they are
  # not started by this script (LYCEUM_HTTP__BIND / --metrics-addr).
  export_line LYCEUM_PROMETHEUS_URL "http://127.0.0.1:$PROMETHEUS_PORT"
  export_line LYCEUM_BACKEND_ADDR "127.0.0.1:$BACKEND_PORT"
  export_line LYCEUM_LOADTEST_METRICS_ADDR "127.0.0.1:$LOADTEST_METRICS_PORT"
  export_line LYCEUM_POSTGRES_EXPORTER_URLS \
    "$(for n in "${NODES[@]}"; do echo "http://127.0.0.1:$(pg_exporter_port "$n")"; done | paste -sd, -)"
  export_line LYCEUM_REDIS_EXPORTER_URL "http://127.0.0.1:$REDIS_EXPORTER_PORT"
}

cmd_logs() {
  local follow=0 name=""
  while (( $# )); do
    case $1 in -f|--follow) follow=1 ;; *) name=$1 ;; esac
    shift
  done
  [[ -d $LOG_DIR ]] || die "no logs: $LOG_DIR does not exist"
  if [[ -z $name ]]; then
    say "logs in $LOG_DIR (scripts/stack logs NAME [-f]; NAME: etcd1..3, pg1..3, haproxy, redis,"
    say "  prometheus, exporter-pg1..3, exporter-redis):"
    ls -l "$LOG_DIR"
    return 0
  fi
  local files=()
  shopt -s nullglob
  files=("$LOG_DIR/$name"*.log)
  (( ${#files[@]} )) || die "no log matching '$name' in $LOG_DIR"
  if (( follow )); then tail -n 20 -F "${files[@]}"; else tail -n "${LINES_TO_SHOW:-40}" "${files[@]}"; fi
}

# scripts/stack help COMMAND
help_env() {
  say "usage: scripts/stack env
  Print 'export NAME=value' lines for the stack: LYCEUM_DB__HOST,
  LYCEUM_DB__WRITE_PORT, LYCEUM_DB__READ_PORT, LYCEUM_DB__USER,
  LYCEUM_DB__PASSWORD, LYCEUM_DB__DBNAME, LYCEUM_REDIS__URL,
  LYCEUM_STACK_RUN_DIR, LYCEUM_PATRONI_URLS, LYCEUM_API_ADDR (HAProxy's API
  load balancer), LYCEUM_API_SERVER_ADDRS (api1,api2 behind it),
  LYCEUM_HAPROXY_STATS_URL; with monitoring also
  LYCEUM_PROMETHEUS_URL, LYCEUM_BACKEND_ADDR and LYCEUM_LOADTEST_METRICS_ADDR
  (where Prometheus scrapes them), LYCEUM_POSTGRES_EXPORTER_URLS,
  LYCEUM_REDIS_EXPORTER_URL. Use: eval \"\$(scripts/stack env)\""
}

help_logs() {
  say "usage: scripts/stack logs [NAME] [-f]
  Without NAME list the log files; with NAME (etcd1, pg2, haproxy, redis,
  pg1-postgresql, ...) tail the matching logs, -f to follow."
}
