# shellcheck shell=bash
# Sourced by scripts/stack.
#
# Planned maintenance that clients should not notice: rolling-restart (each
# replica in turn, taken out of HAProxy's read pool first; then a switchover to
# the caught-up sync standby; then the old leader), set (a PostgreSQL parameter
# through Patroni's dynamic configuration, rolled the same way when it needs a
# restart) and upgrade-rehearsal (the same roll, the PostgreSQL packages
# reinstalled before each node restarts).

readonly PG_PACKAGES=(postgresql-15 postgresql-client-15)
# Parameters Patroni sets itself on the command line or per node: a value in
# the DCS would be ignored or would break replication.
readonly PATRONI_OWNED_PARAMS=" listen_addresses port cluster_name hot_standby data_directory config_file
  hba_file ident_file unix_socket_directories synchronous_standby_names primary_conninfo
  primary_slot_name restore_command recovery_target_timeline "
# Bounds of each wait of a roll (seconds).
readonly RESTART_TIMEOUT=90 CATCHUP_TIMEOUT=60 PENDING_TIMEOUT=30

MAINT_T0=0

# One line of the maintenance log, stamped with the seconds since the roll began.
step() { say "[$(printf '%6s' "$(since "$MAINT_T0")") s] $*"; }

# One command on HAProxy's admin socket (level admin); prints its answer.
haproxy_admin() {
  "$PYTHON" - "$RUN_DIR/haproxy/admin.sock" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while chunk := s.recv(65536):
    out += chunk
sys.stdout.write(out.decode())
EOF
}

