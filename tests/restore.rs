//! Behaviour 3: restore goes through SQLite into the live file, so an application holding the
//! database open reads the restored rows without reopening; a safety backup of the state before
//! the restore comes first and brings that state back exactly; a killed restore leaves the
//! database as it was or fully restored; a restore where no database exists creates it.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// The application's story: it has data, Lifeboat backs it up, the data changes (some of it
/// wrongly), the person restores the backup while the application is still running.
fn restore_into_open_database_is_seen_by_the_app(journal: Journal) {
    let home = Home::new();
    let db = home.scratch("store.db");
    let app = create_items_db(&db, journal, &["anchor", "rope", "oar"], 64);
    let good = dump(&app);
    let backup = home.backup(&db);
    let id = id_of(&backup).to_string();

    // Later: rows change, a table appears, the schema version moves.
    app.execute_batch(
        "UPDATE items SET name = 'broken' WHERE name = 'rope';
         DELETE FROM items WHERE name = 'oar';
         INSERT INTO items(name) VALUES ('sail');
         CREATE TABLE notes(text TEXT);
         INSERT INTO notes VALUES ('written after the backup');
         PRAGMA user_version = 7;",
    )
    .unwrap();
    let before_restore = dump(&app);
    assert_eq!(items(&app), ["anchor", "broken", "sail"]);

    // The application keeps its connection open (and has just read from it) while Lifeboat restores.
    let run = home.run(&["restore", &id, "--db", s(&db), "--json"]).ok();
    let out = run.json();
    assert_eq!(out["restored"]["id"], id.as_str(), "restore --json: {out}");
    assert_backup_shape(&out["restored"], "manual");
    let safety = &out["safety_backup"];
    assert!(
        safety.is_object(),
        "a safety backup must be reported: {out}"
    );
    assert_backup_shape(safety, "safety");
    let safety_id = id_of(safety).to_string();
    assert!(
        home.ids().contains(&safety_id),
        "the safety backup {safety_id} is listed"
    );

    // Same connection, no reopen: the application sees the restored data.
    assert_eq!(
        items(&app),
        ["anchor", "rope", "oar"],
        "the open connection still sees the old rows"
    );
    assert_eq!(
        dump(&app),
        good,
        "the open connection sees the restored database"
    );
    assert_eq!(integrity(&app), "ok");
    // ... and can go on writing.
    app.execute("INSERT INTO items(name) VALUES ('after restore')", [])
        .unwrap();
    app.execute("DELETE FROM items WHERE name = 'after restore'", [])
        .unwrap();

    // Restoring the safety backup brings back exactly the state before the restore.
    let back = home
        .run(&["restore", &safety_id, "--db", s(&db), "--json"])
        .ok()
        .json();
    assert_eq!(back["restored"]["id"], safety_id.as_str());
    assert_eq!(
        dump(&app),
        before_restore,
        "restoring the safety backup did not bring back the pre-restore state"
    );
    assert_eq!(integrity(&app), "ok");
    drop(app);
    assert_eq!(dump_at(&db), before_restore);
    home.run(&["verify"]).ok();
    home.assert_no_leftovers();
}

#[test]
fn restore_into_an_open_wal_database_is_seen_by_the_app() {
    restore_into_open_database_is_seen_by_the_app(Journal::Wal);
}

#[test]
fn restore_into_an_open_rollback_journal_database_is_seen_by_the_app() {
    restore_into_open_database_is_seen_by_the_app(Journal::Rollback);
}

