# shellcheck shell=bash
# Sourced by scripts/stack.
#
# `top-statements`: where the database's time goes, from pg_stat_statements on every running
# node (loaded by patroni/patroni.yml.tmpl), merged by statement. The benchmark resets it
# before its load and prints it after (reports/<time>/top-statements.txt).
# `seq-scans`: sequential scans of the lyceum database's tables, summed over the nodes;
# scripts/bench-scale compares two of them around its load.

# One node's statements of the lyceum database: queryid|calls|exec ms|rows|text (folded).
node_statements() {
  sql_super "$1" "SELECT s.queryid, s.calls, round(s.total_exec_time::numeric, 3), s.rows,
                         left(regexp_replace(s.query, '\s+', ' ', 'g'), 160)
                  FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
                  WHERE d.datname = 'lyceum'"
}

cmd_top_statements() {
  local reset=0 limit=15 n any=0
  while (( $# )); do
    case $1 in
      --reset) reset=1 ;;
      [0-9]*) [[ $1 =~ ^[0-9]+$ ]] || die "top-statements: '$1' is not a count"; limit=$1 ;;
      *) die "top-statements: unknown argument '$1' (top-statements [N] [--reset])" ;;
    esac
    shift
  done
  if (( reset )); then
    for n in "${NODES[@]}"; do
      is_running "$n" || continue
      sql_super "$n" "SELECT pg_stat_statements_reset()" >/dev/null ||
        die "could not reset pg_stat_statements on $n (loaded? 'SHOW shared_preload_libraries')"
      any=1
    done
    (( any )) || die "no node is running"
    say "pg_stat_statements reset on every running node"
    return 0
  fi
  local rows=""
  for n in "${NODES[@]}"; do
    is_running "$n" || continue
    rows+=$(node_statements "$n" | sed "s/^/$n|/")$'\n' ||
      die "could not read pg_stat_statements on $n (loaded? 'SHOW shared_preload_libraries')"
  done
  [[ -n ${rows//$'\n'/} ]] || { say "no statements recorded on the lyceum database yet"; return 0; }
  # Merged by queryid over the nodes (the same statement on the primary and the replicas).
  printf '%s' "$rows" | awk -F'|' -v limit="$limit" '
    NF >= 6 { id = $2; calls[id] += $3; ms[id] += $4; rows[id] += $5; text[id] = $6
              if (id in nodes) nodes[id] = nodes[id] "," $1; else nodes[id] = $1
              total += $4 }
    END {
      printf "%9s %9s %7s %9s %10s  %-11s %s\n", "total ms", "calls", "share", "mean ms", "rows", "nodes", "statement"
      n = 0
      for (id in ms) order[++n] = id
      for (i = 2; i <= n; i++) { k = order[i]; for (j = i - 1; j > 0 && ms[order[j]] < ms[k]; j--) order[j + 1] = order[j]; order[j + 1] = k }
      for (i = 1; i <= n && i <= limit; i++) { id = order[i]
        printf "%9.1f %9d %6.1f%% %9.3f %10d  %-11s %s\n", ms[id], calls[id], total ? 100 * ms[id] / total : 0,
               calls[id] ? ms[id] / calls[id] : 0, rows[id], nodes[id], text[id] }
      printf "%d statements, %.0f ms of execution in all\n", n, total
    }'
}

help_top_statements() {
  say "usage: scripts/stack top-statements [N] [--reset]
  The N (default 15) statements of the lyceum database with the most execution time,
  from pg_stat_statements on every running node, merged by statement: total and mean
  milliseconds, calls, share of all execution time, rows, the nodes that ran it, and
  its normalized text (\$1 for constants). Counted since each node started or since
  --reset, which empties the counters on every running node."
}

# Each node counts the scans of the statements it ran (the replicas serve the reads), so the
# counts are summed; live rows are the primary's (a standby keeps no such statistics).
cmd_seq_scans() {
  (( $# == 0 )) || die "seq-scans takes no argument (see: scripts/stack help seq-scans)"
  local n rows="" any=0
  for n in "${NODES[@]}"; do
    is_running "$n" || continue
    rows+=$(sql_super "$n" "SELECT relname, seq_scan, n_live_tup FROM pg_stat_user_tables" lyceum)$'\n' ||
      die "could not read pg_stat_user_tables of the lyceum database on $n"
    any=1
  done
  (( any )) || die "no node is running"
  printf '%s' "$rows" | awk -F'|' 'NF == 3 { scans[$1] += $2; if ($3 > live[$1]) live[$1] = $3 }
    END { for (t in scans) printf "%s %d %d\n", t, scans[t], live[t] }' | sort
}

help_seq_scans() {
  say "usage: scripts/stack seq-scans
  One line per table of the lyceum database: its name, the sequential scans of it since
  the nodes started (summed over every running node: the replicas count the reads they
  served) and its live rows (the primary's statistics). Take two and subtract to see which
  tables a load scanned whole; scripts/bench-scale does, and fails when a big one was."
}
