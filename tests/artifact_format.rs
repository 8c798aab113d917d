//! Behaviour 2: the artifact is a zstd-compressed SQLite image beside a manifest, the folder keeps
//! a SHA256SUMS that stock `sha256sum -c` accepts, and a backup killed half way leaves nothing that
//! `list` shows (the next backup cleans up and succeeds).

mod common;

use std::fs;
use std::time::Instant;

use common::*;

#[test]
fn a_backup_is_a_zstd_image_with_a_manifest_and_a_checksum_line() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let conn = create_items_db(&db, Journal::Wal, &["anchor", "rope", "oar"], 256);
    conn.execute_batch("PRAGMA user_version = 42").unwrap();
    let page_size = conn
        .query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))
        .unwrap() as u64;
    let page_count = conn
        .query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0))
        .unwrap() as u64;
    let content = dump(&conn);
    drop(conn);

    let backup = home.backup(&db);
    let id = id_of(&backup).to_string();
    assert!(
        id.ends_with("-manual"),
        "an on-demand backup's id ends with its kind: {id}"
    );
    let created_at = backup["created_at"].as_str().unwrap();
    // The id starts with the backup's UTC time (README: 20261125T200348Z-manual for
    // 2026-11-25T20:03:48.123456Z); a fraction of a second, if the id carries one, is the
    // created_at's.
    let (secs, frac) = id_time(&id);
    assert_eq!(
        secs,
        compact_utc_secs(created_at),
        "id {id} vs created_at {created_at}"
    );
    assert!(
        fraction_digits(created_at).starts_with(&frac),
        "id {id} vs created_at {created_at}"
    );
    assert_eq!(backup["location"], "local");
    assert_eq!(
        home.list(),
        vec![backup.clone()],
        "list --json shows the backup as backup --json printed it"
    );

    // The files, named after the id.
    let artifact = home.artifact(&id);
    let manifest_path = home.manifest_path(&id);
    assert!(artifact.is_file(), "missing {}", artifact.display());
    assert!(
        manifest_path.is_file(),
        "missing {}",
        manifest_path.display()
    );
    assert_eq!(backup["size"].as_u64().unwrap(), file_size(&artifact));
    let artifact_sha = sha256_of(&artifact);
    assert_eq!(backup["sha256"], artifact_sha.as_str());

    // The artifact is the database image, compressed with zstd: stock tools read it.
    let image = home.scratch("image.db");
    stock_zstd_decompress(&artifact, &image);
    assert_eq!(backup["db_size"].as_u64().unwrap(), file_size(&image));
    assert_eq!(stock_sqlite3(&image, "PRAGMA integrity_check"), "ok");
    assert_eq!(
        stock_sqlite3(&image, "SELECT name FROM items ORDER BY id"),
        "anchor\nrope\noar"
    );
    assert_eq!(
        dump_at(&image),
        content,
        "the image holds the whole database"
    );
    // A rollback-journal image (header bytes 18 and 19 are 1), even from a WAL database, so it
    // opens on its own without a -wal or -shm beside it.
    let header = read_bytes(&image);
    assert_eq!(&header[..16], b"SQLite format 3\0");
    assert_eq!(
        (header[18], header[19]),
        (1, 1),
        "the image must be in rollback-journal mode (README: Backup format)"
    );

    // The manifest describes the backup.
    let manifest = home.manifest(&id);
    assert_eq!(manifest["format"], 1);
    assert_eq!(manifest["id"], id.as_str());
    assert_eq!(manifest["created_at"], created_at);
    assert_eq!(manifest["kind"], "manual");
    assert_eq!(manifest["artifact"], format!("{id}.sqlite.zst").as_str());
    assert_eq!(manifest["size"].as_u64(), Some(file_size(&artifact)));
    assert_eq!(manifest["sha256"], artifact_sha.as_str());
    assert_eq!(manifest["db_size"].as_u64(), Some(file_size(&image)));
    assert_eq!(manifest["db_sha256"], sha256_of(&image).as_str());
    assert_eq!(manifest["page_size"].as_u64(), Some(page_size));
    assert_eq!(manifest["page_count"].as_u64(), Some(page_count));
    assert_eq!(
        manifest["db_size"].as_u64(),
        Some(page_size * page_count),
        "the image is page_count pages of page_size bytes"
    );
    assert_eq!(manifest["user_version"], 42);
    assert!(
        is_sha256_hex(manifest["schema_sha256"].as_str().unwrap_or_default()),
        "schema_sha256 in {manifest}"
    );
    let source = manifest["source_path"].as_str().unwrap_or_default();
    assert!(
        source == s(&db) || source == s(&fs::canonicalize(&db).unwrap()),
        "source_path {source:?} should be the database backed up, {}",
        db.display()
    );
    assert_eq!(manifest["lifeboat_version"], env!("CARGO_PKG_VERSION"));

    // SHA256SUMS covers the artifact and stock sha256sum accepts it.
    let sums = fs::read_to_string(home.backups().join("SHA256SUMS")).expect("SHA256SUMS");
    assert!(
        sums.lines()
            .any(|l| l.starts_with(&artifact_sha) && l.ends_with(&format!("{id}.sqlite.zst"))),
        "SHA256SUMS has no line for {id}:\n{sums}"
    );
    let check = sha256sum_check(&home.backups());
    assert!(
        check.status.success(),
        "sha256sum -c rejects SHA256SUMS:\n{check}"
    );

    // The folder holds nothing else.
    let mut expected = vec![
        "SHA256SUMS".to_string(),
        format!("{id}.manifest.json"),
        format!("{id}.sqlite.zst"),
    ];
    expected.sort();
    assert_eq!(file_names(&home.backups()), expected);
}