#[test]
fn the_safety_backup_holds_the_state_before_the_restore() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let app = create_items_db(&db, Journal::Wal, &["one"], 0);
    let id = id_of(&home.backup(&db)).to_string();
    app.execute("INSERT INTO items(name) VALUES ('two')", [])
        .unwrap();
    let before = dump(&app);
    drop(app);

    let out = home
        .run(&["restore", &id, "--db", s(&db), "--json"])
        .ok()
        .json();
    let safety_id = id_of(&out["safety_backup"]).to_string();
    // Read the safety backup with stock tools: it is the pre-restore database.
    let image = home.scratch("safety.db");
    stock_zstd_decompress(&home.artifact(&safety_id), &image);
    assert_eq!(stock_sqlite3(&image, "PRAGMA integrity_check"), "ok");
    assert_eq!(dump_at(&image), before);
    assert_eq!(home.manifest(&safety_id)["kind"], "safety");
}

#[test]
fn restore_where_no_database_exists_creates_it_without_a_safety_backup() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let app = create_items_db(&db, Journal::Wal, &["anchor", "rope"], 32);
    let content = dump(&app);
    drop(app);
    let id = id_of(&home.backup(&db)).to_string();

    let fresh = home.scratch("new-machine.db");
    let out = home
        .run(&["restore", &id, "--db", s(&fresh), "--json"])
        .ok()
        .json();
    assert_eq!(out["restored"]["id"], id.as_str());
    assert_eq!(
        out["safety_backup"],
        Value::Null,
        "nothing to keep safe: {out}"
    );
    assert_eq!(home.ids(), vec![id], "no safety backup in the list");
    let conn = open(&fresh);
    assert_eq!(integrity(&conn), "ok");
    assert_eq!(dump(&conn), content);
}

#[test]
fn restore_uses_the_configured_database_path() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let app = create_items_db(&db, Journal::Rollback, &["configured"], 0);
    home.config_set("database.path", s(&db));
    let backup = home.run(&["backup", "--json"]).ok().json();
    let id = id_of(&backup).to_string();
    app.execute("DELETE FROM items", []).unwrap();

    home.run(&["restore", &id]).ok();
    assert_eq!(items(&app), ["configured"]);
}

#[test]
fn restore_accepts_a_unique_id_prefix() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let app = create_items_db(&db, Journal::Wal, &["prefix"], 0);
    let id = id_of(&home.backup(&db)).to_string();
    app.execute("DELETE FROM items", []).unwrap();
    // Only one backup exists, so its date alone is a unique prefix.
    home.run(&["restore", &id[..8], "--db", s(&db)]).ok();
    assert_eq!(items(&app), ["prefix"]);
}

/// A WAL database with 4 KiB pages, a backup taken with 8 KiB pages: SQLite's backup API cannot
/// restore across that while the database is in WAL mode (STACK-NOTES). Lifeboat must either
/// restore fully or refuse cleanly; it must never half-restore.
#[test]
fn restore_across_page_sizes_into_a_wal_database_refuses_while_it_is_open_and_works_once_closed() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let conn = create_items_db_with_page_size(&db, 8192, Journal::Rollback, &["eight", "kib"], 64);
    assert_eq!(
        conn.query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        8192
    );
    let content = dump(&conn);
    drop(conn);
    let id = id_of(&home.backup(&db)).to_string();

    // The live database is rebuilt with 4 KiB pages, in WAL mode, and held open.
    remove_db(&db);
    let app = create_items_db(&db, Journal::Wal, &["four"], 64);
    assert_eq!(
        app.query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        4096
    );
    let before = dump(&app);

    // While the application holds it, the page size cannot change: refused, nothing changed, and
    // the message says what to do.
    let line = home
        .run(&["restore", &id, "--db", s(&db), "--json"])
        .fails_with(1);
    assert!(line.contains("close the application"), "{line}");
    assert_eq!(dump(&app), before, "a refused restore changed the database");
    assert_eq!(integrity(&app), "ok");
    drop(app);

    // Once it is closed, the same restore goes through completely and the database stays in WAL.
    home.run(&["restore", &id, "--db", s(&db), "--json"]).ok();
    let reopened = open(&db);
    assert_eq!(dump(&reopened), content);
    assert_eq!(integrity(&reopened), "ok");
    let mode: String = reopened
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    home.assert_no_leftovers();
}

