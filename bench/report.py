#!/usr/bin/python3
"""Turn the records that run.sh collected (KEY<TAB>VALUE lines) into the Markdown report.

    report.py RECORDS.tsv
"""

import json
import statistics
import sys

MIB = 1024 * 1024


def load(path):
    rec = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            key, _, value = line.partition("\t")
            rec.setdefault(key, []).append(value)
    return rec


def nums(rec, key):
    out = []
    for v in rec.get(key, []):
        try:
            out.append(float(v))
        except ValueError:
            out.append(None)  # DNF
    return out


def one(rec, key, default=""):
    v = rec.get(key)
    return v[-1] if v else default


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_s(x):
    return "n/a" if x is None else f"{x:.2f} s"


def fmt_runs(xs):
    return ", ".join("DNF/failed" if x is None else f"{x:.2f}" for x in xs) or "none"


def verdict(ok):
    return "n/a" if ok is None else ("pass" if ok else "**FAIL**")


def commit_rate(w):
    return f"{w['commits']} ({w['commits'] / w['window_s']:.0f}/s)" if w["window_s"] else str(w["commits"])


def writer_windows(rec, prefix):
    """The writer's numbers (stall.py output) for keys writer.PREFIX.1, writer.PREFIX.2, ..."""
    out = []
    i = 1
    while f"writer.{prefix}.{i}" in rec:
        out.append(json.loads(one(rec, f"writer.{prefix}.{i}")))
        i += 1
    return out


FLOOR_STEPS = (("copy", "a copy of the file (`cp`)"),
               ("check", "`PRAGMA integrity_check` (sqlite3, 16 MB cache)"),
               ("zstd", "`zstd -3 -T1`"),
               ("sha256", "SHA-256 of the image and the artifact (OpenSSL)"))


def floor_steps(rec):
    """The best of the runs of each required step of a backup (processor seconds), if all ran."""
    best = {}
    for key, _ in FLOOR_STEPS:
        runs = [x for x in nums(rec, f"floor.{key}") if x is not None]
        if not runs:
            return {}
        best[key] = min(runs)
    return best


