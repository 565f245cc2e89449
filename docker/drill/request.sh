#!/bin/sh
# lyceum-drill (also installed as lyceum-kill-leader) in the load generator's image: asks the
# drill agent (agent.sh, compose profile `drill`) for a drill, waits for the answer and prints
# the agent's output, exiting with its status. The load generator holds no Docker socket.
#   lyceum-drill kill-leader                         kill the leader's container
#   lyceum-drill partition leader|replica|etcd SECS  cut a node off the network for SECS
#   lyceum-kill-leader                               the same as `lyceum-drill kill-leader`
#   lyceum-drill --ready                             exit 0 when an agent is running
# It waits LYCEUM_KILL_WAIT (90) + 60 s at most, plus SECS for a partition.
set -eu

dir=${LYCEUM_DRILL_DIR:-/drill}
wait_s=$(( ${LYCEUM_KILL_WAIT:-90} + 60 ))

ready() {
    # The agent touches agent-alive every second while idle; a file older than 10 s is a
    # stopped agent's (the volume outlives it).
    [ -n "$(find "$dir/agent-alive" -newermt "@$(( $(date +%s) - 10 ))" 2>/dev/null)" ]
}
if [ "${1:-}" = --ready ]; then ready; exit; fi
[ $# -gt 0 ] || set -- kill-leader
case $1 in
    kill-leader) ;;
    partition) case ${3:-} in '' | *[!0-9]*) echo "lyceum-drill: usage: partition leader|replica|etcd SECONDS" >&2; exit 2 ;; esac
               wait_s=$((wait_s + $3)) ;;
    *) echo "lyceum-drill: unknown drill '$1' (kill-leader, partition leader|replica|etcd SECONDS)" >&2; exit 2 ;;
esac
ready || { echo "$1: no drill agent is running (start compose with --profile drill: it holds the Docker socket)" >&2; exit 1; }

name=$dir/$(cat /etc/hostname)-$(date +%s%N)
echo "$*" >"$name.request.tmp" && mv "$name.request.tmp" "$name.request"
deadline=$(( $(date +%s) + wait_s ))
until [ -e "$name.rc" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "$1: the drill agent did not answer within $wait_s s" >&2; rm -f "$name.request"; exit 1; }
    sleep 0.2
done
cat "$name.out"
status=$(cat "$name.rc")
rm -f "$name.out" "$name.rc"
exit "$status"
