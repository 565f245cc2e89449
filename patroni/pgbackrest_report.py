#!/usr/bin/python3
"""Reports on a pgBackRest repository, shared by the local stack (scripts/stack.d/backup.sh)
and compose's backup service (docker/backup/lyceum-backup), so both print the same thing.

  table [N]          backups from `pgbackrest info --output=json` on stdin: type, start,
                     duration, sizes, WAL range (the last N only, without the stanza header)
  gaps ARCHIVE_DIR   WAL continuity of <repo>/archive/<stanza>: every segment between the
                     oldest and the newest must be there on some timeline (a .partial of the
                     old timeline counts at a switch). `check`, `info` and a plain `verify`
                     all pass with a gap, which is why this exists. Exit 1 on a gap.
  range ARCHIVE_DIR  "EARLIEST LATEST NEWEST_BACKUP" (epoch seconds) for the info JSON on
                     stdin: a time target may lie between the end of the oldest backup and
                     the newest file in the WAL archive. Exit 1 if there is no backup.
"""
import json
import os
import re
import sys
import time

SEGMENT = re.compile(r"([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})(\.partial)?-")


def mb(b):
    return "%.1f MB" % (b / 1e6)


def table(last):
    for st in json.load(sys.stdin):
        backups = st.get("backup", [])
        if last:
            backups = backups[-last:]
        else:
            print("stanza %s: %s" % (st["name"], st["status"]["message"]))
            for a in st.get("archive", []):
                if a.get("min"):
                    print("WAL archive %s: %s .. %s" % (a["id"], a["min"], a["max"]))
        if not backups:
            print("no backups")
            continue
        fmt = "%-34s %-5s %-20s %8s %11s %11s %11s  %s"
        print(fmt % ("label", "type", "start (UTC)", "seconds", "database", "repo", "repo delta",
                     "WAL start .. stop"))
        for b in backups:
            ts, info = b["timestamp"], b["info"]
            print(fmt % (b["label"], b["type"], time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts["start"])),
                         ts["stop"] - ts["start"], mb(info["size"]), mb(info["repository"]["size"]),
                         mb(info["repository"]["delta"]),
                         "%s .. %s" % (b["archive"]["start"], b["archive"]["stop"])))
    return 0


def archive_files(root):
    """(segment file name, mtime) of every WAL file under the stanza's archive dir."""
    if not os.path.isdir(root):
        return
    for sub, _, files in os.walk(root):
        for f in files:
            if SEGMENT.match(f):
                try:
                    yield f, os.stat(os.path.join(sub, f)).st_mtime
                except OSError:  # expired while we walked
                    continue


def gaps(root):
    segs, tls = set(), set()
    for f, _ in archive_files(root):
        m = SEGMENT.match(f)
        tls.add(int(m.group(1), 16))
        segs.add(int(m.group(2), 16) * 0x100 + int(m.group(3), 16))
    if not segs:
        print("WAL archive: empty")
        return 0
    lo, hi = min(segs), max(segs)
    missing = [s for s in range(lo, hi + 1) if s not in segs]

    def name(s):
        return "%08X%08X" % (s // 0x100, s % 0x100)

    print("WAL archive: segments %s .. %s (%d), timelines %s, %s" % (
        name(lo), name(hi), len(segs), ",".join(str(t) for t in sorted(tls)),
        "no gap" if not missing else "%d MISSING" % len(missing)))
    for s in missing[:20]:
        print("  missing segment %s" % name(s))
    return 1 if missing else 0


def restorable_range(root):
    stops = [b["timestamp"]["stop"] for s in json.load(sys.stdin) for b in s.get("backup", [])]
    if not stops:
        return 1
    newest = max((t for _, t in archive_files(root)), default=min(stops))
    print(min(stops), int(newest), max(stops))
    return 0


def main():
    args = sys.argv[1:]
    if args and args[0] == "table" and len(args) <= 2:
        return table(int(args[1]) if len(args) == 2 else 0)
    if len(args) == 2 and args[0] == "gaps":
        return gaps(args[1])
    if len(args) == 2 and args[0] == "range":
        return restorable_range(args[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
