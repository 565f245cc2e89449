# shellcheck shell=sh
# Shared by the drill agent's actions (kill-leader.sh, partition.sh): the Docker API over the
# mounted socket, Patroni's REST answers, and this compose project's containers and network.
# Sourced; the caller sets `drill` (its name in messages).

sock=${DOCKER_SOCKET:-/var/run/docker.sock}
nodes=${LYCEUM_PATRONI_NODES:-pg1 pg2 pg3}
wait_s=${LYCEUM_KILL_WAIT:-90}

die() { echo "$drill: $*" >&2; exit 1; }
api() { curl -fsS -m 10 --unix-socket "$sock" "$@"; }
api_post() { # api_post PATH JSON
    api -X POST -H 'Content-Type: application/json' -d "$2" "http://docker$1"
}
# Patroni's REST API and etcd speak TLS (the certs service's files in TLS_DIR, default
# /tls): Patroni's answers are read with the CA only, etcd wants a client certificate too.
tls=${TLS_DIR:-/tls}
patroni_curl() { curl -fsS -m 2 --cacert "$tls/ca.crt" "$@"; }
etcd_curl() { curl -fsS -m 2 --cacert "$tls/ca.crt" --cert "$tls/client.crt" --key "$tls/client.key" "$@"; }
# Patroni answers 200 to OPTIONS /primary only on the leader, /sync only on the sync standby.
answers() { patroni_curl -o /dev/null -X OPTIONS "https://$1:8008/$2" 2>/dev/null; }
first_answering() { # first_answering CHECK [NODE-TO-SKIP]
    for n in $nodes; do
        [ "$n" = "${2:-}" ] && continue
        if answers "$n" "$1"; then echo "$n"; return 0; fi
    done
    return 1
}
now() { date +%s.%N; }
elapsed() { echo "$1 $(now)" | awk '{ printf "%.1f", $2 - $1 }'; }
# A wait's end, LYCEUM_KILL_WAIT seconds from now, and whether it is still ahead.
deadline() { echo $(( $(date +%s) + wait_s )); }
before() { [ "$(date +%s)" -lt "$1" ]; }
# A string field of Docker's or etcd's JSON, which is compact: "name":"value".
json_field() { grep -o "\"$1\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }

# The leader, after waiting up to 30 s for a sync standby: in synchronous mode only the sync
# standby may be promoted, so a fault on a leader without one would leave nobody to take over.
leader_with_sync_standby() {
    leader=$(first_answering primary) || die "no node answers as the primary"
    i=0
    until first_answering sync "$leader" >/dev/null; do
        i=$((i + 1))
        [ "$i" -le 30 ] || die "no sync standby after 30 s; not touching $leader"
        sleep 1
    done
    echo "$leader"
}

# This container's compose project, from its own labels.
compose_project() {
    [ -S "$sock" ] || die "no Docker socket at $sock (mount it into this container)"
    self=$(api "http://docker/containers/$(cat /etc/hostname)/json") ||
        die "cannot inspect this container through $sock"
    project=$(printf '%s' "$self" | json_field com.docker.compose.project)
    [ -n "$project" ] || die "this container has no compose project label"
    echo "$project"
}

# The running container of SERVICE in PROJECT.
service_container() { # service_container PROJECT SERVICE
    id=$(api -G "http://docker/containers/json" \
            --data-urlencode "filters={\"label\":[\"com.docker.compose.project=$1\",\"com.docker.compose.service=$2\"]}" |
         json_field Id)
    [ -n "$id" ] || die "no running container for service $2 of project $1"
    echo "$id"
}

# Waits until a node other than OLD answers as the primary; prints "new leader NAME after N s"
# (the load generator reads the name from that line).
wait_new_leader() { # wait_new_leader OLD T0
    until_t=$(deadline)
    until new=$(first_answering primary "$1"); do
        before "$until_t" || die "no new leader within $wait_s s"
        sleep 0.2
    done
    echo "new leader $new after $(elapsed "$2") s"
}
