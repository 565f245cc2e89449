# shellcheck shell=bash
# Sourced by scripts/bench-api. The results: printed, checked in --smoke
# mode, and written to docs/BENCHMARKS.md with the plot.
# The options (scale, connections, ...) and the figures the parts leave for the
# report are globals, set in scripts/bench-api and the other files here.
# shellcheck disable=SC2034,SC2154

# Medians and verdicts on the terminal; in --smoke mode, every figure must be a number.
report() {
    m1=$(median "${r1[@]}") m2=$(median "${r2[@]}") m3=$(median "${r3[@]}")
    step "results"
    wanted 1 && echo "1. cached page     backend / axum baseline: $m1 (target >= 0.8: $(verdict "$m1" '>=' 0.8))"
    wanted 2 && echo "2. uncached page   backend / pgbench:       $m2 (target >= 0.7: $(verdict "$m2" '>=' 0.7))"
    wanted 3 && echo "3. purchase        backend / pgbench:       $m3 (target >= 0.7: $(verdict "$m3" '>=' 0.7))"
    wanted 4 && echo "4. p99 at $half req/s: $p99 ms (target <= 5: $(verdict "$p99" '<=' 5)); RSS peak $rss_mb MB (target <= 150: $(verdict "$rss_mb" '<=' 150))"

    if [ "$smoke" = 1 ]; then
        # The figures of the parts measured (--only may leave some out).
        local figures=()
        if wanted 1; then figures+=("$m1"); fi
        if wanted 2; then figures+=("$m2"); fi
        if wanted 3; then figures+=("$m3"); fi
        if wanted 4; then figures+=("$p99" "$rss_mb" "${mix_main% *}"); fi
        if wanted 5; then figures+=("$(echo "$scale_rows" | awk 'NR==1 {print $2}')"); fi
        for v in "${figures[@]}"; do
            is_number "$v" || { echo "bench-api: smoke: a measurement produced no number ('$v')" >&2; exit 1; }
        done
        echo "bench-api smoke: every measurement produced a number"
    fi
}

