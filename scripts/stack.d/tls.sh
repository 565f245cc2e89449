# shellcheck shell=bash
# Sourced by scripts/stack.
#
# LYCEUM_TLS=1: TLS and authentication between the stack's components (issue 20,
# docs/SECURITY.md). Off by default, and with it off nothing here changes a byte of the
# stack. On, the configs rendered from patroni/ are amended here (one place, rather than a
# switch in every template):
#   PostgreSQL  ssl on; every TCP line of pg_hba is hostssl + SCRAM, plain TCP is rejected;
#               Patroni's replication and rewind connections verify-full against the CA
#   Patroni     REST API over https; unsafe endpoints need a client certificate AND the
#               password (verify_client optional: HAProxy's checks carry no certificate)
#   HAProxy     health checks over TLS, verifying the node's certificate (SNI localhost)
#   etcd        client and peer TLS; clients must present a certificate of the CA, and a
#               user's password (auth on: root for this script, patroni for its namespace)
#   Redis       TLS only, ACL users, the default user off
# Certificates come from scripts/certs, in LYCEUM_TLS_DIR (default <run dir>/tls).

case ${LYCEUM_TLS:-0} in
  1|on|true) TLS=1 ;;
  0|off|false|'') TLS=0 ;;
  *) echo "stack: LYCEUM_TLS must be 1 (on) or 0 (off)" >&2; exit 2 ;;
