# shellcheck shell=bash
# Sourced by scripts/stack.
#
# A full disk on one replica: fill-disk moves the node's pg_wal onto a small
# tmpfs of its own (once; the node is restarted for it, out of the read port
# meanwhile) and fills that tmpfs, so its WAL receiver cannot create the next
# segment; free-disk gives the space back, and PostgreSQL goes on by itself.
# The tmpfs stays mounted until `down`, which moves pg_wal back to the disk.

# Free space kept on the tmpfs above what pg_wal holds when it moves there.
readonly WAL_TMPFS_HEADROOM_MB=64

wal_mount() { echo "$RUN_DIR/$1/walfs"; }
wal_filler() { echo "$(wal_mount "$1")/filler"; }
wal_on_tmpfs() { mountpoint -q "$(wal_mount "$1")" && [[ -L $RUN_DIR/$1/data/pg_wal ]]; }

# NODE; without one, the node whose pg_wal is already on our tmpfs, else a
# replica that is not the sync standby (a full disk on the sync standby is also
# the loss of the sync standby, which faults of its own cover).
disk_node() {
  local n sync
  if [[ -n ${1:-} ]]; then
    n=$(resolve_node "$1")
  else
    for n in "${NODES[@]}"; do mountpoint -q "$(wal_mount "$n")" && { echo "$n"; return 0; }; done
    sync=$(sync_standby 2>/dev/null || true)
    n=$(running_replicas | grep -vx "${sync:-none}" | head -n1 || true)
    [[ -n $n ]] || n=$(resolve_node replica)
  fi
  echo "$n"
}

# Moves NODE's pg_wal onto its own tmpfs: the node is stopped for it (out of the
# read port first, as in rolling-restart) and started again.
move_wal_to_tmpfs() {
  local n=$1 dir data used
  dir=$(wal_mount "$n") data=$RUN_DIR/$n/data
  (( EUID == 0 )) || die "fill-disk needs root (it mounts a tmpfs)"
  [[ -d $data/pg_wal && ! -L $data/pg_wal ]] || die "$data/pg_wal is not a directory"
  drain_reads "$n"
  cmd_stop_node "$n"
  used=$(du -sm "$data/pg_wal" | cut -f1)
  mkdir -p "$dir"
  mount -t tmpfs -o "size=$((used + WAL_TMPFS_HEADROOM_MB))m,mode=700" "lyceum-wal-$n" "$dir" ||
    { undrain_reads "$n"; die "could not mount a tmpfs on $dir"; }
  cp -a "$data/pg_wal" "$dir/" && rm -rf "$data/pg_wal" && ln -s "$dir/pg_wal" "$data/pg_wal"
  chown -h postgres:postgres "$dir" "$data/pg_wal"
  cmd_start_node "$n"
  undrain_reads "$n"
  say "$n: pg_wal on a $((used + WAL_TMPFS_HEADROOM_MB)) MB tmpfs ($dir)"
}

# pg_wal (tmpfs mounted) copied back onto the disk and the tmpfs unmounted;
# the node must be stopped.
wal_back_to_disk() {
  local n=$1 dir data
  dir=$(wal_mount "$n") data=$RUN_DIR/$n/data
  if [[ -L $data/pg_wal ]]; then
    rm -f "$(wal_filler "$n")"
    rm "$data/pg_wal" && cp -a "$dir/pg_wal" "$data/pg_wal" || die "could not copy $n's pg_wal back from $dir"
  fi
  umount "$dir" && rmdir "$dir"
  say "$n: pg_wal back on the disk, tmpfs unmounted"
}

