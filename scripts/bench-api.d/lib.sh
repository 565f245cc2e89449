# shellcheck shell=bash
# Sourced by scripts/bench-api. Helpers of every part: statistics, the
# servers it starts and stops, seeding, and the load tools' runs.
# The options (scale, connections, ...) and the figures the parts leave for the
# report are globals, set in scripts/bench-api and the other files here.
# shellcheck disable=SC2034,SC2154

step() { printf '\n==> %s\n' "$*"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ratio() { python3 -c "import sys; print('%.3f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
is_number() { [[ "$1" =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
load_avg() { cut -d' ' -f1 /proc/loadavg; }

psql_w() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$host" -p "$write_port" -U "$db_user" -d "$db_name" "$@"; }

cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}

# start_server <name> <url to poll> <command...>: runs it in the background, waits for the URL.
server_pid=""
start_server() {
    local name=$1 url=$2
    shift 2
    "$@" >"$work/$name.log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    for _ in $(seq 1 150); do
        curl -fsS "$url" >/dev/null 2>&1 && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.2
    done
    echo "bench-api: $name did not come up; its log:" >&2
    tail -20 "$work/$name.log" >&2
    exit 1
}
stop_server() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
start_backend() { # <name> <addr> [VAR=value...]
    local name=$1 addr=$2
    shift 2
    start_server "$name" "http://$addr/readyz" \
        env LYCEUM_HTTP__BIND="$addr" LYCEUM_LOG__FILTER=warn "$@" "$bin/lyceum-backend"
}

# redis-cli for the stack's Redis: over TLS as its ACL user when the stack runs with
# LYCEUM_TLS=1 (a rediss:// URL), else plain.
redis_cmd() {
    if [[ ${LYCEUM_REDIS__URL:-} == rediss://* ]]; then
        redis-cli --tls --cacert "$LYCEUM_REDIS__TLS_CA_FILE" -u "redis://${LYCEUM_REDIS__URL#rediss://}" "$@"
    else
        redis-cli -p "$redis_port" "$@"
    fi
}
flush_cache() {
    local keys i
    mapfile -t keys < <(redis_cmd --scan --pattern 'lyceum:*')
    for ((i = 0; i < ${#keys[@]}; i += 500)); do
        redis_cmd del "${keys[@]:i:500}" >/dev/null
    done
}

# The bench's own course runs (1 000 000 seats) and their purchases: left by an earlier run
# they would make the cached page of part 1 list thousands of runs (450 kB instead of 6 kB).
drop_bench_runs() {
    psql_w -c "DELETE FROM purchases WHERE course_run_id IN (SELECT id FROM course_runs WHERE seats_total = 1000000);
               DELETE FROM course_runs WHERE seats_total = 1000000" >/dev/null
}

seed() { # <scale>
    "$bin/lyceum-migrate" >/dev/null
    local status=0
    "$bin/lyceum-seeder" --scale "$1" >"$work/seed.log" 2>&1 || status=$?
    if [ "$status" = 2 ]; then
        "$bin/lyceum-seeder" --scale "$1" --reset >"$work/seed.log" 2>&1 || status=$?
        [ "$status" = 2 ] && status=0
    fi
    [ "$status" = 0 ] || { tail -20 "$work/seed.log" >&2; echo "bench-api: seeding failed" >&2; exit 1; }
    drop_bench_runs
    flush_cache
}

# seed_analyzed <scale>: seed, then fresh planner statistics, as a database that has lived
# would have (the catalogs' "only superuser can vacuum it" warnings are not a benchmark's
# business). Says how long seeding took on stderr; prints the live rows.
seed_analyzed() {
    local t=$SECONDS
    seed "$1"
    echo "seeded in $((SECONDS - t)) s" >&2
    psql_w -c "SET client_min_messages = error" -c "VACUUM ANALYZE" >/dev/null
    psql_w -c "SELECT sum(n_live_tup) FROM pg_stat_user_tables"
}

# check_disk <name> <scales...>: refuses a scale that would not fit. Measured, scale 40 (7.3
# million rows) took 16 GB of the stack's run folder (three nodes, their WAL and the backups'
# repository), 0.4 GB per unit.
check_disk() {
    local name=$1 largest need_gb free_gb
    shift
    largest=$(printf '%s\n' "$@" | sort -g | tail -1)
    need_gb=$(python3 -c "import sys; print(int(float(sys.argv[1]) * 0.4 + 2))" "$largest")
    free_gb=$(df -BG --output=avail "${LYCEUM_RUN_DIR:-.run}" 2>/dev/null | tail -1 | tr -dc 0-9)
    if [ -n "$free_gb" ] && [ "$free_gb" -lt "$need_gb" ]; then
        echo "$name: scale $largest needs about $need_gb GB free for the three nodes, $free_gb GB are; use a smaller --scales" >&2
        exit 1
    fi
}

# wrk_run <url> [lua script and args...]: prints "<2xx per second> <requests> <non-2xx>".
wrk_run() {
    local url=$1
    shift
    local out=$work/wrk.txt
    if [ $# -gt 0 ]; then
        local lua=$1
        shift
        wrk -t 2 -c "$connections" -d "${duration}s" -s "$lua" "$url" -- "$@" >"$out"
    else
        wrk -t 2 -c "$connections" -d "${duration}s" "$url" >"$out"
    fi
    awk '
        / requests in / { n = $1; t = $4; sub(/s,$/, "", t); if (t ~ /ms/) { sub(/ms/, "", t); t /= 1000 } else if (t ~ /m$/) { sub(/m$/, "", t); t *= 60 } }
        /Non-2xx or 3xx responses:/ { bad = $5 }
        /Socket errors:/ { err = $0 }
        END { printf "%.1f %d %d\n", (n - bad) / t, n, bad + 0 }
    ' "$out"
}

# pgbench_run <port> <script> [-D var=value...]: prints transactions per second.
# -M prepared: each statement prepared once per connection, as the backend does (lyceum_db::Queries).
pgbench_run() {
    local port=$1 script=$2
    shift 2
    pgbench -n -M prepared -c "$connections" -j 2 -T "$duration" -h "$host" -p "$port" \
        -U "$db_user" -f "$script" "$@" "$db_name" >"$work/pgbench.txt" 2>&1 || {
        cat "$work/pgbench.txt" >&2
        echo "bench-api: pgbench failed" >&2
        exit 1
    }
    awk '/^tps = / { printf "%.1f\n", $3 }' "$work/pgbench.txt"
}

# mix <addr> <report dir> <seconds>: the standard load mix; prints "<req/s> <p99 ms of course pages>"
mix() {
    "$bin/lyceum-loadtest" --host "http://$1" --users "$connections" --ramp-up 2 --duration "$3" \
        --ramp-down 1 --metrics-addr off --report-dir "$2" >"$2.log" 2>&1 || {
        tail -20 "$2.log" >&2
        echo "bench-api: the load mix failed (see above)" >&2
        exit 1
    }
    python3 - "$2/drill.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["transactions"]
# p99 over all transactions: the worst transaction's p99 would let one rare staff report
# dominate; weight each transaction's p99 by its count instead of pretending to have samples.
n = sum(x["count"] for x in t) or 1
p99 = max((x["p99_ms"] for x in t if x["count"] >= n * 0.05), default=0.0)
print("%.1f %.1f" % (r["requests_per_second"], p99))
PY
}

verdict() { python3 -c "import sys; print('met' if float(sys.argv[1]) $2 float(sys.argv[3]) else 'missed')" "$1" "$2" "$3"; }
