//! Behaviour 9: bad input. Each case gets its exit code (1: the operation failed; 2: usage or
//! configuration), one line on stderr starting `error: ` that names what and where, no panic, and
//! nothing lost or left behind: the live database as it was, no partial files in the backups folder.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

/// The error line names the database (by full path or at least by file name).
#[track_caller]
fn assert_names(line: &str, path: &Path) {
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(
        line.contains(s(path)) || line.contains(name),
        "the error should name {}: {line}",
        path.display()
    );
}

/// A failed backup leaves no backup behind and nothing in the backups folder but what was there.
#[track_caller]
fn assert_nothing_left(home: &Home, listed_before: &[String]) {
    assert_eq!(home.ids(), listed_before, "the failed run changed the list");
    home.assert_no_leftovers();
}

// --- the database ---------------------------------------------------------------------------

#[test]
fn backup_of_a_database_path_that_does_not_exist_fails_and_creates_nothing() {
    let home = Home::new();
    let db = home.scratch("missing/store.db");
    let line = home
        .run(&["backup", "--db", s(&db), "--json"])
        .fails_with(1);
    assert_names(&line, &db);
    assert!(
        !db.exists(),
        "the backup created the database it was asked to copy"
    );
    let db = home.scratch("store.db");
    let line = home.run(&["backup", "--db", s(&db)]).fails_with(1);
    assert_names(&line, &db);
    assert!(
        !db.exists(),
        "the backup created an empty database at {}",
        db.display()
    );
    assert_nothing_left(&home, &[]);
}

#[test]
fn backup_of_a_file_that_is_not_sqlite_fails_and_leaves_it_alone() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let mut noise = Vec::with_capacity(64 * 1024);
    let mut x: u32 = 0x1234_5678;
    for _ in 0..64 * 1024 {
        // xorshift: random bytes without a dependency
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise.push((x >> 24) as u8);
    }
    fs::write(&db, &noise).unwrap();

    let line = home.run(&["backup", "--db", s(&db)]).fails_with(1);
    assert_names(&line, &db);
    assert!(read_bytes(&db) == noise, "the file was changed");
    assert!(db_files_snapshot(&db)[1..].iter().all(|(_, f)| f.is_none()));
    assert_nothing_left(&home, &[]);
}

/// The live database is damaged (a b-tree page overwritten): a backup of it must fail its check
/// and, above all, must not push the last good backup out of retention.
#[test]
fn backup_of_a_damaged_database_fails_and_keeps_the_good_backup() {
    let home = Home::new();
    let db = home.scratch("store.db");
    drop(create_items_db(&db, Journal::Rollback, &["good"], 256));
    home.config_set("retention.keep_local", "1");
    let good = id_of(&home.backup(&db)).to_string();

    let mut bytes = read_bytes(&db);
    let target = (bytes.len() / 4096 / 2) * 4096;
    for b in &mut bytes[target..target + 64] {
        *b = 0xA5;
    }
    fs::write(&db, &bytes).unwrap();
    assert_ne!(
        integrity(&open(&db)),
        "ok",
        "the test did not damage the database"
    );

    let line = home.run(&["backup", "--db", s(&db)]).fails_with(1);
    assert_names(&line, &db);
    assert!(read_bytes(&db) == bytes, "the damaged database was changed");
    assert_nothing_left(&home, std::slice::from_ref(&good));
    home.run(&["verify", &good]).ok();
}

#[test]
fn backup_of_an_empty_file_fails_instead_of_saving_an_empty_database() {
    let home = Home::new();
    let db = home.scratch("store.db");
    fs::write(&db, b"").unwrap();

    let line = home.run(&["backup", "--db", s(&db)]).fails_with(1);
    assert_names(&line, &db);
    assert_eq!(file_size(&db), 0, "the empty file was written to");
    assert_nothing_left(&home, &[]);
}

