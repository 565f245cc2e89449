#!/usr/bin/env python3
"""Does every chart of a report's index.html render with data in headless Chromium?

usage: report_probe.py INDEX_HTML [--strip-series CHART]

Copies the page beside itself with a small probe script appended (the report itself has no
script), has headless Chromium load the copy and print the DOM after load (--dump-dom), and
reads what the probe measured in the laid-out page, per <figure class="chart">: the size of
its <svg> on the page, and its data series: polylines of at least three points whose
rendered box is neither flat nor empty (axes, grid lines, legend entries and the drill's
line have two points; a series of zeros is flat).

Prints one line per chart and exits 1 when a chart has no data series drawn, is not on
the page with a size, or when no chart was found; 2 when Chromium did not answer.
--strip-series CHART first removes that chart's series from the copy, to show that the
check reports a chart without data (the report test expects exit 1 and the chart's name).
"""

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PROBE = """<script>
(function () {
  var out = [];
  document.querySelectorAll("figure.chart").forEach(function (f) {
    var svg = f.querySelector("svg");
    var box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
    var series = 0, points = 0;
    if (svg) svg.querySelectorAll("polyline").forEach(function (p) {
      var n = p.points.numberOfItems, b = p.getBBox();
      if (n >= 3 && b.width > 0 && b.height > 0) { series += 1; points += n; }
    });
    out.push({ chart: f.dataset.chart, width: Math.round(box.width),
               height: Math.round(box.height), series: series, points: points });
  });
  var pre = document.createElement("pre");
  pre.id = "report-probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("report_probe: no chromium on PATH (apt-get install chromium)")


def strip_series(page, chart):
    """The page with every polyline of three or more points removed from one chart."""
    m = re.search(r'<figure class="chart"[^>]*data-chart="%s".*?</figure>' % re.escape(chart), page, re.S)
    if not m:
        sys.exit(f"report_probe: no chart named {chart!r} to strip")

    def is_series(p):
        pts = re.search(r'points="([^"]*)"', p.group(0))
        return "" if pts and len(pts.group(1).split()) >= 3 else p.group(0)

    figure = re.sub(r"<polyline[^>]*/>", is_series, m.group(0))
    return page[: m.start()] + figure + page[m.end() :]


def measure(index, strip=None):
    with open(index, encoding="utf-8") as f:
        page = f.read()
    if strip:
        page = strip_series(page, strip)
    page = page.replace("</body>", PROBE + "</body>", 1)
    # Beside the original, so relative links resolve as they would.
    fd, probe_path = tempfile.mkstemp(prefix=".probe-", suffix=".html", dir=os.path.dirname(os.path.abspath(index)))
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(page)
    profile = tempfile.mkdtemp(prefix="lyceum-report-chromium-")
    try:
        run = subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={profile}", "--window-size=1100,1400", "--dump-dom",
             "file://" + probe_path],
            capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(probe_path)
        shutil.rmtree(profile, ignore_errors=True)
    m = re.search(r'<pre id="report-probe">(.*?)</pre>', run.stdout, re.S)
    if not m:
        print(f"report_probe: Chromium gave no measurement (exit {run.returncode}):\n{run.stderr[-2000:]}", file=sys.stderr)
        sys.exit(2)
    return json.loads(html.unescape(m.group(1)))


def main():
    args = sys.argv[1:]
    strip = None
    if len(args) == 3 and args[1] == "--strip-series":
        strip = args[2]
    elif len(args) != 1:
        sys.exit(__doc__)
    charts = measure(args[0], strip)
    bad = 0
    for c in charts:
        drawn = c["width"] >= 100 and c["height"] >= 50
        has_data = c["series"] >= 1
        verdict = "ok" if drawn and has_data else "EMPTY"
        bad += verdict != "ok"
        print(f"chart {c['chart']}: {verdict}: {c['series']} data series, {c['points']} points, "
              f"{c['width']}x{c['height']} px on the page")
    if not charts:
        print("no chart on the page")
        bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
