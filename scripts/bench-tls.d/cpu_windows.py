#!/usr/bin/env python3
"""CPU by component while scripts/bench-api drives the backend, for scripts/bench-tls: where
the cycles TLS adds go (issue 20, item 8).

  cpu_windows.py record --run-dir DIR --out FILE
      every 0.5 s until SIGTERM: which backend measurement runs (a `wrk` process with
      course_detail.lua: "page", purchase.lua: "purchase", else none) and the CPU ticks used
      so far by every process of each component, one JSON line per sample. Only the stack of
      DIR counts: processes whose environment says LYCEUM_RUN_DIR=DIR (bench-api runs with
      it, so the backend and wrk inherit it) or whose command line names DIR (Patroni, the
      postmaster, HAProxy, Redis, etcd), or whose ancestor's does (PostgreSQL's backends)
  cpu_windows.py summarize FILE
      per window, the cores each component used on average over the intervals that had the
      same window at both ends, as JSON {"page": {"backend": 0.61, ...}, "purchase": {...}}

Components by command name: the backend, PostgreSQL (every postgres process: backends, WAL
senders and receivers, the startup process replaying WAL), HAProxy, Redis, Patroni, etcd,
and wrk (the client). Another stack on the machine (bench-tls's idle one, anybody else's)
does not count.
"""
import json
import os
import signal
import sys
import time

TICKS = os.sysconf("SC_CLK_TCK")
GROUPS = {"lyceum-backend": "backend", "postgres": "PostgreSQL", "haproxy": "HAProxy",
          "redis-server": "Redis", "etcd": "etcd", "wrk": "wrk (client)"}
WINDOWS = {"course_detail.lua": "page", "purchase.lua": "purchase"}


def read(path):
    with open(path, "rb") as f:
        return f.read()


def sample(run_dir):
    mark = f"LYCEUM_RUN_DIR={run_dir}".encode()
    procs = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = read(f"/proc/{pid}/stat").decode(errors="replace")
            cmd = read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").decode(errors="replace")
            env = read(f"/proc/{pid}/environ").split(b"\0")
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        procs[pid] = {"comm": comm, "cmd": cmd, "ppid": fields[1],
                      "mine": mark in env or run_dir in cmd,
                      "ticks": int(fields[11]) + int(fields[12])}  # utime + stime

    def mine(pid, depth=0):
        p = procs.get(pid)
        return bool(p) and (p["mine"] or (depth < 8 and mine(p["ppid"], depth + 1)))

    cpu, window = {}, None
    for pid, p in procs.items():
        comm, cmd = p["comm"], p["cmd"]
        group = GROUPS.get(comm)
        if group is None and "patroni" in cmd and comm.startswith("python"):
            group = "Patroni"
        if group is None and comm.startswith("postgres"):
            group = "PostgreSQL"
        if group is None or not mine(pid):
            continue
        # Keyed by pid: a process's ticks only grow, one that ends drops out of both ends.
        cpu[f"{group}/{pid}"] = p["ticks"]
        if comm == "wrk":
            window = next((w for lua, w in WINDOWS.items() if lua in cmd), window)
    return {"t": time.monotonic(), "window": window, "cpu": cpu}


def record(run_dir, out):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    with open(out, "w") as f:
        while not stop:
            f.write(json.dumps(sample(run_dir)) + "\n")
            f.flush()
            time.sleep(0.5)


def summarize(path):
    samples = [json.loads(line) for line in open(path)]
    used, seconds = {}, {}
    for a, b in zip(samples, samples[1:]):
        w = a["window"]
        if w is None or b["window"] != w:
            continue
        seconds[w] = seconds.get(w, 0.0) + b["t"] - a["t"]
        for key, ticks in b["cpu"].items():
            if key in a["cpu"]:
                group = key.split("/")[0]
                used.setdefault(w, {}).setdefault(group, 0)
                used[w][group] += ticks - a["cpu"][key]
    return {w: {g: round(t / TICKS / seconds[w], 4) for g, t in groups.items()}
            for w, groups in used.items() if seconds.get(w)}


def main():
    args = sys.argv[1:]
    if args[:1] == ["record"] and len(args) == 5 and args[1] == "--run-dir" and args[3] == "--out":
        record(args[2], args[4])
    elif args[:1] == ["summarize"] and len(args) == 2:
        print(json.dumps(summarize(args[1])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
