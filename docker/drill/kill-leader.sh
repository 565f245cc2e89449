#!/bin/sh
# The compose stack's failover drill, run by the drill agent (agent.sh, profile `drill`) when
# the load generator asks for it: find the Patroni leader, SIGKILL its container through the
# Docker API (the machine dies: Patroni and PostgreSQL at once, nothing hands over), then wait
# until another node answers as the primary. Needs the Docker socket mounted at
# $DOCKER_SOCKET; finds the containers by the compose labels of its own project.
# The killed container stays down (no restart policy); `docker compose start pgN` brings
# it back as a replica.
set -eu
drill=kill-leader
# shellcheck source=docker/drill/common.sh
. /usr/local/lib/lyceum/drill-common.sh

project=$(compose_project)
leader=$(leader_with_sync_standby)
id=$(service_container "$project" "$leader")

t0=$(now)
api -X POST "http://docker/containers/$id/kill?signal=KILL" >/dev/null
echo "killed $leader (leader; container $(echo "$id" | cut -c1-12) of project $project)"
wait_new_leader "$leader" "$t0"
