#!/usr/bin/env bash
#
# The Docker path end to end, offline, under Compose v2 (installed from Debian trixie's
# package where missing): builds the base images (scripts/docker-images) and
# every image of docker-compose.yml, runs `--profile benchmark up` for a short benchmark with
# the leader's container killed in the middle, waits for the load generator to finish,
# checks its reports and the drill verdict (nothing acknowledged lost or duplicated, no 500,
# reads and writes recovered), the backup service (a full backup after seeding, scheduled
# incrementals, `pgbackrest check` and an unbroken WAL archive across the leader kill), that
# every door behind the API is locked (compose_doors.sh: TLS and authentication), then
# the partition drills (compose_partitions.sh: the leader cut off the network under load), and
# tears everything down, failing if any container, network or volume of the project is left.
#
# Uses its own project name (lyceum-compose-test) and ports (16xxx on 127.0.0.1), so it
# collides neither with `docker compose up` on the documented ports nor with scripts/stack.
# The base images and the built lyceum/* images stay afterwards: they are the build cache.
#
# Settings (environment):
#   LYCEUM_COMPOSE_TEST_CARGO_PROFILE  cargo profile of the Rust images (default release)
#   LYCEUM_COMPOSE_TEST_TIMEOUT        seconds allowed for `up` + the load (default 900)
#   LYCEUM_COMPOSE_TEST_KEEP=1         leave the stack running and the reports on disk
#   LYCEUM_COMPOSE_TEST_PARTITIONS     nodes cut off the network, one load run each (default
#                                      leader; "leader replica etcd" for all; "" for none)
#   LYCEUM_COMPOSE_TEST_PORT_BASE      first of its 127.0.0.1 ports (default 16000: 16000-16404)
#   LYCEUM_COMPOSE_TEST_PROJECT        compose project name (default lyceum-compose-test)
#   LYCEUM_IMAGE_TAG                   tag of the lyceum/* images it builds (default latest)
#
# Output is TAP-like and ends with "N passed, M failed"; exit non-zero if any check failed.
set -euo pipefail

REPO_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$REPO_DIR"
readonly PROJECT=${LYCEUM_COMPOSE_TEST_PROJECT:-lyceum-compose-test}
readonly CARGO_PROFILE=${LYCEUM_COMPOSE_TEST_CARGO_PROFILE:-release}
readonly RUN_TIMEOUT=${LYCEUM_COMPOSE_TEST_TIMEOUT:-900}
readonly KEEP=${LYCEUM_COMPOSE_TEST_KEEP:-0}
readonly PARTITIONS=${LYCEUM_COMPOSE_TEST_PARTITIONS-leader}
# Ports: BASE+0/+1 write/read, +8..+10 Patroni, +80 backend, +90 Prometheus, +95 the load
# generator, +300 Grafana, +379 Redis, +404 HAProxy stats.
readonly PORT_BASE=${LYCEUM_COMPOSE_TEST_PORT_BASE:-16000}
readonly PROMETHEUS_PORT=$((PORT_BASE + 90))
WORK_DIR=$(mktemp -d /tmp/lyceum-compose-test.XXXXXX)
chmod 755 "$WORK_DIR"
REPORT_DIR=$WORK_DIR/reports
ENV_FILE=$WORK_DIR/compose.env
# The project's CA and certificates (its certs service writes them; TLS is always on).
CERTS_DIR=$WORK_DIR/certs

# Compose v2 (`docker compose`), the command the README gives; where the machine lacks it,
# the plugin is installed from Debian trixie's package (scripts/tests/install_compose_v2.sh).
install_log=$(scripts/tests/install_compose_v2.sh 2>&1) || {
    echo "$install_log" >&2; echo "compose_test: Compose v2 is missing and could not be installed" >&2; exit 1; }