#[test]
fn the_schema_hash_follows_the_schema_not_the_data() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let conn = create_items_db(&db, Journal::Rollback, &["a"], 0);
    let first = id_of(&home.backup(&db)).to_string();
    conn.execute("INSERT INTO items(name) VALUES ('b')", [])
        .unwrap();
    let same_schema = id_of(&home.backup(&db)).to_string();
    conn.execute_batch("CREATE TABLE extra(x)").unwrap();
    let new_schema = id_of(&home.backup(&db)).to_string();

    let hash = |id: &str| home.manifest(id)["schema_sha256"].clone();
    assert_eq!(hash(&first), hash(&same_schema));
    assert_ne!(hash(&first), hash(&new_schema));
}

#[test]
fn verifying_and_restoring_never_change_a_backup() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["keel"], 128);
    let id = id_of(&home.backup(&db)).to_string();
    let artifact = read_bytes(&home.artifact(&id));
    let manifest = read_bytes(&home.manifest_path(&id));

    home.run(&["verify", &id]).ok();
    home.run(&["restore", &id, "--db", s(&db)]).ok();
    home.run(&["restore", &id, "--db", s(&home.scratch("new.db"))])
        .ok();
    home.run(&["verify"]).ok();

    assert!(
        read_bytes(&home.artifact(&id)) == artifact,
        "the artifact changed"
    );
    assert!(
        read_bytes(&home.manifest_path(&id)) == manifest,
        "the manifest changed"
    );
    let backups = home.backups();
    for name in file_names(&backups) {
        assert!(
            !name.ends_with("-journal") && !name.ends_with("-wal") && !name.ends_with("-shm"),
            "something opened a backup as a database in the backups folder: {name}"
        );
    }
}

/// Big enough that a debug-built backup takes a good fraction of a second or more.
const BIG_DB_MB: u32 = 48;

#[test]
fn a_backup_killed_half_way_leaves_nothing_listed_and_the_next_backup_succeeds() {
    let home = Home::new();
    let db = home.scratch("store.db");
    copy_db(&big_db_template(BIG_DB_MB), &db);
    let before = read_bytes(&db);

    // One backup to have something in the catalog, and to time a whole run.
    let started = Instant::now();
    let first = id_of(&home.backup(&db)).to_string();
    let full = started.elapsed();
    eprintln!("a full backup of {BIG_DB_MB} MiB took {full:.2?}");

    let mut killed_mid_run = 0;
    let mut known = vec![first.clone()];
    for fraction in [0.05, 0.25, 0.5, 0.75, 0.95] {
        let delay = full.mul_f64(fraction);
        let mut child = home.spawn(&["backup", "--db", s(&db)]);
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL, unless it already exited
        let status = child.wait().unwrap();
        let listed = home.ids();
        if status.success() {
            eprintln!("the backup finished before the kill at {delay:.2?}");
            known = listed;
            continue;
        }
        killed_mid_run += 1;
        let new: Vec<&String> = listed.iter().filter(|id| !known.contains(id)).collect();
        // A kill after the manifest was renamed into place leaves a complete backup; that can
        // only happen at the very end of a run.
        assert!(
            new.is_empty() || fraction >= 0.7,
            "after a backup was killed at {delay:.2?} ({:.0}% of a full run), list shows {new:?}",
            fraction * 100.0
        );
        // Whatever is listed is complete and intact.
        for id in &new {
            home.run(&["verify", id]).ok();
        }
        known = listed;
    }
    assert!(
        killed_mid_run >= 4,
        "only {killed_mid_run} kills landed while a backup ran"
    );

    // The live database was only read.
    assert!(
        read_bytes(&db) == before,
        "a killed backup changed the live database"
    );

    // The next backup cleans up and succeeds.
    let next = id_of(&home.backup(&db)).to_string();
    assert!(home.ids().contains(&next));
    home.assert_no_leftovers();
    home.run(&["verify"]).ok();
    let check = sha256sum_check(&home.backups());
    assert!(check.status.success(), "{check}");
}

/// Cleaning up after a killed run removes Lifeboat's own leftovers, never a person's files that
/// happen to sit in the backups folder.
#[test]
fn cleaning_up_never_removes_files_lifeboat_did_not_write() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 0);
    fs::create_dir_all(home.backups()).unwrap();
    let theirs = [
        ("README.txt", "these are the shop's backups\n"),
        ("store.db", "a copy someone left here\n"),
        ("old-backup.sqlite.zst.bak", "kept by hand\n"),
    ];
    for (name, text) in theirs {
        fs::write(home.backups().join(name), text).unwrap();
    }
    home.config_set("retention.keep_local", "1");
    home.backup(&db);
    home.backup(&db);
    home.run(&["prune"]).ok();
    home.run(&["verify"]).ok();
    for (name, text) in theirs {
        assert_eq!(
            fs::read_to_string(home.backups().join(name))
                .ok()
                .as_deref(),
            Some(text),
            "{name} was removed or changed"
        );
    }
    assert_eq!(home.ids().len(), 1);
}
