#!/usr/bin/env bash
#
# Static checks of the monitoring configuration; no stack needed, a few seconds:
#   - promtool check config: the compose config, and the local template rendered with
#     placeholder values the way scripts/stack renders it;
#   - promtool check rules and promtool test rules (prometheus/tests/: every alert fires
#     where it should and stays quiet where it should not);
#   - the dashboards: generated JSON up to date, provisioned datasource uid only, failover
#     annotations everywhere (scripts/tests/dashboard_queries.py lint).
# Output is TAP-like and ends with "N passed, M failed".
set -euo pipefail

REPO_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$REPO_DIR"
command -v promtool >/dev/null || { echo "promtool not found (scripts/stack install)"; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# shellcheck source=scripts/tests/tap.sh
source "$REPO_DIR/scripts/tests/tap.sh"

# The local template with example values for every placeholder scripts/stack fills in;
# a placeholder this list does not know is an error, as it is in scripts/stack's render.
render_local() {
  local text
  text=$(<prometheus/prometheus.local.yml.tmpl)
  local kv
  for kv in PROMETHEUS_PORT=9090 BACKEND_PORT=8080 LOADTEST_PORT=9095 STATS_PORT=8404 \
            REDIS_EXPORTER_PORT=9121 BACKUP_EXPORTER_PORT=9190 PG1_REST_PORT=8008 PG2_REST_PORT=8009 PG3_REST_PORT=8010 \
            PG1_EXPORTER_PORT=9187 PG2_EXPORTER_PORT=9188 PG3_EXPORTER_PORT=9189; do
    text=${text//"@@${kv%%=*}@@"/"${kv#*=}"}
  done
  text=${text//"@@ETCD_TARGETS@@"/"      - targets: ['127.0.0.1:23790']
        labels: {member: etcd1}"}
  if [[ $text == *@@[A-Z]*@@* ]]; then
    echo "unknown placeholder(s): $(grep -o '@@[A-Z0-9_]*@@' <<<"$text" | sort -u | tr '\n' ' ')"
    return 1
  fi
  mkdir -p "$TMP/local"
  printf '%s\n' "$text" >"$TMP/local/prometheus.yml"
  cp -r prometheus/rules "$TMP/local/rules"
  promtool check config "$TMP/local/prometheus.yml"
}

# Every scrape job of one config must exist in the other: rules and dashboards select on them.
same_jobs() {
  local a b
  a=$(grep -E '^\s+- job_name:' prometheus/prometheus.compose.yml | awk '{print $3}' | sort)
  b=$(grep -E '^\s+- job_name:' prometheus/prometheus.local.yml.tmpl | awk '{print $3}' | sort)
  [[ $a == "$b" ]] || { echo "compose jobs: $a"$'\n'"local jobs: $b"; return 1; }
}

# The compose config names the certs service's files (/tls/...), which exist only in the
# containers: checked as a whole against certificates made here, the rules beside it.
check_compose() {
  mkdir -p "$TMP/compose"
  scripts/certs init --dir "$TMP/compose/tls" >/dev/null || return 1
  sed "s|/tls/|$TMP/compose/tls/|g" prometheus/prometheus.compose.yml >"$TMP/compose/prometheus.yml"
  cp -r prometheus/rules "$TMP/compose/rules"
  promtool check config "$TMP/compose/prometheus.yml"
}

check_quiet "promtool check config prometheus.compose.yml" check_compose
check_quiet "promtool check config prometheus.local.yml.tmpl (rendered)" render_local
check_quiet "local and compose configs scrape the same jobs" same_jobs
check_quiet "promtool check rules" promtool check rules prometheus/rules/*.yml
check_quiet "promtool test rules (alert unit tests)" promtool test rules prometheus/tests/*.yml
check_quiet "dashboard JSON matches grafana/generate_dashboards.py" /usr/bin/python3 grafana/generate_dashboards.py --check
check_quiet "dashboards: provisioned datasource only, failover annotations, a query per panel" \
  /usr/bin/python3 scripts/tests/dashboard_queries.py lint

echo "$passed passed, $failed failed"
(( failed == 0 ))
