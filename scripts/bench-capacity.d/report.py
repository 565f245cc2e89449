#!/usr/bin/env python3
"""scripts/bench-capacity's verdicts and results.

  report.py step --limit MS [--min-samples N] DIR
      One step's verdict from DIR/drill.json (the load generator's report) and
      DIR/sample.json (sample.py): passed when every transaction with N samples or more
      (default MIN_SAMPLES) has
      p99 <= MS, no request failed and no start was dropped. Writes DIR/verdict.json, prints
      one line; exit status 0 passed, 1 failed, 2 the figures are missing.

  report.py summary --limit MS --step S --users N --rates LIST --load L --out OUT
                    [--debug] [--write-docs] SCALE...
      The capacity per scale (the highest rate whose step passed, the steps having stopped at
      the first that failed) and the bottleneck, named from the samples of the first failing
      step (or of the last step when none failed). Writes OUT/results.json and
      OUT/results.md; with --write-docs the table also goes between the bench-capacity
      markers of docs/BENCHMARKS.md. Exit status 1 when a scale left no step."""
import argparse
import datetime
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# As in bench-scale: a p99 of fewer samples is one or two requests, noise rather than cost.
MIN_SAMPLES = 20
# A machine this busy has no CPU left to give: the load is CPU-bound.
CPU_BOUND = 0.90
IO_BOUND = 0.20
# Client backends waiting on a lock, on average over the step's samples.
LOCK_BOUND = 1.0
# Reported but not judged: a login is the password hash (about 25 ms of CPU by design), and
# nearly all of a step's logins are its users' first ones, sent together in its first
# seconds, so their p99 measures the generator's start, not the rate.
NOT_JUDGED = ("auth: login",)


def load(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError) as e:
        raise SystemExit("bench-capacity: %s: %s" % (path, e)) from None


def verdict(folder, limit, min_samples):
    report = load(os.path.join(folder, "drill.json"))
    sample = load(os.path.join(folder, "sample.json"))
    measured = [t for t in report["transactions"]
                if t["count"] >= min_samples and t["name"] not in NOT_JUDGED]
    worst = max(measured, key=lambda t: t["p99_ms"], default=None)
    login = next((t for t in report["transactions"] if t["name"] in NOT_JUDGED), None)
    over = sorted((t["name"] for t in measured if t["p99_ms"] > limit))
    failed = sum(report["failed_requests_by_status"].values())
    dropped = (report.get("arrivals") or {}).get("dropped", 0)
    reasons = []
    if over:
        reasons.append("p99 over %s ms: %s" % (limit, ", ".join(over)))
    if failed:
        reasons.append("%d requests failed (%s)" % (failed, ", ".join(
            "%s x%d" % kv for kv in sorted(report["failed_requests_by_status"].items()))))
    if dropped:
        reasons.append("%d starts dropped (no user free within 1 s)" % dropped)
    if not measured:
        reasons.append("no transaction had %d samples: a longer --step" % min_samples)
    return {
        "requests_per_second": round(report["requests_per_second"], 1),
        "worst": {"name": worst["name"], "p99_ms": worst["p99_ms"]} if worst else None,
        "login_p99_ms": login["p99_ms"] if login else None,
        "failed": failed,
        "dropped": dropped,
        "lag_p99_ms": (report.get("arrivals") or {}).get("lag_p99_ms"),
        "sample": sample,
        "passed": not reasons,
        "reasons": reasons,
    }


def top_cpu(sample, n=4):
    return ", ".join("%s %.2f" % kv for kv in list(sample["cpu"].items())[:n])


def backends(waits):
    """The leader's client backends on average, by what they were doing."""
    doing = ", ".join("%s %.2f" % (k, waits.get(k) or 0) for k in ("running", "SyncRep", "Lock", "LWLock", "IO"))
    return "%.2f active on the leader (%s)" % (waits.get("active") or 0, doing)


def bottleneck(step):
    """The saturated resource of a step, from its samples."""
    s = step["sample"]
    w = s["waits"]
    busy, iowait, locks = s["machine"]["busy"], s["machine"]["iowait"], w.get("Lock") or 0
    found = []
    if busy >= CPU_BOUND:
        found.append("CPU: the machine's %d cores %.0f %% busy; cores used by process: %s"
                     % (s["cores"], 100 * busy, top_cpu(s)))
    if iowait >= IO_BOUND:
        found.append("I/O: %.0f %% of the cores' time waiting on the disk" % (100 * iowait))
    if locks >= LOCK_BOUND:
        found.append("locks: %.1f of the leader's client backends waiting on a lock on average" % locks)
    if not found:
        found.append("nothing saturated: machine %.0f %% busy, I/O wait %.1f %%, client backends %s; "
                     "cores used by process: %s"
                     % (100 * busy, 100 * iowait, backends(w), top_cpu(s)))
    return "; ".join(found)


def rate_of(folder):
    return float(os.path.basename(folder).split("-", 1)[1])


def scale_result(out, scale, limit):
    folder = os.path.join(out, "scale-%s" % scale)
    steps = []
    if os.path.isdir(folder):
        # rate-R folders; the warm-up's folder is not a step.
        names = [n for n in os.listdir(folder) if n.startswith("rate-")]
        for name in sorted(names, key=lambda n: float(n.split("-", 1)[1])):
            path = os.path.join(folder, name, "verdict.json")
            if os.path.exists(path):
                step = json.load(open(path))
                step["rate"] = rate_of(os.path.join(folder, name))
                steps.append(step)
    if not steps:
        sys.exit("bench-capacity: scale %s left no step" % scale)
    passed = [s for s in steps if s["passed"]]
    failing = next((s for s in steps if not s["passed"]), None)
    capacity = None
    if passed and (failing is None or passed[-1]["rate"] < failing["rate"]):
        capacity = passed[-1]
    rows = open(os.path.join(out, "rows-%s.txt" % scale)).read().strip()
    return {
        "scale": scale,
        "rows": int(rows) if rows.isdigit() else None,
        "steps": steps,
        "capacity_rate": capacity["rate"] if capacity else None,
        "capacity_requests_per_second": capacity["requests_per_second"] if capacity else None,
        "limit_reached": failing is not None,
        "bottleneck": bottleneck(failing or steps[-1]),
    }


