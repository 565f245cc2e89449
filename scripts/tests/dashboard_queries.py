#!/usr/bin/env python3
"""Checks Lyceum's Grafana dashboards, statically and against a live Prometheus.

    dashboard_queries.py lint
        Every datasource reference is the provisioned uid, no ${DS_...} import inputs, every
        dashboard carries the failover annotations, every panel has a query.

    dashboard_queries.py live --prometheus URL --start UNIX --end UNIX [--loadtest-absent REASON]
        Evaluates every PromQL expression of every panel, annotation and template variable
        through Prometheus' HTTP API (query_range over [start, end], as Grafana would) and
        requires at least one series with a value. Dashboard variables become "All" (.*),
        $__rate_interval and friends become fixed durations. With --loadtest-absent, queries
        on the load generator's metrics are listed as not checked, with the reason, instead of
        failing; without it they must return data like every other query.

Exit status 1 when anything fails. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = REPO / "grafana" / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "lyceum-prometheus"}
REQUIRED_ANNOTATIONS = {"Leader change", "No leader"}
LOADTEST_METRIC = "lyceum_loadtest_"

# Grafana's built-in variables, as Grafana would expand them for a short window with the
# provisioned timeInterval of 2 s ($__rate_interval = max(4 x scrape, interval + scrape)).
BUILTINS = {
    "$__rate_interval": "8s",
    "$__interval": "2s",
    "$__range": "5m",
}


@dataclass
class Query:
    dashboard: str
    where: str  # panel title / refId, annotation name, or variable name
    expr: str


def load_dashboards() -> dict[str, dict]:
    files = sorted(DASHBOARD_DIR.glob("*.json"))
    if not files:
        sys.exit(f"no dashboards in {DASHBOARD_DIR}")
    return {f.name: json.loads(f.read_text()) for f in files}


def walk(node, path=""):
    """Yields (path, key, value) for every key of every object in a JSON tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield path, k, v
            yield from walk(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}[{i}]")


def panels(dashboard: dict):
    for p in dashboard.get("panels", []):
        yield p
        yield from p.get("panels", [])  # panels inside collapsed rows


def queries(name: str, dashboard: dict) -> list[Query]:
    out = []
    for p in panels(dashboard):
        for t in p.get("targets", []):
            out.append(Query(name, f'panel "{p["title"]}" {t["refId"]}', t["expr"]))
    for a in dashboard.get("annotations", {}).get("list", []):
        out.append(Query(name, f'annotation "{a["name"]}"', a["expr"]))
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            out.append(Query(name, f'variable "{v["name"]}"', v["query"]["query"]))
    return out


def lint() -> int:
    problems = []
    uids = {}
    for name, d in load_dashboards().items():
        if d.get("uid") in uids:
            problems.append(f"{name}: uid {d.get('uid')} also used by {uids[d['uid']]}")
        uids[d.get("uid")] = name
        if "__inputs" in d:
            problems.append(f"{name}: has __inputs (import-time datasource questions)")
        for path, key, value in walk(d):
            if isinstance(value, str) and "${DS_" in value:
                problems.append(f"{name}{path}/{key}: refers to an import input: {value}")
            if key == "datasource" and value != DATASOURCE:
                problems.append(f"{name}{path}: datasource {value!r} is not the provisioned {DATASOURCE}")
        annotations = {a.get("name") for a in d.get("annotations", {}).get("list", [])}
        for missing in sorted(REQUIRED_ANNOTATIONS - annotations):
            problems.append(f"{name}: no '{missing}' annotation")
        for p in panels(d):
            if p["type"] == "row":
                continue
            if not p.get("targets") or not all(t.get("expr", "").strip() for t in p["targets"]):
                problems.append(f'{name}: panel "{p.get("title")}" has no query')
    for p in problems:
        print(f"not ok - {p}")
    print(f"dashboard lint: {len(uids)} dashboards, {len(problems)} problems")
    return 1 if problems else 0


def substitute(expr: str, dashboard: dict) -> str:
    # label_values(metric, label) is a Grafana function, not PromQL: ask for the same values.
    m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\)\s*", expr, re.S)
    if m:
        expr = f"count by ({m.group(2)}) ({m.group(1)})"
    for key, value in BUILTINS.items():
        expr = expr.replace(key, value)
    for v in dashboard.get("templating", {}).get("list", []):
        # "All" for every variable; the dashboards' allValue is .*
        expr = expr.replace("${" + v["name"] + "}", ".*").replace("$" + v["name"], ".*")
    if "$" in re.sub(r"\{\{.*?\}\}", "", expr):
        raise ValueError(f"unsubstituted variable in {expr}")
    return expr


def query_range(base: str, expr: str, start: float, end: float, step: float):
    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{base}/api/v1/query_range?{params}", timeout=30) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(body)
    return body["data"]["result"]


def live(args) -> int:
    passed = failed = unchecked = 0
    for name, d in load_dashboards().items():
        for q in queries(name, d):
            label = f"[{q.dashboard}] {q.where}"
            if args.loadtest_absent and LOADTEST_METRIC in q.expr:
                unchecked += 1
                print(f"not checked - {label}: {args.loadtest_absent}")
                continue
            try:
                expr = substitute(q.expr, d)
                result = query_range(args.prometheus, expr, args.start, args.end, args.step)
            except Exception as e:  # noqa: BLE001 - report any failure against this query
                failed += 1
                print(f"not ok - {label}: query failed: {e}\n    {q.expr}")
                continue
            with_values = [s for s in result if any(v[1] not in ("NaN", "+Inf", "-Inf") for v in s["values"])]
            if with_values:
                passed += 1
                print(f"ok - {label}: {len(with_values)} series")
            else:
                failed += 1
                print(f"not ok - {label}: no series with a value in the window\n    {expr}")
    if unchecked:
        print(f"# {unchecked} load-test queries not checked: {args.loadtest_absent}")
    print(f"dashboard queries: {passed} passed, {failed} failed, {unchecked} not checked")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("lint")
    lv = sub.add_parser("live")
    lv.add_argument("--prometheus", required=True, help="base URL, e.g. http://127.0.0.1:9090")
    lv.add_argument("--start", type=float, required=True, help="window start, unix seconds")
    lv.add_argument("--end", type=float, required=True, help="window end, unix seconds")
    lv.add_argument("--step", type=float, default=2.0)
    lv.add_argument("--loadtest-absent", metavar="REASON", default="",
                    help="list load-test queries as not checked, for this reason")
    args = parser.parse_args()
    return lint() if args.command == "lint" else live(args)


if __name__ == "__main__":
    sys.exit(main())
