# shellcheck shell=bash
# What the local stack (scripts/stack.d/backup.sh) and compose's backup service
# (docker/backup/lyceum-backup) share: the restore command's arguments (`restore --to 'TIME'
# | --latest [--yes]`) and range check, and verify-backup's report on the restored database.
# Both define say() and die().

# parse_restore_args ARGS...: sets RESTORE_TARGET ('YYYY-MM-DD HH:MM:SS.ffffff+00', empty for
# --latest), RESTORE_TARGET_EPOCH (seconds) and RESTORE_YES (1 with --yes).
parse_restore_args() {
  local to="" latest=0
  RESTORE_YES=0 RESTORE_TARGET="" RESTORE_TARGET_EPOCH=""
  while (( $# )); do
    case $1 in
      --to) to=${2:-}; [[ -n $to ]] || die "--to needs a time, e.g. --to '2026-12-06 12:34:56+00'"; shift ;;
      --to=*) to=${1#--to=}; [[ -n $to ]] || die "--to needs a time" ;;
      --latest) latest=1 ;;
      --yes) RESTORE_YES=1 ;;
      *) die "restore: unknown argument '$1' (restore --to 'TIMESTAMP' | --latest)" ;;
    esac
    shift
  done
  [[ -n $to || $latest == 1 ]] || die "restore needs --to 'TIMESTAMP' or --latest"
  [[ -z $to || $latest == 0 ]] || die "restore takes --to or --latest, not both"
  if [[ -n $to ]]; then
    RESTORE_TARGET_EPOCH=$(date -u -d "$to" +%s.%N 2>/dev/null) || die "restore: cannot read '$to' as a time (e.g. '2026-12-06 12:34:56.123+00')"
    RESTORE_TARGET=$(date -u -d "@$RESTORE_TARGET_EPOCH" '+%Y-%m-%d %H:%M:%S.%6N+00')
  fi
}

restore_utc() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S UTC'; }

# restore_target_in_range EARLIEST LATEST: refuses (nothing changed yet) a target outside the
# archive's range, naming it.
restore_target_in_range() {
  [[ -n $RESTORE_TARGET ]] || return 0
  if awk -v t="$RESTORE_TARGET_EPOCH" -v lo="$1" -v hi="$2" 'BEGIN { exit !(t < lo || t > hi) }'; then
    die "target $RESTORE_TARGET is outside the archive's range: $(restore_utc "$1") (end of the oldest backup) .. $(restore_utc "$2") (newest archived WAL); nothing changed"
  fi
}

# ledger_report SQL_FILE PSQL...: the row count of every table of the restored lyceum database
# and the ledger invariants of SQL_FILE (patroni/ledger-invariants.sql: each must be 0), with
# PSQL (a psql command line, unaligned and tuples only) run with -d lyceum. Status 1 if an
# invariant is broken.
ledger_report() {
  local sql=$1 t line bad=0
  shift
  say "  row counts:"
  for t in $("$@" -d lyceum -c "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1"); do
    printf '    %-22s %s\n' "$t" "$("$@" -d lyceum -c "SELECT count(*) FROM public.\"$t\"")"
  done
  say "  ledger invariants:"
  while IFS='|' read -r t line; do
    [[ -n $t ]] || continue
    printf '    %-34s %s\n' "$t" "$line"
    [[ $line == 0 ]] || bad=1
  done < <("$@" -d lyceum -f "$sql")
  (( bad == 0 ))
}

# verify_repository PGBACKREST...: `pgbackrest verify`. In 2.45 it reports an invalid or
# missing file at INFO level ("invalid checksum '<label>/pg_data/...'", "file missing '...'",
# "status: error") and still exits 0, so its findings are read here: each is printed, and any
# one fails. A clean repository prints nothing between the command's begin and end.
verify_repository() {
  local out findings
  out=$("$@" --log-level-console=info verify 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
  findings=$(grep -vE 'verify command (begin|end)' <<<"$out" | sed -E 's/^[0-9-]+ [0-9:.]+ P[0-9]+ +[A-Z]+: //; s/^ {30,}/  /' || true)
  [[ -n $findings ]] || return 0
  printf '%s\n' "$findings" >&2
  ! grep -qE 'status: (error|invalid)|invalid checksum|file missing|missing: [1-9]' <<<"$findings"
}