const BIG_DB_MB: u32 = 16;

#[derive(Clone, Copy, Debug)]
enum KillAt {
    /// This fraction of the time a whole restore takes.
    Fraction(f64),
    /// This long after Lifeboat starts writing into the live database.
    AfterWritesStart(Duration),
}

/// SIGKILL a restore at many moments: the database must pass integrity_check and hold either the
/// content it had or the backup's, never a mix.
fn a_killed_restore_leaves_the_old_or_the_restored_database(journal: Journal) {
    let home = Home::new();
    // The live database sits alone in its folder, so anything a killed restore leaves there shows.
    std::fs::create_dir(home.scratch("live")).unwrap();
    let db = home.scratch("live/store.db");
    let pristine_old = home.scratch("old.db");

    // The backup holds the template ("original"); the live database then drifts ("old").
    copy_db(&big_db_template(BIG_DB_MB), &db);
    {
        let conn = open(&db);
        set_journal(&conn, journal);
    }
    let id = id_of(&home.backup(&db)).to_string();
    let restored = fingerprint(&open(&db));
    {
        let conn = open(&db);
        conn.execute_batch(
            "UPDATE marker SET version = 'old';
             DELETE FROM docs WHERE id % 3 = 0;
             UPDATE docs SET body = lower(body) WHERE id % 5 = 0;",
        )
        .unwrap();
        if journal == Journal::Wal {
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                .unwrap();
        }
    }
    copy_db(&db, &pristine_old);
    let old = fingerprint(&open(&pristine_old));
    assert_ne!(old, restored);

    // One whole restore, to know how long one takes (and that it works on a big database).
    let started = Instant::now();
    home.run(&["restore", &id, "--db", s(&db)]).ok();
    let full = started.elapsed();
    eprintln!("{journal:?}: a full restore of {BIG_DB_MB} MiB took {full:.2?}");
    assert_eq!(fingerprint(&open(&db)), restored);

    // Kill at fixed points of a whole run, and at moments after Lifeboat started writing into
    // the live file (its rollback journal appears, or its WAL grows).
    let writing = |db: &std::path::Path| match journal {
        Journal::Rollback => std::path::PathBuf::from(format!("{}-journal", db.display())).exists(),
        Journal::Wal => {
            std::fs::metadata(format!("{}-wal", db.display())).is_ok_and(|m| m.len() > 64 * 1024)
        }
    };
    let kill_points = [
        KillAt::Fraction(0.3),
        KillAt::Fraction(0.7),
        KillAt::AfterWritesStart(Duration::ZERO),
        KillAt::AfterWritesStart(Duration::from_millis(10)),
        KillAt::AfterWritesStart(Duration::from_millis(50)),
        KillAt::AfterWritesStart(Duration::from_millis(200)),
    ];
    let mut outcomes = Vec::new();
    let mut killed_while_writing = 0;
    for kill_at in kill_points {
        remove_db(&db);
        copy_db(&pristine_old, &db);
        let started = Instant::now();
        let mut child = home.spawn(&["restore", &id, "--db", s(&db)]);
        let mut saw_writes = false;
        match kill_at {
            KillAt::Fraction(f) => std::thread::sleep(full.mul_f64(f)),
            KillAt::AfterWritesStart(extra) => {
                while child.try_wait().unwrap().is_none() && started.elapsed() < full * 3 {
                    if writing(&db) {
                        saw_writes = true;
                        break;
                    }
                    std::thread::sleep(Duration::from_micros(500));
                }
                std::thread::sleep(extra);
            }
        }
        let at = started.elapsed();
        let still_writing = writing(&db);
        child.kill().unwrap();
        let status = child.wait().unwrap();
        if !status.success() && (still_writing || saw_writes) {
            killed_while_writing += 1;
        }

        // Opening the database the way an application does rolls back a hot journal.
        let conn = open(&db);
        assert_eq!(
            integrity(&conn),
            "ok",
            "{journal:?}: restore killed at {at:.2?} ({kill_at:?}) left a damaged database"
        );
        let now = fingerprint(&conn);
        let outcome = if now == old {
            "old"
        } else if now == restored {
            "restored"
        } else {
            panic!(
                "{journal:?}: restore killed at {at:.2?} ({kill_at:?}) left a mix: {now:?} is \
                 neither {old:?} nor {restored:?}"
            )
        };
        drop(conn);
        let beside = files_beside(&db);
        outcomes.push(format!(
            "{kill_at:?} at {at:.2?}: {outcome}{}{}{}",
            if saw_writes || still_writing {
                " (was writing)"
            } else {
                ""
            },
            if status.success() {
                " (had finished)"
            } else {
                ""
            },
            if beside.is_empty() {
                String::new()
            } else {
                format!(" (left beside the database: {beside:?})")
            }
        ));
    }
    eprintln!("{journal:?}: {outcomes:#?}");
    assert!(
        killed_while_writing >= 2,
        "{journal:?}: only {killed_while_writing} kills landed while the restore wrote into the \
         database: {outcomes:#?}"
    );

    // Afterwards Lifeboat still works: the catalog is intact and a restore goes through.
    home.run(&["verify"]).ok();
    home.run(&["restore", &id, "--db", s(&db)]).ok();
    assert_eq!(fingerprint(&open(&db)), restored);
    home.assert_no_leftovers();
}