# The plot and the bench-api section of docs/BENCHMARKS.md.
write_docs() {
    png=docs/bench-api-scaling.png
    if [ -n "$scaling" ]; then
        printf '%s' "$scale_rows" >"$work/scaling.dat"
        gnuplot <<GP
set terminal pngcairo size 800,450 noenhanced
set output "$png"
set title "Load mix ($connections users, ${mix_duration} s) by seeder scale, $(date -u +%Y-%m-%d)"
set xlabel "seeder scale"
set logscale x
set ylabel "requests/s"
set y2label "p99 ms (transactions with >= 5 % of requests)"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key bottom left
set grid
plot "$work/scaling.dat" using 1:2 with linespoints axes x1y1 title "requests/s", \
     "$work/scaling.dat" using 1:3 with linespoints axes x1y2 title "p99 ms"
GP
    fi

    section=$(
        cat <<EOF
<!-- bench-api:start (written by scripts/bench-api; edit the script, not this section) -->
## API

\`scripts/bench-api$([ "$debug" = 1 ] && echo " --debug") --scale $scale --connections $connections --duration $duration --runs $runs --scaling "$scaling" --mix-duration $mix_duration\`, $(date -u +%Y-%m-%d).

**Method.** One run of the script on the local stack (three Patroni nodes, HAProxy, Redis,
all on this machine's $(nproc) cores together with the load tools and other people's work),
$([ "$debug" = 1 ] && echo "DEBUG builds (--debug: dependencies optimised, workspace crates not)" || echo "release builds"), seeder scale $scale. Every ratio's two sides use the same tool settings
(\`-c $connections\`, ${duration} s) and alternate which goes first; medians of $runs runs.

1. *Cached course page*: \`wrk -t 2 -c $connections\` on \`GET $page_url\` ($page_bytes bytes) of the
   backend (Redis on, page cached) and of \`backend/examples/bench_baseline.rs\`, a bare axum
   router answering the same path with the same bytes (checked byte for byte).
2. *Uncached course page*: a backend with \`LYCEUM_REDIS__ENABLED=false\` under wrk with ids drawn
   from 1..$max_course (\`scripts/bench-api.d/course_detail.lua\`; $published_share % are published, the
   rest answer 404 after the same statements) against \`pgbench -M prepared -c $connections -j 2\`
   running those six statements pipelined, with ids from the same range, through the same
   HAProxy read port (\`course_detail.sql\`). Both sides prepare each statement once per
   connection (pgbench \`-M prepared\`, the backend's \`lyceum_db::Queries\`). Rate = answers / s
   and transactions / s.
3. *Purchase*: \`POST /api/v1/purchases\` by $connections logged-in buyers, a new idempotency
   key each, each buyer walking its own stretch of $nruns bench runs (\`purchase.lua\`), against
   pgbench running every statement the backend sends for one purchase, in order, through the
   write port (\`purchase.sql\`, which lists them and what pgbench leaves out: HTTP, JSON, token
   check, and the read-your-writes fence SET in Redis). Backend rate = purchase rows made / s.
4. *Latency*: \`backend/examples/bench_paced.rs\`, an open-loop client sending at a constant rate
   and timing each request from when it was due, at half the saturating rate of the same client
   in a closed loop (\`bench_paced <url> max\`, $saturating req/s; wrk's median in 1 was
   $wrk_saturating req/s, but wrk costs less CPU per request on the shared cores).
   *Memory*: VmRSS of the backend sampled every 0.5 s under \`lyceum-loadtest\` (standard mix,
   $connections users, ${mix_duration} s) after all the above; VmHWM is the peak over its life.
5. *Scale*: the same load mix after reseeding at each scale, on a fresh backend; p99 is the
   highest p99 among transactions with at least 5 % of the requests.

| ratio | median | target | |
| --- | ---: | ---: | --- |
| 1. cached page: backend / axum baseline | $m1 | ≥ 0.8 | $(verdict "$m1" '>=' 0.8) |
| 2. uncached page: backend / pgbench | $m2 | ≥ 0.7 | $(verdict "$m2" '>=' 0.7) |
| 3. purchase: backend / pgbench | $m3 | ≥ 0.7 | $(verdict "$m3" '>=' 0.7) |
| 4a. p99 of cached pages at $half req/s | $p99 ms | ≤ 5 ms | $(verdict "$p99" '<=' 5) |
| 4b. backend resident memory under the load mix (peak VmRSS) | $rss_mb MB | ≤ 150 MB | $(verdict "$rss_mb" '<=' 150) |

4a: $sent requests sent, $ok answered 200; p50 $p50 ms, p90 $p90 ms, p99 $p99 ms, max $pmax ms.
The bare axum baseline at the same rate, same client (the floor this machine and client
set): p50 $bp50 ms, p90 $bp90 ms, p99 $bp99 ms, max $bpmax ms.
4b: load mix ${mix_main% *} req/s; VmHWM over the backend's whole life (ratios 1-3 included) $hwm_mb MB.

Per run:

$(printf '%s\n' "${lines1[@]}")
$(printf '%s\n' "${lines2[@]}")
$(printf '%s\n' "${lines3[@]}")

Load mix by seeder scale ($connections users, ${mix_duration} s each; rows = live rows in all tables):

| scale | rows | requests/s | p99 ms | load average |
| ---: | ---: | ---: | ---: | ---: |
$(printf '%s\n' "${scale_lines[@]}")

$([ -n "$scaling" ] && echo "![load mix by scale](bench-api-scaling.png)")
<!-- bench-api:end -->
EOF
    )
    python3 - "$section" <<'PY'
import re, sys
path = "docs/BENCHMARKS.md"
section = sys.argv[1]
text = open(path).read()
pattern = re.compile(r"<!-- bench-api:start.*?<!-- bench-api:end -->", re.S)
text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
    echo "written to docs/BENCHMARKS.md and $png"
}