cmd_fill_disk() {
  local node="" wait=0 n avail t0
  while (( $# )); do
    case $1 in
      --wait) wait=1 ;;
      -*) die "fill-disk: unknown option $1" ;;
      *) [[ -z $node ]] || die "one node only"; node=$1 ;;
    esac
    shift
  done
  take_lock
  n=$(disk_node "$node")
  [[ $n != "$(current_leader 2>/dev/null)" ]] || die "$n is the leader; fill-disk is a replica's fault"
  wal_on_tmpfs "$n" || move_wal_to_tmpfs "$n"
  t0=$(now_us)
  avail=$(df --output=avail -B1 "$(wal_mount "$n")" | tail -n1 | tr -d ' ')
  if (( avail > 0 )); then
    # fallocate reserves the blocks at once (tmpfs supports it); dd is the fallback.
    fallocate -l "$avail" "$(wal_filler "$n")-$t0" 2>/dev/null ||
      dd if=/dev/zero of="$(wal_filler "$n")-$t0" bs=1M status=none 2>/dev/null || true
  fi
  say "$n: pg_wal's filesystem is full ($(df --output=avail -B1 "$(wal_mount "$n")" | tail -n1 | tr -d ' ') bytes free);" \
    "'scripts/stack free-disk $n' gives the space back"
  (( wait )) || return 0
  # shellcheck disable=SC2317
  out_of_reads() { [[ $(haproxy_server_status replicas "$n") != UP* ]]; }
  wait_until 60 out_of_reads ||
    die "$n is still in the read port 60 s after its disk filled (lag $(node_lag "$n") bytes; the leader must write ${READ_MAX_LAG} bytes first)"
  say "$n: out of the read port after $(since "$t0") s (HAProxy $(haproxy_server_status replicas "$n"), lag $(node_lag "$n") bytes)"
}

node_lag() { cluster_members | awk -v n="$1" '$1 == n { print $4 }'; }

cmd_free_disk() {
  local node="" wait=0 unmount=0 n t0
  while (( $# )); do
    case $1 in
      --wait) wait=1 ;;
      --unmount) unmount=1 ;;
      -*) die "free-disk: unknown option $1" ;;
      *) [[ -z $node ]] || die "one node only"; node=$1 ;;
    esac
    shift
  done
  take_lock
  n=$(disk_node "$node")
  mountpoint -q "$(wal_mount "$n")" || die "$n's pg_wal is not on a tmpfs of fill-disk"
  t0=$(now_us)
  if compgen -G "$(wal_filler "$n")*" >/dev/null; then
    rm -f "$(wal_filler "$n")"*
    say "$n: $(df --output=avail -B1M "$(wal_mount "$n")" | tail -n1 | tr -d ' ') MB free on pg_wal's filesystem again"
  fi
  if (( wait )); then
    # shellcheck disable=SC2317
    streams() { grep -qx "$n" <<<"$(streaming_members)"; }
    wait_until 60 streams || die "$n is not streaming 60 s after the space came back"
    caught_up "$n" || die "$n did not catch up within ${CATCHUP_TIMEOUT} s"
    say "$n: streaming and caught up after $(since "$t0") s"
    # shellcheck disable=SC2317
    read_up() { [[ $(haproxy_server_status replicas "$n") == UP ]]; }
    wait_until 30 read_up || die "HAProxy did not put $n back into the read port within 30 s"
    say "$n: back in the read port after $(since "$t0") s"
  fi
  if (( unmount )); then
    drain_reads "$n"
    cmd_stop_node "$n"
    wal_back_to_disk "$n"
    cmd_start_node "$n"
    undrain_reads "$n"
  fi
}

# Called by `down` once every node is stopped: pg_wal back on the disk, the
# tmpfs unmounted (it would not survive a reboot, and holds memory).
release_wal_tmpfs() {
  local n
  for n in "${NODES[@]}"; do
    mountpoint -q "$(wal_mount "$n")" && wal_back_to_disk "$n"
  done
  return 0
}

# scripts/stack help COMMAND
help_fill_disk() {
  say "usage: scripts/stack fill-disk [NODE] [--wait]
  A full disk on one replica (default: the one filled before, else one that
  is not the sync standby). The
  first time, the node's pg_wal moves to a tmpfs of its own (the node is
  taken out of the read port, stopped, moved and started: a few seconds);
  then that tmpfs is filled. The replica can no longer receive WAL: it falls
  behind, HAProxy's lag check takes it out of the read port once it is
  ${READ_MAX_LAG} bytes behind, LyceumReplicaWalStalled fires, and the
  leader goes on writing. Needs root.
  --wait: until HAProxy has taken it out of the read port (at most 60 s)."
}

help_free_disk() {
  say "usage: scripts/stack free-disk [NODE] [--wait] [--unmount]
  Undo fill-disk: delete the filler, so the replica's pg_wal has room again;
  PostgreSQL resumes streaming by itself. --wait: until it streams, has
  caught up and is back in the read port, with the times. --unmount: then
  move pg_wal back to the disk (the node restarts, out of the read port
  meanwhile) and unmount the tmpfs; 'scripts/stack down' does that too."
}