/// Files in the database's folder other than the database and its -wal/-shm.
fn files_beside(db: &std::path::Path) -> Vec<String> {
    let name = db.file_name().unwrap().to_str().unwrap();
    file_names(db.parent().unwrap())
        .into_iter()
        .filter(|f| f != name && *f != format!("{name}-wal") && *f != format!("{name}-shm"))
        .collect()
}

#[test]
fn a_killed_restore_leaves_a_rollback_journal_database_old_or_restored() {
    a_killed_restore_leaves_the_old_or_the_restored_database(Journal::Rollback);
}

#[test]
fn a_killed_restore_leaves_a_wal_database_old_or_restored() {
    a_killed_restore_leaves_the_old_or_the_restored_database(Journal::Wal);
}

/// The application chose its journal mode; a restore must not switch it behind its back (the
/// backup image itself is in rollback-journal mode).
fn restore_keeps_the_journal_mode(journal: Journal) {
    let home = Home::new();
    let db = home.scratch("store.db");
    let other = if journal == Journal::Wal {
        Journal::Rollback
    } else {
        Journal::Wal
    };
    // The backup is taken of a database in the other mode.
    let conn = create_items_db(&db, other, &["from the other mode"], 16);
    drop(conn);
    let id = id_of(&home.backup(&db)).to_string();
    remove_db(&db);
    let app = create_items_db(&db, journal, &["live"], 16);

    home.run(&["restore", &id, "--db", s(&db)]).ok();
    assert_eq!(items(&app), ["from the other mode"]);
    let mode: String = app
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        mode,
        journal.pragma(),
        "the restore changed the journal mode"
    );
    drop(app);
    let fresh: String = open(&db)
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        fresh,
        journal.pragma(),
        "a new connection finds the database in another journal mode after the restore"
    );
}

#[test]
fn restore_keeps_a_wal_database_in_wal_mode() {
    restore_keeps_the_journal_mode(Journal::Wal);
}

#[test]
fn restore_keeps_a_rollback_journal_database_in_rollback_mode() {
    restore_keeps_the_journal_mode(Journal::Rollback);
}

