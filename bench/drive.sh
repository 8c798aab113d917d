#!/usr/bin/env bash
# The Google Drive rows of Lifeboat's benchmark (issue 3, point 9): uploading and downloading an
# artifact of about BENCH_SIZE_MB MiB against the loopback fake of Google, with a real gnome-keyring
# on a private D-Bus session bus. bench/run.sh calls it; it can also run alone:
#
#     LIFEBOAT_BIN=target/release/lifeboat BENCH_SIZE_MB=1024 bash bench/drive.sh WORK_DIR RECORDS.tsv
#
# Records (appended to RECORDS.tsv): drive.artifact_bytes, drive.upload_s, drive.download_s, and the
# peak RSS of each command as rss.drive-upload and rss.drive-download (KiB, from /usr/bin/time -v).
# The artifact is random data, which zstd cannot shrink, so it is as large as the database.
# Needs: dbus-daemon (dbus), gnome-keyring-daemon (gnome-keyring), sqlite3, /usr/bin/time, python3.
set -Eeuo pipefail
trap 'echo "bench/drive: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
W=${1:?work directory}
REC=${2:?records file}
SIZE_MB=${BENCH_SIZE_MB:-1024}
LIFEBOAT=${LIFEBOAT_BIN:-$ROOT/target/release/lifeboat}
PY=/usr/bin/python3
SUPPORT=$ROOT/tests/support

for tool in dbus-daemon gnome-keyring-daemon sqlite3; do
    command -v "$tool" >/dev/null || { echo "bench/drive: $tool is missing (apt-get install dbus gnome-keyring sqlite3)" >&2; exit 1; }
done

G=$W/drive
rm -rf "$G"
mkdir -p "$G/home" "$G/data" "$G/runtime" "$G/fake"
PIDS=()
stop() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop EXIT

record() { printf '%s\t%s\n' "$1" "$2" >> "$REC"; }
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

# the private bus, the keyring on it, and the fake Google
mapfile -t bus < <(dbus-daemon --session --fork --print-address=1 --print-pid=1)
PIDS+=("${bus[1]}")
export DBUS_SESSION_BUS_ADDRESS=${bus[0]} HOME=$G/home XDG_DATA_HOME=$G/data XDG_RUNTIME_DIR=$G/runtime
printf pw | gnome-keyring-daemon --foreground --unlock --components=secrets > /dev/null 2>&1 &
PIDS+=($!)
"$PY" "$SUPPORT/fake_google.py" "$G/fake" > "$G/fake.out" &
PIDS+=($!)
for _ in $(seq 100); do grep -q PORT "$G/fake.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(awk '/PORT/ {print $2}' "$G/fake.out")
[ -n "$PORT" ] || { echo "bench/drive: the fake Google did not start" >&2; exit 1; }
sleep 1  # the keyring claims its bus name
GOOGLE=http://127.0.0.1:$PORT
export PATH=$SUPPORT:$PATH LIFEBOAT_GOOGLE_AUTH_URL=$GOOGLE/o/oauth2/auth LIFEBOAT_GOOGLE_TOKEN_URL=$GOOGLE/token
export LIFEBOAT_GOOGLE_REVOKE_URL=$GOOGLE/revoke LIFEBOAT_GOOGLE_API_URL=$GOOGLE
control() { "$PY" -c 'import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method="POST")).read()' "$GOOGLE/_control/$1" "$2"; }

# a database of random blobs, backed up locally first (its upload is refused once, so that the
# upload runs in a process of its own: `drive status` works through the queue)
sqlite3 "$G/random.db" "CREATE TABLE b(x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $SIZE_MB) INSERT INTO b SELECT randomblob(1048576) FROM c;"
LB=$G/lifeboat
mkdir -p "$LB"
printf '[limits]\nmax_backup_mb = %d\n' $(( SIZE_MB * 2 + 1024 )) > "$LB/config.toml"
printf '{"installed": {"client_id": "bench.apps.googleusercontent.com", "client_secret": "bench"}}' > "$G/secret.json"
"$LIFEBOAT" --home "$LB" drive connect --client-secret "$G/secret.json" > /dev/null 2>&1
control fault '{"scope": "upload", "status": 403, "reason": "dailyLimitExceeded", "times": 1}'
"$LIFEBOAT" --home "$LB" backup --db "$G/random.db" --json > "$G/backup.json" 2> /dev/null
ID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$G/backup.json")
record "drive.artifact_bytes" "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["size"])' "$G/backup.json")"

measure() {  # TAG ARGS...: timed, peak RSS recorded as rss.TAG
    local tag=$1 s e
    shift
    sync
    s=$(now_ns)
    /usr/bin/time -v -o "$G/time.txt" "$LIFEBOAT" --home "$LB" "$@" > "$G/out.json"
    e=$(now_ns)
    record "drive.${tag#drive-}_s" "$(secs "$s" "$e")"
    record "rss.$tag" "$(awk -F': ' '/Maximum resident set size/ {print $2}' "$G/time.txt")"
}
measure drive-upload drive status --json
grep -q '"pending_uploads": 0' "$G/out.json" || { echo "bench/drive: the upload did not finish" >&2; cat "$G/out.json" >&2; exit 1; }
measure drive-download verify "$ID" --remote --json
grep -q '"ok": true' "$G/out.json" || { echo "bench/drive: the downloaded copy failed its check" >&2; exit 1; }
"$LIFEBOAT" --home "$LB" drive disconnect > /dev/null
rm -rf "$G"
