# shellcheck shell=bash
# Sourced by scripts/bench-api. Part 4: p99 of cached pages at half the
# saturating rate, and the backend's resident memory under the load mix.
# The options (scale, connections, ...) and the figures the parts leave for the
# report are globals, set in scripts/bench-api and the other files here.
# shellcheck disable=SC2034,SC2154

part4_latency_memory() {
    # The saturating rate is that of the client that sends the paced load (it costs more CPU per
    # request than wrk, and both share the cores with the backend), measured in a closed loop.
    wrk_saturating=$(median "${cached_rates[@]}")
    curl -fsS "http://$cached_addr$page_url" >/dev/null
    read -r _ _ saturating < <("$bin/examples/bench_paced" "http://$cached_addr$page_url" max "$duration" "$connections")
    half=$(python3 -c "print(int($saturating / 2))")
    step "4a. cached page at a constant $half req/s (half of bench_paced's saturating $saturating; wrk's: $wrk_saturating) for ${duration} s"
    read -r sent ok p50 p90 p99 pmax < <("$bin/examples/bench_paced" "http://$cached_addr$page_url" "$half" "$duration" "$connections")
    echo "sent $sent, ok $ok; p50 $p50 ms, p90 $p90 ms, p99 $p99 ms, max $pmax ms"
    # The floor of this machine and client: the bare axum baseline at the same rate.
    read -r _ _ bp50 bp90 bp99 bpmax < <("$bin/examples/bench_paced" "http://$baseline_addr$page_url" "$half" "$duration" "$connections")
    echo "baseline at the same rate: p50 $bp50 ms, p90 $bp90 ms, p99 $bp99 ms, max $bpmax ms"

    step "4b. resident memory of the backend under the load mix ($connections users, ${mix_duration} s)"
    rss_max=0
    ( while kill -0 "$cached_pid" 2>/dev/null; do
          awk '/^VmRSS:/ {print $2}' "/proc/$cached_pid/status" 2>/dev/null || true
          sleep 0.5
      done ) >"$work/rss.txt" &
    sampler=$!
    pids+=("$sampler")
    mix_main=$(mix "$cached_addr" "$work/mix-main" "$mix_duration")
    kill "$sampler" 2>/dev/null || true
    rss_max=$(sort -n "$work/rss.txt" | tail -1)
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$cached_pid/status")
    rss_mb=$(python3 -c "print('%.1f' % (${rss_max:-0} / 1024))")
    hwm_mb=$(python3 -c "print('%.1f' % ($hwm / 1024))")
    echo "load mix: ${mix_main% *} req/s; backend VmRSS peak $rss_mb MB, VmHWM $hwm_mb MB"
}
