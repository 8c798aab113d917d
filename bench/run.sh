#!/usr/bin/env bash
# Lifeboat's speed-and-memory benchmark (issue 2, "Speed and memory").
#
#     cargo build --release && bash bench/run.sh
#
# Generates a realistic office-app database (customers, orders, notes, with indexes) of BENCH_SIZE_MB,
# then compares, on this machine and in this one run:
#   backup   lifeboat backup  vs  sqlite3 DB ".backup snap.db" && zstd -3 -q snap.db && sha256sum snap.db.zst
#            (lifeboat at its default zstd level 3, and at compression_level = 1 for comparison)
#   restore  lifeboat restore vs  .backup safety.db, sha256sum -c, zstd -d, PRAGMA integrity_check, .restore
#   writer   a process committing BENCH_WRITER_RATE small transactions a second: stock .backup under it,
#            lifeboat backup under it vs idle, the writer's longest stall (WAL and rollback-journal mode,
#            against VACUUM INTO in rollback-journal mode)
#   memory   peak RSS of lifeboat backup and restore (/usr/bin/time -v)
#   drive    upload and download of a random (incompressible) artifact of BENCH_SIZE_MB against the
#            loopback fake of Google: time and peak RSS (bench/drive.sh; skipped without gnome-keyring)
# and prints a Markdown table of results to stdout and to bench/results.md.
#
# Environment:
#   BENCH_SIZE_MB      database size in MiB (default 1024)
#   BENCH_RUNS         timed runs per measurement; the median is reported (default 3)
#   BENCH_DIR          work directory (default: a new mktemp -d, removed at the end); needs about
#                      12 x BENCH_SIZE_MB of free space
#   BENCH_KEEP=1       keep the work directory
#   BENCH_WRITER_RATE  the writer's commits per second (default 500)
#   BENCH_RESULTS      where to write the Markdown (default bench/results.md)
#   LIFEBOAT_BIN       the binary (default target/release/lifeboat)
#
# Needs: sqlite3, zstd, sha256sum, /usr/bin/time (Debian package "time"), timeout, /usr/bin/python3.
set -Eeuo pipefail
trap 'echo "bench: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
SIZE_MB=${BENCH_SIZE_MB:-1024}
RUNS=${BENCH_RUNS:-3}
RATE=${BENCH_WRITER_RATE:-500}
RESULTS=${BENCH_RESULTS:-$HERE/results.md}
LIFEBOAT=${LIFEBOAT_BIN:-$ROOT/target/release/lifeboat}
PY=/usr/bin/python3
LEAD=1      # seconds the writer runs before the measured command starts
TAIL=0.3    # and after it ends

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

for tool in sqlite3 zstd sha256sum timeout awk; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install sqlite3 zstd coreutils gawk)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
[ -x "$PY" ] || die "$PY is missing (apt-get install python3)"
"$PY" -c 'import sqlite3' || die "$PY has no working sqlite3 module"
[ -x "$LIFEBOAT" ] || die "$LIFEBOAT not found: run 'cargo build --release' first (or set LIFEBOAT_BIN)"
LIFEBOAT=$(cd "$(dirname "$LIFEBOAT")" && pwd)/$(basename "$LIFEBOAT")
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
[[ $SIZE_MB =~ ^[0-9]+$ ]] && [ "$SIZE_MB" -ge 1 ] || die "BENCH_SIZE_MB must be a positive integer"

if [ -n "${BENCH_DIR:-}" ]; then
    W=$BENCH_DIR
    mkdir -p "$W"
    W=$(cd "$W" && pwd)
else
    W=$(mktemp -d "${TMPDIR:-/tmp}/lifeboat-bench.XXXXXX")
