#!/usr/bin/python3
"""An application that dies in the middle of a big transaction, leaving a hot journal.

    crash_mid_transaction.py DB

DB must be in rollback-journal mode and hold accounts(id, balance) and filler(id, body). With a
tiny page cache, the transaction's changes spill into the database file before the commit; the
process then kills itself with SIGKILL. The original pages stay in DB-journal: whoever opens the
database next must roll them back, or read a half-made transaction.
"""
import os
import signal
import sqlite3
import sys


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("PRAGMA cache_size = 10")
    conn.execute("BEGIN")
    conn.execute("UPDATE accounts SET balance = balance + 1")
    conn.execute("UPDATE filler SET body = lower(body)")
    conn.execute("UPDATE accounts SET balance = balance + 1")
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)
    return 1


if __name__ == "__main__":
    sys.exit(main())
