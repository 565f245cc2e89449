# shellcheck shell=bash
# Sourced by scripts/stack.
#
# Output and time: messages, microsecond clock, bounded polling.

say()  { printf '%s\n' "$*"; }
warn() { printf 'stack: %s\n' "$*" >&2; }
die()  { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

# Microsecond wall clock without forking (bash 5).
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$((10#$t))"; }
# Microseconds -> seconds with one decimal.
fmt_secs() { local tenths=$(( ($1 + 50000) / 100000 )); printf '%d.%d' $((tenths / 10)) $((tenths % 10)); }
since() { fmt_secs $(( $(now_us) - $1 )); }

# Run CHECK [ARGS] every 0.2 s until it succeeds or SECONDS elapse.
wait_until() {
  local deadline=$(( $(now_us) + $1 * 1000000 )); shift
  until "$@"; do
    (( $(now_us) < deadline )) || return 1
    sleep 0.2
  done
}
