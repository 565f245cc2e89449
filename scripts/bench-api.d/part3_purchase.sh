# shellcheck shell=bash
# Sourced by scripts/bench-api. Part 3: purchases, backend against pgbench
# running every statement the backend sends for one purchase.
# The options (scale, connections, ...) and the figures the parts leave for the
# report are globals, set in scripts/bench-api and the other files here.
# shellcheck disable=SC2034,SC2154

reset_purchases() {
    psql_w -c "UPDATE purchases SET status = 'cancelled', cancelled_at = now()
                WHERE course_run_id BETWEEN $rbase AND $rmax AND status = 'pending';
               UPDATE course_runs SET seats_left = seats_total WHERE id BETWEEN $rbase AND $rmax" >/dev/null
}
count_made() { psql_w -c "SELECT count(*) FROM purchases WHERE idempotency_key LIKE '$1%'"; }

backend_purchase() { # <tag>; prints purchases/s (2xx answers; checked against the rows made)
    local out
    out=$(wrk_run "http://$cached_addr" "$purchase_lua" "$work/tokens" $((connections / 2)) \
        "$rbase" "$nruns" "$step_runs" "$1")
    local made
    made=$(count_made "wrk-$1-")
    read -r rate total bad <<<"$out"
    echo "backend purchases: $total requests, $bad not 2xx, $made rows made" >&2
    python3 -c "print('%.1f' % ($made / $duration))"
}
pgbench_purchase() { # <tag>
    local rate made
    rate=$(pgbench_run "$write_port" "$purchase_sql" -D "ubase=$ubase" -D "rbase=$rbase" \
        -D "nruns=$nruns" -D "step=$step_runs" -D seq=0 -D "tag=$1")
    made=$(count_made "pgb-$1-")
    echo "pgbench purchases: $made rows made" >&2
    echo "$rate"
}

part3_purchase() {
    step "3. purchase: backend vs pgbench, write port $write_port"
    nruns=4000
    range=$(psql_w -c "WITH ins AS (
        INSERT INTO course_runs (course_id, start_date, sales_end_date, seats_total, seats_left)
        SELECT $course_id, current_date + 365, current_date + 300, 1000000, 1000000 FROM generate_series(1, $nruns)
        RETURNING id) SELECT min(id) || ' ' || max(id) FROM ins")
    read -r rbase rmax <<<"$range"
    [ $((rmax - rbase + 1)) = "$nruns" ] || { echo "bench-api: bench runs are not contiguous ($range)" >&2; exit 1; }
    flush_cache
    # The buyers: the first $connections consecutive ids past the first 100 that are all ordinary
    # accounts (staff accounts are interleaved with them at some scales).
    ubase=$(psql_w -c "SELECT min(id) FROM (
        SELECT id, id - row_number() OVER (ORDER BY id) AS streak FROM users
        WHERE email LIKE '%@example.%' AND id >= (SELECT min(id) + 100 FROM users)) s
        GROUP BY streak HAVING count(*) >= $connections ORDER BY min(id) LIMIT 1")
    [ -n "$ubase" ] || { echo "bench-api: no $connections consecutive ordinary accounts to buy with" >&2; exit 1; }
    buyers=$(psql_w -c "SELECT count(*) FROM users WHERE id BETWEEN $ubase AND $ubase + $connections - 1 AND email LIKE '%@example.%'")
    [ "$buyers" = "$connections" ] || { echo "bench-api: users $ubase.. are not $connections ordinary accounts" >&2; exit 1; }
    : >"$work/tokens"
    while IFS='|' read -r uid email; do
        token=$(curl -fsS -H 'content-type: application/json' \
            -d "{\"email\":\"$email\",\"password\":\"lyceum-password\"}" "http://$cached_addr/api/v1/auth/login" |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
        echo "$uid $token" >>"$work/tokens"
    done < <(psql_w -F'|' -c "SELECT id, email FROM users WHERE id BETWEEN $ubase AND $ubase + $connections - 1 ORDER BY id")
    step_runs=$((nruns / connections))
    purchase_lua=scripts/bench-api.d/purchase.lua
    purchase_sql=scripts/bench-api.d/purchase.sql
    r3=() lines3=()
    tag_base=$(date +%s)
    for i in $(seq 1 "$runs"); do
        reset_purchases
        if [ $((i % 2)) = 1 ]; then
            b=$(backend_purchase "$tag_base$i"); reset_purchases; sleep 1; p=$(pgbench_purchase "$tag_base$i")
        else
            p=$(pgbench_purchase "$tag_base$i"); reset_purchases; sleep 1; b=$(backend_purchase "$tag_base$i")
        fi
        r=$(ratio "$b" "$p")
        r3+=("$r")
        lines3+=("- run $i (load average $(load_avg)): backend $b purchases/s, pgbench $p tps, ratio $r")
        echo "${lines3[-1]}"
    done
    drop_bench_runs
    flush_cache
}