# Take NODE out of the read port before it goes down: no new connection is
# routed to it (maint also stops its health checks, so it cannot flap back),
# and the sessions already on it are closed now, while the other replica is
# up, rather than by the shutdown. The application's read pool sees a closed
# connection, drops it and retries on the other replica.
drain_reads() {
  local n=$1 out
  out=$(haproxy_admin "set server replicas/$n state maint")$(haproxy_admin "shutdown sessions server replicas/$n")
  [[ -z ${out//[[:space:]]/} ]] || warn "HAProxy admin socket said: $out"
}

# Give NODE back to the read port; HAProxy's checks (rise 2) decide when it is UP.
undrain_reads() { haproxy_admin "set server replicas/$1 state ready" >/dev/null || warn "could not re-enable replicas/$1 in HAProxy"; }

haproxy_server_status() { # BACKEND NODE -> UP, DOWN, MAINT, ...
  http_get "http://127.0.0.1:$STATS_PORT/stats;csv" | awk -F, -v b="$1" -v s="$2" '$1 == b && $2 == s { print $18 }'
}

# NODE replays everything the leader had written when the check began.
caught_up() {
  local n=$1 leader target behind
  leader=$(current_leader) || return 1
  target=$(sql_super "$leader" "SELECT pg_current_wal_lsn()") || return 1
  # shellcheck disable=SC2317
  replayed() {
    behind=$(sql_super "$leader" "SELECT pg_wal_lsn_diff('$target', replay_lsn) FROM pg_stat_replication
                                  WHERE application_name = '$n' AND state = 'streaming'")
    [[ -n $behind ]] && (( ${behind%.*} <= 0 ))
  }
  wait_until "$CATCHUP_TIMEOUT" replayed
}

# `catch-up`: waits until every running replica streams and has replayed what the leader
# had written when it was called: after a bulk load, before anything reads from the replicas
# (a list read from a replica still replaying a seed is cached empty for its TTL).
cmd_catch_up() {
  (( $# == 0 )) || die "catch-up takes no argument (see: scripts/stack help catch-up)"
  local n leader t0
  t0=$(now_us)
  leader=$(current_leader) || die "no leader"
  for n in "${NODES[@]}"; do
    [[ $n == "$leader" ]] && continue
    is_running "$n" || continue
    caught_up "$n" || die "$n did not catch up within ${CATCHUP_TIMEOUT} s"
  done
  say "replicas caught up with the leader after $(since "$t0") s"
}

help_catch_up() {
  say "usage: scripts/stack catch-up
  Waits (up to ${CATCHUP_TIMEOUT} s a node) until every running replica streams and has
  replayed the leader's WAL as it was when called. Fails naming the node that did not."
}

# Reinstalls the PostgreSQL packages in place (same version): the rehearsal of a
# minor upgrade. Debian's maintainer scripts are kept from starting a cluster.
reinstall_postgres() {
  (( EUID == 0 )) || die "--reinstall needs root (apt-get)"
  local policy=/usr/sbin/policy-rc.d own_policy=0 rc=0 before after
  before=$(dpkg-query -W -f='${Package} ${Version}\n' "${PG_PACKAGES[@]}" | tr '\n' ' ')
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, from lyceum scripts/stack upgrade-rehearsal\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
  fi
  # Pinned to the installed version: a bare --reinstall installs the candidate,
  # i.e. a real minor upgrade when the archive has a newer one.
  local pinned
  mapfile -t pinned < <(dpkg-query -W -f='${Package}=${Version}\n' "${PG_PACKAGES[@]}")
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${pinned[@]}" \
    >"$LOG_DIR/reinstall.log" 2>&1 || rc=$?
  (( own_policy )) && rm -f "$policy"
  (( rc == 0 )) || { tail -20 "$LOG_DIR/reinstall.log" >&2; die "apt-get install --reinstall ${pinned[*]} failed (exit $rc; is that version still in the archive?)"; }
  after=$(dpkg-query -W -f='${Package} ${Version}\n' "${PG_PACKAGES[@]}" | tr '\n' ' ')
  [[ $before == "$after" ]] || warn "package versions changed: $before -> $after"
}

# Restarts one replica's PostgreSQL through Patroni (POST /restart), out of the
# read port meanwhile, and waits until it streams and has caught up.
restart_replica() {
  local n=$1 reinstall=$2 t out code
  t=$(now_us)
  drain_reads "$n"
  step "$n: out of the read port (HAProxy maint, sessions closed)"
  if (( reinstall )); then
    reinstall_postgres
    step "$n: reinstalled ${PG_PACKAGES[*]} ($(since "$t") s)"
  fi
  # Patroni refuses a restart while its node is still settling (e.g. just demoted): try
  # again for a few seconds.
  local tries
  for tries in 1 2 3 4 5; do
    out=$(rest_curl -s -m "$RESTART_TIMEOUT" -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' \
      -d '{}' "$(rest_url "$n")/restart") || true
    code=${out##*$'\n'}
    [[ $code == 200 ]] && break
    warn "$n: Patroni refused the restart (try $tries, HTTP ${code:-none}): ${out%$'\n'*}"
    sleep 2
  done
  [[ $code == 200 ]] || { undrain_reads "$n"; die "$n: Patroni refused the restart $tries times"; }
  step "$n: PostgreSQL restarted by Patroni ($(since "$t") s)"
  # shellcheck disable=SC2317
  streaming() { grep -qx "$n" <<<"$(streaming_members)"; }
  wait_until "$RESTART_TIMEOUT" streaming || { undrain_reads "$n"; die "$n is not streaming ${RESTART_TIMEOUT} s after its restart"; }
  caught_up "$n" || { undrain_reads "$n"; die "$n did not catch up with the leader within ${CATCHUP_TIMEOUT} s"; }
  step "$n: streaming and caught up ($(since "$t") s)"
  undrain_reads "$n"
  # shellcheck disable=SC2317
  read_up() { [[ $(haproxy_server_status replicas "$n") == UP ]]; }
  wait_until 30 read_up || die "HAProxy did not put $n back into the read port within 30 s"
  step "$n: back in the read port ($(since "$t") s)"
}

# The whole roll; REINSTALL=1 reinstalls the PostgreSQL packages before each restart.
rolling_restart() {
  local reinstall=$1 leader sync others n
  MAINT_T0=$(now_us)
  leader=$(current_leader) || die "no current leader (is the stack running?)"
  wait_until 30 stack_healthy ||
    die "the stack is not healthy (a node down, no sync standby, or HAProxy not in step): see 'scripts/stack status'"
  sync=$(sync_standby 2>/dev/null || true)
  # The asynchronous replica first: while it restarts, commits still have their
  # sync standby. Then the sync standby: Patroni names the other (already
  # restarted, caught-up) replica instead, commits wait for that a moment.
  mapfile -t others < <(running_replicas | grep -vx "${sync:-none}")
  step "leader $leader, sync standby ${sync:-none}, other replicas: ${others[*]:-none}"
  for n in "${others[@]}" ${sync:+"$sync"}; do
    restart_replica "$n" "$reinstall"
  done
  # Switch over to a caught-up sync standby; cmd_switchover picks the sync standby.
  wait_until 30 sync_standby >/dev/null || die "no sync standby after the replicas' restarts"
  sync=$(sync_standby)
  caught_up "$sync" || die "sync standby $sync is not caught up"
  step "switchover $leader -> $sync ..."
  local switched_at
  switched_at=$(date +%s)
  cmd_switchover >/dev/null
  step "switchover done: the write port serves from $(current_leader)"
  # shellcheck disable=SC2317
  old_streams() { grep -qx "$leader" <<<"$(streaming_members)"; }
  wait_until "$RESTART_TIMEOUT" old_streams ||
    die "old leader $leader is not streaming from the new leader"
  # Patroni's demotion already stopped and started the old leader's PostgreSQL
  # (as a standby, with the current configuration). A second restart is only
  # needed for packages reinstalled first, or when Patroni still wants one.
  # The pending_restart flag Patroni publishes trails that restart by a loop or two.
  # shellcheck disable=SC2317
  old_not_pending() { ! grep -qx "$leader" <<<"$(pending_members)"; }
  if (( ! reinstall )) &&
     (( $(sql_super "$leader" "SELECT extract(epoch FROM pg_postmaster_start_time())::bigint") >= switched_at )) &&
     wait_until 10 old_not_pending; then
    caught_up "$leader" || die "old leader $leader did not catch up within ${CATCHUP_TIMEOUT} s"
    step "$leader: restarted by the demotion, streaming and caught up; no second restart"
  else
    restart_replica "$leader" "$reinstall"
  fi
  wait_until 30 stack_healthy || die "the stack is not healthy after the roll"
  step "rolling restart done: leader $(current_leader), sync standby $(sync_standby), $(streaming_count) streaming"
}

cmd_rolling_restart() {
  local reinstall=0
  while (( $# )); do
    case $1 in
      --reinstall) reinstall=1 ;;
      *) die "rolling-restart: unknown argument $1" ;;
    esac
    shift
  done
  take_lock
  rolling_restart "$reinstall"
}

cmd_upgrade_rehearsal() {
  (( $# == 0 )) || die "upgrade-rehearsal takes no arguments"
  take_lock
  say "upgrade rehearsal: $(dpkg-query -W -f='${Package} ${Version}\n' "${PG_PACKAGES[@]}" | tr '\n' ' ')"
  rolling_restart 1
}

# The members (name pending_restart) as Patroni reports them.
pending_members() {
  local json
  json=$(cluster_json) || return 1
  jq -r '.members[]? | select(.pending_restart == true) | .name' <<<"$json"
}

cmd_set() {
  (( $# == 2 )) || die "usage: scripts/stack set PARAM VALUE"
  local param=${1,,} value=$2 leader row context vartype unit min max enums setting
  [[ $param =~ ^[a-z_][a-z0-9_.]*$ ]] || die "'$1' is not a parameter name"
  take_lock
  leader=$(current_leader) || die "no current leader (is the stack running?)"
  row=$(sql_super "$leader" "SELECT context, vartype, coalesce(unit, ''), coalesce(min_val, ''), coalesce(max_val, ''),
                              coalesce(array_to_string(enumvals, ','), ''), setting
                            FROM pg_settings WHERE name = '$param'") || die "cannot query pg_settings on $leader"
  [[ -n $row ]] || die "unknown parameter '$1' (not in pg_settings)"
  IFS='|' read -r context vartype unit min max enums setting <<<"$row"
  [[ $PATRONI_OWNED_PARAMS != *" $param "* ]] || die "$param is set by Patroni itself (patroni.yml), not through 'set'"
  [[ $context != internal ]] || die "$param cannot be changed (context internal)"
  # PostgreSQL's own parser checks the value: type, unit, range, enum. -C
  # reads the configuration without touching the running server.
  local shown err
  if ! shown=$(as_db_user "$PG_BIN/postgres" -D "$RUN_DIR/$leader/data" -C "$param" -c "$param=$value" 2>&1); then
    err=$(grep -m1 -E 'FATAL|ERROR|invalid' <<<"$shown" || echo "$shown")
    local expect="$vartype"
    [[ -n $unit ]] && expect+=" in units of $unit"
    [[ -n $min ]] && expect+=", $min..$max"
    [[ -n $enums ]] && expect+=", one of $enums"
    die "invalid value '$value' for $param ($expect): $(sed -E 's/^.*(FATAL|ERROR|LOG): +//' <<<"$err")"
  fi
  say "$param: context $context, now $(sql_at "$WRITE_PORT" "SHOW $param" || echo "$setting"), new value $value ($shown)"

  local t0 body
  t0=$(now_us)
  MAINT_T0=$t0
  body=$(jq -cn --arg p "$param" --arg v "$value" '{postgresql: {parameters: {($p): $v}}}')
  rest_curl -sf -m 10 -X PATCH -H 'Content-Type: application/json' -d "$body" "$(rest_url "$leader")/config" >/dev/null ||
    die "PATCH $(rest_url "$leader")/config failed"
  step "PATCH /config: $param = $value"
  if [[ $context == postmaster ]]; then
    # Each Patroni reloads within loop_wait and marks itself pending_restart.
    # shellcheck disable=SC2317
    all_pending() { [[ $(pending_members | grep -c .) == "$(cluster_members | grep -c ' running ')" ]]; }
    wait_until "$PENDING_TIMEOUT" all_pending ||
      die "not every node reports pending_restart within ${PENDING_TIMEOUT} s (pending: $(pending_members | tr '\n' ' '))"
    step "every node is pending_restart; rolling"
    rolling_restart 0
  fi
  # Every node has the value (reload or restart done): pg_settings.setting is in
  # the parameter's base unit, as postgres -C printed it.
  local n
  # shellcheck disable=SC2317
  applied() {
    for n in "${NODES[@]}"; do
      [[ $(sql_super "$n" "SELECT setting FROM pg_settings WHERE name = '$param'") == "$shown" ]] || return 1
    done
    [[ -z $(pending_members) ]]
  }
  wait_until "$PENDING_TIMEOUT" applied || die "$param is not $shown on every node (pending: $(pending_members | tr '\n' ' '))"
  step "$param = $(sql_at "$WRITE_PORT" "SHOW $param") on ${NODES[*]}"
}

# scripts/stack help COMMAND
help_rolling_restart() {
  say "usage: scripts/stack rolling-restart [--reinstall]
  Restart every PostgreSQL without failing clients: each replica in turn
  (the asynchronous one first, then the sync standby) is taken out of
  HAProxy's read port, restarted through Patroni (POST /restart), waited for
  until it streams and has replayed the leader's WAL, and put back; then a
  switchover to the caught-up sync standby; then the old leader is restarted
  the same way as a replica. Prints the time of each step.
  --reinstall: apt-get install --reinstall ${PG_PACKAGES[*]} before each
  restart (same as upgrade-rehearsal)."
}

help_upgrade_rehearsal() {
  say "usage: scripts/stack upgrade-rehearsal
  A minor upgrade's path with the installed version: rolling-restart, with
  ${PG_PACKAGES[*]} reinstalled (apt-get install --reinstall) before each
  node restarts. Needs root and the packages from apt (cache or network)."
}

help_set() {
  say "usage: scripts/stack set PARAM VALUE
  Change a PostgreSQL parameter on every node through Patroni's dynamic
  configuration (PATCH /config). PARAM must exist in pg_settings and VALUE
  must parse (PostgreSQL's own check: postgres -C); parameters Patroni sets
  itself are refused. A parameter that needs a restart (context postmaster,
  Patroni's pending_restart) is rolled like rolling-restart. Waits until
  every node shows the new value."
}