fi
WRITER_PID=
REC=
DONE=0
cleanup() {
    if [ -n "$WRITER_PID" ]; then kill -TERM "$WRITER_PID" 2>/dev/null || true; fi
    if [ "$DONE" = 0 ] && [ -s "${REC:-}" ]; then
        echo "bench: stopped early; what was measured so far:" >&2
        "$PY" "$HERE/report.py" "$REC" >&2 || true
    fi
    if [ -z "${BENCH_DIR:-}" ] && [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$W"; fi
}
trap cleanup EXIT

need_kb=$(( SIZE_MB * 1024 * 12 ))
free_kb=$(df -Pk "$W" | awk 'NR==2 {print $4}')
[ "$free_kb" -ge "$need_kb" ] || die "$W has $(( free_kb / 1024 )) MiB free, needs about $(( need_kb / 1024 )) MiB"

REC=$W/records.tsv
: > "$REC"
record() { printf '%s\t%s\n' "$1" "$2" >> "$REC"; }

now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

# json_get FILE KEY...: print one value from a JSON document (nested keys)
json_get() { "$PY" -c 'import json,sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2:]: v = v[k]
print(v)' "$@"; }

mk_home() {  # HOME [LEVEL]: a fresh --home that accepts a database of this size (zstd level LEVEL)
    rm -rf "$1"
    mkdir -p "$1"
    printf '[limits]\nmax_backup_mb = %d\n' $(( SIZE_MB * 4 + 1024 )) > "$1/config.toml"
    if [ -n "${2:-}" ]; then printf '[backups]\ncompression_level = %d\n' "$2" >> "$1/config.toml"; fi
}

# ---------------------------------------------------------------------------------------------------
# commands under test; each sets T (seconds) and returns the command's status. `sync` runs before each
# one (outside the timing), so that one command's dirty pages are not written back during the next one.

# lifeboat_run TAG TIMEOUT ARGS...: lifeboat --home ... ARGS --json, timed (T, and processor seconds in
# CPU), peak RSS recorded as rss.TAG
lifeboat_run() {
    local tag=$1 limit=$2 s e rc=0
    shift 2
    s=$(now_ns)
    # time(1) outside timeout(1), so that a timed-out lifeboat is killed; its peak RSS still counts
    # (wait4 reports the largest of the child and its descendants)
    /usr/bin/time -v -o "$W/time.txt" timeout -k 10 "$limit" "$LIFEBOAT" "$@" --json > "$W/lb.json" 2> "$W/lb.err" || rc=$?
    e=$(now_ns)
    T=$(secs "$s" "$e")
    CPU=$(awk -F': ' '/(User|System) time/ { t += $2 } END { printf "%.3f", t }' "$W/time.txt")
    S_NS=$s
    E_NS=$e
    if [ "$rc" = 0 ]; then
        record "rss.$tag" "$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/time.txt")"
    elif [ "$rc" != 124 ]; then
        log "lifeboat $* failed (exit $rc):"
        cat "$W/lb.err" >&2
    fi
    return "$rc"
}

pipeline_backup() {  # DB DIR: the administrator's backup script
    rm -rf "$2"; mkdir -p "$2"; sync
    local s e
    s=$(now_ns)
    ( cd "$2" && sqlite3 "$1" ".backup snap.db" && zstd -3 -q snap.db && sha256sum snap.db.zst > snap.db.zst.sha256 )
    e=$(now_ns)
    T=$(secs "$s" "$e")
}

manual_restore() {  # LIVE ARTIFACT_DIR: the same steps as lifeboat restore, by hand
    local live=$1 art=$2 d=$W/manual-restore s e
    rm -rf "$d"; mkdir -p "$d"; sync
    s=$(now_ns)
    (
        cd "$d"
        sqlite3 "$live" ".backup safety.db"
        ( cd "$art" && sha256sum -c --quiet snap.db.zst.sha256 )
        zstd -d -q "$art/snap.db.zst" -o r.db
        [ "$(sqlite3 r.db 'PRAGMA integrity_check')" = ok ]
        sqlite3 "$live" ".restore r.db"
    )
    e=$(now_ns)
    T=$(secs "$s" "$e")
}

# ---------------------------------------------------------------------------------------------------
# the writer

writer_start() {  # DB TAG
    rm -f "$W/writer.$2.json" "$W/writer.$2.log" "$W/writer.$2.err"
    "$PY" "$HERE/writer.py" "$1" "$RATE" "$W/writer.$2.log" > "$W/writer.$2.json" 2> "$W/writer.$2.err" &
    WRITER_PID=$!
    local i
    for i in $(seq 100); do
        grep -q ready "$W/writer.$2.err" 2>/dev/null && break
        kill -0 "$WRITER_PID" 2>/dev/null || { cat "$W/writer.$2.err" >&2; die "the writer died"; }
        sleep 0.1
    done
    grep -q ready "$W/writer.$2.err" || die "the writer did not start"
    sleep "$LEAD"
}

writer_stop() {  # TAG START_NS END_NS: record the writer's numbers for the window as writer.TAG
    sleep "$TAIL"
    kill -TERM "$WRITER_PID"
    wait "$WRITER_PID" || die "the writer failed: $(cat "$W/writer.$1.err")"
    WRITER_PID=
    record "writer.$1" "$("$PY" "$HERE/stall.py" "$W/writer.$1.log" "$2" "$3")"
    record "writer_all.$1" "$(cat "$W/writer.$1.json")"
}

# ---------------------------------------------------------------------------------------------------
log "work directory $W"
record "machine.nproc" "$(nproc)"
record "machine.cpu" "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
record "machine.mem_gib" "$(free -g | awk '/^Mem:/ {print $2}')"
record "machine.kernel" "$(uname -sr)"
record "machine.date" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
record "machine.sqlite3" "$(sqlite3 --version | cut -d' ' -f1)"
record "machine.zstd" "$(zstd --version | sed 's/.*\(v[0-9.]*\).*/\1/')"
record "machine.lifeboat" "$("$LIFEBOAT" --version 2>/dev/null || echo unknown)"
record "config.size_mb" "$SIZE_MB"
record "config.runs" "$RUNS"
record "config.rate" "$RATE"

# 1. the databases ----------------------------------------------------------------------------------
DB=$W/db/store.db          # rollback-journal (DELETE) mode
WAL=$W/db/store-wal.db     # the same data in WAL mode
mkdir -p "$W/db"
log "generating a ${SIZE_MB} MiB database"
s=$(now_ns)
"$PY" "$HERE/gen_db.py" "$DB" "$SIZE_MB"
record "db.gen_s" "$(secs "$s" "$(now_ns)")"
record "db.bytes" "$(stat -c %s "$DB")"
record "db.rows" "$(sqlite3 "$DB" "SELECT (SELECT count(*) FROM customers) || ' customers, ' ||
    (SELECT count(*) FROM orders) || ' orders, ' || (SELECT count(*) FROM notes) || ' notes'")"
cp "$DB" "$WAL"
[ "$(sqlite3 "$WAL" 'PRAGMA journal_mode=WAL')" = wal ] || die "could not put $WAL in WAL mode"

# 2. backup -----------------------------------------------------------------------------------------
log "backup: lifeboat (default zstd level 3, and level 1) vs sqlite3 .backup + zstd -3 + sha256sum (1 warm-up + $RUNS runs each)"
for i in $(seq 0 "$RUNS"); do
    # alternate the order; run 0 is the warm-up
    for who in $( [ $(( i % 2 )) = 0 ] && echo "pipe lb lb1" || echo "lb1 lb pipe" ); do
        if [ "$who" = pipe ]; then
            pipeline_backup "$DB" "$W/pipe"
            [ "$i" = 0 ] || record "backup.pipeline_s" "$T"
        else
            level=; suffix=
            if [ "$who" = lb1 ]; then level=1; suffix=_level1; fi
            mk_home "$W/home-backup" "$level"; sync
            lifeboat_run "backup$suffix" 3600 --home "$W/home-backup" backup --db "$DB" || die "lifeboat backup failed"
            [ "$i" = 0 ] || record "backup.lifeboat${suffix}_s" "$T"
            [ "$i" = 0 ] || record "backup.lifeboat${suffix}_cpu_s" "$CPU"
            record "backup.artifact${suffix}_bytes" "$(json_get "$W/lb.json" size)"
        fi
    done
done
record "backup.pipeline_artifact_bytes" "$(stat -c %s "$W/pipe/snap.db.zst")"
rm -rf "$W/home-backup"

# 2b. the floor ---------------------------------------------------------------------------------------
# The work every backup must do by issue 2 (one copy of the file, SQLite's integrity_check of the
# snapshot, zstd -3, SHA-256 of the image and of the artifact), each step alone with the fastest tool
# here, best of the runs: its processor time spread perfectly over the cores is a wall time that no
# design of a backup can beat on this machine.
log "floor: the processor time of a backup's required steps, each alone ($RUNS runs, best kept)"
cpu_of() {  # KEY COMMAND...: record the command's user + system processor seconds as floor.KEY
    local key=$1
    shift
    /usr/bin/time -f "%U %S" -o "$W/cpu.txt" "$@" > "$W/cpu.out" || die "floor: $* failed"
    record "floor.$key" "$(awk '{ printf "%.3f", $1 + $2 }' "$W/cpu.txt")"
}
SNAP=$W/pipe/snap.db
for i in $(seq "$RUNS"); do
    sync
    cpu_of copy cp --reflink=never "$SNAP" "$W/floor-copy.db"
    rm -f "$W/floor-copy.db"
    cpu_of check sqlite3 -cmd "PRAGMA cache_size = -16000" "$SNAP" "PRAGMA integrity_check"
    [ "$(cat "$W/cpu.out")" = ok ] || die "floor: the integrity check of $SNAP did not say ok"
    cpu_of zstd zstd -3 -T1 -q -c "$SNAP"
    # Python's hashlib is OpenSSL's SHA-256, with the CPU's SHA extensions where it has them
    cpu_of sha256 "$PY" -c 'import hashlib, sys
buffer = bytearray(1 << 20); view = memoryview(buffer)
for path in sys.argv[1:]:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buffer): digest.update(view[:n])' "$SNAP" "$SNAP.zst"
done

