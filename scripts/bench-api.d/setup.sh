# shellcheck shell=bash
# Sourced by scripts/bench-api. Before the parts: tools, the stack's
# addresses, the build, the backends and the page they serve.
# The options (scale, connections, ...) and the figures the parts leave for the
# report are globals, set in scripts/bench-api and the other files here.
# shellcheck disable=SC2034,SC2154

# wrk and gnuplot from Debian if missing; pgbench comes with scripts/stack install.
install_tools() {
    for tool in wrk gnuplot; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            pkg=$tool; [ "$tool" = gnuplot ] && pkg=gnuplot-nox
            echo "==> installing $pkg"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
        fi
    done
    command -v pgbench >/dev/null || { echo "bench-api: pgbench not found (scripts/stack install)" >&2; exit 1; }
}

# The stack's addresses from `scripts/stack env`; fails unless its primary answers.
connect_stack() {
    eval "$(scripts/stack env)"
    host=${LYCEUM_DB__HOST:-127.0.0.1}
    write_port=${LYCEUM_DB__WRITE_PORT:-5000}
    read_port=${LYCEUM_DB__READ_PORT:-5001}
    db_user=${LYCEUM_DB__USER:-lyceum}
    db_name=${LYCEUM_DB__DBNAME:-lyceum}
    export PGPASSWORD=${LYCEUM_DB__PASSWORD:-lyceum}
    psql_w -c 'SELECT 1' >/dev/null || {
        echo "bench-api: no primary at $host:$write_port; start the stack (scripts/stack up)" >&2
        exit 1
    }
    redis_port=${LYCEUM_REDIS__URL##*:}
    redis_port=${redis_port%%/*}
}

build() {
    if [ "$debug" = 1 ]; then
        profile_flag="" bin=target/debug
    else
        profile_flag="--release" bin=target/release
    fi
    step "building ($bin): backend, examples bench_baseline and bench_paced, seeder, migrator, loadtest"
    cargo build $profile_flag --locked -q -p lyceum-backend -p lyceum-seeder -p lyceum-loadtest -p lyceum-db \
        --bins --example bench_baseline --example bench_paced
}

# Ports of the servers this script starts, and its scratch directory (removed on exit).
make_workdir() {
    offset=${LYCEUM_PORT_OFFSET:-0}
    cached_addr=127.0.0.1:$((8480 + offset))
    nocache_addr=127.0.0.1:$((8481 + offset))
    baseline_addr=127.0.0.1:$((8482 + offset))
    work=$(mktemp -d /tmp/lyceum-bench-api.XXXXXX)
    pids=()
    trap cleanup EXIT
}

# Seeds, starts the cached and uncached backends, and picks the course page every part
# uses; the baseline serves the same bytes.
start_backends() {
    step "seeding (scale $scale)"
    seed "$scale"

    start_backend backend-cached "$cached_addr"
    cached_pid=$server_pid
    start_backend backend-nocache "$nocache_addr" LYCEUM_REDIS__ENABLED=false

    course_id=$(psql_w -c "SELECT c.id FROM courses c WHERE c.published AND EXISTS (SELECT 1 FROM topics t WHERE t.course_id = c.id) ORDER BY c.id LIMIT 1")
    page_url="/api/v1/courses/$course_id"
    curl -fsS "http://$cached_addr$page_url" >"$work/page.json"
    start_server baseline "http://$baseline_addr$page_url" "$bin/examples/bench_baseline" "$baseline_addr" "$work/page.json"
    curl -fsS "http://$baseline_addr$page_url" | cmp -s - "$work/page.json" || { echo "bench-api: baseline bytes differ" >&2; exit 1; }
    curl -fsS "http://$cached_addr$page_url" | cmp -s - "$work/page.json" || { echo "bench-api: backend bytes changed between reads" >&2; exit 1; }
    page_bytes=$(wc -c <"$work/page.json")
}
