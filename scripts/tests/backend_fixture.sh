# shellcheck shell=bash
# Sourced by the test scripts that need a seeded database and a backend of their own on the
# running stack (fuzz_test.sh, fault_test.sh): TAP-style checks, a fresh database, a debug
# backend, and the cleanup of both. The caller sets WORK_DIR and its EXIT trap calls
# fixture_cleanup.

eval "$(scripts/stack env)"
FIXTURE_PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$LYCEUM_DB__HOST" -p "$LYCEUM_DB__WRITE_PORT"
    -U "$LYCEUM_DB__USER" -d "$LYCEUM_DB__DBNAME")
export PGPASSWORD=$LYCEUM_DB__PASSWORD PGCONNECT_TIMEOUT=5
FIXTURE_DB=""
BACKEND_PIDS=()

# shellcheck source=scripts/tests/tap.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/tap.sh"

# fresh_seeded_db NAME: drop and create NAME, migrate and seed it at scale 0.05, and point
# LYCEUM_DB__DBNAME at it (for the backend and the load generator started afterwards).
fresh_seeded_db() {
    FIXTURE_DB=$1
    echo "# a fresh database $FIXTURE_DB, migrated and seeded at scale 0.05"
    "${FIXTURE_PSQL[@]}" -c "DROP DATABASE IF EXISTS $FIXTURE_DB WITH (FORCE)" -c "CREATE DATABASE $FIXTURE_DB" >/dev/null
    export LYCEUM_DB__DBNAME=$FIXTURE_DB
    target/debug/lyceum-seeder --migrate --scale 0.05 >"$WORK_DIR/seed.log" 2>&1
    # The backend reads from the replicas and caches what it reads: a list read from one
    # still replaying the seed stays empty for the cache's TTL (seen in the TLS test).
    scripts/stack catch-up >/dev/null || { echo "# the replicas did not replay the seed" >&2; exit 1; }
}

# start_backend ADDR KEY_PREFIX [NAME]: the debug backend on ADDR, its own Redis key prefix
# (so no other run's cache is read); waits until /healthz answers, fails with its log if it
# exits. NAME (default backend) names its log; the pids of the instances started are
# BACKEND_PIDS, in order.
start_backend() {
    local name=${3:-backend} pid
    echo "# $name on $1"
    # The load generator is one address standing for many newcomers (docs/LOADTEST.md).
    LYCEUM_HTTP__BIND=$1 LYCEUM_REDIS__KEY_PREFIX=$2 LYCEUM_AUTH__REGISTRATIONS_PER_ADDRESS=0 \
        target/debug/lyceum-backend >"$WORK_DIR/$name.log" 2>&1 &
    pid=$!
    BACKEND_PIDS+=("$pid")
    for _ in $(seq 1 150); do
        curl -fsS "http://$1/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || { tail -20 "$WORK_DIR/$name.log" >&2; exit 1; }
        sleep 0.2
    done
    echo "# $name did not answer /healthz within 30 s" >&2
    exit 1
}

# Stops the backends and drops the database (the connection settings are the stack's own).
fixture_cleanup() {
    local pid
    for pid in "${BACKEND_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    [ -z "$FIXTURE_DB" ] || "${FIXTURE_PSQL[@]}" -c "DROP DATABASE IF EXISTS $FIXTURE_DB WITH (FORCE)" >/dev/null 2>&1 ||
        echo "# cleanup: could not drop $FIXTURE_DB" >&2
}
