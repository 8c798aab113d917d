#!/usr/bin/python3
"""A steady writer: small transactions at a fixed rate against a database made by gen_db.py.

    writer.py DB [RATE [LOG]]    (RATE commits per second, default 500)

Each transaction (BEGIN IMMEDIATE; insert a short note; update one order; COMMIT) runs on one
connection opened with timeout=5 (SQLite's busy timeout, as an application would set it) and the
database's own journal mode and SQLite's default synchronous setting. The time one transaction took from
BEGIN to the end of COMMIT, including any wait for another process's lock, is its stall; the writer keeps
the longest one. A transaction that fails (e.g. "database is locked" after 5 s) is counted as an error.

Prints "ready" on stderr after its first commit. On SIGTERM (or SIGINT) it prints one JSON line on stdout:
{"commits", "errors", "max_stall_ms", "p99_ms", "median_ms", "seconds", "rate", "first_error"}
and exits 0. With LOG, it also writes one line per transaction to that file on exit:
"START_NS DURATION_NS OK" (START_NS is the wall clock, as `date +%s%N` prints it), so that stall.py can
look at the transactions that overlapped a given window.
"""

import json
import random
import signal
import sqlite3
import sys
import time

stop = False


def on_signal(signum, frame):
    global stop
    stop = True


def main():
    db = sys.argv[1]
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 500.0
    log = sys.argv[3] if len(sys.argv) > 3 else None
    period = 1.0 / rate
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    con = sqlite3.connect(db, timeout=5, isolation_level=None)
    max_order = con.execute("SELECT max(id) FROM orders").fetchone()[0] or 1
    max_customer = con.execute("SELECT max(id) FROM customers").fetchone()[0] or 1
    rng = random.Random()
    statuses = ["pending", "paid", "packed", "shipped", "delivered"]

    durations = []
    records = []
    errors = 0
    first_error = None
    commits = 0
    t_start = time.monotonic()
    next_at = t_start
    announced = False
    while not stop:
        now = time.monotonic()
        if now < next_at:
            time.sleep(next_at - now)
            if stop:
                break
        t0 = time.monotonic()
        wall0 = time.time_ns()
        ok = 0
        try:
            con.execute("BEGIN IMMEDIATE")
            order = rng.randint(1, max_order)
            con.execute(
                "INSERT INTO notes(customer_id, order_id, author, created_at, body) "
                "VALUES (?, ?, 'writer', strftime('%Y-%m-%dT%H:%M:%fZ','now'), ?)",
                (rng.randint(1, max_customer), order,
                 "Status changed to %s by the bench writer." % rng.choice(statuses)),
            )
            con.execute("UPDATE orders SET status = ? WHERE id = ?", (rng.choice(statuses), order))
            con.execute("COMMIT")
            commits += 1
            ok = 1
        except sqlite3.Error as e:
            errors += 1
            if first_error is None:
                first_error = str(e)
            try:
                con.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        t1 = time.monotonic()
        durations.append(t1 - t0)
        records.append((wall0, int((t1 - t0) * 1e9), ok))
        if not announced:
            print("ready", file=sys.stderr, flush=True)
            announced = True
        # keep the pace; after a stall (more than 50 ms behind), do not burst to catch up
        next_at += period
        if next_at < t1 - 0.05:
            next_at = t1

    elapsed = time.monotonic() - t_start
    con.close()
    if log:
        with open(log, "w") as f:
            f.writelines("%d %d %d\n" % r for r in records)
    durations.sort()
    n = len(durations)

    def pct(p):
        return round(durations[min(n - 1, int(p * n))] * 1000, 2) if n else None

    print(json.dumps({
        "commits": commits,
        "errors": errors,
        "max_stall_ms": round(durations[-1] * 1000, 2) if n else None,
        "p99_ms": pct(0.99),
        "median_ms": pct(0.5),
        "seconds": round(elapsed, 3),
        "rate": round(commits / elapsed, 1) if elapsed > 0 else None,
        "first_error": first_error,
    }), flush=True)


if __name__ == "__main__":
    main()
