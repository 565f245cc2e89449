#!/usr/bin/env bash
#
# Smoke run of the load generator and failover drill against the real local stack:
# a small seeded database of its own, a backend started (and stopped) here, about 30 s of
# mixed load with a planned switchover in the middle. Asserts that the reports exist, that
# the metrics endpoint served the contract's names during the run, that no request was
# answered 500, and that the drill's ledger check passed (no acknowledged purchase lost or
# duplicated, no run oversold). Then the report as a person opens it, offline: index.html in
# headless Chromium, every chart drawn with data (scripts/tests/report_test.sh). Last, 10 s
# of the open loop (--rate): the schedule's starts counted, and served.
#
# Needs a running stack (scripts/stack up) and uses LYCEUM_RUN_DIR / LYCEUM_PORT_OFFSET like
# scripts/stack. Ports: backend 8180 + offset, metrics 9195 + offset. The database
# `lyceum_loadtest_smoke` is created fresh and dropped at the end; the backend uses its own
# Redis key prefix, so nothing of another run's cache is read.
#
# Output is TAP-like and ends with "N passed, M failed"; exit non-zero if any check failed.
set -euo pipefail

REPO_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$REPO_DIR"
OFFSET=${LYCEUM_PORT_OFFSET:-0}
BACKEND_ADDR=127.0.0.1:$((8180 + OFFSET))
METRICS_ADDR=127.0.0.1:$((9195 + OFFSET))
SMOKE_DB=lyceum_loadtest_smoke
WORK_DIR=$(mktemp -d /tmp/lyceum-loadtest-smoke.XXXXXX)
REPORT_DIR=$WORK_DIR/report
BACKEND_PID=""

eval "$(scripts/stack env)"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$LYCEUM_DB__HOST" -p "$LYCEUM_DB__WRITE_PORT" -U "$LYCEUM_DB__USER" -d "$LYCEUM_DB__DBNAME")
export PGPASSWORD=$LYCEUM_DB__PASSWORD PGCONNECT_TIMEOUT=5

cleanup() {
    if [ -n "$BACKEND_PID" ] && kill -0 "$BACKEND_PID" 2>/dev/null; then
        kill "$BACKEND_PID" 2>/dev/null || true
        wait "$BACKEND_PID" 2>/dev/null || true
    fi
    "${PSQL[@]}" -c "DROP DATABASE IF EXISTS $SMOKE_DB WITH (FORCE)" >/dev/null 2>&1 ||
        echo "# cleanup: could not drop $SMOKE_DB" >&2
    rm -rf "$WORK_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=scripts/tests/tap.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/tap.sh"

echo "# building the binaries (debug)"
cargo build --locked -q --workspace --bins

echo "# a fresh database $SMOKE_DB, migrated and seeded at scale 0.05"
"${PSQL[@]}" -c "DROP DATABASE IF EXISTS $SMOKE_DB WITH (FORCE)" -c "CREATE DATABASE $SMOKE_DB" >/dev/null
export LYCEUM_DB__DBNAME=$SMOKE_DB
target/debug/lyceum-seeder --migrate --scale 0.05 >"$WORK_DIR/seed.log" 2>&1

echo "# backend on $BACKEND_ADDR"
# The load generator is one address standing for many newcomers (docs/LOADTEST.md).
LYCEUM_HTTP__BIND=$BACKEND_ADDR LYCEUM_REDIS__KEY_PREFIX="lyceum-smoke-$$" LYCEUM_AUTH__REGISTRATIONS_PER_ADDRESS=0 \
    target/debug/lyceum-backend >"$WORK_DIR/backend.log" 2>&1 &
BACKEND_PID=$!
for _ in $(seq 1 100); do
    curl -fsS "http://$BACKEND_ADDR/healthz" >/dev/null 2>&1 && break
    kill -0 "$BACKEND_PID" 2>/dev/null || { tail -20 "$WORK_DIR/backend.log" >&2; exit 1; }
    sleep 0.2
done

echo "# load: 12 users, 3 s up, 24 s full, 2 s down; switchover at 13 s"
(sleep 10; curl -fsS "http://$METRICS_ADDR/metrics" >"$WORK_DIR/metrics.txt" 2>/dev/null || true) &
scraper=$!
load_status=0
target/debug/lyceum-loadtest --host "http://$BACKEND_ADDR" --users 12 --ramp-up 3 --duration 24 \
    --ramp-down 2 --think-scale 0.3 --students 150 --drill switchover --drill-at 13 \
    --metrics-addr "$METRICS_ADDR" --report-dir "$REPORT_DIR" >"$WORK_DIR/loadtest.log" 2>&1 ||
    load_status=$?
wait "$scraper" || true
sed -n '/^Load:/,$p' "$WORK_DIR/loadtest.log" | sed 's/^/# /'

# json_of DRILL_JSON PYTHON-EXPRESSION-ON-r: prints its value; json EXPRESSION: of the main run.
json_of() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }
json() { json_of "$REPORT_DIR/drill.json" "$1"; }

