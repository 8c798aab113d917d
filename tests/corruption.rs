//! Behaviour 4: a backup whose artifact was altered or truncated is caught. `verify` exits 1 and
//! names it, `restore` refuses with exit 1, and the live database is byte for byte unchanged.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use serde_json::Value;

/// Two good backups of a database, the older of which then gets damaged by `damage`.
fn damaged_backup_is_caught(journal: Journal, damage: impl Fn(&Path)) {
    let home = Home::new();
    let db = home.scratch("store.db");
    let app = create_items_db(&db, journal, &["before"], 256);
    let damaged = id_of(&home.backup(&db)).to_string();
    app.execute("INSERT INTO items(name) VALUES ('after')", [])
        .unwrap();
    let intact = id_of(&home.backup(&db)).to_string();
    drop(app);
    damage(&home.artifact(&damaged));
    let live = db_files_snapshot(&db);

    // verify (all): exit 1, names the damaged backup.
    let run = home.run(&["verify"]);
    assert_no_panic(&run);
    assert_eq!(run.code(), Some(1), "verify must fail:\n{run}");
    assert!(
        run.stderr.contains(&damaged) || run.stdout.contains(&damaged),
        "verify must name {damaged}:\n{run}"
    );

    // verify --json: the damaged one is not ok and says why; the other is fine.
    let run = home.run(&["verify", "--json"]);
    assert_eq!(run.code(), Some(1), "verify --json must fail:\n{run}");
    let report = run.json();
    let entries = report.as_array().expect("verify --json prints an array");
    let entry = |id: &str| -> &Value {
        entries
            .iter()
            .find(|e| e["id"] == id)
            .unwrap_or_else(|| panic!("verify --json does not mention {id}: {report}"))
    };
    assert_eq!(entry(&damaged)["ok"], false, "{report}");
    let problem = entry(&damaged)["problem"].as_str().unwrap_or_default();
    assert!(
        problem.len() > 10,
        "the problem must be a sentence: {report}"
    );
    assert_eq!(entry(&intact)["ok"], true, "{report}");
    assert_eq!(entry(&intact)["problem"], Value::Null, "{report}");

    // verify ID: the same, for that one backup.
    let run = home.run(&["verify", &damaged]);
    let line = run.fails_with(1);
    assert!(
        line.contains(&damaged),
        "the error names the backup: {line}"
    );
    home.run(&["verify", &intact]).ok();

    // restore refuses, and the live database is exactly as it was.
    let run = home.run(&["restore", &damaged, "--db", s(&db), "--json"]);
    let line = run.fails_with(1);
    assert!(
        line.contains(&damaged),
        "the error names the backup: {line}"
    );
    assert!(
        db_files_snapshot(&db) == live,
        "a refused restore changed the live database (or its journal)"
    );
    assert_eq!(items_at(&db), ["before", "after"]);

    // A restore to a new place refuses too, and creates nothing there.
    let elsewhere = home.scratch("elsewhere.db");
    home.run(&["restore", &damaged, "--db", s(&elsewhere)])
        .fails_with(1);
    assert!(
        !elsewhere.exists(),
        "a refused restore left a database at {}",
        elsewhere.display()
    );
    home.assert_no_leftovers();
}

fn flip_a_byte_in_the_middle(artifact: &Path) {
    let mut bytes = fs::read(artifact).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    fs::write(artifact, bytes).unwrap();
}

fn truncate_to_half(artifact: &Path) {
    let len = file_size(artifact);
    fs::OpenOptions::new()
        .write(true)
        .open(artifact)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
}

#[test]
fn a_backup_with_a_flipped_byte_is_refused_and_the_live_wal_database_is_untouched() {
    damaged_backup_is_caught(Journal::Wal, flip_a_byte_in_the_middle);
}

#[test]
fn a_backup_with_a_flipped_byte_is_refused_and_the_live_rollback_database_is_untouched() {
    damaged_backup_is_caught(Journal::Rollback, flip_a_byte_in_the_middle);
}

#[test]
fn a_truncated_backup_is_refused_and_the_live_database_is_untouched() {
    damaged_backup_is_caught(Journal::Wal, truncate_to_half);
}

#[test]
fn a_backup_whose_artifact_is_gone_is_refused() {
    damaged_backup_is_caught(Journal::Rollback, |artifact| {
        fs::remove_file(artifact).unwrap()
    });
}

/// The artifact's bytes still match the manifest and SHA256SUMS (both rewritten to match), but the
/// SQLite image inside is damaged: the integrity check has to catch what the checksum cannot.
#[test]
fn a_backup_whose_image_is_damaged_but_checksums_match_is_refused() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Rollback, &["x"], 256);
    let id = id_of(&home.backup(&db)).to_string();
    let artifact = home.artifact(&id);

    // Decompress, damage a b-tree page in the middle of the image, recompress.
    let image = home.scratch("image.db");
    stock_zstd_decompress(&artifact, &image);
    let mut bytes = read_bytes(&image);
    let page = 4096;
    let target = (bytes.len() / page / 2) * page;
    for b in &mut bytes[target..target + 64] {
        *b = 0xA5;
    }
    fs::write(&image, &bytes).unwrap();
    let status = std::process::Command::new("zstd")
        .args(["-q", "-f"])
        .arg(&image)
        .arg("-o")
        .arg(&artifact)
        .status()
        .unwrap();
    assert!(status.success());

    // Make every checksum agree with the damaged artifact.
    let sha = sha256_of(&artifact);
    let size = file_size(&artifact);
    let mut manifest = home.manifest(&id);
    let old_sha = manifest["sha256"].as_str().unwrap().to_string();
    manifest["sha256"] = Value::from(sha.clone());
    manifest["size"] = Value::from(size);
    manifest["db_sha256"] = Value::from(sha256_of(&image));
    fs::write(
        home.manifest_path(&id),
        serde_json::to_string_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let sums_path = home.backups().join("SHA256SUMS");
    let sums = fs::read_to_string(&sums_path)
        .unwrap()
        .replace(&old_sha, &sha);
    fs::write(&sums_path, sums).unwrap();
    assert!(sha256sum_check(&home.backups()).status.success());

    let live = db_files_snapshot(&db);
    let run = home.run(&["verify", &id]);
    let line = run.fails_with(1);
    assert!(line.contains(&id), "the error names the backup: {line}");
    home.run(&["restore", &id, "--db", s(&db)]).fails_with(1);
    assert!(db_files_snapshot(&db) == live, "the live database changed");
}
