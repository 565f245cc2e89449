#!/bin/sh
# lyceum-kill-leader in the load generator's image: asks the drill agent (agent.sh, compose
# profile `drill`) to kill the leader's container, waits for the answer and prints the
# agent's output, exiting with its status. The load generator holds no Docker socket.
#   lyceum-kill-leader           ask for the drill and wait (LYCEUM_KILL_WAIT + 60 s at most)
#   lyceum-kill-leader --ready   exit 0 when an agent is running (its heartbeat is fresh)
set -eu

dir=${LYCEUM_DRILL_DIR:-/drill}
wait_s=$(( ${LYCEUM_KILL_WAIT:-90} + 60 ))

ready() {
    # The agent touches agent-alive every second while idle; a file older than 10 s is a
    # stopped agent's (the volume outlives it).
    [ -n "$(find "$dir/agent-alive" -newermt "@$(( $(date +%s) - 10 ))" 2>/dev/null)" ]
}
if [ "${1:-}" = --ready ]; then ready; exit; fi
ready || { echo "kill-leader: no drill agent is running (start compose with --profile drill: it holds the Docker socket)" >&2; exit 1; }

name=$dir/$(cat /etc/hostname)-$(date +%s%N)
touch "$name.request"
deadline=$(( $(date +%s) + wait_s ))
until [ -e "$name.rc" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "kill-leader: the drill agent did not answer within $wait_s s" >&2; rm -f "$name.request"; exit 1; }
    sleep 0.2
done
cat "$name.out"
status=$(cat "$name.rc")
rm -f "$name.out" "$name.rc"
exit "$status"