#[test]
fn backup_of_a_database_locked_longer_than_the_busy_timeout_fails_after_waiting() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Rollback, &["locked"], 64);
    let good = id_of(&home.backup(&db)).to_string();
    home.config_set("database.busy_timeout_secs", "1");
    let before = dump_at(&db);

    let holder = LockHolder::lock(&db);
    let run = home.run(&["backup", "--db", s(&db)]);
    holder.release();
    let line = run.fails_with(1);
    assert_names(&line, &db);
    assert!(
        run.elapsed >= Duration::from_millis(900),
        "it gave up after {:?}, before the 1 s busy timeout",
        run.elapsed
    );
    assert!(
        run.elapsed < Duration::from_secs(20),
        "it waited {:?} with a 1 s busy timeout",
        run.elapsed
    );
    assert_eq!(dump_at(&db), before);
    assert_nothing_left(&home, &[good]);
}

#[test]
fn backup_of_a_wal_database_held_in_exclusive_locking_mode_fails_after_waiting() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["locked"], 64);
    home.config_set("database.busy_timeout_secs", "1");

    let holder = LockHolder::lock_in_exclusive_mode(&db);
    let run = home.run(&["backup", "--db", s(&db)]);
    holder.release();
    let line = run.fails_with(1);
    assert_names(&line, &db);
    assert!(run.elapsed >= Duration::from_millis(900), "{run}");
    assert_eq!(items_at(&db), ["locked"]);
    assert_nothing_left(&home, &[]);
}

#[test]
fn restore_into_a_database_locked_by_another_process_fails_and_changes_nothing() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let app = create_items_db(&db, Journal::Rollback, &["backed up"], 0);
    let id = id_of(&home.backup(&db)).to_string();
    app.execute("INSERT INTO items(name) VALUES ('newer')", [])
        .unwrap();
    drop(app);
    home.config_set("database.busy_timeout_secs", "1");

    let holder = LockHolder::lock(&db);
    let run = home.run(&["restore", &id, "--db", s(&db)]);
    holder.release();
    run.fails_with(1);
    assert_eq!(items_at(&db), ["backed up", "newer"]);
    assert_eq!(integrity(&open(&db)), "ok");
    home.assert_no_leftovers();
}

#[test]
fn backup_of_a_database_larger_than_max_backup_mb_fails() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let conn = create_items_db(&db, Journal::Wal, &["big"], 2 * 1024);
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    drop(conn);
    assert!(file_size(&db) > 2_000_000);
    home.config_set("limits.max_backup_mb", "1");
    let before = db_files_snapshot(&db);

    let line = home.run(&["backup", "--db", s(&db)]).fails_with(1);
    assert_names(&line, &db);
    assert!(db_files_snapshot(&db) == before);
    assert_nothing_left(&home, &[]);
}

#[test]
fn restore_over_a_file_that_is_not_sqlite_keeps_it_aside_and_puts_the_backup_in_its_place() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Rollback, &["x"], 0);
    let id = id_of(&home.backup(&db)).to_string();
    remove_db(&db);
    let garbage = b"this is not a database, but it is somebody's file\n".repeat(100);
    fs::write(&db, &garbage).unwrap();

    // No safety backup (a SQLite image) can be made of it, so its bytes are kept beside it under
    // the name the JSON reports, and the backup takes its place.
    let report = home
        .run(&["restore", &id, "--db", s(&db), "--json"])
        .ok()
        .json();
    assert_eq!(items_at(&db), ["x"]);
    assert!(report["safety_backup"].is_null(), "{report}");
    let aside = report["set_aside"]
        .as_str()
        .expect("set_aside names the kept file");
    assert!(aside.contains("store.db.damaged-"), "{report}");
    assert!(
        read_bytes(Path::new(aside)) == garbage,
        "the kept file differs"
    );
    assert_eq!(home.ids(), vec![id]);
    home.assert_no_leftovers();
}

// --- the configuration ------------------------------------------------------------------------

/// A config.toml with the mistake on line 5, behind comments.
fn config_with_line_5(line: &str) -> String {
    format!("# Lifeboat\n# settings\n\n[schedule]\n{line}\n")
}

#[track_caller]
fn assert_config_error(home: &Home, args: &[&str], line_no: u32, key: Option<&str>) {
    let run = home.run(args);
    let line = run.fails_with(2);
    assert!(
        line.contains("config.toml"),
        "the error names config.toml: {line}"
    );
    let n = line_no.to_string();
    assert!(
        line.contains(&format!("line {n}"))
            || line.contains(&format!(":{n}:"))
            || line.contains(&format!(":{n},"))
            || line.contains(&format!(":{n} ")),
        "the error names line {n}: {line}"
    );
    if let Some(key) = key {
        assert!(line.contains(key), "the error names the key {key}: {line}");
    }
}

