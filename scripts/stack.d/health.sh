# shellcheck shell=bash
# Sourced by scripts/stack.
#
# Health probes: Patroni's cluster view (read with jq), the ports, etcd,
# HAProxy's routing, and whether the whole stack is healthy.

# With LYCEUM_TLS=1 every URL is https and curl brings the CA and a client certificate.
http_get() { curl -sf -m "${2:-2}" "${CURL_TLS[@]}" "$1"; }

# /cluster from the first Patroni that answers.
cluster_json() {
  local n
  for n in "${NODES[@]}"; do
    http_get "$(rest_url "$n")/cluster" && return 0
  done
  return 1
}

# One line per member: name role state lag timeline
cluster_members() {
  local json
  json=$(cluster_json) || return 1
  jq -r '.members[]? | [.name, .role, .state,
           (if .role == "leader" then "-" else (.lag // "?") end), (.timeline // "?")]
         | map(tostring) | join(" ")' <<<"$json"
}

current_leader() {
  local members
  members=$(cluster_members) || return 1
  awk '$2 == "leader" && $3 == "running" { print $1; found = 1 } END { exit !found }' <<<"$members"
}

running_replicas() {
  local members
  members=$(cluster_members) || return 1
  awk '($2 == "replica" || $2 == "sync_standby") && $3 == "running" { print $1 }' <<<"$members"
}

sync_standby() {
  local members
  members=$(cluster_members) || return 1
  awk '$2 == "sync_standby" { print $1; found = 1 } END { exit !found }' <<<"$members"
}

# Members the leader sees streaming (pg_stat_replication via REST), one a line.
streaming_members() {
  local leader json
  leader=$(current_leader) || return 0
  json=$(http_get "$(rest_url "$leader")/patroni") || return 0
  jq -r '.replication[]? | select(.state == "streaming") | .application_name' <<<"$json"
}
streaming_count() { streaming_members | grep -c . || true; }

# Runs SQL through PORT as the application user; prints the single value.
sql_at() {
  PGPASSWORD=lyceum PGCONNECT_TIMEOUT=2 timeout 5 "$PG_BIN/psql" -X -A -t -q \
    "host=127.0.0.1 port=$1 user=lyceum dbname=lyceum" -c "$2" 2>/dev/null
}

# SQL as the superuser on one node's own port (pg_stat_replication's LSNs and pg_ls_waldir need it).
# sql_super NODE SQL [DATABASE]: as the superuser, on one node (database postgres by default).
sql_super() {
  PGPASSWORD=postgres-dev PGCONNECT_TIMEOUT=2 timeout 5 "$PG_BIN/psql" -X -A -t -q \
    "host=127.0.0.1 port=$(pg_port "$1") user=postgres dbname=${3:-postgres}" -c "$2" 2>/dev/null
}

write_port_ok() { [[ $(sql_at "$WRITE_PORT" 'SELECT pg_is_in_recovery()') == f ]]; }
read_port_ok()  { [[ $(sql_at "$READ_PORT" 'SELECT pg_is_in_recovery()') == t ]]; }
redis_ok()      { [[ $(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "${REDIS_CLI_TLS[@]}" ping 2>/dev/null) == PONG ]]; }
etcd_member_ok() { [[ $(http_get "$(http_scheme)://$1/health") == *'"health":"true"'* ]]; }

etcd_healthy_count() {
  local ep n=0 eps
  IFS=, read -ra eps <<<"$(etcd_endpoints)"
  for ep in "${eps[@]}"; do etcd_member_ok "$ep" && n=$((n + 1)); done
  echo "$n"
}

etcdctl_() {
  local eps; eps=$(etcd_endpoints)
  (( ! TLS )) || eps=https://${eps//,/,https://}
  # shellcheck disable=SC2046  # no word or one NAME=VALUE word
  env ETCDCTL_API=3 $(etcdctl_auth_env) etcdctl --endpoints="$eps" "${ETCDCTL_TLS[@]}" --dial-timeout=2s --command-timeout=4s "$@"
}

# HAProxy routes as Patroni says: the leader is the only server UP behind the
# write port, and every streaming replica is UP behind the read port. After a
# node (re)starts HAProxy needs `rise` good checks, so Patroni is ready a moment
# before HAProxy is; tests that count replicas need both.
haproxy_in_step() {
  local csv leader want have
  csv=$(http_get "http://127.0.0.1:$STATS_PORT/stats;csv") || return 1
  leader=$(current_leader) || return 1
  [[ $(awk -F, '$1 == "primary" && $2 !~ /^(FRONTEND|BACKEND)$/ && $18 == "UP" { print $2 }' <<<"$csv") == "$leader" ]] || return 1
  want=$(streaming_members | sort | tr '\n' ' ')
  have=$(awk -F, '$1 == "replicas" && $2 !~ /^(FRONTEND|BACKEND)$/ && $18 == "UP" { print $2 }' <<<"$csv" | sort | tr '\n' ' ')
  [[ -n $want && $want == "$have" ]]
}

# The whole stack is up and serving (used to make a second `up` a no-op).
stack_healthy() {
  local c
  for c in $(all_components); do is_running "$c" || return 1; done
  [[ -n $EXTERNAL_ETCD ]] || [[ $(etcd_healthy_count) == 3 ]] || return 1
  current_leader >/dev/null || return 1
  [[ $(streaming_count) == 2 ]] || return 1
  # In synchronous mode only the named sync standby may be promoted: until there is one, a
  # dead leader would not be replaced, so the cluster is not healthy yet.
  if [[ $(dcs_sync_mode "$(current_leader)" 2>/dev/null) == true ]]; then
    sync_standby >/dev/null || return 1
  fi
  write_port_ok && read_port_ok && redis_ok && haproxy_in_step
}

# "true"/"false": synchronous_mode in the cluster's DCS config.
dcs_sync_mode() {
  local json
  json=$(http_get "$(rest_url "$1")/config") || return 1
  jq -r '(.synchronous_mode // false) | tostring | ascii_downcase' <<<"$json"
}
