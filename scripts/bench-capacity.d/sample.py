#!/usr/bin/env python3
"""Where the machine's time goes during one step of scripts/bench-capacity: CPU by process
(from /proc, at the start and the end of the window), the machine's busy and I/O-wait share
(/proc/stat), and what PostgreSQL's client backends on the leader do (pg_stat_activity, 5
times a second through the write port: running, or waiting on a lock, a lightweight lock,
I/O or the sync standby's commit confirmation).

usage: sample.py --seconds S --out FILE  (PostgreSQL through psql's PG* environment variables)

Writes FILE as JSON: {"seconds", "cores", "machine": {"busy", "iowait"} (shares of all cores),
"cpu": {process group: cores used}, "waits": {"active", "running", "Lock", "LWLock", "IO",
"SyncRep"} (average client backends), "wait_samples"}. A process that starts and ends inside the window (a psql, an archive push)
is not counted; the processes that serve the load live through it."""
import argparse
import json
import os
import re
import subprocess
import time

TICKS = os.sysconf("SC_CLK_TCK")
# What the leader's client backends are doing, 5 times a second (psql's \watch: one session
# for the whole window): running (on CPU, no wait event), or waiting on a lock, a lightweight
# lock, I/O, or the sync standby's confirmation of a commit (SyncRep).
WAITS = ("active", "running", "Lock", "LWLock", "IO", "SyncRep")
WAITS_SQL = """SELECT count(*) FILTER (WHERE state = 'active'),
       count(*) FILTER (WHERE state = 'active' AND wait_event IS NULL),
       count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock'),
       count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'LWLock'),
       count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'IO'),
       count(*) FILTER (WHERE state = 'active' AND wait_event = 'SyncRep')
  FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
\\watch 0.2
"""
# The names the report uses, by the process's command name (comm).
NAMES = {
    "lyceum-backend": "backend",
    "lyceum-loadtest": "load generator",
    "etcd": "etcd",
    "haproxy": "HAProxy",
    "redis-server": "Redis",
    "prometheus": "Prometheus",
}


def processes():
    """{pid: (ppid, comm, cmdline, cpu seconds, start time)} of every process readable now."""
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = open("/proc/%s/stat" % pid).read()
            cmdline = open("/proc/%s/cmdline" % pid, "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # The command name is in brackets and may hold spaces: split after the last ')'.
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        # ppid, comm, cmdline, CPU seconds, start time (tells a reused pid apart).
        found[int(pid)] = (int(fields[1]), comm, cmdline, (int(fields[11]) + int(fields[12])) / TICKS,
                           int(fields[19]))
    return found


def group(pid, procs):
    """The report's name for a process: postgres by its node (the postmaster's data folder),
    Patroni and the exporters by their command line, the rest by command name."""
    _, comm, cmdline, _, _ = procs[pid]
    if comm == "postgres" or cmdline.startswith("postgres:"):
        seen = pid
        while seen in procs:
            m = re.search(r"/(pg\d+)/", procs[seen][2])
            if m:
                return "postgres " + m.group(1)
            seen = procs[seen][0]
        return "postgres"
    if "patroni" in cmdline:
        return "Patroni"
    if "exporter" in comm or "exporter" in cmdline:
        return "exporters"
    if comm.startswith("kworker"):
        return "kernel workers"   # named by their current job (writeback, flush...): one group
    return NAMES.get(comm, comm)


def machine():
    """(busy, iowait, total) jiffies of all cores from /proc/stat."""
    values = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal, iowait, sum(values[:8])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    watch = subprocess.Popen(["psql", "-X", "-q", "-At", "-F", " "], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    watch.stdin.write(WAITS_SQL)
    watch.stdin.flush()
    before, m0, t0 = processes(), machine(), time.monotonic()
    time.sleep(args.seconds)
    after, m1, elapsed = processes(), machine(), time.monotonic() - t0
    watch.terminate()
    out, _ = watch.communicate(timeout=5)
    waits, samples = [0] * len(WAITS), 0
    for line in out.splitlines():
        values = line.split()
        if len(values) == len(WAITS) and all(v.isdigit() for v in values):
            waits = [w + int(v) for w, v in zip(waits, values)]
            samples += 1
    cpu = {}
    for pid, (_, _, _, seconds, started) in after.items():
        start = before.get(pid)
        # A process started in the window (or a pid reused) counts from its start. Not the
        # command name: a kernel worker's changes with its job.
        used = seconds - start[3] if start and start[4] == started else seconds
        name = group(pid, after)
        cpu[name] = cpu.get(name, 0.0) + used / elapsed
    total = max(1, m1[2] - m0[2])
    result = {
        "seconds": round(elapsed, 1),
        "cores": os.cpu_count(),
        "machine": {"busy": round((m1[0] - m0[0]) / total, 3), "iowait": round((m1[1] - m0[1]) / total, 3)},
        "cpu": {k: round(v, 3) for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]) if v >= 0.005},
        "waits": {k: round(v / samples, 2) if samples else None for k, v in zip(WAITS, waits)},
        "wait_samples": samples,
    }
    json.dump(result, open(args.out, "w"), indent=2)


if __name__ == "__main__":
    main()