echo "$install_log" | sed 's/^/# /'
COMPOSE_CMD=(docker compose)
# BuildKit: docker/app.Dockerfile keeps cargo's caches in cache mounts.
export DOCKER_BUILDKIT=1
# What selects this test's project (scripts/compose-rotate-certs takes the same).
COMPOSE_ARGS=(--project-directory "$REPO_DIR" -f "$REPO_DIR/docker-compose.yml" -p "$PROJECT" --env-file "$ENV_FILE")
compose() {
    "${COMPOSE_CMD[@]}" "${COMPOSE_ARGS[@]}" --profile benchmark --profile drill "$@"
}

# shellcheck source=scripts/tests/tap.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/tap.sh"
note() { echo "# $*"; }
t0=$SECONDS
since() { echo "$((SECONDS - $1)) s"; }

# What the project still owns in the engine, one "kind name" a line.
leftovers() {
    local label=com.docker.compose.project=$PROJECT
    docker ps -aq --filter "label=$label" | sed 's/^/container /'
    docker network ls -q --filter "label=$label" | sed 's/^/network /'
    docker volume ls -q --filter "label=$label" | sed 's/^/volume /'
}

teardown() {
    compose down -v --remove-orphans -t 10 >"$WORK_DIR/down.log" 2>&1 || {
        note "compose down failed:"; sed 's/^/#   /' "$WORK_DIR/down.log"; }
}

