#!/bin/sh
# The compose stack's failover drill, run by the drill agent (agent.sh, profile `drill`) when
# the load generator asks for it: find the Patroni leader, SIGKILL its container through the
# Docker API (the machine dies: Patroni and PostgreSQL at once, nothing hands over), then wait
# until another node answers as the primary. Needs the Docker socket mounted at
# $DOCKER_SOCKET; finds the containers by the compose labels of its own project.
# The killed container stays down (no restart policy); `docker compose start pgN` brings
# it back as a replica.
set -eu

sock=${DOCKER_SOCKET:-/var/run/docker.sock}
nodes=${LYCEUM_PATRONI_NODES:-pg1 pg2 pg3}
wait_s=${LYCEUM_KILL_WAIT:-90}

api() { curl -fsS -m 10 --unix-socket "$sock" "$@"; }
# Patroni answers 200 to OPTIONS /primary only on the leader, /sync only on the sync standby.
answers() { curl -fsS -o /dev/null -m 2 -X OPTIONS "http://$1:8008/$2" 2>/dev/null; }
first_answering() {
    for n in $nodes; do
        [ "$n" = "${2:-}" ] && continue
        if answers "$n" "$1"; then echo "$n"; return 0; fi
    done
    return 1
}
now() { date +%s.%N; }
elapsed() { echo "$1 $(now)" | awk '{ printf "%.1f", $2 - $1 }'; }

[ -S "$sock" ] || { echo "kill-leader: no Docker socket at $sock (mount it into this container)" >&2; exit 1; }
leader=$(first_answering primary) || { echo "kill-leader: no node answers as the primary" >&2; exit 1; }
# In synchronous mode only the sync standby may be promoted: with none, nothing would take over.
i=0
until first_answering sync "$leader" >/dev/null; do
    i=$((i + 1))
    [ "$i" -le 30 ] || { echo "kill-leader: no sync standby after 30 s; not killing $leader" >&2; exit 1; }
    sleep 1
done

self=$(api "http://docker/containers/$(cat /etc/hostname)/json") ||
    { echo "kill-leader: cannot inspect this container through $sock" >&2; exit 1; }
project=$(printf '%s' "$self" | grep -o '"com.docker.compose.project":"[^"]*"' | head -1 | cut -d'"' -f4)
[ -n "$project" ] || { echo "kill-leader: this container has no compose project label" >&2; exit 1; }
id=$(api -G "http://docker/containers/json" \
        --data-urlencode "filters={\"label\":[\"com.docker.compose.project=$project\",\"com.docker.compose.service=$leader\"]}" |
     grep -o '"Id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)
[ -n "$id" ] || { echo "kill-leader: no running container for service $leader of project $project" >&2; exit 1; }

t0=$(now)
api -X POST "http://docker/containers/$id/kill?signal=KILL" >/dev/null
echo "killed $leader (leader; container $(echo "$id" | cut -c1-12) of project $project)"
deadline=$(( $(date +%s) + wait_s ))
until new=$(first_answering primary "$leader"); do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "kill-leader: no new leader within $wait_s s" >&2; exit 1; }
    sleep 0.2
done
echo "new leader $new after $(elapsed "$t0") s"