# 3. restore ----------------------------------------------------------------------------------------
log "restore: lifeboat vs the same steps by hand (1 warm-up + $RUNS runs each)"
HR=$W/home-restore
mk_home "$HR"
lifeboat_run backup-for-restore 3600 --home "$HR" backup --db "$DB" || die "lifeboat backup failed"
ID=$(json_get "$W/lb.json" id)
# the by-hand restore uses the pipeline's artifact (same data, made by the administrator's script)
ART=$W/pipe
# the live database has moved on since the backup: some rows changed, some added, some deleted
LIVE_BASE=$W/db/live-base.db
cp "$DB" "$LIVE_BASE"
sqlite3 "$LIVE_BASE" "UPDATE orders SET status = 'archived' WHERE id % 40 = 0;
    DELETE FROM notes WHERE id % 97 = 0;
    INSERT INTO notes(customer_id, order_id, author, created_at, body)
        SELECT customer_id, order_id, 'later', created_at, body FROM notes WHERE id % 53 = 0;"
EXPECT=$(sqlite3 "$DB" "SELECT count(*) || '/' || (SELECT count(*) FROM orders WHERE status = 'archived') FROM notes")
LIVE=$W/db/live.db
for i in $(seq 0 "$RUNS"); do
    for who in $( [ $(( i % 2 )) = 0 ] && echo "hand lb" || echo "lb hand" ); do
        rm -f "$LIVE" "$LIVE-journal"
        cp "$LIVE_BASE" "$LIVE"
        if [ "$who" = hand ]; then
            manual_restore "$LIVE" "$ART"
            [ "$i" = 0 ] || record "restore.manual_s" "$T"
        else
            sync
            lifeboat_run restore 3600 --home "$HR" restore "$ID" --db "$LIVE" || die "lifeboat restore failed"
            [ "$i" = 0 ] || record "restore.lifeboat_s" "$T"
        fi
        got=$(sqlite3 "$LIVE" "SELECT count(*) || '/' || (SELECT count(*) FROM orders WHERE status = 'archived') FROM notes")
        [ "$got" = "$EXPECT" ] || die "after the $who restore, $LIVE holds $got (notes/archived), expected $EXPECT"
    done
