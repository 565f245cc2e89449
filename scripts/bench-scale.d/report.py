#!/usr/bin/env python3
"""scripts/bench-scale's results: reads OUT/scale-S/{drill.json,rows.txt,cache.txt,
statements.txt,scans-before.txt,scans-after.txt} for every scale, checks each produced its
figures and that no table of --big-table rows or more was scanned sequentially during its
load (exit status 1 after writing everything when one was), and writes
OUT/results.json, OUT/results.md (the run, p50/p99 per transaction across the scales, cache
hit ratios, the costliest statements) and OUT/bench-scale.png (p99 against rows, one panel
per journey, drawn by gnuplot). With --write-docs the table goes between the bench-scale
markers of docs/BENCHMARKS.md and the PNG to docs/bench-scale.png.

usage: report.py --rate R --users N --duration S --load L --out DIR --big-table ROWS
                 --stats-wait S [--debug] [--write-docs] SCALE..."""
import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# Transactions with fewer samples than this at some scale are left out of the table and the
# plot: their p99 is one or two requests, noise rather than cost.
MIN_SAMPLES = 20


def read_scale(out, scale):
    folder = os.path.join(out, "scale-%s" % scale)
    try:
        report = json.load(open(os.path.join(folder, "drill.json")))
        rows = int(open(os.path.join(folder, "rows.txt")).read().strip())
    except (OSError, ValueError) as e:
        sys.exit("bench-scale: scale %s left no figures (%s)" % (scale, e))
    if not report["transactions"] or not (report.get("arrivals") or {}).get("scheduled"):
        sys.exit("bench-scale: scale %s: no transactions or no schedule in its drill.json" % scale)
    cache = {}
    path = os.path.join(folder, "cache.txt")
    if os.path.exists(path):
        # lyceum_cache_lookups_total{kind="course_list",result="hit"} 656
        for line in open(path):
            m = re.match(r'lyceum_cache_lookups_total\{(.*)\} (\S+)', line)
            if m:
                labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
                kind = cache.setdefault(labels.get("kind", "?"), {})
                kind[labels.get("result", "?")] = int(float(m.group(2)))
    path = os.path.join(folder, "statements.txt")
    statements = open(path).read().rstrip("\n") if os.path.exists(path) else ""
    scans = {}
    before, after = (read_scans(os.path.join(folder, f)) for f in ("scans-before.txt", "scans-after.txt"))
    for table, (count, live) in after.items():
        scans[table] = {"seq_scans": count - before.get(table, (0, 0))[0], "live_rows": live}
    return {
        "scale": scale,
        "rows": rows,
        "requests_per_second": round(report["requests_per_second"], 1),
        "passed": report["passed"],
        "arrivals": report["arrivals"],
        "transactions": {t["name"]: t for t in report["transactions"]},
        "statements": statements,
        "cache": cache,
        "seq_scans": scans,
    }


def read_scans(path):
    """`scripts/stack seq-scans` output: {table: (sequential scans, live rows)}."""
    scans = {}
    if os.path.exists(path):
        for line in open(path):
            parts = line.split()
            if len(parts) == 3:
                scans[parts[0]] = (int(parts[1]), int(parts[2]))
    return scans


def big_scans(results, big):
    """(scale, table, scans, live rows) for each table of `big` rows or more scanned whole."""
    return [(r["scale"], t, s["seq_scans"], s["live_rows"])
            for r in results for t, s in sorted(r["seq_scans"].items())
            if s["live_rows"] >= big and s["seq_scans"] > 0]


def comparable(results):
    """Transaction names with enough samples at every scale, in the first scale's order."""
    names = list(results[0]["transactions"])
    return [n for n in names
            if all(r["transactions"].get(n, {}).get("count", 0) >= MIN_SAMPLES for r in results)]