check "the load generator exits 0 (verdict passed)" test "$load_status" = 0
check "goose's HTML report exists" test -s "$REPORT_DIR/report.html"
check "goose's JSON report exists" test -s "$REPORT_DIR/report.json"
check "drill.json and summary.txt exist" test -s "$REPORT_DIR/drill.json" -a -s "$REPORT_DIR/summary.txt"
check "no request was answered 500" test "$(json 'r["internal_errors"]')" = 0
check "the switchover ran and succeeded" test "$(json 'r["drill"]["succeeded"]')" = True
check "reads and writes recovered" test "$(json 'r["reads"]["recovery_s"] is not None and r["writes"]["recovery_s"] is not None')" = True
check "the ledger was checked and passed" test "$(json 'r["ledger"].get("checked", {}).get("passed")')" = True
check "purchases were acknowledged and checked" test "$(json 'r["ledger"]["checked"]["acknowledged_purchases"] > 0')" = True
echo "# state changes checked by kind: $(json 'r["ledger"]["checked"]["state"]["checked"]')"
# The reviewer and mentor scenarios have a user each (goose allocates users round robin over
# the scenarios first), and the seeded queue is never empty at scale 0.05.
check "review claims, decisions and comments were acknowledged and checked" \
    test "$(json 'all(r["ledger"]["checked"]["state"]["checked"].get(k, 0) > 0 for k in ("claim", "decision", "comment"))')" = True
for name in lyceum_loadtest_requests_total lyceum_loadtest_request_duration_seconds_bucket \
    lyceum_loadtest_users_active lyceum_loadtest_drill_phase; do
    check "live metrics served $name" grep -q "^$name" "$WORK_DIR/metrics.txt"
done
report_test() { scripts/tests/report_test.sh "$REPORT_DIR" 2>&1 | sed 's/^/#   /'; }
check "the report's index.html shows every chart with data in Chromium (report_test.sh)" report_test
# The open loop: 40 transaction starts a second for 8 s, whatever the answers' speed; 24 users
# are the pool that serves the schedule.
echo "# open loop: --rate 40, 24 users, 1 s up, 8 s full, 1 s down"
open_status=0
target/debug/lyceum-loadtest --host "http://$BACKEND_ADDR" --users 24 --ramp-up 1 --duration 8 \
    --ramp-down 1 --rate 40 --students 150 --metrics-addr off --progress-every 0 \
    --report-dir "$WORK_DIR/open" >"$WORK_DIR/open.log" 2>&1 || open_status=$?
grep '^Arrivals' "$WORK_DIR/open.log" | sed 's/^/# /'
check "open loop: exits 0 (verdict passed)" test "$open_status" = 0
check "open loop: 40/s for 8 s scheduled 320 starts (within 5 %)" \
    test "$(json_of "$WORK_DIR/open/drill.json" 'abs(r["arrivals"]["scheduled"] - 320) <= 16')" = True
check "open loop: the pool served the schedule (under 5 % dropped)" \
    test "$(json_of "$WORK_DIR/open/drill.json" 'r["arrivals"]["dropped"] <= 0.05 * r["arrivals"]["scheduled"]')" = True
if [ "$failed" -gt 0 ]; then
    echo "# loadtest log: $WORK_DIR/loadtest.log (tail)"
    tail -40 "$WORK_DIR/loadtest.log" | sed 's/^/#   /'
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