done
rm -rf "$HR" "$W/manual-restore" "$LIVE" "$LIVE_BASE"

# 4. under a writer ---------------------------------------------------------------------------------
log "writer alone (baseline stalls)"
for mode in wal rollback; do
    f=$DB; [ "$mode" = wal ] && f=$WAL
    writer_start "$f" "baseline.$mode"
    s=$(now_ns); sleep 3; e=$(now_ns)
    writer_stop "baseline.$mode" "$s" "$e"
done

for mode in wal rollback; do
    f=$DB; [ "$mode" = wal ] && f=$WAL
    # (a) the stock sqlite3 .backup, idle and then under the writer
    rm -f "$W/snap.db"; sync
    s=$(now_ns); sqlite3 "$f" ".backup '$W/snap.db'"; e=$(now_ns)
    idle=$(secs "$s" "$e")
    record "stock.$mode.idle_s" "$idle"
    limit=$(awk -v t="$idle" 'BEGIN { l = 3 * t; if (l < 2) l = 2; printf "%.1f", l }')
    record "stock.$mode.limit_s" "$limit"
    log "stock sqlite3 .backup under the writer ($mode mode), at most ${limit} s"
    rm -f "$W/snap.db"; sync
    writer_start "$f" "stock.$mode"
    rc=0
    s=$(now_ns)
    timeout "$limit" sqlite3 -cmd ".timeout 5000" "$f" ".backup '$W/snap.db'" 2> "$W/stock.err" || rc=$?
    e=$(now_ns)
    writer_stop "stock.$mode" "$s" "$e"
    record "stock.$mode.writer_s" "$(secs "$s" "$e")"
    record "stock.$mode.exit" "$rc"
    record "stock.$mode.stderr" "$(head -c 200 "$W/stock.err" | tr '\t\n' '  ')"
    rm -f "$W/snap.db"

    # (b)(c)(d) lifeboat idle and under the writer; in rollback-journal mode also VACUUM INTO
    if [ "$mode" = wal ]; then
        log "lifeboat backup idle ($mode mode, 1 warm-up + $RUNS runs)"
        for i in $(seq 0 "$RUNS"); do
            mk_home "$W/home-w"; sync
            lifeboat_run backup 3600 --home "$W/home-w" backup --db "$f" || die "lifeboat backup failed"
            [ "$i" = 0 ] || record "lbidle.$mode.s" "$T"
        done
    fi
    # the rollback-mode idle times are backup.lifeboat_s (same file)
    idle_med=$(awk -F'\t' -v k="$( [ "$mode" = wal ] && echo "lbidle.wal.s" || echo "backup.lifeboat_s")" \
        '$1 == k {print $2}' "$REC" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    limit=$(awk -v t="$idle_med" 'BEGIN { l = 10 * t; if (l < 30) l = 30; printf "%.0f", l }')
    log "lifeboat backup under the writer ($mode mode, $RUNS runs, at most ${limit} s each)"
    for i in $(seq 1 "$RUNS"); do
        mk_home "$W/home-w"; sync
        writer_start "$f" "lb.$mode.$i"
        rc=0
        lifeboat_run backup-writer "$limit" --home "$W/home-w" backup --db "$f" || rc=$?
        writer_stop "lb.$mode.$i" "$S_NS" "$E_NS"
        if [ "$rc" = 0 ]; then
            record "lbwriter.$mode.s" "$T"
        elif [ "$rc" = 124 ]; then
            record "lbwriter.$mode.s" "DNF"
        else
            record "lbwriter.$mode.s" "failed"
            record "lbwriter.$mode.error" "$(tail -n 1 "$W/lb.err" | head -c 300 | tr '\t' ' ')"
        fi
        if [ "$mode" = rollback ]; then
            rm -f "$W/vacuum.db"; sync
            writer_start "$f" "vacuum.$mode.$i"
            rc=0
            s=$(now_ns)
            sqlite3 -cmd ".timeout 30000" "$f" "VACUUM INTO '$W/vacuum.db'" 2> "$W/vacuum.err" || rc=$?
            e=$(now_ns)
            writer_stop "vacuum.$mode.$i" "$s" "$e"
            if [ "$rc" = 0 ]; then
                record "vacuum.$mode.s" "$(secs "$s" "$e")"
            else
                record "vacuum.$mode.s" "failed"
                record "vacuum.$mode.error" "$(tail -n 1 "$W/vacuum.err" | head -c 300 | tr '\t' ' ')"
            fi
            rm -f "$W/vacuum.db"
        fi
    done
    rm -rf "$W/home-w"
done

# 4b. Google Drive upload and download (bench/drive.sh) ----------------------------------------------
if command -v gnome-keyring-daemon >/dev/null && command -v dbus-daemon >/dev/null; then
    log "Google Drive upload and download of a ${SIZE_MB} MiB artifact against the loopback fake"
    BENCH_SIZE_MB=$SIZE_MB LIFEBOAT_BIN=$LIFEBOAT bash "$HERE/drive.sh" "$W" "$REC" || die "the Drive rows failed"
else
    log "gnome-keyring or dbus is missing: no Drive rows (apt-get install gnome-keyring dbus)"
fi

# 5 and 6. the report -------------------------------------------------------------------------------
"$PY" "$HERE/report.py" "$REC" > "$W/results.md"
cp "$W/results.md" "$RESULTS"
cat "$W/results.md"
DONE=1
log "written to $RESULTS"
