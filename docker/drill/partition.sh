#!/bin/sh
# The compose stack's partition drill, run by the drill agent (agent.sh, profile `drill`) as
# `lyceum-partition-now ROLE SECONDS`: cut one node off the project's network through the
# Docker API (its processes keep running, as on a machine whose switch port died), hold it
# there, connect it again, and report what the cluster did:
#   leader   the Patroni leader. Waits until it has demoted itself (its own PostgreSQL is
#            read-only or stopped, asked through `docker exec` since nothing else reaches it) and
#            another node leads; after reconnecting, until it streams from the new leader,
#            and says from its log whether Patroni rewound it (pg_rewind) or rebuilt it.
#   replica  the synchronous standby: after reconnecting, until it streams again.
#   etcd     the etcd raft leader: after reconnecting, until it reports healthy again.
# The node stays cut off SECONDS at least (the leader also until both of the above happened).
# Exit 0 when each step happened within LYCEUM_KILL_WAIT seconds (90); on any exit the node
# is connected again.
set -eu
drill=partition
# shellcheck source=docker/drill/common.sh
. /usr/local/lib/lyceum/drill-common.sh

usage="usage: lyceum-partition-now leader|replica|etcd SECONDS"
[ $# = 2 ] || die "$usage"
role=$1 hold=$2
case $hold in '' | *[!0-9]*) die "SECONDS must be a whole number ($usage)" ;; esac

etcd_leader() {
    for m in ${LYCEUM_ETCD_MEMBERS:-etcd1 etcd2 etcd3}; do
        s=$(etcd_curl -X POST -d '{}' "https://$m:2379/v3/maintenance/status" 2>/dev/null) || continue
        [ "$(printf '%s' "$s" | json_field member_id)" = "$(printf '%s' "$s" | json_field leader)" ] &&
            { echo "$m"; return 0; }
    done
    return 1
}

project=$(compose_project)
net=${project}_default
api "http://docker/networks/$net" >/dev/null || die "no network $net"
case $role in
    leader) target=$(leader_with_sync_standby) ;;
    replica) target=$(first_answering sync "$(leader_with_sync_standby)") ;;
    etcd) target=$(etcd_leader) || die "no etcd member says it leads" ;;
    *) die "$usage" ;;
esac
id=$(service_container "$project" "$target")

# Whether the cut-off node's own PostgreSQL takes writes, asked inside its container:
# "primary" (pg_is_in_recovery() is false), "read-only" (true), "stopped" (no server answers
# on its socket: Patroni's offline demotion stops it), or nothing when the exec itself failed.
# Without a TTY the exec's output comes in frames with binary headers: only letters are kept.
write_state() {
    ex=$(api_post "/containers/$id/exec" "{\"User\":\"postgres\",\"AttachStdout\":true,\"AttachStderr\":true,\
\"Cmd\":[\"psql\",\"-h\",\"/var/lib/lyceum/$target/sock\",\"-XAtqc\",\"select pg_is_in_recovery()\"]}") || return 0
    out=$(api_post "/exec/$(printf '%s' "$ex" | json_field Id)/start" '{"Detach":false,"Tty":false}' 2>/dev/null |
          tr -cd '[:alnum:] ') || return 0
    case $out in
        f) echo primary ;;
        t) echo read-only ;;
        *connection*to*server* | *No*such*file* | *starting*up* | *shutting*down*) echo stopped ;;
    esac
}
# Whether the leader of the moment lists the node as streaming (pg_stat_replication).
streams() {
    cur=$(first_answering primary) || return 1
    patroni_curl "https://$cur:8008/patroni" 2>/dev/null | grep -o '{[^{}]*}' |
        grep "\"application_name\": *\"$target\"" | grep -q '"state": *"streaming"'
}
etcd_healthy() { etcd_curl "https://$target:2379/health" 2>/dev/null | grep -q '"health": *"true"'; }

connected=1
reconnect() {
    api_post "/networks/$net/connect" "{\"Container\":\"$id\",\"EndpointConfig\":{\"Aliases\":[\"$target\"]}}" >/dev/null &&
        connected=1
}
trap '[ "$connected" = 1 ] || reconnect || echo "$drill: could not connect $target again: docker network connect --alias $target $net $id" >&2' EXIT

t0=$(now) t0s=$(date +%s)
api_post "/networks/$net/disconnect" "{\"Container\":\"$id\"}" >/dev/null || die "cannot disconnect $target from $net"
connected=0
echo "cut $target ($role; container $(echo "$id" | cut -c1-12)) off network $net"

if [ "$role" = leader ]; then
    until_t=$(deadline) demoted='' new=''
    while [ -z "$demoted" ] || [ -z "$new" ]; do
        before "$until_t" || die "after $wait_s s: old leader stopped taking writes: ${demoted:-no}; another leader: ${new:-none}"
        if [ -z "$demoted" ]; then
            state=$(write_state)
            if [ "$state" = read-only ] || [ "$state" = stopped ]; then
                demoted=$(elapsed "$t0")
                echo "old leader $target $state after $demoted s: it no longer accepts writes"
            fi
        fi
        if [ -z "$new" ] && new=$(first_answering primary "$target"); then
            echo "new leader $new after $(elapsed "$t0") s"
        fi
        sleep 0.5
    done
fi
while [ $(( $(date +%s) - t0s )) -lt "$hold" ]; do sleep 0.5; done
reconnect || die "cannot connect $target to $net again"
echo "connected $target again after $(elapsed "$t0") s"

until_t=$(deadline)
case $role in
    etcd)
        until etcd_healthy; do before "$until_t" || die "$target not healthy $wait_s s after reconnecting"; sleep 0.5; done
        echo "$target healthy again after $(elapsed "$t0") s" ;;
    *)
        until streams; do before "$until_t" || die "$target not streaming $wait_s s after reconnecting"; sleep 0.5; done
        echo "$target streams from $cur again after $(elapsed "$t0") s" ;;
esac
if [ "$role" = leader ]; then
    log=$(api "http://docker/containers/$id/logs?stdout=1&stderr=1&since=$t0s" | tr -c '[:print:]\n' ' ')
    if printf '%s' "$log" | grep -qi 'running pg_rewind'; then how="pg_rewind"
    elif printf '%s' "$log" | grep -qi 'reinitializ\|removing data directory'; then how="reinitialize"
    else how="neither (its timeline needed no rewind)"; fi
    echo "rejoined as a replica by: $how"
    printf '%s\n' "$log" | grep -i 'rewind\|reinit\|timeline\|demot' | tail -6 | sed 's/^/  patroni: /'
fi
