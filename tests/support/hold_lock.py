#!/usr/bin/python3
"""Holds a SQLite database locked exclusively, as a misbehaving application would.

    hold_lock.py DB [--exclusive-mode]

Opens DB, runs BEGIN EXCLUSIVE plus a write, prints "locked", and keeps the
lock until its stdin is closed; then it rolls back, so the database is left as
it was, and exits 0. In rollback-journal mode BEGIN EXCLUSIVE keeps readers
out; a WAL database keeps readers out only with --exclusive-mode (PRAGMA
locking_mode=EXCLUSIVE), as an application that wants it to itself would.
"""
import sqlite3
import sys


def main():
    if len(sys.argv) not in (2, 3) or sys.argv[2:] not in ([], ["--exclusive-mode"]):
        print(__doc__, file=sys.stderr)
        return 2
    conn = sqlite3.connect(sys.argv[1], timeout=5, isolation_level=None)
    if sys.argv[2:] == ["--exclusive-mode"]:
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("CREATE TABLE IF NOT EXISTS lock_holder(x)")
    print("locked", flush=True)
    sys.stdin.read()
    conn.execute("ROLLBACK")
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
