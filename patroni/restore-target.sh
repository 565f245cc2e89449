# shellcheck shell=bash
# The restore command's arguments and its range check, shared by scripts/stack.d/backup.sh
# (local stack) and docker/backup/lyceum-backup (compose): `restore --to 'TIME' | --latest
# [--yes]`. Both define die().

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