cleanup() {
    local rc=$?
    trap - EXIT
    if [ "$KEEP" = 1 ]; then
        note "kept: the stack (project $PROJECT, env file $ENV_FILE) and $WORK_DIR"
        exit "$rc"
    fi
    # After a failure before the final teardown check: remove whatever is there.
    if [ -n "$(leftovers)" ]; then
        teardown
        leftovers | awk '{print $2}' | xargs -r docker rm -f -v >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v docker >/dev/null && docker info >/dev/null 2>&1 ||
    { echo "compose_test: the Docker Engine does not answer ('docker info'); start it first" >&2; exit 1; }
note "compose: ${COMPOSE_CMD[*]} ($("${COMPOSE_CMD[@]}" version --short 2>/dev/null || true))"

note "base images (scripts/docker-images; kept if they exist)"
t=$SECONDS
scripts/docker-images >"$WORK_DIR/docker-images.log" 2>&1 ||
    { sed 's/^/#   /' "$WORK_DIR/docker-images.log"; exit 1; }
sed 's/^/#   /' "$WORK_DIR/docker-images.log"
note "base images ready after $(since "$t")"

mkdir -p "$REPORT_DIR"
# Offline base images, no Grafana, a small database and a short load with the leader's
# container killed 15 s into it; ports of its own.
{
    scripts/docker-images --env | sed 's/^export //'
    cat <<EOF
LYCEUM_GRAFANA_PROFILE=grafana
CARGO_PROFILE=$CARGO_PROFILE
LYCEUM_IMAGE_TAG=${LYCEUM_IMAGE_TAG:-latest}
LYCEUM_BACKEND_PORT=$((PORT_BASE + 80))
LYCEUM_WRITE_PORT=$PORT_BASE
LYCEUM_READ_PORT=$((PORT_BASE + 1))
LYCEUM_HAPROXY_STATS_PORT=$((PORT_BASE + 404))
LYCEUM_PATRONI1_PORT=$((PORT_BASE + 8))
LYCEUM_PATRONI2_PORT=$((PORT_BASE + 9))
LYCEUM_PATRONI3_PORT=$((PORT_BASE + 10))
LYCEUM_REDIS_PORT=$((PORT_BASE + 379))
LYCEUM_PROMETHEUS_PORT=$PROMETHEUS_PORT
LYCEUM_GRAFANA_PORT=$((PORT_BASE + 300))
LYCEUM_LOADTEST_METRICS_PORT=$((PORT_BASE + 95))
LYCEUM_SEED_SCALE=0.05
LYCEUM_LOADTEST_USERS=12
LYCEUM_LOADTEST_RAMP_UP=3
LYCEUM_LOADTEST_DURATION=45
LYCEUM_LOADTEST_RAMP_DOWN=2
LYCEUM_LOADTEST_THINK_SCALE=0.3
LYCEUM_LOADTEST_STUDENTS=150
LYCEUM_LOADTEST_DRILL=kill-leader
LYCEUM_LOADTEST_DRILL_AT=15
LYCEUM_REPORT_DIR=$REPORT_DIR
LYCEUM_CERTS_DIR=$CERTS_DIR
LYCEUM_BACKUP_INTERVAL=20
LYCEUM_REGISTRATIONS_PER_ADDRESS=0
EOF
} >"$ENV_FILE"

if [ -n "$(leftovers)" ]; then
    note "removing what an earlier run of this test left behind"
    teardown
fi

note "building the images (cargo profile $CARGO_PROFILE)"
t=$SECONDS
# Compose v2 builds in dependency order (etcd, Patroni, HAProxy, then the Rust images that
# `migrate` needs), which would start the long cargo build minutes late: the Rust images
# are built in a process of their own beside the rest. BuildKit compiles the workspace
# once for the four services sharing the builder stage.
compose build backend seed loadtest >"$WORK_DIR/build-rust.log" 2>&1 &
rust_pid=$!
services_status=0 rust_status=0
compose build etcd1 pg1 haproxy redis prometheus redis-exporter >"$WORK_DIR/build-services.log" 2>&1 ||
    services_status=$?
wait "$rust_pid" || rust_status=$?
note "service images and the Rust images done after $(since "$t")"
# The rest (the other etcd, Patroni and exporter services) comes from BuildKit's cache.
[ "$services_status" = 0 ] && [ "$rust_status" = 0 ] && compose build >"$WORK_DIR/build.log" 2>&1 || {
    for f in build-services build-rust build; do
        [ -s "$WORK_DIR/$f.log" ] && { note "$f.log:"; tail -40 "$WORK_DIR/$f.log" | sed 's/^/#   /'; }
    done
    echo "compose_test: building the images failed" >&2
    exit 1
}
note "images built in $(since "$t")"

note "up --profile benchmark --profile drill (cluster, migrate, seed, backend, load generator, drill agent, monitoring)"
t=$SECONDS
up_status=0
timeout "$RUN_TIMEOUT" "${COMPOSE_CMD[@]}" --project-directory "$REPO_DIR" -f "$REPO_DIR/docker-compose.yml" \
    -p "$PROJECT" --env-file "$ENV_FILE" --profile benchmark --profile drill up -d >"$WORK_DIR/up.log" 2>&1 || up_status=$?
check "compose up --profile benchmark --profile drill starts every service (in $(since "$t"))" test "$up_status" = 0
if [ "$up_status" != 0 ]; then
    tail -30 "$WORK_DIR/up.log" | sed 's/^/#   /'
fi

# `ps -a`: Compose v2 lists only running containers without it, and both the load generator
# (once finished) and the killed node have exited.
loadtest_id=$(compose ps -a -q loadtest 2>/dev/null || true)
load_status=none
if [ -n "$loadtest_id" ]; then
    note "waiting for the load generator (container ${loadtest_id:0:12})"
    load_status=$(timeout "$RUN_TIMEOUT" docker wait "$loadtest_id" || echo timeout)
    note "load generator finished after $(since "$t") since up: exit $load_status"
    docker logs "$loadtest_id" 2>&1 | sed -n '/^Load:/,$p' | sed 's/^/#   /'
fi

# The console's story from the load generator: progress lines while the load ran (one per
# 10 s of the 50 s), and the verdict banner with the report paths as its last lines.
if [ -n "$loadtest_id" ]; then docker logs "$loadtest_id" >"$WORK_DIR/loadtest.log" 2>&1 || true; fi
progress_lines=$(grep -c '^lyceum-loadtest: .* req/s | p50 ' "$WORK_DIR/loadtest.log" 2>/dev/null || true)
check "the load generator printed a progress line every 10 s ($progress_lines)" test "${progress_lines:-0}" -ge 4
check "its last lines are the verdict banner with the report paths" \
    sh -c 'tail -8 "$1" | grep -q "^VERDICT: PASSED" && tail -8 "$1" | grep -q "reports: .*/summary.txt"' _ "$WORK_DIR/loadtest.log"

# report_json DRILL_JSON PYTHON-EXPRESSION: its value over r (the report) and l (the ledger's
# verdict, {} when it was not checked).
report_json() {
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); g=r['ledger']; l=(g.get('checked') if isinstance(g, dict) else None) or {}; print($2)" \
        "$1" 2>/dev/null
}
json() { report_json "$REPORT_DIR/drill.json" "$1"; } # json EXPRESSION: over the first run's
check "the load generator exits 0 (verdict passed)" test "$load_status" = 0
check "goose's HTML and JSON reports exist" test -s "$REPORT_DIR/report.html" -a -s "$REPORT_DIR/report.json"
check "drill.json, ledger.json and summary.txt exist" \
    test -s "$REPORT_DIR/drill.json" -a -s "$REPORT_DIR/ledger.json" -a -s "$REPORT_DIR/summary.txt"
