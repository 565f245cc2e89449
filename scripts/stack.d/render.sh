# shellcheck shell=bash
# Sourced by scripts/stack.
#
# The run directory: layout, and every config rendered from patroni/ and
# prometheus/ templates.

# Creates the run directory layout and renders every config from patroni/.
prepare_run_dir() {
  mkdir -p "$RUN_DIR" "$LOG_DIR" "$PID_DIR" "$RUN_DIR/haproxy" "$RUN_DIR/redis"
  chmod 755 "$RUN_DIR" "$LOG_DIR"
  # shellcheck disable=SC2016  # $1 is for the inner sh
  if ! as_db_user /bin/sh -c 'cd "$1"' sh "$RUN_DIR" 2>/dev/null; then
    die "the postgres user cannot enter $RUN_DIR (a parent directory is not world-searchable, e.g. a mktemp dir or /root); use LYCEUM_RUN_DIR=/tmp/lyceum-run or chmod o+x the parents"
  fi
  (( EUID == 0 )) && chown postgres:postgres "$LOG_DIR"

  # Peer auth needs the OS user to equal the DB superuser name.
  local local_auth=trust
  (( EUID == 0 )) || [[ $(id -un) == postgres ]] && local_auth=peer

  local n m
  install -m 755 "$TEMPLATE_DIR/post_bootstrap.sh" "$RUN_DIR/post_bootstrap.sh"
  for n in "${NODES[@]}"; do
    mkdir -p "$RUN_DIR/$n/sock"
    # The socket dir is private to the db user, which is what makes local
    # trust acceptable when we cannot use peer.
    chmod 700 "$RUN_DIR/$n" "$RUN_DIR/$n/sock"
    render "$TEMPLATE_DIR/patroni.yml.tmpl" "$RUN_DIR/$n/patroni.yml" \
      NODE="$n" NAMESPACE="$ETCD_NAMESPACE" REST_PORT="$(rest_port "$n")" \
      PG_PORT="$(pg_port "$n")" ETCD_HOSTS="$(etcd_endpoints)" \
      SYNC_MODE="$(sync_flag synchronous_mode "$SYNC_MODE")" SYNC_STRICT="$(sync_flag synchronous_mode_strict "$SYNC_MODE")" \
      RUN_DIR="$RUN_DIR" NODE_DIR="$RUN_DIR/$n" LOCAL_AUTH="$local_auth"
    chmod 600 "$RUN_DIR/$n/patroni.yml"
    (( EUID == 0 )) && chown postgres:postgres "$RUN_DIR/$n" "$RUN_DIR/$n/sock" "$RUN_DIR/$n/patroni.yml"
  done
  local haproxy_vars=(RUN_DIR="$RUN_DIR" WRITE_PORT="$WRITE_PORT" READ_PORT="$READ_PORT"
                      STATS_PORT="$STATS_PORT" READ_MAX_LAG="$READ_MAX_LAG"
                      API_PORT="$API_PORT" API1_PORT="$API1_PORT" API2_PORT="$API2_PORT"
                      CHECK_TLS="$(haproxy_check_tls)")
  for n in "${NODES[@]}"; do
    m=${n^^}
    haproxy_vars+=("${m}_PORT=$(pg_port "$n")" "${m}_REST_PORT=$(rest_port "$n")")
  done
  render "$TEMPLATE_DIR/haproxy.cfg.tmpl" "$RUN_DIR/haproxy/haproxy.cfg" "${haproxy_vars[@]}"
  render "$TEMPLATE_DIR/redis.conf.tmpl" "$RUN_DIR/redis/redis.conf" \
    RUN_DIR="$RUN_DIR" REDIS_PORT="$REDIS_PORT"
  if [[ -z $EXTERNAL_ETCD ]]; then
    for m in "${ETCD_MEMBERS[@]}"; do mkdir -p "$RUN_DIR/$m"; chmod 700 "$RUN_DIR/$m"; done
  fi
  tls_render
  (( ! MONITORING )) || prepare_monitoring
  prepare_backup
}

# Renders Prometheus' config from prometheus/ (rules copied beside it, so the
# run dir is self-contained) and the exporters' small files.
prepare_monitoring() {
  local dir=$RUN_DIR/prometheus targets="" n m ep eps
  mkdir -p "$dir/data" "$RUN_DIR/exporters"
  # Our etcd members by name; an external etcd by its address.
  if [[ -n $EXTERNAL_ETCD ]]; then
    IFS=, read -ra eps <<<"$EXTERNAL_ETCD"
    for ep in "${eps[@]}"; do
      targets+="      - targets: ['$ep']"$'\n'"        labels: {member: '$ep'}"$'\n'
    done
  else
    for m in "${ETCD_MEMBERS[@]}"; do
      targets+="      - targets: ['127.0.0.1:$(etcd_client_port "$m")']"$'\n'"        labels: {member: $m}"$'\n'
    done
  fi
  local vars=(PROMETHEUS_PORT="$PROMETHEUS_PORT" BACKEND_PORT="$BACKEND_PORT"
              LOADTEST_PORT="$LOADTEST_METRICS_PORT" STATS_PORT="$STATS_PORT"
              REDIS_EXPORTER_PORT="$REDIS_EXPORTER_PORT" ETCD_TARGETS="${targets%$'\n'}"
              BACKUP_EXPORTER_PORT="$BACKUP_EXPORTER_PORT")
  for n in "${NODES[@]}"; do
    vars+=("${n^^}_REST_PORT=$(rest_port "$n")" "${n^^}_EXPORTER_PORT=$(pg_exporter_port "$n")")
  done
  render "$PROMETHEUS_DIR/prometheus.local.yml.tmpl" "$dir/prometheus.yml" "${vars[@]}"
  rm -rf "$dir/rules"
  cp -r "$PROMETHEUS_DIR/rules" "$dir/rules"
  install -m 644 "$PROMETHEUS_DIR/postgres-exporter-queries.yaml" "$RUN_DIR/exporters/postgres-queries.yaml"
  # redis_exporter reads a password per address from this file (Redis has
  # none here); passing it also puts the run dir on the exporter's command
  # line, which is how this script recognises its processes.
  if (( TLS )); then
    printf '{"rediss://127.0.0.1:%s": "%s"}\n' "$REDIS_PORT" "$REDIS_EXPORTER_PASSWORD" >"$RUN_DIR/exporters/redis-passwords.json"
    chmod 600 "$RUN_DIR/exporters/redis-passwords.json"
  else
    printf '{"redis://127.0.0.1:%s": ""}\n' "$REDIS_PORT" >"$RUN_DIR/exporters/redis-passwords.json"
  fi
  tls_prometheus
}

# render TEMPLATE OUT KEY=VALUE...: replaces @@KEY@@ with VALUE.
render() {
  local tmpl=$1 out=$2 text kv; shift 2
  text=$(<"$tmpl")
  for kv in "$@"; do
    text=${text//"@@${kv%%=*}@@"/"${kv#*=}"}
  done
  [[ $text != *@@[A-Z]*@@* ]] || die "unrendered placeholder left in $out"
  printf '%s\n' "$text" >"$out.tmp"
  mv -f "$out.tmp" "$out"
}
