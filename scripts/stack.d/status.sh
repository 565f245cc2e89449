# shellcheck shell=bash
# Sourced by scripts/stack.
#
# `status`, `leader`, `replicas`: what runs and how Patroni, etcd, HAProxy,
# Redis and Prometheus see it.

haproxy_states() {
  local csv
  csv=$(http_get "http://127.0.0.1:$STATS_PORT/stats;csv") || return 1
  # Fields: 1 pxname, 2 svname, 5 scur (current sessions), 18 status.
  awk -F, '$1 ~ /^(primary|replicas|replicas_fallback_primary)$/ && $2 !~ /^(FRONTEND|BACKEND)$/ {
             s[$1] = s[$1] sprintf(" %s=%s(%s)", $2, $18, $5) }
           END { n = split("primary replicas replicas_fallback_primary", order, " ")
                 for (i = 1; i <= n; i++) printf "  %-26s%s\n", order[i], s[order[i]] }' <<<"$csv"
}

cmd_status() {
  local ok=1 c members leader
  say "Lyceum stack: run dir $RUN_DIR, port offset $OFFSET"
  say "processes:"
  for c in $(all_components); do
    if pid=$(component_pid "$c"); then say "  $(printf '%-14s' "$c") running (pid $pid)"; else say "  $(printf '%-14s' "$c") stopped"; fi
  done
  if [[ -n $EXTERNAL_ETCD ]]; then
    say "etcd (external $EXTERNAL_ETCD): $(etcd_healthy_count) endpoint(s) healthy"
  else
    local n
    n=$(etcd_healthy_count)
    say "etcd: $n/3 members healthy ($(etcd_endpoints))"
    (( n >= 2 )) || ok=0
  fi
  if members=$(cluster_members); then
    leader=$(current_leader || echo none)
    say "patroni: leader $leader, sync standby $(sync_standby || echo none), $(streaming_count) streaming"
    printf '  %-6s %-13s %-10s %-8s %s\n' member role state lag timeline
    while read -r name role state lag tl; do
      printf '  %-6s %-13s %-10s %-8s %s\n' "$name" "$role" "$state" "$lag" "$tl"
    done <<<"$members"
    [[ $leader != none ]] || ok=0
  else
    say "patroni: no REST endpoint answers"
    ok=0
  fi
  # Informational: failing archiving is said loudly but is not "the stack is down".
  [[ ${leader:-none} == none ]] || archiving_status "$leader" || true
  say "haproxy (server=status(sessions)):"
  haproxy_states || { say "  not reachable on 127.0.0.1:$STATS_PORT"; ok=0; }
  if redis_ok; then say "redis: up (127.0.0.1:$REDIS_PORT)"; else say "redis: down (127.0.0.1:$REDIS_PORT)"; fi
  (( ! MONITORING )) || monitoring_status
  (( ok )) || { say "stack is NOT running"; return 1; }
}

# Prometheus and what it scrapes. Informational: monitoring being down does
# not make the stack "not running".
monitoring_status() {
  local json
  if ! json=$(http_get "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/targets?state=active"); then
    say "prometheus: not answering on http://127.0.0.1:$PROMETHEUS_PORT"
    return 0
  fi
  say "prometheus: http://127.0.0.1:$PROMETHEUS_PORT, targets (job: up/all, down ones named):"
  # One line per job: job, targets up, all targets, the down ones (by etcd
  # member name where there is one, else by address).
  local rows job up all down
  rows=$(jq -r '[.data.activeTargets[]
                 | {job: .labels.job, up: (.health == "up"), name: (.labels.member // .labels.instance)}]
                | group_by(.job)[]
                | [.[0].job, (map(select(.up)) | length), length,
                   (map(select(.up | not) | .name) | sort | join(" "))]
                | @tsv' <<<"$json") || return 1
  [[ -n $rows ]] || { say "  (no targets known yet)"; return 0; }
  while IFS=$'\t' read -r job up all down; do
    printf '  %-11s%d/%d%s\n' "$job" "$up" "$all" "${down:+  down: $down}"
  done <<<"$rows"
}

cmd_leader() {
  current_leader || { warn "no leader (is the stack running?)"; return 1; }
}

cmd_replicas() {
  running_replicas || { warn "no Patroni REST endpoint answers (is the stack running?)"; return 1; }
}

# scripts/stack help COMMAND
help_status() {
  say "usage: scripts/stack status
  Processes, etcd health, Patroni members (role, state, lag, timeline), sync
  standby, HAProxy server states per backend, Redis, Prometheus' scrape
  targets. Exit 1 if not running (monitoring down does not count)."
}

help_leader() {
  say "usage: scripts/stack leader     print the leader's name (pg1/pg2/pg3); exit 1 if none"
}

help_replicas() {
  say "usage: scripts/stack replicas   print running replicas, one per line"
}