esac
readonly TLS
TLS_DIR=${LYCEUM_TLS_DIR:-$RUN_DIR/tls}
[[ $TLS_DIR == /* ]] || TLS_DIR=$PWD/$TLS_DIR
readonly TLS_DIR
# Development credentials of the Redis ACL users (loopback only, like the others).
readonly REDIS_APP_USER=lyceum REDIS_APP_PASSWORD=lyceum-redis-dev
readonly REDIS_EXPORTER_USER=exporter REDIS_EXPORTER_PASSWORD=exporter-redis-dev
# etcd users: root (this script's etcdctl) and patroni (read-write on its namespace only).
readonly ETCD_ROOT_PASSWORD=etcd-root-dev ETCD_PATRONI_PASSWORD=etcd-patroni-dev

# What every client of the stack's scripts adds: the CA to verify servers with, and the
# `client` certificate for etcd (which wants one from everyone) and for Patroni's unsafe
# endpoints. libpq reads PGSSLMODE/PGSSLROOTCERT for every psql this script runs; over the
# nodes' Unix sockets it uses no TLS, so only TCP connections change.
CURL_TLS=() ETCDCTL_TLS=() REDIS_CLI_TLS=()
if (( TLS )); then
  CURL_TLS=(--cacert "$TLS_DIR/ca.crt" --cert "$TLS_DIR/client.crt" --key "$TLS_DIR/client.key")
  ETCDCTL_TLS=(--cacert "$TLS_DIR/ca.crt" --cert "$TLS_DIR/client.crt" --key "$TLS_DIR/client.key")
  REDIS_CLI_TLS=(--tls --cacert "$TLS_DIR/ca.crt" --user "$REDIS_APP_USER" --pass "$REDIS_APP_PASSWORD" --no-auth-warning)
  export PGSSLMODE=verify-full PGSSLROOTCERT=$TLS_DIR/ca.crt
fi
readonly CURL_TLS ETCDCTL_TLS REDIS_CLI_TLS

http_scheme() { if (( TLS )); then echo https; else echo http; fi; }
redis_scheme() { if (( TLS )); then echo rediss; else echo redis; fi; }

# etcd's TLS flags for member $1 (none with TLS off). The same leaf serves clients and
# peers; it carries clientAuth because etcd's gateway presents it to etcd itself.
etcd_tls_flags() {
  (( TLS )) || return 0
  printf '%s\n' --cert-file "$TLS_DIR/$1.crt" --key-file "$TLS_DIR/$1.key" \
    --trusted-ca-file "$TLS_DIR/ca.crt" --client-cert-auth \
    --peer-cert-file "$TLS_DIR/$1.crt" --peer-key-file "$TLS_DIR/$1.key" \
    --peer-trusted-ca-file "$TLS_DIR/ca.crt" --peer-client-cert-auth
}

# The URL a Rust client or a person gets for Redis.
redis_url() {
  if (( TLS )); then
    echo "rediss://$REDIS_APP_USER:$REDIS_APP_PASSWORD@127.0.0.1:$REDIS_PORT/0"
  else
    echo "redis://127.0.0.1:$REDIS_PORT"
  fi
}

# Called at the end of prepare_run_dir: certificates, then the TLS amendments.
tls_render() {
  (( TLS )) || return 0
  [[ -x $REPO_DIR/scripts/certs ]] || die "scripts/certs is missing"
  "$REPO_DIR/scripts/certs" init --dir "$TLS_DIR" | sed 's/^/  tls: /'
  local n
  for n in "${NODES[@]}"; do
    tls_install_node_files "$n"
    tls_patroni_overlay "$n"
  done
  tls_redis
}

# PostgreSQL refuses a key another user can read, and Patroni runs as postgres: each node
# gets its own copy of its leaf and the CA, owned by the database user.
tls_install_node_files() {
  local n=$1 dir=$RUN_DIR/$1/tls
  mkdir -p "$dir"
  install -m 644 "$TLS_DIR/ca.crt" "$dir/ca.crt"
  install -m 644 "$TLS_DIR/$n.crt" "$dir/node.crt"
  install -m 600 "$TLS_DIR/$n.key" "$dir/node.key"
  chmod 700 "$dir"
  (( EUID != 0 )) || chown -R postgres:postgres "$dir"
}

# Merges the TLS settings into pgN's rendered patroni.yml (patroni/tls_overlay.py, shared with
# the compose image; Debian's python3-yaml, which Patroni itself needs).
tls_patroni_overlay() {
  local n=$1 dir=$RUN_DIR/$1/tls
  "$PYTHON" "$REPO_DIR/patroni/tls_overlay.py" "$RUN_DIR/$n/patroni.yml" \
    --ca "$dir/ca.crt" --cert "$dir/node.crt" --key "$dir/node.key" \
    --etcd-password "$ETCD_PATRONI_PASSWORD" --net 127.0.0.1/32 \
    --rendered-by "scripts/stack from patroni/patroni.yml.tmpl with LYCEUM_TLS=1" ||
    die "could not add TLS to $RUN_DIR/$n/patroni.yml"
}

# HAProxy's health checks go to Patroni's REST API, now https: check-ssl verifying the
# node's certificate. HAProxy checks names against SNI only, never IP SANs, hence localhost.
# Client traffic stays TCP passthrough: TLS runs between the client and PostgreSQL.
# Fills @@CHECK_TLS@@ of patroni/haproxy.cfg.tmpl (empty with TLS off).
haproxy_check_tls() {
  (( ! TLS )) || echo "check-ssl verify required ca-file $TLS_DIR/ca.crt check-sni localhost"
}

# Redis: TLS only, ACL users (patroni/redis-tls.conf.tmpl, shared with the compose image).
tls_redis() {
  local conf=$RUN_DIR/redis/redis.conf
  render "$TEMPLATE_DIR/redis-tls.conf.tmpl" "$conf.tls" REDIS_PORT="$REDIS_PORT" TLS_DIR="$TLS_DIR" \
    APP_USER="$REDIS_APP_USER" APP_PASSWORD="$REDIS_APP_PASSWORD" \
    EXPORTER_USER="$REDIS_EXPORTER_USER" EXPORTER_PASSWORD="$REDIS_EXPORTER_PASSWORD"
  cat "$conf.tls" >>"$conf" && rm -f "$conf.tls"
  chmod 600 "$conf"
}

# Marks a cluster whose etcd has authentication on (it lives in etcd's data, so in the run dir).
etcd_auth_marker() { echo "$RUN_DIR/etcd-auth-enabled"; }

# etcdctl's credentials once authentication is on: root, from the environment (off the
# command line).
etcdctl_auth_env() {
  if (( TLS )) && [[ -z $EXTERNAL_ETCD && -e $(etcd_auth_marker) ]]; then
    echo "ETCDCTL_USER=root:$ETCD_ROOT_PASSWORD"
  fi
}

# Once, on a new etcd cluster before Patroni first starts: users root and patroni, a role that
# may read and write Patroni's namespace only, and authentication on. From then on a client
# needs a certificate of the CA and a user's password.
tls_etcd_auth() {
  (( TLS )) && [[ -z $EXTERNAL_ETCD ]] || return 0
  [[ ! -e $(etcd_auth_marker) ]] || return 0
  {
    etcdctl_ user add "root:$ETCD_ROOT_PASSWORD" &&
      etcdctl_ role add patroni &&
      etcdctl_ role grant-permission patroni --prefix=true readwrite "$ETCD_NAMESPACE" &&
      etcdctl_ user add "patroni:$ETCD_PATRONI_PASSWORD" &&
      etcdctl_ user grant-role patroni patroni &&
      etcdctl_ auth enable
  } >"$LOG_DIR/etcd-auth.log" 2>&1 || { cat "$LOG_DIR/etcd-auth.log" >&2; die "could not turn etcd authentication on"; }
  touch "$(etcd_auth_marker)"
  say "  etcd authentication on (users root, patroni)"
}

# Prometheus' scrapes of Patroni and etcd go over https with the client certificate.
tls_prometheus() {
  (( TLS )) || return 0
  "$PYTHON" - "$RUN_DIR/prometheus/prometheus.yml" "$TLS_DIR" <<'PY' || die "could not add TLS to prometheus.yml"
import sys, yaml
path, d = sys.argv[1], sys.argv[2]
with open(path) as f:
    cfg = yaml.safe_load(f)
for job in cfg.get("scrape_configs", []):
    if job.get("job_name") in ("patroni", "etcd"):
        job["scheme"] = "https"
        job["tls_config"] = {"ca_file": f"{d}/ca.crt", "cert_file": f"{d}/client.crt",
                             "key_file": f"{d}/client.key"}
with open(path, "w") as f:
    yaml.safe_dump(cfg, f, sort_keys=False)
PY
}

# postgres_exporter's DSN options: lib/pq does verify-full itself.
pg_exporter_ssl() {
  if (( TLS )); then echo "sslmode=verify-full&sslrootcert=$TLS_DIR/ca.crt"; else echo "sslmode=disable"; fi
}

# scripts/stack tls-reload: after `scripts/certs rotate`, every component takes the new
# leaves without a restart: PostgreSQL and Patroni on SIGHUP (Patroni swaps its REST
# certificate because the serial changed), etcd per new connection, Redis on CONFIG SET,
# HAProxy's checks on its next start (the CA, which they verify with, is unchanged).
cmd_tls_reload() {
  (( TLS )) || die "TLS is off (LYCEUM_TLS=1 turns it on)"
  local n pid
  for n in "${NODES[@]}"; do
    tls_install_node_files "$n"
    if pid=$(component_pid "$n"); then kill -HUP "$pid"; fi
    if pid=$(postmaster_pid "$n"); then kill -HUP "$pid"; fi
  done
  timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "${REDIS_CLI_TLS[@]}" CONFIG SET \
    tls-cert-file "$TLS_DIR/redis.crt" tls-key-file "$TLS_DIR/redis.key" >/dev/null ||
    warn "Redis did not take the new certificate"
  say "reloaded: PostgreSQL and Patroni (SIGHUP), Redis (CONFIG SET); etcd reads its files per connection"
}

help_tls_reload() {
  say "usage: scripts/stack tls-reload
  With LYCEUM_TLS=1, after 'scripts/certs rotate': copy the new leaves to the nodes and
  make PostgreSQL, Patroni and Redis use them without a restart (etcd re-reads its files
  on each new connection)."
}
