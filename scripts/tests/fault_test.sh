#!/usr/bin/env bash
#
# Fault tests against the real local stack while the load mix runs. Each fault is one short,
# bounded run of lyceum-loadtest (12 users, about 35 s) with the fault as its drill command
# (--drill-command, --drill-at); the load generator times recovery (reads and writes
# separately), counts failed requests by status and checks the ledger afterwards. Faults:
#
#   redis         Redis SIGKILLed, restarted 5 s later (empty: it has no persistence)
#   replica       the synchronous standby's machine killed (Patroni + PostgreSQL SIGKILL),
#                 brought back 5 s later (scripts/stack up)
#   etcd          the raft leader among the three etcd members SIGKILLed, restarted 5 s later
#   haproxy       HAProxy restarted (every database connection cut)
#   postgres      the leader's postmaster SIGKILLed; Patroni restarts it in place
#   leader        the leader's machine killed; a replica takes over; brought back afterwards
#
# For each fault it asserts: the load generator's verdict passed (no 500, the drill command
# succeeded, reads and writes recovered, ledger checked), no 5xx other than 503, every 503 a
# problem document of the outage kind, purchases acknowledged and 0 lost, 0 duplicated, 0 runs
# oversold; and after it the stack is restored (scripts/stack up) and healthy before the next.
# The results table (fault, recovery, failed requests, writes lost) is printed; with
# --write-docs it also replaces the section between the fault-table markers in docs/FAULTS.md.
#
# Needs a running stack (scripts/stack up); uses LYCEUM_RUN_DIR / LYCEUM_PORT_OFFSET like
# scripts/stack, and leaves that stack healthy (every node back) when it ends. Ports: backend
# 8380 + offset. A fresh database `lyceum_faults` (seeded at scale 0.05) is dropped at the end.
#
# Usage: scripts/tests/fault_test.sh [--write-docs] [FAULT...]   (default: all, in the order above)
# Output is TAP-like and ends with "N passed, M failed"; exit non-zero if any check failed.
set -euo pipefail

REPO_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$REPO_DIR"
ALL_FAULTS=(redis replica etcd haproxy postgres leader)
write_docs=0
faults=()
for arg in "$@"; do
    case $arg in
        --write-docs) write_docs=1 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        redis | replica | etcd | haproxy | postgres | leader) faults+=("$arg") ;;
        *) echo "fault_test.sh: unknown fault or option '$arg' (faults: ${ALL_FAULTS[*]})" >&2; exit 2 ;;
    esac
done
[ ${#faults[@]} -gt 0 ] || faults=("${ALL_FAULTS[@]}")

OFFSET=${LYCEUM_PORT_OFFSET:-0}
BACKEND_ADDR=127.0.0.1:$((8380 + OFFSET))
FAULT_DB=lyceum_faults
WORK_DIR=$(mktemp -d /tmp/lyceum-faults.XXXXXX)

# The drill command of each fault: the fault, then (where it is not self-healing) the
# component brought back, all while the load runs. `scripts/stack up` starts what is missing.
drill_command() {
    case $1 in
        redis) echo "scripts/stack kill-redis && sleep 5 && scripts/stack start-redis" ;;
        replica) echo "scripts/stack kill sync-standby && sleep 5 && scripts/stack up >/dev/null && echo 'node back'" ;;
        etcd) echo "scripts/stack kill-etcd leader && sleep 5 && scripts/stack start-etcd" ;;
        haproxy) echo "scripts/stack restart-haproxy" ;;
        postgres) echo "scripts/stack kill-postgres leader --wait" ;;
        leader) echo "scripts/stack kill leader --wait" ;;
    esac
}
describe() {
    case $1 in
        redis) echo "Redis killed (SIGKILL), restarted 5 s later" ;;
        replica) echo "sync standby's node killed (Patroni + PostgreSQL), back 5 s later" ;;
        etcd) echo "etcd raft leader killed (SIGKILL), restarted 5 s later" ;;
        haproxy) echo "HAProxy restarted" ;;
        postgres) echo "leader's PostgreSQL killed (Patroni restarts it)" ;;
        leader) echo "leader node killed (Patroni + PostgreSQL), a replica promoted" ;;
    esac
}

# shellcheck source=scripts/tests/backend_fixture.sh
source scripts/tests/backend_fixture.sh