def main():
    rec = load(sys.argv[1])
    rows = []  # (what, measured, target, verdict)

    # backup
    lb, pipe = nums(rec, "backup.lifeboat_s"), nums(rec, "backup.pipeline_s")
    mlb, mpipe = median(lb), median(pipe)
    r = mlb / mpipe if mlb and mpipe else None
    rows.append(("Backup: `lifeboat backup` / `sqlite3 .backup` + `zstd -3` + `sha256sum`",
                 f"{r:.2f} ({fmt_s(mlb)} / {fmt_s(mpipe)})" if r else "n/a", "≤ 0.6",
                 verdict(None if r is None else r <= 0.6)))

    steps = floor_steps(rec)
    cores = float(one(rec, "machine.nproc", "0") or 0)
    if steps and cores and mpipe:
        floor = sum(steps.values()) / cores
        rows.append(("Floor: processor time of a backup's required steps, each alone, / "
                     f"{cores:.0f} cores, over the same pipeline",
                     f"{floor / mpipe:.2f} ({fmt_s(floor)} / {fmt_s(mpipe)})",
                     "≤ 0.6 is reachable only if this is", "info"))

    lb1 = nums(rec, "backup.lifeboat_level1_s")
    if lb1 and mpipe:
        r1 = median(lb1) / mpipe
        rows.append(("Backup at `compression_level = 1` (not the default) / the same pipeline",
                     f"{r1:.2f} ({fmt_s(median(lb1))} / {fmt_s(mpipe)})", "for comparison", "info"))

    # restore
    lr, mr = nums(rec, "restore.lifeboat_s"), nums(rec, "restore.manual_s")
    mlr, mmr = median(lr), median(mr)
    r = mlr / mmr if mlr and mmr else None
    rows.append(("Restore: `lifeboat restore` / the same steps by hand",
                 f"{r:.2f} ({fmt_s(mlr)} / {fmt_s(mmr)})" if r else "n/a", "≤ 0.8",
                 verdict(None if r is None else r <= 0.8)))

    # stock .backup under the writer
    for mode, name in (("wal", "WAL"), ("rollback", "rollback journal")):
        rc = one(rec, f"stock.{mode}.exit")
        if rc == "":
            continue
        took = float(one(rec, f"stock.{mode}.writer_s"))
        idle = float(one(rec, f"stock.{mode}.idle_s"))
        if rc == "0":
            m = f"finished in {took:.2f} s (idle {idle:.2f} s)"
        elif rc == "124":
            m = f"did not finish in {took:.1f} s (3 × idle {idle:.2f} s)"
        else:
            m = f"failed after {took:.2f} s: {one(rec, f'stock.{mode}.stderr').strip()}"
        rows.append((f"Stock `sqlite3 .backup` under the writer ({name})", m,
                     "reference (expected: does not finish)", "info"))

    # lifeboat under the writer vs idle
    for mode, name, idle_key in (("wal", "WAL", "lbidle.wal.s"), ("rollback", "rollback journal",
                                                                  "backup.lifeboat_s")):
        under = nums(rec, f"lbwriter.{mode}.s")
        if not under:
            continue
        idle = median(nums(rec, idle_key))
        if any(x is None for x in under):
            m = f"did not finish or failed in {sum(1 for x in under if x is None)} of {len(under)} runs"
            err = one(rec, f"lbwriter.{mode}.error")
            if err:
                m += f" ({err})"
            ok = False
        else:
            mu = median(under)
            r = mu / idle if idle else None
            m = f"{r:.2f} ({fmt_s(mu)} / {fmt_s(idle)})" if r else "n/a"
            ok = None if r is None else r <= 1.5
        rows.append((f"`lifeboat backup` under the writer / idle ({name})", m, "≤ 1.5", verdict(ok)))

    # stalls
    wal = writer_windows(rec, "lb.wal")
    if wal:
        worst = max(w["max_stall_ms"] for w in wal)
        rows.append(("Writer's longest stall during `lifeboat backup` (WAL)", f"{worst:.1f} ms",
                     "< 50 ms", verdict(worst < 50)))
    rb = writer_windows(rec, "lb.rollback")
    vac = writer_windows(rec, "vacuum.rollback")
    if rb and vac and any(x is None for x in nums(rec, "vacuum.rollback.s")):
        rows.append(("Writer's longest stall, `lifeboat backup` / `VACUUM INTO` (rollback journal)",
                     f"n/a: VACUUM INTO failed under the writer ({one(rec, 'vacuum.rollback.error')})",
                     "≤ 0.5", "n/a"))
    elif rb and vac:
        worst_lb = max(w["max_stall_ms"] for w in rb)
        worst_vac = max(w["max_stall_ms"] for w in vac)
        r = worst_lb / worst_vac if worst_vac else None
        rows.append(("Writer's longest stall, `lifeboat backup` / `VACUUM INTO` (rollback journal)",
                     f"{r:.2f} ({worst_lb:.0f} ms / {worst_vac:.0f} ms)" if r is not None else "n/a",
                     "≤ 0.5", verdict(None if r is None else r <= 0.5)))
    failed = sum(w["errors"] for w in wal + rb)
    if wal or rb:
        rows.append(("Writer's failed transactions during `lifeboat backup` (both modes)", str(failed),
                     "0", verdict(failed == 0)))

    # memory
    for tags, label in ((("backup", "backup_level1", "backup-writer", "backup-for-restore"), "Peak RSS of `lifeboat backup`"),
                        (("restore",), "Peak RSS of `lifeboat restore`"),
                        (("drive-upload",), "Peak RSS of an upload to Drive (`lifeboat drive status`)"),
                        (("drive-download",), "Peak RSS of a download from Drive (`lifeboat verify --remote`)")):
        rss = [x for t in tags for x in nums(rec, f"rss.{t}") if x is not None]
        if rss:
            peak = max(rss) / 1024  # KiB -> MiB
            rows.append((label, f"{peak:.1f} MiB", "< 64 MiB", verdict(peak < 64)))

    # Google Drive, against the loopback fake: throughput for the record, memory above
    artifact = float(one(rec, "drive.artifact_bytes", "0") or 0)
    for key, name in (("drive.upload_s", "Upload to Drive (loopback fake)"),
                      ("drive.download_s", "Download from Drive and check (loopback fake)")):
        took = [x for x in nums(rec, key) if x is not None]
        if took and artifact:
            rows.append((name, f"{took[0]:.1f} s, {artifact / MIB / max(took[0], 0.001):.0f} MiB/s "
                         f"for {artifact / MIB:.0f} MiB", "flat memory", "–"))

    # did the writer keep its pace? (on a busy disk, fsync-bound commits may not reach the rate)
    rate = float(one(rec, "config.rate", "0") or 0)
    slow = []
    for key in sorted(rec):
        if key.startswith("writer.") and not key.startswith("writer.stock."):
            w = json.loads(one(rec, key))
            # a blocked writer is the point of the stall rows, so only judge windows without a long stall
            if w["window_s"] >= 1 and w["max_stall_ms"] < 200:
                achieved = (w["commits"] + w["errors"]) / w["window_s"]
                if rate and achieved < 0.8 * rate:
                    slow.append(f"{key[len('writer.'):]} {achieved:.0f}/s")

    size = float(one(rec, "db.bytes", "0"))
    out = []
    out.append("## Lifeboat benchmark")
    out.append("")
    out.append(f"Database: {size / MIB:.0f} MiB ({one(rec, 'db.rows')}), generated by `bench/gen_db.py`; "
               f"median of {one(rec, 'config.runs')} runs after one warm-up; writer: "
               f"{one(rec, 'config.rate')} small transactions a second, `timeout=5`.")
    out.append("")
    out.append("| row | measured | target | result |")
    out.append("| --- | --- | --- | --- |")
    for row in rows:
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    if slow:
        out.append("")
        out.append(f"Warning: the writer fell short of {rate:.0f} commits a second ({', '.join(slow)}): "
                   "the disk or the machine was busy, so the writer rows understate the load.")
    out.append("")
    out.append(f"Machine: {one(rec, 'machine.nproc')} CPUs ({one(rec, 'machine.cpu')}), "
               f"{one(rec, 'machine.mem_gib')} GiB RAM, {one(rec, 'machine.kernel')}, "
               f"{one(rec, 'machine.date')}; sqlite3 {one(rec, 'machine.sqlite3')}, "
               f"zstd {one(rec, 'machine.zstd')}, {one(rec, 'machine.lifeboat')}.")
    out.append("")

    # details
    d = []
    d.append(f"- database generated in {float(one(rec, 'db.gen_s', '0')):.1f} s; "
             f"{size / MIB:.1f} MiB")
    art = nums(rec, "backup.artifact_bytes")
    part = nums(rec, "backup.pipeline_artifact_bytes")
    if art and art[-1] and size:
        d.append(f"- artifact: lifeboat {art[-1] / MIB:.1f} MiB (÷{size / art[-1]:.2f}), "
                 f"pipeline `zstd -3` {part[-1] / MIB:.1f} MiB (÷{size / part[-1]:.2f})"
                 if part and part[-1] else f"- artifact: lifeboat {art[-1] / MIB:.1f} MiB")
    art1 = nums(rec, "backup.artifact_level1_bytes")
    if art1 and art1[-1] and size:
        d.append(f"- artifact at `compression_level = 1`: {art1[-1] / MIB:.1f} MiB (÷{size / art1[-1]:.2f})")
    d.append(f"- backup runs (s): lifeboat {fmt_runs(lb)}; lifeboat at level 1 {fmt_runs(lb1)}; "
             f"pipeline {fmt_runs(pipe)}")
    steps = floor_steps(rec)
    if steps:
        d.append("- floor, processor seconds of each required step alone (best of the runs): "
                 + "; ".join(f"{label} {steps[key]:.2f}" for key, label in FLOOR_STEPS)
                 + f"; total {sum(steps.values()):.2f}; `lifeboat backup` itself used "
                 + fmt_runs(nums(rec, "backup.lifeboat_cpu_s")))
    d.append(f"- restore runs (s): lifeboat {fmt_runs(lr)}; by hand {fmt_runs(mr)}")
    if rec.get("lbidle.wal.s"):
        d.append(f"- lifeboat backup idle, WAL (s): {fmt_runs(nums(rec, 'lbidle.wal.s'))}")
    for mode in ("wal", "rollback"):
        if rec.get(f"lbwriter.{mode}.s"):
            ws = writer_windows(rec, f"lb.{mode}")
            d.append(f"- lifeboat backup under the writer, {mode} (s): {fmt_runs(nums(rec, f'lbwriter.{mode}.s'))};"
                     f" writer's longest stall (ms): {', '.join(str(w['max_stall_ms']) for w in ws)};"
                     f" commits during the backup: {', '.join(commit_rate(w) for w in ws)}")
    if rec.get("vacuum.rollback.s"):
        vs = writer_windows(rec, "vacuum.rollback")
        d.append(f"- `VACUUM INTO` under the writer, rollback (s): {fmt_runs(nums(rec, 'vacuum.rollback.s'))};"
                 f" writer's longest stall (ms): {', '.join(str(w['max_stall_ms']) for w in vs)};"
                 f" failed transactions: {', '.join(str(w['errors']) for w in vs)}")
    for mode in ("wal", "rollback"):
        b = one(rec, f"writer.baseline.{mode}")
        if b:
            b = json.loads(b)
            a = json.loads(one(rec, f"writer_all.baseline.{mode}"))
            d.append(f"- writer alone, {mode}: longest stall {b['max_stall_ms']} ms over {b['window_s']} s, "
                     f"commits {commit_rate(b)}")
        st = one(rec, f"writer.stock.{mode}")
        if st:
            st = json.loads(st)
            d.append(f"- writer during the stock `.backup`, {mode}: longest stall {st['max_stall_ms']} ms, "
                     f"commits {commit_rate(st)}, {st['errors']} failed")
    for tag in ("backup", "backup_level1", "backup-writer", "backup-for-restore", "restore", "drive-upload", "drive-download"):
        rss = [x for x in nums(rec, f"rss.{tag}") if x is not None]
        if rss:
            d.append(f"- peak RSS, lifeboat {tag} (MiB): {', '.join(f'{x / 1024:.1f}' for x in rss)}")
    out.append("<details><summary>Details</summary>")
    out.append("")
    out.extend(d)
    out.append("")
    out.append("</details>")
    print("\n".join(out))


if __name__ == "__main__":
    main()