/// The application is in the middle of a read transaction when the restore comes. In rollback
/// mode its lock keeps any writer out, so the restore must give up after the busy timeout and
/// leave everything as it was; in WAL mode it may go ahead (the reader keeps its snapshot) or
/// give up, but never half-restore.
fn restore_while_the_app_reads(journal: Journal) {
    let home = Home::new();
    let db = home.scratch("store.db");
    let app = create_items_db(&db, journal, &["backed up"], 64);
    let id = id_of(&home.backup(&db)).to_string();
    app.execute("INSERT INTO items(name) VALUES ('newer')", [])
        .unwrap();
    let before = dump(&app);
    home.config_set("database.busy_timeout_secs", "1");

    app.execute_batch("BEGIN").unwrap();
    assert_eq!(items(&app), ["backed up", "newer"]);
    let run = home.run(&["restore", &id, "--db", s(&db), "--json"]);
    // Still inside its transaction, the application sees a consistent snapshot.
    let inside = items(&app);
    app.execute_batch("COMMIT").unwrap();

    match journal {
        Journal::Rollback => {
            let line = run.fails_with(1);
            assert!(
                line.contains("store.db"),
                "the error names the database: {line}"
            );
            assert_eq!(inside, ["backed up", "newer"]);
            assert_eq!(dump(&app), before, "a failed restore changed the database");
        }
        Journal::Wal => {
            if run.code() == Some(0) {
                assert_eq!(
                    inside,
                    ["backed up", "newer"],
                    "the reader's snapshot changed"
                );
                assert_eq!(items(&app), ["backed up"]);
            } else {
                run.fails_with(1);
                assert_eq!(dump(&app), before, "a failed restore changed the database");
            }
        }
    }
    assert_eq!(integrity(&app), "ok");
    home.assert_no_leftovers();
}

#[test]
fn restore_while_the_app_reads_a_rollback_journal_database_waits_then_fails_cleanly() {
    restore_while_the_app_reads(Journal::Rollback);
}

#[test]
fn restore_while_the_app_reads_a_wal_database_restores_or_fails_cleanly() {
    restore_while_the_app_reads(Journal::Wal);
}

#[test]
fn an_ambiguous_id_prefix_restores_nothing() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let app = create_items_db(&db, Journal::Wal, &["one"], 0);
    let first = id_of(&home.backup(&db)).to_string();
    let second = id_of(&home.backup(&db)).to_string();
    app.execute("INSERT INTO items(name) VALUES ('two')", [])
        .unwrap();
    let before = dump(&app);
    let common_prefix: String = first
        .chars()
        .zip(second.chars())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a)
        .collect();
    assert!(!common_prefix.is_empty());

    let run = home.run(&["restore", &common_prefix, "--db", s(&db)]);
    assert_no_panic(&run);
    assert_ne!(
        run.code(),
        Some(0),
        "an ambiguous prefix must not pick one:\n{run}"
    );
    run.fails_with(run.code().unwrap_or(1));
    assert_eq!(dump(&app), before);
    assert_eq!(home.ids(), vec![second, first], "no safety backup was made");
}

/// The application crashed mid-transaction (hot journal) and the person restores an older backup:
/// the safety backup holds the committed state, not the half-made transaction.
#[test]
fn the_safety_backup_after_an_application_crash_holds_the_committed_state() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let total = create_accounts_db(&db, Journal::Rollback, 500, 100, 1024);
    let id = id_of(&home.backup(&db)).to_string();
    {
        let conn = open(&db);
        conn.execute("INSERT INTO accounts(id, balance) VALUES (100000, 5)", [])
            .unwrap();
    }
    let status = std::process::Command::new(PYTHON)
        .arg(support_script("crash_mid_transaction.py"))
        .arg(&db)
        .status()
        .unwrap();
    assert!(!status.success());
    assert!(home.scratch("store.db-journal").exists(), "no hot journal");

    let out = home
        .run(&["restore", &id, "--db", s(&db), "--json"])
        .ok()
        .json();
    let safety = id_of(&out["safety_backup"]).to_string();
    let image = home.scratch("safety.db");
    stock_zstd_decompress(&home.artifact(&safety), &image);
    assert_eq!(stock_sqlite3(&image, "PRAGMA integrity_check"), "ok");
    assert_eq!(
        stock_sqlite3(&image, "SELECT SUM(balance) FROM accounts"),
        (total + 5).to_string(),
        "the safety backup holds half a transaction"
    );
    let conn = open(&db);
    assert_eq!(integrity(&conn), "ok");
    let sum: i64 = conn
        .query_row("SELECT SUM(balance) FROM accounts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sum, total, "the restored database");
}