check "the drill killed the leader's container and a new leader took over" \
    test "$(json 'r["drill"]["succeeded"]')" = True
check "no request was answered 500" test "$(json 'r["internal_errors"]')" = 0
check "reads and writes recovered" \
    test "$(json 'r["reads"]["recovery_s"] is not None and r["writes"]["recovery_s"] is not None')" = True
check "no acknowledged purchase lost or duplicated, no run oversold (ledger check passed)" \
    test "$(json 'r["ledger"].get("checked", {}).get("passed")')" = True
check "purchases were acknowledged and checked" \
    test "$(json 'r["ledger"]["checked"]["acknowledged_purchases"] > 0')" = True
check "the verdict passed" test "$(json 'r["passed"]')" = True
if [ -s "$REPORT_DIR/drill-command.log" ]; then
    sed 's/^/#   drill: /' "$REPORT_DIR/drill-command.log"
fi

# The Docker socket (root on the host) is mounted into the drill agent and nowhere else.
socket_holders=$(for id in $(compose ps -a -q 2>/dev/null); do
    docker inspect -f '{{range .Mounts}}{{if eq .Destination "/var/run/docker.sock"}}{{index $.Config.Labels "com.docker.compose.service"}}{{end}}{{end}}' "$id"
done | sed '/^$/d' | sort | tr '\n' ' ')
check "only the drill agent holds the Docker socket ($socket_holders)" test "$socket_holders" = "drill-agent "
# Without the agent a drill request fails at once, with a reason, rather than waiting or
# falling back to something else.
compose stop -t 5 drill-agent >/dev/null 2>&1 || true
no_agent_status=0
compose run --rm --no-deps -T loadtest lyceum-kill-leader >"$WORK_DIR/no-agent.log" 2>&1 || no_agent_status=$?
sed 's/^/#   /' "$WORK_DIR/no-agent.log"
check "with the agent stopped, the drill request fails naming the drill profile" \
    sh -c '[ "$1" != 0 ] && grep -q "no drill agent is running (start compose with --profile drill" "$2"' _ "$no_agent_status" "$WORK_DIR/no-agent.log"

# Exactly one node was killed: one pg container exited 137, the other two still run.
pg_states=$(for s in pg1 pg2 pg3; do
    id=$(compose ps -a -q "$s" 2>/dev/null) && [ -n "$id" ] &&
        docker inspect -f '{{.State.Status}}:{{.State.ExitCode}}' "$id"
done | sort | tr '\n' ' ')
check "one PostgreSQL container was killed (137), two run ($pg_states)" \
    test "$pg_states" = "exited:137 running:0 running:0 "

