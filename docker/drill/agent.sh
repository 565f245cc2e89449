#!/bin/sh
# The drill agent (compose profile `drill`): the one container that holds the Docker socket,
# so the load generator does not. It listens on no port: the load generator asks for a drill
# by creating NAME.request in the shared volume /drill (request.sh), and only containers that
# mount that volume can. The request's one line names the drill, and only these are run:
#   kill-leader                           kill-leader.sh
#   partition leader|replica|etcd SECONDS partition.sh (SECONDS up to 300)
# The agent writes the drill's output to NAME.out and its exit status to NAME.rc. While idle it
# touches /drill/agent-alive every second, which is its health check and tells the load
# generator that a drill can be asked for.
set -eu

dir=${LYCEUM_DRILL_DIR:-/drill}
mkdir -p "$dir"
rm -f "$dir"/*.request "$dir"/*.out "$dir"/*.rc
echo "drill agent: waiting for requests in $dir (Docker socket ${DOCKER_SOCKET:-/var/run/docker.sock})"
trap 'rm -f "$dir/agent-alive"; exit 0' INT TERM

# run_drill WORDS...: the drill a request names, or exit 2 for anything else.
run_drill() {
    case "$*" in
        kill-leader | '') lyceum-kill-leader-now ;;
        "partition leader "* | "partition replica "* | "partition etcd "*)
            case $3 in '' | *[!0-9]*) echo "drill agent: partition SECONDS must be a number: $*" >&2; return 2 ;; esac
            [ $# = 3 ] && [ "$3" -le 300 ] || { echo "drill agent: usage: partition leader|replica|etcd SECONDS (<= 300)" >&2; return 2; }
            lyceum-partition-now "$2" "$3" ;;
        *) echo "drill agent: unknown drill '$*' (kill-leader, partition leader|replica|etcd SECONDS)" >&2; return 2 ;;
    esac
}

while :; do
    touch "$dir/agent-alive"
    for request in "$dir"/*.request; do
        [ -e "$request" ] || continue
        name=${request%.request}
        what=$(head -c 200 "$request" | head -1)
        echo "drill agent: $(basename "$name"): ${what:-kill-leader}"
        status=0
        # shellcheck disable=SC2086 # the request's words are the drill's arguments
        (run_drill $what) >"$name.out" 2>&1 || status=$?
        sed 's/^/drill agent:   /' "$name.out"
        echo "$status" >"$name.rc.tmp" && mv "$name.rc.tmp" "$name.rc"
        rm -f "$request"
    done
    sleep 1 &
    wait $!
done