fn config_error_case(config: &str, key: Option<&str>) {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 0);
    home.write_config(config);
    let before = db_files_snapshot(&db);
    assert_config_error(&home, &["backup", "--db", s(&db)], 5, key);
    assert_config_error(&home, &["list", "--json"], 5, key);
    assert_config_error(&home, &["health"], 5, key);
    assert!(db_files_snapshot(&db) == before);
    assert!(!home.backups().exists() || file_names(&home.backups()).is_empty());
    assert_eq!(fs::read_to_string(home.config_file()).unwrap(), config);
}

#[test]
fn a_config_toml_with_a_syntax_error_is_a_configuration_error() {
    config_error_case(&config_with_line_5("time = \"02:00"), None);
}

#[test]
fn a_config_toml_with_an_unknown_key_is_a_configuration_error() {
    config_error_case(&config_with_line_5("tiem = \"02:00\""), Some("tiem"));
}

#[test]
fn a_config_toml_with_time_25_00_is_a_configuration_error() {
    config_error_case(&config_with_line_5("time = \"25:00\""), Some("time"));
}

#[test]
fn a_config_toml_with_an_out_of_range_compression_level_is_a_configuration_error() {
    config_error_case(
        "# Lifeboat\n# settings\n\n[backups]\ncompression_level = 25\n",
        Some("compression_level"),
    );
}

#[test]
fn a_config_toml_with_a_zero_size_limit_is_a_configuration_error() {
    config_error_case(
        "# Lifeboat\n# settings\n\n[limits]\nmax_backup_mb = 0\n",
        Some("max_backup_mb"),
    );
}

#[test]
fn config_set_and_schedule_refuse_invalid_values_and_keep_the_file() {
    let home = Home::new();
    home.config_set("retention.keep_local", "5");
    let before = fs::read_to_string(home.config_file()).unwrap();

    home.run(&["config", "set", "schedule.time", "25:00"])
        .fails_with(2);
    home.run(&["config", "set", "retention.no_such_key", "1"])
        .fails_with(2);
    home.run(&["config", "set", "retention.keep_local", "many"])
        .fails_with(2);
    home.run(&["schedule", "daily", "25:00"]).fails_with(2);
    home.run(&["schedule", "weekly", "someday", "02:00"])
        .fails_with(2);
    assert_eq!(fs::read_to_string(home.config_file()).unwrap(), before);
    home.run(&["config", "show"]).ok();
}

#[test]
fn backup_with_no_database_configured_is_a_configuration_error() {
    let home = Home::new();
    home.run(&["backup"]).fails_with(2);
}

#[test]
fn bad_arguments_are_usage_errors_on_one_line() {
    let home = Home::new();
    home.run(&["frobnicate"]).fails_with(2);
    home.run(&["restore"]).fails_with(2);
    home.run(&["backup", "--no-such-flag"]).fails_with(2);
}

// --- backup ids -------------------------------------------------------------------------------

#[test]
fn an_unknown_backup_id_fails_and_makes_no_safety_backup() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let app = create_items_db(&db, Journal::Wal, &["x"], 0);
    let id = id_of(&home.backup(&db)).to_string();
    app.execute("INSERT INTO items(name) VALUES ('y')", [])
        .unwrap();
    drop(app);
    let before = db_files_snapshot(&db);
    let unknown = "20990101T000000Z-manual";

    for args in [
        vec!["restore", unknown, "--db", s(&db)],
        vec!["restore", unknown, "--db", s(&db), "--json"],
        vec!["verify", unknown],
        vec!["verify", unknown, "--json"],
        vec!["delete", unknown],
        vec!["delete", unknown, "--force"],
    ] {
        let line = home.run(&args).fails_with(1);
        assert!(line.contains(unknown), "the error names the id: {line}");
    }
    assert_eq!(
        home.ids(),
        vec![id],
        "a safety backup was made for an unknown id"
    );
    assert!(db_files_snapshot(&db) == before);
    assert_eq!(items_at(&db), ["x", "y"]);
    home.assert_no_leftovers();
}

// --- the backups folder -----------------------------------------------------------------------

