# shellcheck shell=bash
# Sourced by scripts/stack.
#
# Processes: pidfiles, recognising our own processes by the run dir in their
# command line, starting one detached, terminating with a deadline, the lock
# the state-changing commands take, and the last lines of a component's logs.

pidfile() { echo "$PID_DIR/$1.pid"; }

# True if PID is alive and its command line mentions our run directory:
# a stale pidfile whose number was reused by something else does not count,
# and neither does a zombie (empty cmdline).
owned_pid() {
  local cmd
  [[ $1 =~ ^[0-9]+$ ]] || return 1
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
  [[ $cmd == *"$RUN_DIR/"* ]]
}

component_pid() {
  local f pid
  f=$(pidfile "$1")
  [[ -r $f ]] || return 1
  pid=$(<"$f")
  owned_pid "$pid" || return 1
  echo "$pid"
}
is_running() { component_pid "$1" >/dev/null; }

# PID of a node's postmaster (it outlives a killed Patroni), from postmaster.pid.
postmaster_pid() {
  local f=$RUN_DIR/$1/data/postmaster.pid pid
  [[ -r $f ]] || return 1
  read -r pid <"$f" || return 1
  owned_pid "$pid" || return 1
  echo "$pid"
}

children_of() { pgrep -P "$1" 2>/dev/null || true; }

# Our ancestors: the sweep must never kill the shell that called us, even if
# its command line happens to mention the run directory.
ancestor_pids() {
  local pid=$$ ppid
  while [[ $pid -gt 1 ]]; do
    echo "$pid"
    ppid=$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null) || break
    pid=$ppid
  done
}

# Every live process whose command line contains "$RUN_DIR/".
run_dir_pids() {
  local f pid skip
  skip=" $(ancestor_pids | tr '\n' ' ') $BASHPID "
  # One grep over all command lines (a fork per process costs ~1 s).
  while IFS= read -r f; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    [[ $skip == *" $pid "* ]] || echo "$pid"
  done < <(grep -laF -- "$RUN_DIR/" /proc/[0-9]*/cmdline 2>/dev/null || true)
}

any_alive() { local p; for p in "$@"; do owned_pid "$p" && return 0; done; return 1; }
none_alive() { ! any_alive "$@"; }

# Send SIGNAL to PIDS, wait up to TIMEOUT seconds for them to go, then SIGKILL
# what is left. Usage: terminate SIGNAL TIMEOUT PID...
terminate() {
  local sig=$1 timeout=$2; shift 2
  (( $# )) || return 0
  kill -s "$sig" "$@" 2>/dev/null || true
  if ! wait_until "$timeout" none_alive "$@"; then
    warn "still running after ${timeout}s, sending SIGKILL: $*"
    kill -KILL "$@" 2>/dev/null || true
    wait_until 5 none_alive "$@" || warn "could not kill: $*"
  fi
}

# Start a component in its own session (so a Ctrl-C in the caller's terminal
# does not reach it), logging to LOG. Usage: launch NAME LOG CMD...
# fd 9 is our flock: children must not inherit it or the lock would outlive us.
launch() {
  local name=$1 log=$2 pid _; shift 2
  setsid "$@" >>"$log" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$(pidfile "$name")"
  STARTED+=("$name")
  # Until the child has exec'd, its command line is still ours and
  # owned_pid would call it dead; give it a moment.
  for _ in {1..50}; do
    owned_pid "$pid" || ! kill -0 "$pid" 2>/dev/null && break
    sleep 0.02
  done
}

# Log files of a component, one per line.
component_logs() {
  case $1 in
    pg*) printf '%s\n' "$LOG_DIR/$1-patroni.log" "$LOG_DIR/$1-postgresql.log" ;;
    *)   printf '%s\n' "$LOG_DIR/$1.log" ;;
  esac
}

# Print the last lines of each COMPONENT's logs to stderr.
log_tail() {
  local c f
  for c in "$@"; do
    while IFS= read -r f; do
      [[ -s $f ]] || continue
      printf -- '--- last lines of %s ---\n' "$f" >&2
      tail -n 25 "$f" >&2
    done < <(component_logs "$c")
  done
}

take_lock() {
  mkdir -p "$RUN_DIR"
  exec 9>>"$RUN_DIR/stack.lock"
  if ! flock -n 9; then
    say "waiting for another scripts/stack command on $RUN_DIR to finish..."
    flock -w 600 9 || die "could not lock $RUN_DIR/stack.lock within 600 s"
  fi
}

# Runs CMD as the OS user that runs Patroni/PostgreSQL (postgres refuses root).
as_db_user() {
  if (( EUID == 0 )); then
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  else
    "$@"
  fi
}
