#!/usr/bin/env bash
# The tray agent at rest (issue 4, "Light at rest"): resident memory and wake-ups of an idle agent.
#
#     cargo build --release && bash bench/agent_idle.sh [IDLE_SECONDS] [drill]
#
# Starts a private session bus with a notification server and a StatusNotifierWatcher (the test
# desktop of tests/agent.rs), a configured home with one backup and a daily schedule, and the
# release agent with its tray icon; then prints VmRSS and the context switches of all the agent's
# threads (voluntary + involuntary, from /proc/PID/task/*/status) after IDLE_SECONDS (default 570:
# just under the first restore drill, which runs ten minutes after start), and with "drill" again
# after that drill. Needs dbus, python3-dbus and python3-dbusmock.
set -euo pipefail
cd "$(dirname "$0")/.."
IDLE=${1:-570}
LIFEBOAT=$PWD/target/release/lifeboat
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/user"
dbus-daemon --session --print-address=1 --nofork > "$WORK/address" 2>/dev/null &
for _ in $(seq 50); do [ -s "$WORK/address" ] && break; sleep 0.1; done
export DBUS_SESSION_BUS_ADDRESS=$(head -1 "$WORK/address")
export HOME=$WORK/user
/usr/bin/python3 -m dbusmock --template notification_daemon >/dev/null 2>&1 &
/usr/bin/python3 -m dbusmock --template tests/support/sni_watcher.py >/dev/null 2>&1 &
sleep 2
/usr/bin/python3 -c "
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute('create table t(x)')
c.executemany('insert into t values(?)', [(str(i) * 50,) for i in range(20000)]); c.commit()" "$WORK/store.db"
"$LIFEBOAT" --home "$WORK/home" config set database.path "$WORK/store.db" >/dev/null
"$LIFEBOAT" --home "$WORK/home" schedule daily 02:00 >/dev/null
"$LIFEBOAT" --home "$WORK/home" backup >/dev/null
"$LIFEBOAT" --home "$WORK/home" agent >/dev/null 2>&1 &
AGENT=$!
sleep 5

switches() {
  local total=0
  for task in /proc/$AGENT/task/*; do
    total=$((total + $(awk '/^(non)?voluntary_ctxt_switches/ {sum += $2} END {print sum}' "$task/status")))
  done
  echo "$total"
}
rss() { awk '/^VmRSS/ {print $2 " KiB"}' /proc/$AGENT/status; }

echo "at 5 s: RSS $(rss), threads $(awk '/^Threads/ {print $2}' /proc/$AGENT/status)"
before=$(switches)
sleep "$IDLE"
after=$(switches)
echo "after $IDLE s idle: RSS $(rss); $((after - before)) context switches in $IDLE s"
if [ "${2:-}" = drill ] && [ "$IDLE" -lt 630 ]; then
  sleep $((640 - IDLE))
  echo "after the first restore drill (t=640 s): RSS $(rss)"
fi