cleanup() {
    # Whatever failed, the stack goes back to healthy (later steps of scripts/test use it),
    # first: dropping the database needs the write port.
    scripts/stack up >"$WORK_DIR/final-up.log" 2>&1 || { echo "# cleanup: scripts/stack up failed:" >&2; tail -20 "$WORK_DIR/final-up.log" >&2; }
    fixture_cleanup
    if [ -n "${FAULTS_KEEP_REPORTS:-}" ]; then echo "# reports kept in $WORK_DIR"; else rm -rf "$WORK_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "# building the binaries (debug)"
cargo build --locked -q --workspace --bins

echo "# the stack must be healthy before the first fault"
scripts/stack up >"$WORK_DIR/up.log" 2>&1 || { tail -30 "$WORK_DIR/up.log" >&2; exit 1; }

fresh_seeded_db "$FAULT_DB"
start_backend "$BACKEND_ADDR" "lyceum-faults-$$"

# Prints one fact of a drill.json: a Python expression over r (the report) and ledger (the
# ledger verdict, None when it was not checked); row(DESCRIPTION) is the docs table's row.
report() { # report DRILL_JSON EXPRESSION [DESCRIPTION]
    python3 - "$@" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
ledger = r["ledger"].get("checked") if isinstance(r["ledger"], dict) else None
def secs(rec):
    if rec["recovery_s"] is None:
        return "not recovered"
    if not rec["failures"]:
        return "no failure"
    return "%.1f s (%.1f s since sent)" % (rec["recovery_s"], rec["outage_s"])
def row(desc):
    by = r["failed_requests_by_status"]
    failed = "%d of %d" % (sum(by.values()), r["requests"])
    if by:
        failed += " (" + ", ".join("%s x%d" % kv for kv in sorted(by.items())) + ")"
    writes = "ledger not checked"
    if ledger:
        writes = "%d (%d acknowledged purchases, %d duplicated)" % (
            len(ledger["lost"]), ledger["acknowledged_purchases"], len(ledger["duplicated"]))
    return "| %s | %s | %s | %s | %s |" % (desc, secs(r["reads"]), secs(r["writes"]), failed, writes)
print(eval(sys.argv[2]))
EOF
}

rows=()
for fault in "${faults[@]}"; do
    echo "# fault: $fault: $(describe "$fault")"
    dir=$WORK_DIR/$fault
    status=0
    # 2 s up, 30 s full load, 2 s down; the fault at 8 s leaves over 20 s to recover in.
    target/debug/lyceum-loadtest --host "http://$BACKEND_ADDR" --users 12 --ramp-up 2 --duration 30 \
        --ramp-down 2 --think-scale 0.3 --students 150 --weights student=50,staff=10 \
        --drill-command "$(drill_command "$fault")" --drill-at 8 --drill-timeout 60 \
        --metrics-addr off --report-dir "$dir" >"$dir.log" 2>&1 || status=$?
    sed -n '/^Answers other than 2xx/,$p' "$dir.log" | sed 's/^/#   /'
    if [ ! -s "$dir/drill.json" ]; then
        check "$fault: the load generator wrote drill.json" false
        tail -30 "$dir.log" | sed 's/^/#   /'
    else
        j=$dir/drill.json
        check "$fault: verdict passed (exit $status)" test "$status" = 0
        check "$fault: the drill command succeeded" test "$(report "$j" 'r["drill"]["succeeded"]')" = True
        check "$fault: no 5xx other than 503" \
            test "$(report "$j" 'sorted(s for s in r["failed_requests_by_status"] if s not in ("503", "error"))')" = "[]"
        check "$fault: every 503 is an outage problem document" \
            test "$(report "$j" 'set(r["answers_by_status"].get("503", {})) <= {"service_unavailable", "request_timeout"}')" = True
        check "$fault: reads and writes recovered" \
            test "$(report "$j" 'r["reads"]["recovery_s"] is not None and r["writes"]["recovery_s"] is not None')" = True
        check "$fault: purchases were acknowledged and checked" \
            test "$(report "$j" 'bool(ledger) and ledger["acknowledged_purchases"] > 0')" = True
        check "$fault: 0 writes lost, 0 duplicated, 0 runs oversold" \
            test "$(report "$j" 'bool(ledger) and ledger["passed"] and not (ledger["lost"] or ledger["duplicated"] or ledger["oversold"])')" = True
        rows+=("$(report "$j" 'row(sys.argv[3])' "$(describe "$fault")")")
        [ "$status" = 0 ] || tail -40 "$dir.log" | sed 's/^/#   /'
    fi
    # Back to healthy (every node running, a sync standby named) before the next fault.
    restore_started=$SECONDS
    if scripts/stack up >"$dir-up.log" 2>&1 && scripts/stack status >"$dir-status.log" 2>&1; then
        check "$fault: the stack is healthy again ($((SECONDS - restore_started)) s)" true
    else
        check "$fault: the stack is healthy again" false
        tail -30 "$dir-up.log" | sed 's/^/#   /'
    fi
done

table="| fault | reads: recovery (since the first failed request was sent) | writes: recovery (since sent) | requests failed | writes lost |
| --- | --- | --- | --- | --- |
$(printf '%s\n' "${rows[@]}")"
echo "# results ($(date -u +%Y-%m-%d), debug backend, 12 users, the fault at 8 s of 34 s):"
printf '%s\n' "$table" | sed 's/^/#   /'

if [ "$write_docs" = 1 ]; then
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    section="<!-- fault-table:start (written by scripts/tests/fault_test.sh --write-docs; edit the script, not this section) -->
Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores (load average $load), local stack
(\`scripts/stack\`, synchronous replication), debug backend, \`lyceum-loadtest\` with 12 users
(student weight 50, staff 10, think scale 0.3) for 34 s per fault, the fault's command at 8 s:

$table
<!-- fault-table:end -->"
    SECTION=$section python3 - docs/FAULTS.md <<'EOF'
import os, re, sys
path = sys.argv[1]
text = open(path).read()
pattern = re.compile(r"<!-- fault-table:start.*?<!-- fault-table:end -->", re.S)
if not pattern.search(text):
    sys.exit(f"{path}: no fault-table markers")
open(path, "w").write(pattern.sub(lambda _: os.environ["SECTION"], text))
EOF
    echo "# wrote the table into docs/FAULTS.md"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
