//! Behaviour 8: health is computed from facts, like a dead man's switch. Error when there is no
//! verified backup, the last backup failed, the newest verified backup is older than two schedule
//! periods (48 h with no schedule) or the database is missing; warning when the database is above
//! 80% of max_backup_mb (or the backup folder is short of space); each issue a sentence a person can
//! act on. Every run is recorded, and health reports the last run, the success rate and totals.

mod common;

use std::fs;

use common::*;
use serde_json::Value;

fn health(home: &Home) -> Value {
    let run = home.run(&["health", "--json"]);
    assert_no_panic(&run);
    assert_ne!(run.code(), Some(2), "health is not a usage error:\n{run}");
    let report = run.json();
    for issue in report["issues"]
        .as_array()
        .unwrap_or_else(|| panic!("issues must be an array: {report}"))
    {
        assert_is_a_sentence(issue);
    }
    report
}

/// "Each issue is a sentence a person can act on": a capitalised sentence with a full stop.
#[track_caller]
fn assert_is_a_sentence(issue: &Value) {
    let text = issue.as_str().unwrap_or_default().trim();
    assert!(
        text.split_whitespace().count() >= 4,
        "issue {issue} is not a sentence"
    );
    assert!(
        text.chars().next().is_some_and(char::is_uppercase),
        "issue {issue} does not start like a sentence"
    );
    assert!(
        text.ends_with('.'),
        "issue {issue} does not end like a sentence"
    );
}

#[track_caller]
fn assert_status(report: &Value, status: &str) {
    assert_eq!(report["status"], status, "health: {report}");
    if status == "healthy" {
        assert_eq!(report["issues"], Value::Array(vec![]), "{report}");
    } else {
        assert!(
            !report["issues"].as_array().unwrap().is_empty(),
            "a {status} status must say why: {report}"
        );
    }
}

fn issues_text(report: &Value) -> String {
    report["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap_or_default().to_lowercase())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn health_is_an_error_before_the_first_backup() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 0);
    home.config_set("database.path", s(&db));

    let report = health(&home);
    assert_status(&report, "error");
    assert_eq!(report["last_backup"], Value::Null);
    assert_eq!(report["total_backups"], 0);
    assert_eq!(report["database"]["exists"], true, "{report}");
}

#[test]
fn health_is_healthy_after_a_backup_and_reports_the_facts() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 64);
    home.config_set("database.path", s(&db));
    home.run(&["schedule", "off"]).ok();
    let backup = home.run(&["backup", "--json"]).ok().json();

    let report = health(&home);
    assert_status(&report, "healthy");
    assert_eq!(report["last_backup"]["id"], backup["id"], "{report}");
    assert_eq!(
        report["next_scheduled"],
        Value::Null,
        "schedule is off: {report}"
    );
    assert_eq!(report["total_backups"], 1);
    assert_eq!(report["total_size"], backup["size"]);
    assert_eq!(report["database"]["exists"], true);
    assert_eq!(report["database"]["size"].as_u64(), Some(file_size(&db)));
    let path = report["database"]["path"].as_str().unwrap_or_default();
    assert!(
        path == s(&db) || path == s(&fs::canonicalize(&db).unwrap()),
        "database.path in {report}"
    );
    let last_run = &report["last_run"];
    assert!(last_run.is_object(), "the backup run is recorded: {report}");
    assert!(
        last_run["operation"]
            .as_str()
            .is_some_and(|op| op.contains("backup")),
        "{report}"
    );
    assert!(
        is_rfc3339(last_run["started_at"].as_str().unwrap_or_default()),
        "{report}"
    );
    assert!(
        is_rfc3339(last_run["ended_at"].as_str().unwrap_or_default()),
        "{report}"
    );
    assert_eq!(last_run["error"], Value::Null, "{report}");
    assert_eq!(report["success_rate"].as_f64(), Some(1.0), "{report}");
}

#[test]
fn health_is_an_error_when_the_database_is_missing() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Rollback, &["x"], 0);
    home.config_set("database.path", s(&db));
    home.run(&["backup"]).ok();
    assert_status(&health(&home), "healthy");

    remove_db(&db);
    let report = health(&home);
    assert_status(&report, "error");
    assert_eq!(report["database"]["exists"], false, "{report}");
    assert!(
        issues_text(&report).contains("store.db") || issues_text(&report).contains("database"),
        "the issue says the database is missing: {report}"
    );
}