/// A restore to a new machine killed at any moment leaves either no database or the whole one.
#[test]
fn a_killed_restore_to_a_new_path_leaves_no_database_or_the_whole_one() {
    let home = Home::new();
    let source = home.scratch("store.db");
    copy_db(&big_db_template(BIG_DB_MB), &source);
    let id = id_of(&home.backup(&source)).to_string();
    let restored = fingerprint(&open(&source));
    std::fs::create_dir(home.scratch("new-machine")).unwrap();
    let target = home.scratch("new-machine/store.db");

    let started = Instant::now();
    home.run(&["restore", &id, "--db", s(&target)]).ok();
    let full = started.elapsed();

    let mut outcomes = Vec::new();
    for fraction in [0.2, 0.4, 0.6, 0.8, 0.9, 0.97] {
        remove_db(&target);
        let mut child = home.spawn(&["restore", &id, "--db", s(&target)]);
        std::thread::sleep(full.mul_f64(fraction));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        if target.exists() {
            let conn = open(&target);
            assert_eq!(
                integrity(&conn),
                "ok",
                "a restore killed at {fraction} left a damaged database"
            );
            assert_eq!(fingerprint(&conn), restored);
            outcomes.push(format!(
                "{fraction}: restored (finished: {})",
                status.success()
            ));
        } else {
            outcomes.push(format!("{fraction}: nothing"));
        }
    }
    eprintln!("{outcomes:#?}");
}

/// A restore killed while it has its own files beside the database (Lifeboat unpacks the image
/// there) must not leave them in the application's folder for good: the next job cleans up.
#[test]
fn files_a_killed_restore_left_beside_the_database_are_cleaned_up_by_the_next_restore() {
    let home = Home::new();
    std::fs::create_dir(home.scratch("live")).unwrap();
    let db = home.scratch("live/store.db");
    copy_db(&big_db_template(BIG_DB_MB), &db);
    let id = id_of(&home.backup(&db)).to_string();

    let mut child = home.spawn(&["restore", &id, "--db", s(&db)]);
    let started = Instant::now();
    while files_beside(&db).is_empty()
        && child.try_wait().unwrap().is_none()
        && started.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    let left = files_beside(&db);
    eprintln!("killed restore (exited: {status}) left {left:?}");

    home.run(&["restore", &id, "--db", s(&db)]).ok();
    home.run(&["backup", "--db", s(&db)]).ok();
    assert_eq!(
        files_beside(&db),
        Vec::<String>::new(),
        "a killed restore left files in the application's folder, and the next restore and \
         backup did not clean them up"
    );
}

