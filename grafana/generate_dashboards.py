#!/usr/bin/env python3
"""Writes Lyceum's four Grafana dashboards to grafana/dashboards/*.json.

The dashboards are generated so that every panel and annotation uses the one provisioned
datasource uid, every dashboard carries the same failover annotations, and panel layout stays
consistent. Edit the panel lists below, run this script, and commit the JSON it writes.

    grafana/generate_dashboards.py          # rewrite the JSON files
    grafana/generate_dashboards.py --check  # exit 1 if a committed file differs (used by tests)

Metric names come from the live /metrics of the backend (lyceum_http_*, lyceum_db_*,
lyceum_cache_*, lyceum_read_your_writes_*), the load generator (lyceum_loadtest_*, listed in
docs/LOADTEST.md under "Live metrics"), Patroni 3.0.2, HAProxy 2.6, etcd 3.4,
prometheus-postgres-exporter 0.11 and prometheus-redis-exporter 1.45 as Debian 12 ships them,
and the recording rules in prometheus/rules/.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DATASOURCE = {"type": "prometheus", "uid": "lyceum-prometheus"}
OUT_DIR = Path(__file__).resolve().parent / "dashboards"
RATE = "$__rate_interval"

# Failover moments, on every dashboard. The timeline rises by one at every promotion; the
# leader count is 0 while nobody holds the leader lock.
FAILOVER_ANNOTATIONS = [
    {
        "name": "Leader change",
        "expr": "changes(lyceum:patroni_timeline:max[15s]) > 0",
        "iconColor": "red",
        "titleFormat": "Leader change (new timeline)",
    },
    {
        "name": "No leader",
        "expr": "lyceum:patroni_leaders:count == 0",
        "iconColor": "orange",
        "titleFormat": "No Patroni leader",
    },
]
# The load generator's drill: 1 while the fault is injected and not yet recovered.
DRILL_ANNOTATION = {
    "name": "Failover drill",
    "expr": "lyceum_loadtest_drill_phase{job=\"loadtest\"} == 1",
    "iconColor": "purple",
    "titleFormat": "Drill: fault injected",
}


def target(expr: str, legend: str = "", ref: str = "A") -> dict:
    return {
        "refId": ref,
        "datasource": DATASOURCE,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": True,
    }


def panel(title, targets, *, kind="timeseries", unit="short", w=12, h=8, description="",
          stack=False, max_value=None, mappings=None):
    """One panel; `targets` is a list of (expr, legend) pairs."""
    defaults: dict = {"unit": unit}
    if max_value is not None:
        defaults["max"] = max_value
    if mappings:
        defaults["mappings"] = mappings
    if kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        }
    options: dict = {}
    if kind == "timeseries":
        options = {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                   "tooltip": {"mode": "multi", "sort": "desc"}}
    elif kind == "stat":
        options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                   "colorMode": "value", "graphMode": "area", "textMode": "auto"}
    elif kind == "state-timeline":
        options = {"showValue": "auto", "mergeValues": True, "rowHeight": 0.8,
                   "legend": {"displayMode": "list", "placement": "bottom"}}
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": [target(e, l, chr(ord("A") + i)) for i, (e, l) in enumerate(targets)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
        "_size": (w, h),
    }


def row(title: str) -> dict:
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "_size": (24, 1)}


def query_variable(name: str, label: str, metric: str, label_name: str) -> dict:
    query = f"label_values({metric}, {label_name})"
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DATASOURCE,
        "definition": query,
        "query": {"query": query, "refId": f"{name}-values"},
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
    }


def layout(items: list[dict]) -> list[dict]:
    """Places panels left to right, wrapping at 24 columns; rows start a new line."""
    x = y = line_h = 0
    out = []
    for pid, item in enumerate(items, start=1):
        w, h = item.pop("_size")
        if item["type"] == "row" or x + w > 24:
            x, y, line_h = 0, y + line_h, 0
        item["id"] = pid
        item["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
        out.append(item)
        x += w
        line_h = max(line_h, h)
        if item["type"] == "row":
            x, y, line_h = 0, y + h, 0
    return out


def dashboard(uid: str, title: str, description: str, items: list[dict], *, variables=(),
              extra_annotations=()) -> dict:
    annotations = []
    for a in [*FAILOVER_ANNOTATIONS, *extra_annotations]:
        annotations.append({
            "datasource": DATASOURCE,
            "enable": True,
            "hide": False,
            "name": a["name"],
            "iconColor": a["iconColor"],
            "expr": a["expr"],
            "step": "2s",
            "titleFormat": a["titleFormat"],
            "textFormat": "",
            "useValueForTime": False,
        })
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["lyceum"],
        "editable": False,
        "graphTooltip": 1,
        "refresh": "5s",
        "schemaVersion": 38,
        "time": {"from": "now-15m", "to": "now"},
        "timepicker": {"refresh_intervals": ["1s", "2s", "5s", "10s", "30s", "1m"]},
        "timezone": "browser",
        "version": 1,
        "links": [{"title": "Lyceum", "type": "dashboards", "tags": ["lyceum"], "asDropdown": True}],
        "annotations": {"list": annotations},
        "templating": {"list": list(variables)},
        "panels": layout(items),
    }


# ---------------------------------------------------------------------------- dashboards --

HTTP = 'job="backend", route=~"$route"'


def api_overview() -> dict:
    q = "histogram_quantile({q}, sum by (le) (rate(lyceum_http_request_duration_seconds_bucket{{{sel}}}[{r}])))"
    items = [
        panel("Requests per second by route",
              [(f"sum by (route) (rate(lyceum_http_requests_total{{{HTTP}}}[{RATE}]))", "{{route}}")],
              unit="reqps", stack=True),
        panel("Responses by status",
              [(f"sum by (status) (rate(lyceum_http_requests_total{{{HTTP}}}[{RATE}]))", "{{status}}")],
              unit="reqps", stack=True),
        panel("Latency percentiles (all selected routes)",
              [(q.format(q=0.5, sel=HTTP, r=RATE), "p50"),
               (q.format(q=0.95, sel=HTTP, r=RATE), "p95"),
               (q.format(q=0.99, sel=HTTP, r=RATE), "p99")],
              unit="s"),
        panel("p99 latency by route",
              [("histogram_quantile(0.99, sum by (le, route) "
                f"(rate(lyceum_http_request_duration_seconds_bucket{{{HTTP}}}[{RATE}])))", "{{route}}")],
              unit="s"),
        panel("Errors by route and status (4xx and 5xx)",
              [(f'sum by (route, status) (rate(lyceum_http_requests_total{{{HTTP}, status=~"[45].."}}[{RATE}]))',
                "{{route}} {{status}}")],
              unit="reqps", description="5xx during a failover should be 503 with Retry-After, never 500."),
        panel("5xx ratio (1 m, alert above 5 %)",
              [("lyceum:http_error_ratio:rate1m", "5xx share")], unit="percentunit"),
        panel("In-flight requests", [('sum(lyceum_http_requests_in_flight{job="backend"})', "in flight")],
              w=8),
        panel("Password hashes waiting", [('sum(lyceum_password_hash_waiting{job="backend"})', "waiting")],
              w=8, description="Logins queued for the argon2 worker pool."),
        panel("Backend scraped", [('up{job="backend"}', "{{instance}}")], kind="stat", w=8,
              mappings=[{"type": "value", "options": {"0": {"text": "DOWN", "color": "red"},
                                                      "1": {"text": "UP", "color": "green"}}}]),
    ]
    return dashboard(
        "lyceum-api", "Lyceum / API overview",
        "Request rate, latency percentiles and errors by route, in-flight requests.",
        items,
        variables=[query_variable("route", "Route", 'lyceum_http_requests_total{job="backend"}', "route")],
    )


def cluster() -> dict:
    on_off = [{"type": "value", "options": {"0": {"text": "no", "color": "transparent"},
                                            "1": {"text": "LEADER", "color": "green"}}}]
    up_down = [{"type": "value", "options": {"0": {"text": "DOWN", "color": "red"},
                                             "1": {"text": "UP", "color": "green"}}}]
    items = [
        row("Patroni"),
        panel("Leader over time", [('max by (member) (patroni_primary{job="patroni"})', "{{member}}")],
              kind="state-timeline", w=16, mappings=on_off,
              description="Which member holds the leader lock; gaps are members whose Patroni does not answer."),
        panel("Leaders", [("lyceum:patroni_leaders:count", "leaders")], kind="stat", w=4,
              description="Must be 1. 0: failover in progress (alert after 4 s). 2+: split brain."),
        panel("Timeline", [("lyceum:patroni_timeline:max", "timeline")], kind="stat", w=4,
              description="Goes up by one at every promotion."),
        panel("Roles", [('max by (member) (patroni_sync_standby{job="patroni"})', "sync standby {{member}}"),
                        ('max by (member) (patroni_replica{job="patroni"})', "replica {{member}}")],
              w=8),
        panel("Timeline per member", [('max by (member) (patroni_postgres_timeline{job="patroni"})', "{{member}}")],
              w=8),
        panel("Firing alerts", [('sum by (alertname) (ALERTS{alertstate="firing"})', "{{alertname}}")],
              w=8, description="Prometheus alerts from prometheus/rules/lyceum.rules.yml."),
        row("Replication"),
        panel("Replication lag per replica (Patroni)", [("lyceum:replication_lag:bytes", "{{member}}")],
              unit="bytes", w=8,
              description="Leader WAL position minus the replica's replayed position. Alert above 16 MiB."),
        panel("Replication lag seen by the leader (pg_stat_replication)",
              [('max by (application_name) (pg_stat_replication_pg_wal_lsn_diff{job="postgres"})',
                "{{application_name}}")], unit="bytes", w=8),
        panel("Replay delay per replica (seconds)",
              [('max by (member) (pg_replication_lag_seconds{job="postgres"} '
                'and on (member) pg_replication_is_replica{job="postgres"} == 1)', "{{member}}")],
              unit="s", w=8, description="Age of the last replayed transaction while WAL waits to be replayed."),
        row("HAProxy"),
        panel("Write backend (port 5000): server state",
              [('max by (server) (haproxy_server_status{job="haproxy", proxy="primary", state="UP"})', "{{server}}")],
              kind="state-timeline", w=12, mappings=up_down),
        panel("Read backend (port 5001): server state",
              [('max by (server) (haproxy_server_status{job="haproxy", proxy="replicas", state="UP"})', "{{server}}")],
              kind="state-timeline", w=12, mappings=up_down),
        panel("Servers up per backend", [('haproxy_backend_active_servers{job="haproxy"}', "{{proxy}}")], w=8,
              description="replicas_fallback_primary carries reads only while no replica is up."),
        panel("Sessions per server",
              [('sum by (proxy, server) (haproxy_server_current_sessions{job="haproxy"})', "{{proxy}}/{{server}}")],
              w=8),
        panel("Connection errors and redispatches",
              [(f'sum by (proxy) (rate(haproxy_backend_connection_errors_total{{job="haproxy"}}[{RATE}]))',
                "errors {{proxy}}"),
               (f'sum by (proxy) (rate(haproxy_backend_redispatch_warnings_total{{job="haproxy"}}[{RATE}]))',
                "redispatch {{proxy}}")], unit="ops", w=8),
        row("Backend pools"),
        panel("Pool connections",
              [('sum by (pool, state) (lyceum_db_pool_connections{job="backend"})', "{{pool}} {{state}}"),
               ('sum by (pool) (lyceum_db_pool_waiting{job="backend"})', "{{pool}} waiting")], w=8),
        panel("DB errors by class", [(f'sum by (pool, class) (rate(lyceum_db_errors_total{{job="backend"}}[{RATE}]))',
                                      "{{pool}} {{class}}")], unit="ops", w=8,
              description="Failed attempts; transient classes are retried."),
        # One query: give-ups and discards only exist once they have happened, and each
        # counter's series appears only then.
        panel("Retries, give-ups and discarded connections",
              [(f'label_replace(sum by (pool, reason) (rate(lyceum_db_retries_total{{job="backend"}}[{RATE}])), '
                '"what", "retry", "", "")'
                f' or label_replace(sum by (pool, reason) (rate(lyceum_db_retry_exhausted_total{{job="backend"}}[{RATE}])), '
                '"what", "gave up", "", "")'
                f' or label_replace(sum by (pool, reason) (rate(lyceum_db_connections_discarded_total{{job="backend"}}[{RATE}])), '
                '"what", "discarded", "", "")',
                "{{what}} {{pool}} {{reason}}")], unit="ops", w=8,
              description="Retries after transient errors; operations that ran out of retry budget; "
                          "pooled connections thrown away after a connection-level error."),
        panel("Read-your-writes: where a user's own data was read",
              [(f'sum by (route) (rate(lyceum_read_your_writes_reads_total{{job="backend"}}[{RATE}]))', "{{route}}")],
              unit="ops", w=12,
              description="replica: no recent write; replica_caught_up: the replica had replayed the user's "
                          "last write; primary_*: sent to the primary (replica behind, or fence unknown "
                          "while Redis is away)."),
        panel("DB attempt latency p99 by pool",
              [("histogram_quantile(0.99, sum by (le, pool) "
                f'(rate(lyceum_db_operation_duration_seconds_bucket{{job="backend"}}[{RATE}])))', "{{pool}}")],
              unit="s", w=12),
        row("PostgreSQL and etcd"),
        panel("Transactions per second (database lyceum)",
              [(f'sum by (member) (rate(pg_stat_database_xact_commit{{job="postgres", datname="lyceum"}}[{RATE}]))',
                "commit {{member}}"),
               (f'sum by (member) (rate(pg_stat_database_xact_rollback{{job="postgres", datname="lyceum"}}[{RATE}]))',
                "rollback {{member}}")], unit="ops", w=12),
        panel("Connections per node (database lyceum)",
              [('sum by (member) (pg_stat_database_numbackends{job="postgres", datname="lyceum"})', "{{member}}")],
              w=8),
        panel("Top statements by execution time (all nodes)",
              [(f'topk(10, sum by (query) (rate(pg_stat_statements_top_exec_seconds{{job="postgres"}}[{RATE}])))',
                "{{query}}")], unit="s", w=24, h=10,
              description="Seconds of execution per second, summed over the nodes, of the statements "
                          "pg_stat_statements ranks highest on each node (its normalized text). Where the "
                          "database's CPU goes; the statements' text is in the legend."),
        panel("PostgreSQL reachable", [('pg_up{job="postgres"}', "{{member}}")], kind="state-timeline", w=8,
              mappings=up_down),
        panel("etcd: member sees a leader", [('etcd_server_has_leader{job="etcd"}', "{{member}}")],
              kind="state-timeline", w=8, mappings=up_down),
        panel("etcd leader changes", [(f'sum by (member) (increase(etcd_server_leader_changes_seen_total{{job="etcd"}}[1m]))',
                                       "{{member}}")], w=8),
        # pgBackRest (docs/RECOVERY.md): the repository through prometheus/pgbackrest_exporter.py,
        # archiving through each node's postgres_exporter, counted on the leader only.
        row("Backups and WAL archive"),
        panel("Newest backup age", [('time() - max(pgbackrest_backup_last_completion_timestamp_seconds{job="pgbackrest"})',
                                     "age")], kind="stat", unit="s", w=4,
              description="Alert LyceumBackupTooOld above 26 h (or with no backup at all)."),
        panel("Last backup", [('max(pgbackrest_backup_last_duration_seconds{job="pgbackrest"})', "seconds")],
              kind="stat", unit="s", w=4, description="How long the newest backup took."),
        panel("Backup and repository size",
              [('max(pgbackrest_backup_last_database_size_bytes{job="pgbackrest"})', "database in last backup"),
               ('max(pgbackrest_backup_last_repo_size_bytes{job="pgbackrest"})', "last backup added to repo"),
               ('max(pgbackrest_repo_size_bytes{job="pgbackrest"})', "repository on disk")], unit="bytes", w=8),
        panel("Seconds since WAL last reached the repository",
              [('time() - max(pgbackrest_wal_archive_last_timestamp_seconds{job="pgbackrest"})', "repository"),
               ('max by (member) (pg_stat_archiver_last_archive_age{job="postgres"} '
                'and on (member) pg_replication_is_replica{job="postgres"} == 0)', "leader {{member}}")],
              unit="s", w=8,
              description="archive_timeout is 60 s: with writes going on, more than about 60 s means archiving "
                          "is stuck, and that is the data a loss of every node would cost."),
        panel("WAL kept on the leader waiting for the archive",
              [('max by (member) (pg_archiver_ready_segments{job="postgres"} * 16777216 '
                'and on (member) pg_replication_is_replica{job="postgres"} == 0)', "{{member}}")],
              unit="bytes", w=8,
              description="Segments archive_command has not yet pushed; they stay in pg_wal. Growth means "
                          "archiving fails or lags and the leader's disk fills (alert LyceumWalArchiveFailing)."),
        panel("WAL segments archived and failed (leader)",
              [(f'max by (member) (rate(pg_stat_archiver_archived_count{{job="postgres"}}[{RATE}]) '
                'and on (member) pg_replication_is_replica{job="postgres"} == 0)', "archived {{member}}"),
               (f'max by (member) (rate(pg_stat_archiver_failed_count{{job="postgres"}}[{RATE}]) '
                'and on (member) pg_replication_is_replica{job="postgres"} == 0)', "failed {{member}}")],
              unit="ops", w=8),
    ]
    return dashboard(
        "lyceum-cluster", "Lyceum / Database cluster and failover",
        "Who leads, replication lag, HAProxy routing, the backend's pools, errors and retries, TPS, "
        "backups and WAL archiving.",
        items,
    )


def cache() -> dict:
    lookups = 'lyceum_cache_lookups_total{job="backend"}'
    items = [
        panel("Hit ratio",
              [(f'sum(rate(lyceum_cache_lookups_total{{job="backend", result="hit"}}[{RATE}])) / '
                f'sum(rate(lyceum_cache_lookups_total{{job="backend", result=~"hit|miss"}}[{RATE}]))', "hit ratio")],
              unit="percentunit", max_value=1, w=8),
        panel("Lookups by kind and result",
              [(f"sum by (kind, result) (rate({lookups}[{RATE}]))", "{{kind}} {{result}}")], unit="ops", w=16,
              stack=True),
        panel("Bypasses (Redis skipped)",
              [(f'sum by (kind) (rate(lyceum_cache_lookups_total{{job="backend", result="bypass"}}[{RATE}]))', "{{kind}}")],
              unit="ops", w=8, description="Reads that went straight to PostgreSQL: breaker open or invalidation pending."),
        panel("Breaker open", [('max(lyceum_cache_breaker_open{job="backend"})', "breaker open")], w=8,
              kind="state-timeline",
              mappings=[{"type": "value", "options": {"0": {"text": "closed", "color": "green"},
                                                      "1": {"text": "OPEN", "color": "red"}}}]),
        panel("Stores and invalidations",
              [(f'sum by (op, result) (rate(lyceum_cache_writes_total{{job="backend"}}[{RATE}]))', "{{op}} {{result}}")],
              unit="ops", w=8),
        panel("Redis commands per second",
              [(f'sum(rate(redis_commands_processed_total{{job="redis"}}[{RATE}]))', "all"),
               (f'topk(5, sum by (cmd) (rate(redis_commands_total{{job="redis"}}[{RATE}])))', "{{cmd}}")],
              unit="ops", w=12),
        panel("Redis keyspace hits and misses",
              [(f'sum(rate(redis_keyspace_hits_total{{job="redis"}}[{RATE}]))', "hits"),
               (f'sum(rate(redis_keyspace_misses_total{{job="redis"}}[{RATE}]))', "misses")], unit="ops", w=12),
        panel("Redis memory",
              [('redis_memory_used_bytes{job="redis"}', "used"), ('redis_memory_max_bytes{job="redis"}', "maxmemory")],
              unit="bytes", w=8),
        panel("Redis keys and clients",
              [('sum(redis_db_keys{job="redis"})', "keys"), ('redis_connected_clients{job="redis"}', "clients")],
              w=8),
        panel("Redis up", [('redis_up{job="redis"}', "redis")], kind="state-timeline", w=8,
              mappings=[{"type": "value", "options": {"0": {"text": "DOWN", "color": "red"},
                                                      "1": {"text": "UP", "color": "green"}}}]),
    ]
    return dashboard("lyceum-cache", "Lyceum / Cache", "Hit ratio, bypasses, Redis operations and memory.", items)


LT = 'job="loadtest", transaction=~"$transaction"'


def load_test() -> dict:
    q = ("histogram_quantile({q}, sum by (le, transaction) "
         "(rate(lyceum_loadtest_request_duration_seconds_bucket{{{sel}}}[{r}])))")
    items = [
        panel("Client-side requests per second by transaction",
              [(f"sum by (transaction) (rate(lyceum_loadtest_requests_total{{{LT}}}[{RATE}]))", "{{transaction}}")],
              unit="reqps", stack=True),
        panel("Client vs server request rate",
              [(f'sum(rate(lyceum_loadtest_requests_total{{job="loadtest"}}[{RATE}]))', "sent (load generator)"),
               (f'sum(rate(lyceum_http_requests_total{{job="backend"}}[{RATE}]))', "answered (backend)")],
              unit="reqps"),
        panel("Errors by transaction",
              [(f'sum by (transaction, status) (rate(lyceum_loadtest_requests_total{{{LT}, status!~"2..|3.."}}[{RATE}]))',
                "{{transaction}} {{status}}")], unit="reqps",
              description='Non-2xx/3xx answers and transport failures (status="error").'),
        panel("p95 latency by transaction", [(q.format(q=0.95, sel=LT, r=RATE), "{{transaction}}")], unit="s"),
        panel("p99 latency by transaction", [(q.format(q=0.99, sel=LT, r=RATE), "{{transaction}}")], unit="s"),
        panel("Active users", [('sum(lyceum_loadtest_users_active{job="loadtest"})', "users")], w=6),
        panel("Drill phase", [('max(lyceum_loadtest_drill_phase{job="loadtest"})', "phase")], w=6,
              kind="state-timeline",
              mappings=[{"type": "value", "options": {"0": {"text": "before", "color": "blue"},
                                                      "1": {"text": "FAULT", "color": "red"},
                                                      "2": {"text": "recovered", "color": "green"}}}]),
    ]
    return dashboard(
        "lyceum-loadtest", "Lyceum / Load test",
        "What lyceum-loadtest sees: rate, latency and errors by transaction, users, drill phases.",
        items,
        variables=[query_variable("transaction", "Transaction", 'lyceum_loadtest_requests_total{job="loadtest"}',
                                  "transaction")],
        extra_annotations=[DRILL_ANNOTATION],
    )


DASHBOARDS = {
    "api-overview.json": api_overview,
    "database-cluster.json": cluster,
    "cache.json": cache,
    "load-test.json": load_test,
}


def render(build) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = parser.parse_args()
    stale = []
    for name, build in DASHBOARDS.items():
        path = OUT_DIR / name
        text = render(build)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}")
    if stale:
        print("out of date (run grafana/generate_dashboards.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
