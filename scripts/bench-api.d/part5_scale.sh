# shellcheck shell=bash
# Sourced by scripts/bench-api. Part 5: the load mix at several seeder
# scales.
# The options (scale, connections, ...) and the figures the parts leave for the
# report are globals, set in scripts/bench-api and the other files here.
# shellcheck disable=SC2034,SC2154

part5_scale() {
    scale_lines=() scale_rows=""
    for s in $scaling; do
        step "5. load mix at seeder scale $s"
        stop_server "$cached_pid"
        seed "$s"
        start_backend "backend-scale-$s" "$cached_addr"
        cached_pid=$server_pid
        out=$(mix "$cached_addr" "$work/mix-$s" "$mix_duration")
        rows=$(psql_w -c "SELECT sum(n_live_tup) FROM pg_stat_user_tables")
        read -r rps p99s <<<"$out"
        scale_lines+=("| $s | $rows | $rps | $p99s | $(load_avg) |")
        scale_rows+="$s $rps $p99s"$'\n'
        echo "scale $s: $rows rows, $rps req/s, p99 $p99s ms"
    done
}