def markdown(args, results, names):
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    build = "debug" if args.debug else "release"
    lines = [
        "Run of %s on %d cores (load average %s at the end), local stack, %s backend; the load"
        % (when, os.cpu_count(), args.load, build),
        "mix at **%s transaction starts/s** (open loop, `--rate`), %s users, %s s per scale"
        % (args.rate, args.users, args.duration),
        "(`scripts/bench-scale --scales \"%s\" --rate %s --users %s --duration %s`):"
        % (" ".join(r["scale"] for r in results), args.rate, args.users, args.duration),
        "",
        "| scale | rows | req/s | starts due | dropped | started late p99 | verdict |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        a = r["arrivals"]
        lines.append("| %s | %s | %.1f | %d | %d | %.1f ms | %s |" % (
            r["scale"], format(r["rows"], ","), r["requests_per_second"], a["scheduled"],
            a["dropped"], a["lag_p99_ms"], "passed" if r["passed"] else "FAILED"))
    lines += ["", "p50 / p99 in ms per transaction (those with %d samples or more at every scale),"
              % MIN_SAMPLES, "slowest p99 at the largest scale first; growth is p99 largest ÷ smallest:", ""]
    head = "| transaction | " + " | ".join("scale %s" % r["scale"] for r in results) + " | growth |"
    lines += [head, "| --- |" + " ---: |" * (len(results) + 1)]
    last = results[-1]["transactions"]
    for n in sorted(names, key=lambda n: -last[n]["p99_ms"]):
        cells = ["%.1f / %.1f" % (r["transactions"][n]["p50_ms"], r["transactions"][n]["p99_ms"])
                 for r in results]
        first = results[0]["transactions"][n]["p99_ms"]
        growth = "%.1f×" % (last[n]["p99_ms"] / first) if first > 0 else "–"
        lines.append("| %s | %s | %s |" % (n, " | ".join(cells), growth))
    kinds = sorted({k for r in results for k in r["cache"]})
    if kinds:
        lines += ["", "Cache hit ratio by key kind (hits ÷ lookups; lookups in brackets):", "",
                  "| key kind | " + " | ".join("scale %s" % r["scale"] for r in results) + " |",
                  "| --- |" + " ---: |" * len(results)]
        for k in kinds:
            cells = []
            for r in results:
                c = r["cache"].get(k, {})
                total = sum(c.values())
                cells.append("%.0f %% (%d)" % (100.0 * c.get("hit", 0) / total, total) if total else "–")
            lines.append("| %s | %s |" % (k, " | ".join(cells)))
    scanned = big_scans(results, args.big_table)
    lines += ["", "Sequential scans during the load of tables with %s live rows or more (`scripts/stack"
              % format(args.big_table, ","), "seq-scans` from %s s into the load to %s s after it, every node): %s"
              % (args.stats_wait, args.stats_wait, "none." if not scanned else "")]
    if scanned:
        lines += ["", "| scale | table | scans | live rows |", "| ---: | --- | ---: | ---: |"]
        lines += ["| %s | %s | %d | %s |" % (sc, t, n, format(live, ",")) for sc, t, n, live in scanned]
    if results[-1]["statements"]:
        lines += ["", "Where PostgreSQL's time went during the load at scale %s (`scripts/stack top-statements`,"
                  % results[-1]["scale"], "every node, reset before the load):", "", "```",
                  results[-1]["statements"], "```"]
    return "\n".join(lines) + "\n"


def plot(results, names, png):
    """One panel per journey (the name before ':'): p99 against rows, log-log."""
    groups = {}
    for n in names:
        groups.setdefault(n.split(":")[0], []).append(n)
    data = os.path.splitext(png)[0] + ".dat"
    with open(data, "w") as f:
        for n in names:
            f.write("# %s\n" % n)
            for r in results:
                f.write("%d %.3f\n" % (r["rows"], max(r["transactions"][n]["p99_ms"], 0.01)))
            f.write("\n\n")
    index = {n: i for i, n in enumerate(names)}
    cols = 3
    rowsn = (len(groups) + cols - 1) // cols
    script = [
        "set terminal pngcairo size 1500,%d font ',9'" % (360 * rowsn),
        "set output '%s'" % png,
        "set multiplot layout %d,%d title 'p99 per transaction against rows (log-log), fixed arrival rate'"
        % (rowsn, cols),
        "set logscale xy", "set format x '%.0s%c'", "set xlabel 'rows'", "set ylabel 'p99 ms'",
        "set key top left font ',8'", "set grid",
    ]
    for g, members in groups.items():
        script.append("set title '%s'" % g)
        script.append("plot " + ", ".join(
            "'%s' index %d with linespoints title '%s'" % (data, index[n], n.split(": ", 1)[-1].replace("'", ""))
            for n in members))
    script.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(script), text=True, check=True)


def main():
    p = argparse.ArgumentParser()
    for opt in ("--rate", "--users", "--duration", "--load", "--out"):
        p.add_argument(opt, required=True)
    p.add_argument("--big-table", type=int, required=True)
    p.add_argument("--stats-wait", type=int, required=True)
    p.add_argument("--debug", action="store_true")
    p.add_argument("--write-docs", action="store_true")
    p.add_argument("scales", nargs="+")
    args = p.parse_args()
    results = [read_scale(args.out, s) for s in args.scales]
    names = comparable(results)
    if not names:
        sys.exit("bench-scale: no transaction has %d samples at every scale; run longer" % MIN_SAMPLES)
    json.dump({"rate": float(args.rate), "users": int(args.users), "duration_s": int(args.duration),
               "debug": args.debug, "scales": results},
              open(os.path.join(args.out, "results.json"), "w"), indent=2)
    text = markdown(args, results, names)
    open(os.path.join(args.out, "results.md"), "w").write(text)
    png = os.path.join(args.out, "bench-scale.png")
    plot(results, names, png)
    print(text)
    print("bench-scale: %s, %s and %s" % (os.path.join(args.out, "results.md"),
                                          os.path.join(args.out, "results.json"), png))
    if args.write_docs:
        shutil.copy(png, os.path.join(REPO, "docs", "bench-scale.png"))
        section = "<!-- bench-scale:start (written by scripts/bench-scale; edit the script, not this section) -->\n" \
            + text + "\n![p99 per transaction against rows](bench-scale.png)\n<!-- bench-scale:end -->\n"
        subprocess.run([sys.executable, os.path.join(REPO, "scripts", "tests", "docs_section.py"),
                        "bench-scale", os.path.join(REPO, "docs", "BENCHMARKS.md")],
                       input=section, text=True, check=True)
        print("bench-scale: wrote docs/bench-scale.png and the bench-scale section of docs/BENCHMARKS.md")
    scanned = big_scans(results, args.big_table)
    if scanned:
        sys.exit("bench-scale: FAILED: the load scanned big tables sequentially: " + "; ".join(
            "%s %d times at scale %s (%s rows)" % (t, n, sc, format(live, ",")) for sc, t, n, live in scanned))


if __name__ == "__main__":
    main()
