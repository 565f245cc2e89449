# shellcheck shell=bash
# Sourced by scripts/bench-api. Part 2: the uncached course page (Redis
# off), backend against pgbench running the same statements.
# The options (scale, connections, ...) and the figures the parts leave for the
# report are globals, set in scripts/bench-api and the other files here.
# shellcheck disable=SC2034,SC2154

part2_uncached_page() {
    max_course=$(psql_w -c "SELECT max(id) FROM courses")
    published_share=$(psql_w -c "SELECT round(100.0 * count(*) FILTER (WHERE published) / count(*)) FROM courses")
    step "2. uncached course page (ids 1..$max_course, $published_share % published): backend (Redis off) vs pgbench, read port $read_port"
    r2=() lines2=()
    detail_lua=scripts/bench-api.d/course_detail.lua
    detail_sql=scripts/bench-api.d/course_detail.sql
    for i in $(seq 1 "$runs"); do
        if [ $((i % 2)) = 1 ]; then
            b=$(wrk_run "http://$nocache_addr" "$detail_lua" "$max_course"); sleep 1
            p=$(pgbench_run "$read_port" "$detail_sql" -D "max_course=$max_course")
        else
            p=$(pgbench_run "$read_port" "$detail_sql" -D "max_course=$max_course"); sleep 1
            b=$(wrk_run "http://$nocache_addr" "$detail_lua" "$max_course")
        fi
        read -r b_rate b_total b_bad <<<"$b"
        # Unpublished ids answer 404 after the same six statements: they count, as on pgbench's side.
        b_rate=$(python3 -c "print('%.1f' % ($b_total / $duration))")
        r=$(ratio "$b_rate" "$p")
        r2+=("$r")
        lines2+=("- run $i (load average $(load_avg)): backend $b_rate req/s ($b_bad of $b_total were 404), pgbench $p tps, ratio $r")
        echo "${lines2[-1]}"
    done
}
