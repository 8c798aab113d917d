//! Behaviour 1: consistent snapshots of a live database.
//!
//! An application keeps moving money between accounts (another process, small transactions, a 5 s
//! busy timeout) while five backups run. Every artifact must come back with the stock `zstd -d` and
//! `sqlite3` alone, pass `PRAGMA integrity_check`, and hold the same total: a backup that copied the
//! file mid-transaction would show a different sum or a damaged image. The application must never
//! see an error because of the backup.

mod common;

use common::*;

fn backups_under_continuous_writes_are_consistent(journal: Journal) {
    let home = Home::new();
    let db = home.scratch("store.db");
    // 2,000 accounts plus ~4 MiB of filler, so a backup takes long enough for writes to land
    // during it.
    let total = create_accounts_db(&db, journal, 2_000, 1_000, 4 * 1024);

    // The test also commits a marker before each backup: the backup must hold it ("a backup holds
    // every transaction committed before the command started").
    let app = open(&db);
    app.execute_batch("CREATE TABLE markers(n INTEGER PRIMARY KEY)")
        .unwrap();

    let writer = Writer::start(&db, &home.scratch("stop-writer"));
    let mut backups = Vec::new();
    for n in 1..=5 {
        app.execute("INSERT INTO markers(n) VALUES (?1)", [n])
            .unwrap();
        backups.push(home.backup(&db));
    }
    let report = writer.stop();
    eprintln!("{journal:?}: writer {report:?}");
    assert!(
        report.transactions >= 20,
        "the writer committed only {} transactions: the test did not exercise a live database",
        report.transactions
    );

    let restored = home.scratch("restored.db");
    for backup in &backups {
        let id = id_of(backup);
        stock_zstd_decompress(&home.artifact(id), &restored);
        assert_eq!(
            stock_sqlite3(&restored, "PRAGMA integrity_check"),
            "ok",
            "backup {id} fails integrity_check"
        );
        let sum: i64 = stock_sqlite3(&restored, "SELECT SUM(balance) FROM accounts")
            .parse()
            .unwrap();
        assert_eq!(
            sum, total,
            "backup {id} is not a consistent snapshot: the accounts add up to {sum}, not {total}"
        );
        assert_eq!(
            stock_sqlite3(&restored, "SELECT COUNT(*) FROM accounts"),
            "2000",
            "backup {id} lost accounts"
        );
        let n = backups.iter().position(|b| b == backup).unwrap() + 1;
        assert_eq!(
            stock_sqlite3(&restored, "SELECT MAX(n) FROM markers"),
            n.to_string(),
            "backup {id} misses a transaction committed before it started"
        );
        std::fs::remove_file(&restored).unwrap();
    }

    // The live database is fine too.
    drop(app);
    let conn = open(&db);
    assert_eq!(integrity(&conn), "ok");
    let live_sum: i64 = conn
        .query_row("SELECT SUM(balance) FROM accounts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(live_sum, total);

    // All five are listed and pass Lifeboat's own verification.
    let listed = home.ids();
    for backup in &backups {
        assert!(listed.contains(&id_of(backup).to_string()));
    }
    home.run(&["verify"]).ok();
    home.assert_no_leftovers();
}

#[test]
fn backups_of_a_wal_database_under_continuous_writes_are_consistent() {
    backups_under_continuous_writes_are_consistent(Journal::Wal);
}

#[test]
fn backups_of_a_rollback_journal_database_under_continuous_writes_are_consistent() {
    backups_under_continuous_writes_are_consistent(Journal::Rollback);
}

/// The application crashed mid-transaction and left a hot journal: the database file holds half a
/// transaction, the journal the pages to put back. A backup taken under SQLite's own locking rolls
/// that back (as the application will when it next opens the file) and saves the committed state;
/// a raw copy of the file would save the half-made transaction.
#[test]
fn a_backup_after_an_application_crash_saves_the_committed_state_not_half_a_transaction() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let total = create_accounts_db(&db, Journal::Rollback, 2_000, 1_000, 1024);
    let before = read_bytes(&db);

    let status = std::process::Command::new(PYTHON)
        .arg(support_script("crash_mid_transaction.py"))
        .arg(&db)
        .status()
        .unwrap();
    assert!(!status.success(), "the application was meant to crash");
    let journal = home.scratch("store.db-journal");
    assert!(
        journal.exists() && file_size(&journal) > 0,
        "no hot journal was left: the test did not set up a crash"
    );
    assert!(
        read_bytes(&db) != before,
        "the crash left no half-made changes in the file: the test did not set up a crash"
    );

    let backup = home.backup(&db);
    let image = home.scratch("image.db");
    stock_zstd_decompress(&home.artifact(id_of(&backup)), &image);
    assert_eq!(stock_sqlite3(&image, "PRAGMA integrity_check"), "ok");
    assert_eq!(
        stock_sqlite3(&image, "SELECT SUM(balance) FROM accounts"),
        total.to_string(),
        "the backup holds the crashed transaction's half-made changes"
    );

    // The live database is in its committed state too.
    let conn = open(&db);
    assert_eq!(integrity(&conn), "ok");
    let sum: i64 = conn
        .query_row("SELECT SUM(balance) FROM accounts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sum, total);
}
