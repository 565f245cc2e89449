#!/bin/sh
# The drill agent (compose profile `drill`): the one container that holds the Docker socket,
# so the load generator does not. It listens on no port: the load generator asks for the
# failover drill by creating NAME.request in the shared volume /drill (request.sh), and only
# containers that mount that volume can. For each request the agent runs kill-leader.sh and
# writes its output to NAME.out and its exit status to NAME.rc. While idle it touches
# /drill/agent-alive every second, which is its health check and tells the load generator
# that a drill can be asked for.
set -eu

dir=${LYCEUM_DRILL_DIR:-/drill}
mkdir -p "$dir"
rm -f "$dir"/*.request "$dir"/*.out "$dir"/*.rc
echo "drill agent: waiting for requests in $dir (Docker socket ${DOCKER_SOCKET:-/var/run/docker.sock})"
trap 'rm -f "$dir/agent-alive"; exit 0' INT TERM
while :; do
    touch "$dir/agent-alive"
    for request in "$dir"/*.request; do
        [ -e "$request" ] || continue
        name=${request%.request}
        echo "drill agent: $(basename "$name"): killing the leader"
        status=0
        lyceum-kill-leader-now >"$name.out" 2>&1 || status=$?
        sed 's/^/drill agent:   /' "$name.out"
        echo "$status" >"$name.rc.tmp" && mv "$name.rc.tmp" "$name.rc"
        rm -f "$request"
    done
    sleep 1 &
    wait $!
done
