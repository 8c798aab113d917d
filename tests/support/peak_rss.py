#!/usr/bin/python3
"""peak_rss.py OUT COMMAND...: runs COMMAND (its output passed through) and writes the peak resident
memory of that one process, in KiB, to OUT; exits with COMMAND's exit code."""
import resource
import subprocess
import sys

completed = subprocess.run(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(completed.returncode)