#[test]
fn backup_into_a_backups_folder_that_is_a_file_fails() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 0);
    fs::create_dir_all(home.path()).unwrap();
    fs::write(home.backups(), b"not a folder\n").unwrap();

    let line = home.run(&["backup", "--db", s(&db)]).fails_with(1);
    assert!(
        line.contains("backups"),
        "the error names the backups folder: {line}"
    );
    assert_eq!(fs::read(home.backups()).unwrap(), b"not a folder\n");
}

/// `ulimit -f` makes the kernel refuse writes past a size (EFBIG, with SIGXFSZ ignored), which is
/// what a full disk looks like to the writer.
#[test]
fn backup_when_the_disk_fills_up_fails_and_leaves_no_partial_files() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 3 * 1024);
    home.run(&["list"]).ok(); // creates the home and its log before the limit applies
    let before = db_files_snapshot(&db);

    // 512-byte blocks: 256 KiB, far less than the ~1.5 MB artifact.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("trap '' XFSZ; ulimit -f 512; exec \"$0\" \"$@\"")
        .arg(LIFEBOAT)
        .arg("--home")
        .arg(home.path())
        .args(["backup", "--db", s(&db)]);
    let run = run_command(cmd, COMMAND_TIMEOUT);
    run.fails_with(1);
    assert!(
        db_files_snapshot(&db) == before,
        "the live database changed"
    );
    assert_nothing_left(&home, &[]);

    // With room again, backups work.
    home.backup(&db);
    home.assert_no_leftovers();
}

/// A mounted tmpfs that is unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    fn mount(path: PathBuf, size: &str) -> Option<SmallDisk> {
        fs::create_dir_all(&path).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        ok.then_some(SmallDisk { path })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

/// A real full disk (ENOSPC) where one is available: a 1 MiB tmpfs as the backups folder. The
/// backup that fits stays; the one that does not fails and leaves nothing.
#[test]
fn backup_onto_a_full_disk_fails_and_keeps_the_earlier_backups() {
    let home = Home::new();
    let Some(disk) = SmallDisk::mount(home.scratch("small-disk"), "1m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root); the ulimit test covers this");
        return;
    };
    let folder = disk.path.join("backups");
    home.config_set("backups.folder", s(&folder));

    let small = home.scratch("small.db");
    create_items_db(&small, Journal::Wal, &["fits"], 0);
    let kept = id_of(&home.backup(&small)).to_string();

    let big = home.scratch("store.db");
    create_items_db(&big, Journal::Wal, &["does not fit"], 3 * 1024);
    let before = db_files_snapshot(&big);
    home.run(&["backup", "--db", s(&big)]).fails_with(1);
    assert!(db_files_snapshot(&big) == before);
    assert_eq!(home.ids(), vec![kept.clone()]);
    let names = file_names(&folder);
    let leftovers: Vec<&String> = names
        .iter()
        .filter(|n| !n.starts_with(&kept) && *n != "SHA256SUMS")
        .collect();
    assert!(
        leftovers.is_empty(),
        "partial files on the full disk: {leftovers:?}"
    );
    home.run(&["verify"]).ok();
    assert!(sha256sum_check(&folder).status.success());
    drop(disk);
}

/// The safety backup cannot be written (the disk is full): the restore must stop before it
/// touches the live database.
#[test]
fn restore_when_the_safety_backup_does_not_fit_fails_and_leaves_the_database_as_it_was() {
    let home = Home::new();
    let Some(disk) = SmallDisk::mount(home.scratch("small-disk"), "4m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    home.config_set("backups.folder", s(&disk.path.join("backups")));
    let db = home.scratch("store.db");
    let app = create_items_db(&db, Journal::Rollback, &["small"], 0);
    let id = id_of(&home.backup(&db)).to_string();

    // The database has grown past what the disk can hold as a safety backup.
    add_filler(&app, 5 * 1024);
    drop(app);
    let before = db_files_snapshot(&db);

    home.run(&["restore", &id, "--db", s(&db)]).fails_with(1);
    assert!(
        db_files_snapshot(&db) == before,
        "the restore went ahead without a safety backup"
    );
    assert_eq!(home.ids(), vec![id]);
    home.assert_no_leftovers();
    drop(disk);
}
