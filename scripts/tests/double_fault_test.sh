#!/usr/bin/env bash
#
# The long version of the double-fault and full-disk drills (CI runs only a smoke of them, in
# scripts/test): for each synchronous mode, off, on and strict (scripts/stack sync-mode),
#
#   1. pgbench TPC-B through the write port (8 clients, 20 s, scale 5, a database of its own):
#      the commit cost of the mode, as a ratio against `off` in the same run;
#   2. scripts/tests/fault_test.sh --sync-mode MODE baseline sync-then-leader
#      replicas-then-leader leader-twice disk: the load mix without a fault (throughput and
#      purchase latency), then each fault under load with the ledger checked (and a purchase
#      deleted on purpose, which the check must report lost).
#
# Prints one table per part and, with --write-docs, replaces the section between the
# double-fault-table markers in docs/FAULTS.md. Exit non-zero if any fault_test.sh check failed.
# Takes about 20 minutes. Needs a running stack (scripts/stack up; LYCEUM_RUN_DIR /
# LYCEUM_PORT_OFFSET as for scripts/stack), leaves it healthy in the mode it had.
#
# Usage: scripts/tests/double_fault_test.sh [--write-docs] [MODE...]   (default: off on strict)
set -euo pipefail

REPO_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$REPO_DIR"
write_docs=0
modes=()
for arg in "$@"; do
    case $arg in
        --write-docs) write_docs=1 ;;
        off | on | strict) modes+=("$arg") ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "double_fault_test.sh: unknown argument '$arg' (modes: off on strict)" >&2; exit 2 ;;
    esac
done
[ ${#modes[@]} -gt 0 ] || modes=(off on strict)

WORK_DIR=$(mktemp -d /tmp/lyceum-double-faults.XXXXXX)
BENCH_DB=lyceum_pgbench
PGBENCH=/usr/lib/postgresql/15/bin/pgbench
eval "$(scripts/stack env)"
export PGPASSWORD=$LYCEUM_DB__PASSWORD
PG=(-h "$LYCEUM_DB__HOST" -p "$LYCEUM_DB__WRITE_PORT" -U "$LYCEUM_DB__USER")

scripts/stack up >"$WORK_DIR/up.log" 2>&1 || { tail -30 "$WORK_DIR/up.log" >&2; exit 1; }
previous_mode=$(scripts/stack sync-mode | cut -d' ' -f1)
cleanup() {
    scripts/stack up >/dev/null 2>&1 || true
    scripts/stack sync-mode "$previous_mode" >/dev/null 2>&1 || echo "# cleanup: could not restore sync-mode $previous_mode" >&2
    psql -X -q "${PG[@]}" -d lyceum -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "# pgbench database $BENCH_DB (scale 5)"
psql -X -q "${PG[@]}" -d lyceum -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"
"$PGBENCH" "${PG[@]}" -i -q -s 5 "$BENCH_DB" >"$WORK_DIR/pgbench-init.log" 2>&1

bench_rows=()
rows_file=$WORK_DIR/rows
: >"$rows_file"
failed_runs=0
for mode in "${modes[@]}"; do
    scripts/stack sync-mode "$mode" | sed 's/^/# /'
    "$PGBENCH" "${PG[@]}" -c 8 -j 2 -T 20 -n "$BENCH_DB" >"$WORK_DIR/pgbench-$mode.log" 2>&1
    tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$WORK_DIR/pgbench-$mode.log")
    lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$WORK_DIR/pgbench-$mode.log")
    echo "# pgbench ($mode): $tps tps, latency average $lat ms"
    bench_rows+=("$mode $tps $lat")
    echo "# fault_test.sh --sync-mode $mode"
    FAULTS_ROWS_FILE=$rows_file scripts/tests/fault_test.sh --sync-mode "$mode" \
        baseline sync-then-leader replicas-then-leader leader-twice disk >"$WORK_DIR/faults-$mode.log" 2>&1 ||
        failed_runs=$((failed_runs + 1))
    grep -E '^(not ok|# [a-z-]+ \(|[0-9]+ passed)' "$WORK_DIR/faults-$mode.log" | sed 's/^/#   /'
done

# pgbench and the load mix's baseline as ratios against `off` (the first mode's row when off
# was not run).
tables=$(BENCH="$(printf '%s\n' "${bench_rows[@]}")" python3 - "$rows_file" <<'EOF'
import os, re, sys
bench = [l.split() for l in os.environ["BENCH"].splitlines() if l.strip()]
rows = [l for l in open(sys.argv[1]).read().splitlines() if l.strip()]
base = {}
for l in rows:
    m = re.match(r"\| (\w+) \| no fault \| ([0-9.]+) req/s \| purchase p50 ([0-9.]+) ms, p99 ([0-9.]+) ms", l)
    if m:
        base[m.group(1)] = tuple(float(x) for x in m.groups()[1:])
ref_b = next((b for b in bench if b[0] == "off"), bench[0])
ref_l = base.get("off") or next(iter(base.values()), None)
print("| mode | pgbench TPC-B, 8 clients, 20 s | vs off | latency average | load mix (12 users): req/s | vs off | purchase p50 / p99 |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for mode, tps, lat in bench:
    l = base.get(mode)
    mix = ("%.1f | %.2f | %.0f / %.0f ms" % (l[0], l[0] / ref_l[0], l[1], l[2])) if l and ref_l else "- | - | -"
    print("| %s | %.0f tps | %.2f | %s ms | %s |" % (mode, float(tps), float(tps) / float(ref_b[1]), lat, mix))
print()
print("| mode | fault | writes: recovery (since the first failed write was sent) | requests failed | acknowledged purchases lost | the deleted purchase reported lost |")
print("| --- | --- | --- | --- | --- | --- |")
for l in rows:
    if "| no fault |" not in l:
        print(l)
EOF
)
echo "# results:"
printf '%s\n' "$tables" | sed 's/^/#   /'

if [ "$write_docs" = 1 ]; then
    section="<!-- double-fault-table:start (written by scripts/tests/double_fault_test.sh --write-docs; edit the script, not this section) -->
Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores (load average $(cut -d' ' -f1-3 /proc/loadavg)), local stack,
debug backend, \`lyceum-loadtest\` with 12 users (student weight 50, staff 10, think scale 0.3), each
fault at 8 s of the load; modes in the order ${modes[*]}:

$tables
<!-- double-fault-table:end -->"
    printf '%s\n' "$section" | python3 scripts/tests/docs_section.py double-fault-table docs/FAULTS.md
    echo "# wrote the tables into docs/FAULTS.md"
fi
echo "# $failed_runs of ${#modes[@]} fault_test.sh runs had a failed check"
[ "$failed_runs" = 0 ]
