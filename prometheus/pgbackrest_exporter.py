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
"""
import argparse
import json
import os
import re
import subprocess
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


def collect(args):
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
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", required=True, help="host:port")
    p.add_argument("--pgbackrest", required=True, help="pgbackrest or a wrapper with the config flags")
    p.add_argument("--repo", required=True, help="repository path (repo1-path)")
    p.add_argument("--stanza", default="lyceum")
    p.add_argument("--cache", type=float, default=10)
    args = p.parse_args()
    lock, cached = threading.Lock(), {"at": 0.0, "text": ""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] != "/metrics":
                body = b"pgbackrest exporter: /metrics\n"
            else:
                with lock:
                    if time.time() - cached["at"] > args.cache:
                        cached["text"], cached["at"] = collect(args), time.time()
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