/// The database got damaged (a page overwritten) and the person restores yesterday's backup, which
/// is what backups are for. The restore must go through, and the damaged file must not be lost (it
/// may be needed to recover what came after the backup): kept beside the database or as the
/// safety backup.
#[test]
fn restore_over_a_damaged_database_brings_the_backup_back_and_keeps_the_damaged_file() {
    let home = Home::new();
    std::fs::create_dir(home.scratch("live")).unwrap();
    let db = home.scratch("live/store.db");
    let app = create_items_db(&db, Journal::Rollback, &["good"], 256);
    let content = dump(&app);
    drop(app);
    let id = id_of(&home.backup(&db)).to_string();

    let mut damaged = read_bytes(&db);
    let target = (damaged.len() / 4096 / 2) * 4096;
    for b in &mut damaged[target..target + 64] {
        *b = 0xA5;
    }
    std::fs::write(&db, &damaged).unwrap();
    assert_ne!(
        integrity(&open(&db)),
        "ok",
        "the test did not damage the database"
    );

    let run = home.run(&["restore", &id, "--db", s(&db), "--json"]).ok();
    let conn = open(&db);
    assert_eq!(integrity(&conn), "ok");
    assert_eq!(dump(&conn), content);

    let kept_beside = std::fs::read_dir(db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .any(|p| p != db && std::fs::read(&p).is_ok_and(|bytes| bytes == damaged));
    let kept_as_safety = run.json()["safety_backup"]["id"]
        .as_str()
        .is_some_and(|safety| {
            let image = home.scratch("safety.db");
            stock_zstd_decompress(&home.artifact(safety), &image);
            read_bytes(&image) == damaged
        });
    assert!(
        kept_beside || kept_as_safety,
        "the damaged database is gone without a copy:\n{run}"
    );
    // A copy that fails SQLite's check is kept beside the database, never listed as a backup.
    home.run(&["verify"]).ok();
}

/// The restored database may be much smaller or much larger than the live one; the application's
/// open connection sees it either way, and the file passes integrity_check.
fn restore_across_sizes_into_open_database(journal: Journal) {
    let home = Home::new();
    let db = home.scratch("store.db");
    let app = create_items_db(&db, journal, &["small"], 16);
    let small = dump(&app);
    let small_id = id_of(&home.backup(&db)).to_string();
    app.execute("INSERT INTO items(name) VALUES ('big')", [])
        .unwrap();
    add_filler(&app, 3 * 1024);
    let big = dump(&app);
    let big_id = id_of(&home.backup(&db)).to_string();

    home.run(&["restore", &small_id, "--db", s(&db)]).ok();
    assert_eq!(dump(&app), small, "shrinking restore");
    assert_eq!(integrity(&app), "ok");
    home.run(&["restore", &big_id, "--db", s(&db)]).ok();
    assert_eq!(dump(&app), big, "growing restore");
    assert_eq!(integrity(&app), "ok");
    drop(app);
    assert_eq!(integrity(&open(&db)), "ok");
}

#[test]
fn restore_of_a_smaller_or_larger_backup_into_an_open_wal_database() {
    restore_across_sizes_into_open_database(Journal::Wal);
}

#[test]
fn restore_of_a_smaller_or_larger_backup_into_an_open_rollback_journal_database() {
    restore_across_sizes_into_open_database(Journal::Rollback);
}

/// On the new machine (or after the old file was deleted) a stale -wal and -journal of some other
/// database lie where the restored one goes: SQLite would apply them to the new file. The restore
/// must come out as the backup, not as the backup plus someone else's pages.
#[test]
fn restore_where_only_stale_wal_and_journal_files_remain_gives_the_backup() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let app = create_items_db(&db, Journal::Rollback, &["from the backup"], 32);
    let content = dump(&app);
    drop(app);
    let id = id_of(&home.backup(&db)).to_string();
    remove_db(&db);

    // Another database's WAL with committed frames, and a hot-looking journal, left behind.
    let other_dir = home.scratch("other");
    std::fs::create_dir(&other_dir).unwrap();
    let other = other_dir.join("store.db");
    let other_conn = create_items_db(&other, Journal::Wal, &["stale"], 32);
    other_conn
        .execute_batch("PRAGMA wal_autocheckpoint = 0; INSERT INTO items(name) VALUES ('stale 2');")
        .unwrap();
    std::fs::copy(other_dir.join("store.db-wal"), home.scratch("store.db-wal")).unwrap();
    std::fs::write(home.scratch("store.db-journal"), vec![0xD9u8; 4096]).unwrap();
    drop(other_conn);

    let out = home
        .run(&["restore", &id, "--db", s(&db), "--json"])
        .ok()
        .json();
    assert_eq!(out["safety_backup"], serde_json::Value::Null, "{out}");
    let conn = open(&db);
    assert_eq!(integrity(&conn), "ok");
    assert_eq!(dump(&conn), content);
}
