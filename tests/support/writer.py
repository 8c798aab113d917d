#!/usr/bin/python3
"""A stand-in for the application: keeps a SQLite database busy with small
transfer transactions while Lifeboat backs it up.

    writer.py DB STOP_FILE [PAUSE_SECONDS]

The database must hold accounts(id INTEGER PRIMARY KEY, balance INTEGER); its
journal mode (WAL or rollback) is whatever the test created it with. Every
transaction moves an amount from one account to another, so SUM(balance) never
changes. The writer uses a 5 s busy timeout, like a careful application.

It prints "ready" after its first commit, runs until STOP_FILE appears (or it is
killed), then prints one JSON line {"transactions": N, "max_stall_ms": M} and
exits 0. If any transaction fails (e.g. "database is locked" because a backup
held a lock too long) it says so on stderr and exits 1: the test asserts that
never happens.
"""
import json
import os
import random
import sqlite3
import sys
import time


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    db, stop = sys.argv[1], sys.argv[2]
    pause = float(sys.argv[3]) if len(sys.argv) == 4 else 0.002

    conn = sqlite3.connect(db, timeout=5, isolation_level=None)
    ids = [row[0] for row in conn.execute("SELECT id FROM accounts")]
    if len(ids) < 2:
        print("writer: need at least two accounts", file=sys.stderr)
        return 2

    rng = random.Random()
    done = 0
    max_stall = 0.0
    while not os.path.exists(stop):
        src, dst = rng.sample(ids, 2)
        amount = rng.randint(1, 100)
        started = time.monotonic()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "UPDATE accounts SET balance = balance - ? WHERE id = ?", (amount, src)
            )
            conn.execute(
                "UPDATE accounts SET balance = balance + ? WHERE id = ?", (amount, dst)
            )
            conn.execute("COMMIT")
        except sqlite3.Error as err:
            print(
                f"writer: transaction {done + 1} failed after "
                f"{(time.monotonic() - started) * 1000:.0f} ms: {err}",
                file=sys.stderr,
            )
            return 1
        max_stall = max(max_stall, time.monotonic() - started)
        done += 1
        if done == 1:
            print("ready", flush=True)
        if pause > 0:
            time.sleep(pause)

    conn.close()
    print(json.dumps({"transactions": done, "max_stall_ms": round(max_stall * 1000, 1)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