#[test]
fn health_is_an_error_when_the_last_backup_failed_and_recovers_after_a_good_one() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 0);
    home.config_set("database.path", s(&db));
    home.run(&["backup"]).ok();

    // A backup fails (a database that is not there), the configured one is fine.
    let missing = home.scratch("typo.db");
    home.run(&["backup", "--db", s(&missing)]).fails_with(1);
    let report = health(&home);
    assert_status(&report, "error");
    assert!(
        report["last_run"]["error"].is_string(),
        "the failed run's error is recorded: {report}"
    );
    let rate = report["success_rate"].as_f64().unwrap_or(-1.0);
    assert!(rate > 0.0 && rate < 1.0, "one of two runs failed: {report}");

    home.run(&["backup"]).ok();
    let report = health(&home);
    assert_status(&report, "healthy");
    assert_eq!(report["total_backups"], 2);

    // Every run is on record, one JSON line each.
    let history =
        fs::read_to_string(home.path().join("state/history.jsonl")).expect("state/history.jsonl");
    let lines: Vec<Value> = history
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() >= 3, "three backup runs recorded:\n{history}");
}

#[test]
fn health_is_an_error_when_the_newest_backup_is_older_than_48_hours_without_a_schedule() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 0);
    home.config_set("database.path", s(&db));
    let fresh = id_of(&home.run(&["backup", "--json"]).ok().json()).to_string();
    assert_status(&health(&home), "healthy");

    // The folder as it would look three days later: the only backup is 72 h old.
    let old = forge_backup(&home, &fresh, &utc_date("3 days ago"), "manual");
    remove_backup_by_hand(&home, &fresh);
    assert_eq!(home.ids(), vec![old.clone()]);
    let report = health(&home);
    assert_status(&report, "error");
    assert_eq!(report["last_backup"]["id"], old.as_str(), "{report}");

    // 40 hours is still within two days.
    let recent = forge_backup(&home, &old, &utc_date("40 hours ago"), "manual");
    let report = health(&home);
    assert_eq!(report["last_backup"]["id"], recent.as_str(), "{report}");
    assert_status(&report, "healthy");
}

#[test]
fn health_warns_when_the_database_is_above_80_percent_of_max_backup_mb() {
    let home = Home::new();
    let db = home.scratch("store.db");
    // About 900 KB: above 80% of 1 MB (whether MB means 10^6 or 2^20 bytes), below 1 MB.
    let conn = create_items_db(&db, Journal::Rollback, &["x"], 700);
    let mut size = file_size(&db);
    while size < 880_000 {
        add_filler(&conn, 4);
        size = file_size(&db);
    }
    drop(conn);
    assert!(
        (880_000..1_000_000).contains(&size),
        "the test database is {size} bytes"
    );
    home.config_set("database.path", s(&db));
    home.config_set("limits.max_backup_mb", "1");
    home.run(&["backup"]).ok();

    let report = health(&home);
    assert_status(&report, "warning");
    assert!(
        issues_text(&report).contains("max_backup_mb") || issues_text(&report).contains("limit"),
        "the issue names the limit to raise: {report}"
    );
}

#[test]
fn with_a_weekly_schedule_a_backup_is_overdue_after_two_weeks() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 0);
    home.config_set("database.path", s(&db));
    home.run(&["schedule", "weekly", "sun", "03:30"]).ok();
    let fresh = id_of(&home.run(&["backup", "--json"]).ok().json()).to_string();

    // Five days old: fine for a weekly schedule (it would be an error with none).
    let five_days = forge_backup(&home, &fresh, &utc_date("5 days ago"), "scheduled");
    remove_backup_by_hand(&home, &fresh);
    let report = health(&home);
    assert_eq!(report["last_backup"]["id"], five_days.as_str(), "{report}");
    assert_status(&report, "healthy");
    assert!(
        is_rfc3339(report["next_scheduled"].as_str().unwrap_or_default()),
        "a schedule is on: {report}"
    );

    // Fifteen days old: two periods have passed without a backup.
    let old = forge_backup(&home, &five_days, &utc_date("15 days ago"), "scheduled");
    remove_backup_by_hand(&home, &five_days);
    let report = health(&home);
    assert_eq!(report["last_backup"]["id"], old.as_str(), "{report}");
    assert_status(&report, "error");
}

