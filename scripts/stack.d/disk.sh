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

# NODE, or without one a replica that is not the sync standby: a full disk on
# the sync standby is also the loss of the sync standby (faults.sh has that).
disk_node() {
  local n sync
  if [[ -n ${1:-} ]]; then
    n=$(resolve_node "$1")
  else
    sync=$(sync_standby 2>/dev/null || true)
    n=$(running_replicas | grep -vx "${sync:-none}" | head -n1 || true)
    [[ -n $n ]] || n=$(resolve_node replica)
  fi
  [[ $n != "$(current_leader 2>/dev/null)" ]] || die "$n is the leader; fill-disk is a replica's fault"
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

cmd_fill_disk() {
  (( $# <= 1 )) || die "usage: scripts/stack fill-disk [NODE]"
  take_lock
  local n avail
  n=$(disk_node "${1:-}")
  wal_on_tmpfs "$n" || move_wal_to_tmpfs "$n"
  avail=$(df --output=avail -B1 "$(wal_mount "$n")" | tail -n1)
  # fallocate reserves the blocks at once (tmpfs supports it); dd is the fallback.
  fallocate -l "$avail" "$(wal_filler "$n")" 2>/dev/null ||
    dd if=/dev/zero of="$(wal_filler "$n")" bs=1M status=none 2>/dev/null || true
  say "$n: pg_wal's filesystem is full ($(df --output=avail -B1 "$(wal_mount "$n")" | tail -n1 | tr -d " ") bytes free);" \
    "'scripts/stack free-disk $n' gives the space back"
}

cmd_free_disk() {
  local node="" wait=0 n t0
  while (( $# )); do
    case $1 in
      --wait) wait=1 ;;
      -*) die "free-disk: unknown option $1" ;;
      *) node=$1 ;;
    esac
    shift
  done
  take_lock
  if [[ -n $node ]]; then
    n=$(resolve_node "$node")
  else
    for n in "${NODES[@]}"; do [[ -e $(wal_filler "$n") ]] && break; done
  fi
  [[ -e $(wal_filler "$n") ]] || die "no full disk to free (fill-disk was not run${node:+ for $n})"
  rm -f "$(wal_filler "$n")"
  t0=$(now_us)
  say "$n: $(df --output=avail -B1M "$(wal_mount "$n")" | tail -n1 | tr -d ' ') MB free on pg_wal's filesystem again"
  (( wait )) || return 0
  # shellcheck disable=SC2317
  streams() { grep -qx "$n" <<<"$(streaming_members)"; }
  wait_until 60 streams || die "$n is not streaming 60 s after the space came back"
  caught_up "$n" || die "$n did not catch up within ${CATCHUP_TIMEOUT} s"
  say "$n: streaming and caught up after $(since "$t0") s"
  # shellcheck disable=SC2317
  read_up() { [[ $(haproxy_server_status replicas "$n") == UP ]]; }
  wait_until 30 read_up || die "HAProxy did not put $n back into the read port within 30 s"
  say "$n: back in the read port after $(since "$t0") s"
}

# Called by `down` once every node is stopped: pg_wal back on the disk, the
# tmpfs unmounted (it would not survive a reboot, and holds memory).
release_wal_tmpfs() {
  local n dir data
  for n in "${NODES[@]}"; do
    dir=$(wal_mount "$n") data=$RUN_DIR/$n/data
    mountpoint -q "$dir" || continue
    if [[ -L $data/pg_wal ]]; then
      rm -f "$(wal_filler "$n")"
      rm "$data/pg_wal" && cp -a "$dir/pg_wal" "$data/pg_wal" || { warn "could not copy $n's pg_wal back from $dir"; continue; }
    fi
    umount "$dir" && rmdir "$dir" && say "$n: pg_wal back on the disk, tmpfs unmounted"
  done
}

# scripts/stack help COMMAND
help_fill_disk() {
  say "usage: scripts/stack fill-disk [NODE]
  A full disk on one replica (default: one that is not the sync standby). The
  first time, the node's pg_wal moves to a tmpfs of its own (the node is
  taken out of the read port, stopped, moved and started: a few seconds);
  then that tmpfs is filled. The replica can no longer receive WAL: it falls
  behind, HAProxy's lag check takes it out of the read port once it is
  ${READ_MAX_LAG} bytes behind, LyceumReplicaWalStalled fires, and the
  leader goes on writing. Needs root."
}

help_free_disk() {
  say "usage: scripts/stack free-disk [NODE] [--wait]
  Undo fill-disk: delete the filler, so the replica's pg_wal has room again;
  PostgreSQL resumes streaming by itself. --wait: until it streams, has
  caught up and is back in the read port, with the times. The tmpfs stays
  until 'scripts/stack down', which moves pg_wal back to the disk."
}
