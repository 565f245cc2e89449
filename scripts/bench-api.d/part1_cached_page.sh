# shellcheck shell=bash
# Sourced by scripts/bench-api. Part 1: the cached course page, backend
# against a minimal axum handler serving the same bytes.
# The options (scale, connections, ...) and the figures the parts leave for the
# report are globals, set in scripts/bench-api and the other files here.
# shellcheck disable=SC2034,SC2154

part1_cached_page() {
    r1=() lines1=() cached_rates=()
    step "1. cached course page $page_url ($page_bytes bytes): backend vs minimal axum handler"
    for i in $(seq 1 "$runs"); do
        if [ $((i % 2)) = 1 ]; then
            b=$(wrk_run "http://$cached_addr$page_url"); sleep 1; a=$(wrk_run "http://$baseline_addr$page_url")
        else
            a=$(wrk_run "http://$baseline_addr$page_url"); sleep 1; b=$(wrk_run "http://$cached_addr$page_url")
        fi
        b=${b%% *} a=${a%% *}
        r=$(ratio "$b" "$a")
        r1+=("$r"); cached_rates+=("$b")
        lines1+=("- run $i (load average $(load_avg)): backend $b req/s, baseline $a req/s, ratio $r")
        echo "${lines1[-1]}"
    done
}