#[test]
fn health_counts_only_verified_backups() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 0);
    home.config_set("database.path", s(&db));
    let older = id_of(&home.run(&["backup", "--json"]).ok().json()).to_string();
    let newest = id_of(&home.run(&["backup", "--json"]).ok().json()).to_string();
    let artifact = home.artifact(&newest);
    let len = file_size(&artifact);
    fs::OpenOptions::new()
        .write(true)
        .open(&artifact)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    assert_eq!(home.run(&["verify"]).code(), Some(1));

    let report = health(&home);
    assert_eq!(
        report["last_backup"]["id"],
        older.as_str(),
        "the newest backup failed its check; the last good one is {older}: {report}"
    );
}

#[test]
fn schedule_is_stored_and_shown() {
    let home = Home::new();
    home.run(&["schedule", "daily", "02:30"]).ok();
    let shown = home.run(&["schedule", "show", "--json"]).ok().json();
    assert_eq!(shown["enabled"], true, "{shown}");
    assert_eq!(shown["frequency"], "daily", "{shown}");
    assert_eq!(shown["time"], "02:30", "{shown}");
    assert!(
        is_rfc3339(shown["next"].as_str().unwrap_or_default()),
        "{shown}"
    );
    let config = fs::read_to_string(home.config_file()).unwrap();
    assert!(
        config.contains("02:30"),
        "the schedule is kept in config.toml:\n{config}"
    );

    home.run(&["schedule", "weekly", "fri", "23:15"]).ok();
    let shown = home.run(&["schedule", "show", "--json"]).ok().json();
    assert_eq!(shown["frequency"], "weekly", "{shown}");
    assert_eq!(shown["day"], "fri", "{shown}");
    assert_eq!(shown["time"], "23:15", "{shown}");

    home.run(&["schedule", "off"]).ok();
    let shown = home.run(&["schedule", "show", "--json"]).ok().json();
    assert_eq!(shown["enabled"], false, "{shown}");
    assert_eq!(shown["next"], Value::Null, "{shown}");
}

/// A mounted tmpfs that is unmounted when dropped.
struct SmallDisk {
    path: std::path::PathBuf,
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.path)
            .status();
    }
}

#[test]
fn health_warns_when_the_backup_folder_has_room_for_less_than_two_databases() {
    let home = Home::new();
    let mount = home.scratch("small-disk");
    fs::create_dir_all(&mount).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&mount)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    }
    let disk = SmallDisk { path: mount };
    let db = home.scratch("store.db");
    // ~1.9 MB that compresses to about half: on a 4 MiB disk the backup fits (even with a
    // temporary uncompressed image beside it), but less than two database sizes stay free.
    create_items_db(&db, Journal::Rollback, &["x"], 1500);
    home.config_set("database.path", s(&db));
    home.config_set("backups.folder", s(&disk.path.join("backups")));
    home.run(&["backup"]).ok();

    let report = health(&home);
    assert_status(&report, "warning");
    let issues = issues_text(&report);
    assert!(
        issues.contains("space") || issues.contains("free") || issues.contains("room"),
        "the warning is about free space: {report}"
    );
}

/// A backup killed half way (power cut, SIGKILL) never wrote its end: health counts that run as
/// failed until a backup succeeds again.
#[test]
fn health_is_an_error_after_a_backup_was_killed() {
    let home = Home::new();
    let db = home.scratch("store.db");
    copy_db(&big_db_template(16), &db);
    home.config_set("database.path", s(&db));
    home.run(&["backup"]).ok();
    assert_status(&health(&home), "healthy");

    let before = file_names(&home.backups());
    let mut child = home.spawn(&["backup"]);
    let started = std::time::Instant::now();
    // Kill once the run has started writing into the backups folder.
    while file_names(&home.backups()) == before
        && child.try_wait().unwrap().is_none()
        && started.elapsed() < std::time::Duration::from_secs(60)
    {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the backup finished before it could be killed"
    );

    let report = health(&home);
    assert_status(&report, "error");
    let rate = report["success_rate"].as_f64().unwrap_or(-1.0);
    assert!(rate > 0.0 && rate < 1.0, "one of two runs failed: {report}");

    home.run(&["backup"]).ok();
    assert_status(&health(&home), "healthy");
}
