#!/usr/bin/python3
"""The writer's transactions that overlapped a window.

    stall.py LOG START_NS END_NS

LOG is written by writer.py. Prints one JSON line: {"max_stall_ms", "commits", "errors", "window_s"}
over the transactions that were running at any moment between START_NS and END_NS (wall clock, ns).
"""

import json
import sys


def main():
    log, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    worst = 0
    commits = errors = 0
    with open(log) as f:
        for line in f:
            t, d, ok = (int(x) for x in line.split())
            if t < end and t + d > start:
                worst = max(worst, d)
                if ok:
                    commits += 1
                else:
                    errors += 1
    print(json.dumps({"max_stall_ms": round(worst / 1e6, 2), "commits": commits, "errors": errors,
                      "window_s": round((end - start) / 1e9, 3)}))


if __name__ == "__main__":
    main()
