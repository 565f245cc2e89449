#!/usr/bin/env bash
#
# Rolling maintenance under load must fail no request. One bounded run of lyceum-loadtest
# (12 users) against the real local stack, whose drill command is the maintenance itself:
#
#   scripts/stack rolling-restart                    every node restarted, one switchover
#   scripts/stack set shared_buffers <current-16MB>  a parameter that needs a restart, rolled
#   scripts/stack set shared_buffers <current>       and restored, rolled again
#
# Checks: the drill command succeeded (each step's time is printed), the load generator's
# verdict passed, 0 failed requests (no 5xx, no transport error: planned maintenance is not an
# outage), purchases acknowledged and 0 lost, 0 duplicated, 0 runs oversold, shared_buffers is
# back to its value on every node and the stack is healthy afterwards.
#
# Needs a running stack (scripts/stack up); uses LYCEUM_RUN_DIR / LYCEUM_PORT_OFFSET like
# scripts/stack and leaves it healthy. Ports: backend 8480 + offset. A fresh database
# `lyceum_maintenance` (seeded at scale 0.05) is dropped at the end. MAINTENANCE_KEEP_REPORTS=1
# keeps the load generator's reports.
#
# Usage: scripts/tests/maintenance_test.sh
# Output is TAP-like and ends with "N passed, M failed"; exit non-zero if any check failed.
set -euo pipefail

REPO_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$REPO_DIR"
case ${1:-} in
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "maintenance_test.sh: no arguments expected" >&2; exit 2 ;;
esac

OFFSET=${LYCEUM_PORT_OFFSET:-0}
BACKEND_ADDR=127.0.0.1:$((8480 + OFFSET))
MAINT_DB=lyceum_maintenance
WORK_DIR=$(mktemp -d /tmp/lyceum-maintenance.XXXXXX)

# shellcheck source=scripts/tests/backend_fixture.sh
source scripts/tests/backend_fixture.sh

original_sb=""
cleanup() {
    scripts/stack up >"$WORK_DIR/final-up.log" 2>&1 || { echo "# cleanup: scripts/stack up failed:" >&2; tail -20 "$WORK_DIR/final-up.log" >&2; }
    # A drill that died half-way must not leave the changed value behind.
    if [ -n "$original_sb" ] && [ "$(psql_value 'SHOW shared_buffers')" != "$original_sb" ]; then
        scripts/stack set shared_buffers "$original_sb" >"$WORK_DIR/restore.log" 2>&1 ||
            echo "# cleanup: could not restore shared_buffers to $original_sb" >&2
    fi
    fixture_cleanup
    if [ -n "${MAINTENANCE_KEEP_REPORTS:-}" ]; then echo "# reports kept in $WORK_DIR"; else rm -rf "$WORK_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

psql_value() { "${FIXTURE_PSQL[@]}" -d lyceum -A -t -c "$1"; }

echo "# building the binaries (debug)"
cargo build --locked -q --workspace --bins

echo "# the stack must be healthy first"
scripts/stack up >"$WORK_DIR/up.log" 2>&1 || { tail -30 "$WORK_DIR/up.log" >&2; exit 1; }

original_sb=$(psql_value 'SHOW shared_buffers')
# A small change that still needs a restart: 16 MB less (shared_buffers is in 8 kB pages).
sb_pages=$(psql_value "SELECT setting FROM pg_settings WHERE name = 'shared_buffers'")
changed_sb="$(( (sb_pages - 2048) * 8 ))kB"
echo "# shared_buffers is $original_sb; the drill sets $changed_sb, then $original_sb again"

fresh_seeded_db "$MAINT_DB"
start_backend "$BACKEND_ADDR" "lyceum-maintenance-$$"

drill="scripts/stack rolling-restart && scripts/stack set shared_buffers $changed_sb && scripts/stack set shared_buffers $original_sb"
dir=$WORK_DIR/load
status=0
started=$SECONDS
# Three rolls take 90-130 s under this load on a loaded 2-core machine: the load lasts long
# enough to see all of them and a few quiet seconds after (the verdict needs the drill
# finished, and reads and writes seen working, before the load ends).
target/debug/lyceum-loadtest --host "http://$BACKEND_ADDR" --users 12 --ramp-up 2 --duration 150 \
    --ramp-down 2 --think-scale 0.3 --students 150 --weights student=50,staff=10 \
    --drill-command "$drill" --drill-at 4 --drill-timeout 145 \
    --metrics-addr off --report-dir "$dir" >"$dir.log" 2>&1 || status=$?
echo "# load: $((SECONDS - started)) s; the maintenance's steps (seconds since each roll began):"
sed -n '/^\[ *[0-9.]* s\]/p; /^shared_buffers:/p; /switchover .* done/p' "$dir/drill-command.log" 2>/dev/null | sed 's/^/#   /'
sed -n '/^Answers other than 2xx/,$p' "$dir.log" | sed 's/^/#   /'

report() { # report EXPRESSION: one fact of drill.json, a Python expression over r and ledger
    python3 - "$dir/drill.json" "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
ledger = r["ledger"].get("checked") if isinstance(r["ledger"], dict) else None
print(eval(sys.argv[2]))
EOF
}

if [ ! -s "$dir/drill.json" ]; then
    check "the load generator wrote drill.json" false
    tail -30 "$dir.log" | sed 's/^/#   /'
else
    check "the maintenance command succeeded" test "$(report 'r["drill"]["succeeded"]')" = True
    check "verdict passed (exit $status)" test "$status" = 0
    failed_requests=$(report 'sum(r["failed_requests_by_status"].values())')
    check "0 failed requests of $(report 'r["requests"]') ($(report 'r["failed_requests_by_status"]'))" \
        test "$failed_requests" = 0
    check "purchases were acknowledged and checked ($(report 'ledger and ledger["acknowledged_purchases"]'))" \
        test "$(report 'bool(ledger) and ledger["acknowledged_purchases"] > 0')" = True
    check "0 writes lost, 0 duplicated, 0 runs oversold" \
        test "$(report 'bool(ledger) and ledger["passed"] and not (ledger["lost"] or ledger["duplicated"] or ledger["oversold"])')" = True
    [ "$status" = 0 ] || tail -40 "$dir.log" | sed 's/^/#   /'
fi

shared_buffers_everywhere() {
    local port
    for port in $((5433 + OFFSET)) $((5434 + OFFSET)) $((5435 + OFFSET)); do
        [ "$(psql -X -A -t -h 127.0.0.1 -p "$port" -U lyceum -d lyceum -c 'SHOW shared_buffers')" = "$original_sb" ] || return 1
    done
}
check "shared_buffers is $original_sb again on every node" shared_buffers_everywhere
check "the stack is healthy afterwards" scripts/stack status >"$WORK_DIR/status.log" 2>&1

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
