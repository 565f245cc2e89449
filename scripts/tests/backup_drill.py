#!/usr/bin/python3
"""The backup drills' client-side ledger (scripts/tests/backup_test.sh).

  write  one connection through the write port buys a seat and, for every other purchase,
         pays it, each in its own transaction; every step is logged with the client's clock
         before it starts (S) and after its commit returned (A purchase, P payment). Writes
         are strictly sequential with a pause between them, so a time inside a pause splits
         the log cleanly: everything of write k committed before it, nothing of k+1.
  gap    a restore point inside such a pause after a given time: prints "K T".
  check  the restored database against the log for a restore point T: every purchase and
         payment acknowledged before T present exactly once, nothing started after T
         present, every run's seats consistent. Prints a summary and the lost keys.

Commit timestamps and the client's clock are the same host clock here, which is what makes
"acknowledged before T" comparable with PostgreSQL's recovery_target_time.
"""
import argparse
import json
import os
import sys
import time

import psycopg2

USERS = 2000  # students the fixture creates (ids --user-base + 0..USERS-1)


def connect(dsn):
    conn = psycopg2.connect(dsn, connect_timeout=2)
    conn.autocommit = False
    return conn


def write(args):
    log = open(args.log, "a", buffering=1)
    deadline = time.time() + args.seconds
    conn = None
    i = args.first
    while time.time() < deadline and not os.path.exists(args.stop_file):
        try:
            if conn is None:
                conn = connect(args.dsn)
            key = "%s-%d" % (args.prefix, i)
            # One active purchase per (user, run): i -> (user, run) is one-to-one below
            # USERS * RUNS writes.
            user = args.user_base + i % USERS
            run = args.run_ids[(i // USERS) % len(args.run_ids)]
            log.write("S %d %.6f\n" % (i, time.time()))
            with conn.cursor() as cur:
                cur.execute("UPDATE course_runs SET seats_left = seats_left - 1 "
                            "WHERE id = %s AND seats_left > 0 RETURNING id", (run,))
                if cur.fetchone() is None:
                    raise RuntimeError("run %d sold out" % run)
                cur.execute("INSERT INTO purchases (user_id, course_run_id, plan_id, final_price, "
                            "idempotency_key, request_fingerprint) VALUES (%s, %s, 1, 1000, %s, 'drill') "
                            "RETURNING id", (user, run, key))
                pid = cur.fetchone()[0]
            conn.commit()
            log.write("A %d %.6f %d\n" % (i, time.time(), pid))
            if i % 2 == 0:
                with conn.cursor() as cur:
                    cur.execute("UPDATE purchases SET status = 'paid', paid_at = now() WHERE id = %s", (pid,))
                conn.commit()
                log.write("P %d %.6f\n" % (i, time.time()))
            i += 1
        except Exception as e:  # the cluster is being failed over or rebuilt: retry
            log.write("E %d %.6f %s\n" % (i, time.time(), str(e).splitlines()[0] if str(e) else type(e).__name__))
            try:
                conn.close()
            except Exception:
                pass
            conn = None
            i += 1  # the failed attempt's key is never reused: it may have committed
            time.sleep(0.2)
        time.sleep(args.pause)


def read_log(path):
    """{i: {"S": t, "A": t, "P": t, "id": n}}"""
    writes = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3 or parts[0] not in "SAPE":
                continue
            w = writes.setdefault(int(parts[1]), {})
            w[parts[0]] = float(parts[2])
            if parts[0] == "A":
                w["id"] = int(parts[3])
    return writes


def gap(args):
    writes = read_log(args.log)
    keys = sorted(writes)
    for k, nxt in zip(keys, keys[1:]):
        w = writes[k]
        if "A" not in w or "E" in w or w["A"] <= args.after:
            continue
        end = w.get("P", w["A"]) if k % 2 == 0 else w["A"]
        if k % 2 == 0 and "P" not in w:
            continue
        start_next = writes[nxt].get("S")
        if start_next and start_next > end:
            print("%d %.6f" % (k, (end + start_next) / 2))
            return 0
    print("no gap after %.6f yet" % args.after, file=sys.stderr)
    return 1


def check(args):
    writes = read_log(args.log)
    before = args.before
    conn = connect(args.dsn)
    with conn.cursor() as cur:
        cur.execute("SELECT idempotency_key, count(*), max(status) FROM purchases "
                    "WHERE idempotency_key LIKE %s GROUP BY 1", (args.prefix + "-%",))
        rows = {k: (n, status) for k, n, status in cur.fetchall()}
        # The runs the writer bought (a seeded database's own runs follow the seeder's rules).
        cur.execute("SELECT count(*) FROM course_runs r LEFT JOIN (SELECT course_run_id, count(*) AS n "
                    "FROM purchases WHERE status IN ('pending', 'paid') GROUP BY 1) p "
                    "ON p.course_run_id = r.id WHERE r.id IN (SELECT course_run_id FROM purchases "
                    "WHERE idempotency_key LIKE %s) AND (r.seats_left < 0 "
                    "OR r.seats_total - r.seats_left <> coalesce(p.n, 0))", (args.prefix + "-%",))
        runs_bad = cur.fetchone()[0]
    conn.close()
    key = lambda i: "%s-%d" % (args.prefix, i)
    acked = [i for i, w in writes.items() if "A" in w and w["A"] < before]
    lost = sorted(i for i in acked if key(i) not in rows)
    duplicated = sorted(i for i in writes if rows.get(key(i), (0,))[0] > 1)
    after = sorted(i for i, w in writes.items() if w.get("S", 0) > before and key(i) in rows)
    paid_lost = sorted(i for i, w in writes.items()
                       if w.get("P", before) < before and key(i) in rows and rows[key(i)][1] != "paid")
    result = {
        "acknowledged_before": len(acked),
        "payments_acknowledged_before": sum(1 for w in writes.values() if w.get("P", before) < before),
        "lost": len(lost), "duplicated": len(duplicated), "after_target": len(after),
        "payments_lost": len(paid_lost), "runs_inconsistent": runs_bad,
        "lost_keys": lost,
        "oldest_lost_ack_age": round(before - min(writes[i]["A"] for i in lost), 3) if lost else 0,
    }
    json.dump(result, sys.stdout)
    print()
    return 0 if not (lost or duplicated or after or paid_lost or runs_bad) else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("--dsn", required=True)
    w.add_argument("--log", required=True)
    w.add_argument("--prefix", required=True)
    w.add_argument("--first", type=int, default=0)
    w.add_argument("--seconds", type=float, default=120)
    w.add_argument("--pause", type=float, default=0.02)
    w.add_argument("--stop-file", required=True)
    w.add_argument("--user-base", type=int, default=1, help="id of the fixture's first student")
    w.add_argument("--run-ids", type=lambda v: [int(x) for x in v.split(",")], default=list(range(1, 11)),
                   help="the fixture's course_runs ids, comma-separated")
    g = sub.add_parser("gap")
    g.add_argument("--log", required=True)
    g.add_argument("--after", type=float, required=True)
    c = sub.add_parser("check")
    c.add_argument("--dsn", required=True)
    c.add_argument("--log", required=True)
    c.add_argument("--prefix", required=True)
    c.add_argument("--before", type=float, required=True)
    args = p.parse_args()
    return {"write": write, "gap": gap, "check": check}[args.cmd](args) or 0


if __name__ == "__main__":
    sys.exit(main())
