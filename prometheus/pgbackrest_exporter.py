#!/usr/bin/python3
"""Prometheus metrics of a pgBackRest repository, from `pgbackrest info --output=json`.

Debian bookworm packages no pgBackRest exporter, so scripts/stack runs this one (component
exporter-backup) as the database's OS user with the runner's pgBackRest wrapper. Each scrape
re-reads the repository at most every --cache seconds: `info` reads the backup manifests'
index, cheap but not free on 2 cores. Series (all gauges):

  pgbackrest_up                                1 if `info` answered
  pgbackrest_stanza_status_code                pgBackRest's status code (0 ok, 2 no backup, ...)
  pgbackrest_backups                           backups in the repository
  pgbackrest_backup_last_completion_timestamp_seconds{type}  end of the newest backup of a type
  pgbackrest_backup_last_duration_seconds      of the newest backup
  pgbackrest_backup_last_database_size_bytes   database size it covers
  pgbackrest_backup_last_repo_size_bytes       what it added to the repository (its delta)
  pgbackrest_repo_size_bytes                   files in the repository (backups and WAL)
  pgbackrest_wal_archive_last_timestamp_seconds  when the newest WAL file reached the repo
  pgbackrest_wal_archive_missing_segments      gaps between the oldest and newest segment
  pgbackrest_verify_bad_files                  invalid or missing files the last periodic
                                               `pgbackrest verify` found (after the first one)
  pgbackrest_verify_last_timestamp_seconds     when that verify finished

The periodic verify (--verify-every, every 6 hours by default, the first one at start) reads
every file of the repository, which is why it is not done per scrape. Findings count only when
a second run a minute later confirms them. pgBackRest 2.45's verify
reports a damaged file at INFO level and exits 0, so its findings are counted here.
--once prints the metrics once (after a verify, if --verify-every is not 0) and exits.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SEGMENT = re.compile(r"([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})(\.partial)?-")


def repo_facts(repo, stanza):
    """(bytes in the repository, newest WAL file mtime, missing segments)."""
    total, newest, segs = 0, 0.0, set()
    for root, _, files in os.walk(repo):
        for f in files:
            try:
                st = os.stat(os.path.join(root, f))
            except OSError:  # expired while we walked
                continue
            total += st.st_size
            m = SEGMENT.match(f)
            if m and os.sep + "archive" + os.sep + stanza + os.sep in root + os.sep:
                newest = max(newest, st.st_mtime)
                segs.add(int(m.group(2), 16) * 0x100 + int(m.group(3), 16))
    missing = (max(segs) - min(segs) + 1 - len(segs)) if segs else 0
    return total, newest, missing


# One finding of `pgbackrest verify` about a file: "invalid checksum '<label>/pg_data/...'",
# "file missing '...'", "invalid size '...'" and the like.
BAD_FILE = re.compile(r"\b(invalid [a-z ]+|file missing) '[^']+'")


def verify(args):
    """Runs `pgbackrest verify` once: the bad files it found, or None if it did not run."""
    try:
        out = subprocess.run([args.pgbackrest, "--log-level-console=info", "verify"], capture_output=True,
                             text=True, timeout=args.verify_timeout, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    bad = len(BAD_FILE.findall(out))
    bad = 1 if bad == 0 and "status: error" in out else bad  # another kind of finding counts
    if bad:
        sys.stderr.write(out)  # the exporter's log says which files
    return bad


def verify_confirmed(args):
    """A verify whose findings (or failure) a second run a minute later confirms: one run
    beside a stanza-create, a backup or an expire can see a half-written repository (a fresh
    stack's first verify reported "status: error" that way); damage stays."""
    bad = verify(args)
    if bad is None or bad > 0:
        time.sleep(min(60, args.verify_every))
        bad = verify(args)
    return bad


def verify_forever(args, state):
    """state gets bad_files and at after each verify. A verify that cannot run (the stanza not
    created yet, right after `up`) is retried every minute and reported (-1) only after three
    failures in a row."""
    failures = 0
    while True:
        bad = verify_confirmed(args)
        failures = failures + 1 if bad is None else 0
        if bad is not None or failures >= 3:
            state["bad_files"], state["at"] = (-1 if bad is None else bad), time.time()
        time.sleep(args.verify_every if bad is not None else min(60, args.verify_every))


def collect(args, verified=None):
    lines = []

    def gauge(name, value, labels=""):
        lines.append("%s%s %s" % (name, labels, value))

    try:
        out = subprocess.run([args.pgbackrest, "info", "--output=json"], capture_output=True,
                             text=True, timeout=20, check=True).stdout
        stanzas = json.loads(out)
        gauge("pgbackrest_up", 1)
    except (subprocess.SubprocessError, ValueError, OSError):
        stanzas = []
        gauge("pgbackrest_up", 0)
    for st in stanzas:
        backups = st.get("backup", [])
        gauge("pgbackrest_stanza_status_code", st["status"]["code"])
        gauge("pgbackrest_backups", len(backups))
        newest = {}
        for b in backups:
            newest[b["type"]] = b
        for kind, b in sorted(newest.items()):
            gauge("pgbackrest_backup_last_completion_timestamp_seconds", b["timestamp"]["stop"],
                  '{type="%s"}' % kind)
        if backups:
            b = backups[-1]
            gauge("pgbackrest_backup_last_duration_seconds", b["timestamp"]["stop"] - b["timestamp"]["start"])
            gauge("pgbackrest_backup_last_database_size_bytes", b["info"]["size"])
            gauge("pgbackrest_backup_last_repo_size_bytes", b["info"]["repository"]["delta"])
    total, newest_wal, missing = repo_facts(args.repo, args.stanza)
    gauge("pgbackrest_repo_size_bytes", total)
    if newest_wal:
        gauge("pgbackrest_wal_archive_last_timestamp_seconds", "%.3f" % newest_wal)
    gauge("pgbackrest_wal_archive_missing_segments", missing)
    if verified and "at" in verified:
        gauge("pgbackrest_verify_bad_files", verified["bad_files"])
        gauge("pgbackrest_verify_last_timestamp_seconds", "%.3f" % verified["at"])
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", help="host:port (required unless --once)")
    p.add_argument("--pgbackrest", required=True, help="pgbackrest or a wrapper with the config flags")
    p.add_argument("--repo", required=True, help="repository path (repo1-path)")
    p.add_argument("--stanza", default="lyceum")
    p.add_argument("--cache", type=float, default=10)
    p.add_argument("--verify-every", type=float, default=6 * 3600,
                   help="seconds between two `pgbackrest verify` runs (0: never)")
    p.add_argument("--verify-timeout", type=float, default=3600)
    p.add_argument("--once", action="store_true", help="print the metrics once and exit")
    args = p.parse_args()
    if not args.once and not args.listen:
        p.error("--listen is required (or --once)")
    verified = {}
    if args.once:
        if args.verify_every:
            bad = verify(args)
            verified.update(bad_files=-1 if bad is None else bad, at=time.time())
        print(collect(args, verified), end="")
        return
    if args.verify_every:
        threading.Thread(target=verify_forever, args=(args, verified), daemon=True).start()
    lock, cached = threading.Lock(), {"at": 0.0, "text": ""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] != "/metrics":
                body = b"pgbackrest exporter: /metrics\n"
            else:
                with lock:
                    if time.time() - cached["at"] > args.cache:
                        cached["text"], cached["at"] = collect(args, verified), time.time()
                    body = cached["text"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):  # scrapes every few seconds would flood the log
            pass

    host, port = args.listen.rsplit(":", 1)
    ThreadingHTTPServer((host, int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