# Backups: the full backup after seeding and the scheduled incrementals are in the repository;
# after the leader kill `pgbackrest check` passes (the new leader archives) and the WAL archive
# has no gap across the two timelines.
# An incremental that started during the failover fails (and the next one waits 20 s): the
# listing is polled for up to three intervals rather than taken at one instant.
t=$SECONDS
until compose exec -T backup lyceum-backup backups >"$WORK_DIR/backups.log" 2>&1 &&
    grep -q '^[0-9F_I-]* *incr ' "$WORK_DIR/backups.log" || [ $((SECONDS - t)) -ge 60 ]; do
    sleep 5
done
sed 's/^/#   /' "$WORK_DIR/backups.log"
check "the backup service took a full backup after seeding" grep -q '^[0-9F_I-]* *full ' "$WORK_DIR/backups.log"
check "and incrementals on its schedule (every 20 s here; waited $(since "$t"))" \
    grep -q '^[0-9F_I-]* *incr ' "$WORK_DIR/backups.log"
# A scheduled backup that fails (one did, during the leader kill) ends that attempt, not the
# service: a restart would have re-run stanza-create and delayed the schedule.
backup_id=$(compose ps -a -q backup 2>/dev/null || true)
backup_restarts=$( [ -n "$backup_id" ] && docker inspect -f '{{.RestartCount}}' "$backup_id" || echo none)
check "the backup service ran throughout (restarts: $backup_restarts)" test "$backup_restarts" = 0
if [ -n "$backup_id" ]; then
    docker logs "$backup_id" 2>&1 | grep -E 'scheduled|error' | tail -6 | sed 's/^/#   backup: /'
fi
compose exec -T backup lyceum-backup check >"$WORK_DIR/backup-check.log" 2>&1 || true
sed 's/^/#   /' "$WORK_DIR/backup-check.log"
check "after the leader kill: pgbackrest check passes, the WAL archive spans both timelines with no gap" \
    grep -q '^WAL archive: .*timelines 1,2, no gap' "$WORK_DIR/backup-check.log"
note "backup checks took $(since "$t")"

# Prometheus scraped the stack during the run.
prom_up() { # prom_up JOB: how many of the job's targets are up now
    curl -fsS -m 5 "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/query" --data-urlencode "query=sum(up{job=\"$1\"})" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)'
}
for job in backend haproxy redis etcd pgbackrest; do
    n=$(prom_up "$job" 2>/dev/null || echo 0)
    check "Prometheus scrapes job $job ($n up)" test "$n" -ge 1
done
n=$(prom_up patroni 2>/dev/null || echo 0)
check "Prometheus scrapes the two surviving Patroni nodes ($n up)" test "$n" = 2

# Patroni's REST API from the host: https on its published ports, verified with the CA.
patroni_port() { echo $((PORT_BASE + 7 + ${1#pg})); }
patroni_curl() { curl -fsS -m 2 --cacert "$CERTS_DIR/ca.crt" "$@"; }
# The leader's name, as the first node that answers on its published REST port sees it.
cluster_leader() {
    local n
    for n in pg1 pg2 pg3; do
        patroni_curl "https://127.0.0.1:$(patroni_port "$n")/cluster" 2>/dev/null |
            python3 -c 'import json,sys; print(next(m["name"] for m in json.load(sys.stdin)["members"] if m["role"] == "leader"))' \
            2>/dev/null && return 0
    done
    return 1
}

# shellcheck source=scripts/tests/compose_doors.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/compose_doors.sh"

# shellcheck source=scripts/tests/compose_partitions.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/compose_partitions.sh"

if [ "$failed" -gt 0 ]; then
    note "logs of the stack (last lines per service):"
    compose logs --no-color --tail 15 2>&1 | sed 's/^/#   /' | tail -200
fi

if [ "$KEEP" != 1 ]; then
    note "down -v --remove-orphans"
    t=$SECONDS
    teardown
    left=$(leftovers | tr '\n' ' ')
    check "nothing of project $PROJECT is left (containers, networks, volumes) after down ($(since "$t"))" \
        test -z "$left"
    [ -z "$left" ] || note "left behind: $left"
fi
note "total $(since "$t0")"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