def markdown(args, results):
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "Run of %s on %d cores (load average %s at the end), local stack, %s backend; the load"
        % (when, os.cpu_count(), args.load, "debug" if args.debug else "release"),
        "mix in the open loop, %s s per step after %s s of warm-up at the first rate, %s users; a"
        % (args.step, args.warmup, args.users),
        "step passes with every transaction's p99",
        "<= %s ms (those with %d samples or more; the login's is shown, not judged: it is the"
        % (args.limit, args.min_samples),
        "password hash queued behind the step's users' first logins, all in its first seconds),",
        "no failed request and no dropped start",
        "(`scripts/bench-capacity --scales \"%s\" --rates \"%s\" --step %s`):"
        % (" ".join(r["scale"] for r in results), args.rates, args.step),
    ]
    for r in results:
        lines += ["", "Scale %s (%s rows):" % (r["scale"], format(r["rows"], ",") if r["rows"] else "?"), "",
                  "| starts/s | req/s | slowest p99 | login p99 | failed | dropped | machine busy "
                  "| cores by process | leader's backends: active / running / SyncRep / Lock | verdict |",
                  "| ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | --- | --- |"]
        for s in r["steps"]:
            w, waits = s["worst"], s["sample"]["waits"]
            doing = " / ".join("%.2f" % (waits.get(k) or 0) for k in ("active", "running", "SyncRep", "Lock"))
            lines.append("| %g | %.1f | %s | %s | %d | %d | %.0f %% | %s | %s | %s |" % (
                s["rate"], s["requests_per_second"],
                "%.1f ms (%s)" % (w["p99_ms"], w["name"]) if w else "–",
                "%.0f ms" % s["login_p99_ms"] if s["login_p99_ms"] is not None else "–", s["failed"], s["dropped"],
                100 * s["sample"]["machine"]["busy"], top_cpu(s["sample"], 3), doing,
                "passed" if s["passed"] else "FAILED: " + "; ".join(s["reasons"])))
        if r["capacity_rate"] is None:
            cap = "below %g starts/s (the first step failed)" % r["steps"][0]["rate"]
        elif r["limit_reached"]:
            cap = "**%g starts/s** (%.1f requests/s)" % (r["capacity_rate"], r["capacity_requests_per_second"])
        else:
            cap = "at least **%g starts/s** (%.1f requests/s; no step failed: try higher --rates)" % (
                r["capacity_rate"], r["capacity_requests_per_second"])
        lines += ["", "Capacity at scale %s: %s. Bottleneck%s: %s." % (
            r["scale"], cap, " (first failing step)" if r["limit_reached"] else " (last step)", r["bottleneck"])]
    return "\n".join(lines) + "\n"


def write_docs(text):
    section = ("<!-- bench-capacity:start (written by scripts/bench-capacity; edit the script, not this "
               "section) -->\n" + text + "<!-- bench-capacity:end -->\n")
    subprocess.run([sys.executable, os.path.join(REPO, "scripts", "tests", "docs_section.py"),
                    "bench-capacity", os.path.join(REPO, "docs", "BENCHMARKS.md")],
                   input=section, text=True, check=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    st = sub.add_parser("step")
    st.add_argument("--limit", type=float, required=True)
    st.add_argument("--min-samples", type=int, default=MIN_SAMPLES)
    st.add_argument("folder")
    su = sub.add_parser("summary")
    for opt in ("--step", "--warmup", "--users", "--rates", "--load", "--out"):
        su.add_argument(opt, required=True)
    su.add_argument("--limit", type=float, required=True)
    su.add_argument("--min-samples", type=int, default=MIN_SAMPLES)
    su.add_argument("--debug", action="store_true")
    su.add_argument("--write-docs", action="store_true")
    su.add_argument("scales", nargs="+")
    args = p.parse_args()
    if args.command == "step":
        try:
            v = verdict(args.folder, args.limit, args.min_samples)
        except SystemExit as e:
            print(e, file=sys.stderr)
            sys.exit(2)
        json.dump(v, open(os.path.join(args.folder, "verdict.json"), "w"), indent=2)
        w = v["worst"]
        print("%s/s: %.1f req/s, slowest p99 %s, %d failed, %d dropped, machine %.0f %% busy: %s" % (
            os.path.basename(args.folder).split("-", 1)[1], v["requests_per_second"],
            "%.1f ms (%s)" % (w["p99_ms"], w["name"]) if w else "–", v["failed"], v["dropped"],
            100 * v["sample"]["machine"]["busy"], "passed" if v["passed"] else "FAILED: " + "; ".join(v["reasons"])))
        sys.exit(0 if v["passed"] else 1)
    args.limit = "%g" % args.limit
    results = [scale_result(args.out, s, args.limit) for s in args.scales]
    json.dump({"limit_ms": float(args.limit), "step_s": int(args.step), "users": int(args.users),
               "debug": args.debug, "scales": results},
              open(os.path.join(args.out, "results.json"), "w"), indent=2)
    text = markdown(args, results)
    open(os.path.join(args.out, "results.md"), "w").write(text)
    print(text)
    if args.write_docs:
        write_docs(text)
        print("bench-capacity: wrote docs/BENCHMARKS.md (bench-capacity section)")


if __name__ == "__main__":
    main()
