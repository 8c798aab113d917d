//! Behaviour 3: restore goes through SQLite into the live file, so an application holding the
//! database open reads the restored rows without reopening; a safety backup of the state before
//! the restore comes first and brings that state back exactly; a killed restore leaves the
//! database as it was or fully restored; a restore where no database exists creates it.

mod common;

use std::time::Instant;

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
fn the_safety_backup_holds_the_state_before_the_restore_byte_for_byte_in_content() {
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
fn restore_across_page_sizes_into_an_open_wal_database_restores_fully_or_refuses_cleanly() {
    let home = Home::new();
    let db = home.scratch("store.db");
    {
        let conn = open(&db);
        conn.execute_batch("PRAGMA page_size = 8192").unwrap();
        drop(conn);
    }
    let conn = create_items_db(&db, Journal::Rollback, &["eight", "kib"], 64);
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

    let run = home.run(&["restore", &id, "--db", s(&db), "--json"]);
    if run.code() == Some(0) {
        assert_eq!(dump(&app), content, "restore said it worked:\n{run}");
    } else {
        let line = run.fails_with(1);
        eprintln!("refused: {line}");
        assert_eq!(dump(&app), before, "a refused restore changed the database");
    }
    assert_eq!(integrity(&app), "ok");
    home.assert_no_leftovers();
}

const BIG_DB_MB: u32 = 40;

/// SIGKILL a restore at many moments: the database must pass integrity_check and hold either the
/// content it had or the backup's, never a mix.
fn a_killed_restore_leaves_the_old_or_the_restored_database(journal: Journal) {
    let home = Home::new();
    let db = home.scratch("store.db");
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

    let mut outcomes = Vec::new();
    for fraction in [0.1, 0.3, 0.5, 0.65, 0.8, 0.9, 0.97] {
        remove_db(&db);
        copy_db(&pristine_old, &db);
        let delay = full.mul_f64(fraction);
        let mut child = home.spawn(&["restore", &id, "--db", s(&db)]);
        std::thread::sleep(delay);
        child.kill().unwrap();
        let status = child.wait().unwrap();

        // Opening the database the way an application does rolls back a hot journal.
        let conn = open(&db);
        assert_eq!(
            integrity(&conn),
            "ok",
            "{journal:?}: restore killed at {delay:.2?} left a damaged database"
        );
        let now = fingerprint(&conn);
        let outcome = if now == old {
            "old"
        } else if now == restored {
            "restored"
        } else {
            panic!(
                "{journal:?}: restore killed at {delay:.2?} left a mix: {now:?} is neither \
                 {old:?} nor {restored:?}"
            )
        };
        outcomes.push(format!(
            "{:.0}%: {outcome}{}",
            fraction * 100.0,
            if status.success() {
                " (had finished)"
            } else {
                ""
            }
        ));
    }
    eprintln!("{journal:?}: {outcomes:?}");

    // Afterwards Lifeboat still works: the catalog is intact and a restore goes through.
    home.run(&["verify"]).ok();
    home.run(&["restore", &id, "--db", s(&db)]).ok();
    assert_eq!(fingerprint(&open(&db)), restored);
    home.assert_no_leftovers();
}

#[test]
fn a_killed_restore_leaves_a_rollback_journal_database_old_or_restored() {
    a_killed_restore_leaves_the_old_or_the_restored_database(Journal::Rollback);
}

#[test]
fn a_killed_restore_leaves_a_wal_database_old_or_restored() {
    a_killed_restore_leaves_the_old_or_the_restored_database(Journal::Wal);
}
