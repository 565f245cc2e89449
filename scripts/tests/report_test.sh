#!/usr/bin/env bash
#
# The load generator's report folder, as a person opens it with no network: index.html in
# headless Chromium (Debian's `chromium`, installed here if missing).
#
# usage: scripts/tests/report_test.sh REPORT_DIR [--screenshot FILE.png]
#
# Checks that index.html names no address outside the folder and loads nothing (no script,
# stylesheet, image or frame from anywhere), that summary.txt links it and every chart file,
# and that in Chromium every chart is on the page with data drawn: at least one series
# that is not flat (scripts/tests/report_probe.py measures the laid-out page). Then shows
# the check able to fail: a copy with one chart's series removed must be reported, by name.
# --screenshot also saves the page's top (the verdict and the failover timeline) as PNG.
#
# REPORT_DIR comes from any run: scripts/tests/loadtest_smoke.sh calls this on its own, a
# local run's is reports/<time>/loadtest, compose's reports/compose.
#
# Output is TAP-like and ends with "N passed, M failed"; exit non-zero if any check failed.
set -euo pipefail

usage() { sed -n '5p' "$0" | sed 's/^# //' >&2; exit 2; }
[ $# -ge 1 ] || usage
REPORT_DIR=$1
shift
SCREENSHOT=""
case "${1:-}" in
    --screenshot) [ $# = 2 ] || usage; SCREENSHOT=$2 ;;
    "") ;;
    *) usage ;;
esac
INDEX=$REPORT_DIR/index.html
PROBE=$(dirname -- "${BASH_SOURCE[0]}")/report_probe.py
t0=$SECONDS

# shellcheck source=scripts/tests/tap.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/tap.sh"

if ! command -v chromium >/dev/null; then
    echo "# installing Debian's chromium (headless use only)"
    t=$SECONDS
    install_chromium() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
    install_chromium 2>/dev/null || { apt-get update -qq && install_chromium; } ||
        { echo "report_test: could not install chromium (apt-get)" >&2; exit 1; }
    echo "# chromium installed in $((SECONDS - t)) s"
fi
echo "# $(chromium --version 2>/dev/null)"

check "index.html exists" test -s "$INDEX"
# Anything the browser would fetch, or any address at all.
external=$(grep -Eion '[a-z][a-z0-9+.-]*://[^" <]*|<(script|link|img|iframe|object|embed)\b|@import|url\(' "$INDEX" || true)
check_quiet "index.html names no address and loads nothing${external:+: $external}" test -z "$external"
summary_links() {
    grep -q 'index.html' "$REPORT_DIR/summary.txt" || { echo "summary.txt does not name index.html"; return 1; }
    local files
    files=$(grep -o 'charts/[a-z0-9-]*\.svg' "$REPORT_DIR/summary.txt" | sort -u)
    [ -n "$files" ] || { echo "summary.txt names no chart"; return 1; }
    for f in $files; do
        [ -s "$REPORT_DIR/$f" ] || { echo "$f is named but missing"; return 1; }
        grep -q "href=\"$f\"" "$INDEX" || { echo "$f is not on the page"; return 1; }
    done
    echo "$(echo "$files" | wc -l) charts: $(echo "$files" | tr '\n' ' ')"
}
check_quiet "summary.txt links index.html and every chart, each on the page" summary_links

t=$SECONDS
probe_status=0
probe_out=$(python3 "$PROBE" "$INDEX" 2>&1) || probe_status=$?
echo "$probe_out" | sed 's/^/#   /'
charts=$(grep -c '^chart ' <<<"$probe_out" || true)
check "Chromium shows every chart ($charts) with data drawn, in $((SECONDS - t)) s" test "$probe_status" = 0
check "a timeline and at least one transaction group are charted" test "$charts" -ge 2

# The same check on a copy without one chart's series: it must fail and name that chart.
victim=$(grep -o 'data-chart="[^"]*"' "$INDEX" | tail -1 | cut -d'"' -f2)
stripped_status=0
stripped_out=$(python3 "$PROBE" "$INDEX" --strip-series "$victim" 2>&1) || stripped_status=$?
echo "${stripped_out}" | grep "^chart $victim:" | sed 's/^/#   stripped copy: /' || true
check "a chart without data is reported (chart '$victim' stripped of its series)" \
    sh -c '[ "$1" = 1 ] && printf "%s\n" "$2" | grep -q "^chart $3: EMPTY"' _ "$stripped_status" "$stripped_out" "$victim"

if [ -n "$SCREENSHOT" ]; then
    profile=$(mktemp -d /tmp/lyceum-report-chromium.XXXXXX)
    chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
        --user-data-dir="$profile" --window-size=1040,900 --screenshot="$SCREENSHOT" \
        "file://$(cd "$REPORT_DIR" && pwd -P)/index.html" >/dev/null 2>&1 || true
    rm -rf "$profile"
    check "screenshot saved to $SCREENSHOT" test -s "$SCREENSHOT"
fi

echo "# report test took $((SECONDS - t0)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
