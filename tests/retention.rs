//! Behaviour 7: retention. keep_local counts manual and scheduled backups, keep_safety counts safety
//! backups apart; `prune --dry-run` lists what would go and why and removes nothing; the newest
//! verified backup is never pruned, and `delete` refuses it without --force.

mod common;

use std::fs;

use common::*;
use serde_json::Value;

fn ids_of(list: &[Value]) -> Vec<String> {
    list.iter().map(|b| id_of(b).to_string()).collect()
}

fn ids_of_kind(home: &Home, kind: &str) -> Vec<String> {
    home.list()
        .iter()
        .filter(|b| b["kind"] == kind)
        .map(|b| id_of(b).to_string())
        .collect()
}

#[track_caller]
fn assert_gone(home: &Home, id: &str) {
    assert!(
        !home.artifact(id).exists(),
        "{id}'s artifact is still there"
    );
    assert!(
        !home.manifest_path(id).exists(),
        "{id}'s manifest is still there"
    );
    let sums = fs::read_to_string(home.backups().join("SHA256SUMS")).unwrap_or_default();
    assert!(!sums.contains(id), "SHA256SUMS still lists {id}:\n{sums}");
    if !sums.trim().is_empty() {
        let check = sha256sum_check(&home.backups());
        assert!(check.status.success(), "{check}");
    }
}

#[test]
fn with_keep_local_3_five_backups_leave_the_newest_three() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let app = create_items_db(&db, Journal::Wal, &["v0"], 0);
    home.config_set("retention.keep_local", "3");

    let mut made = Vec::new();
    for i in 1..=5 {
        app.execute("INSERT INTO items(name) VALUES (?1)", [format!("v{i}")])
            .unwrap();
        made.push(id_of(&home.backup(&db)).to_string());
    }
    let newest_three: Vec<String> = made.iter().rev().take(3).cloned().collect();
    assert_eq!(
        home.ids(),
        newest_three,
        "list (newest first) after five backups with keep_local 3"
    );
    for old in &made[..2] {
        assert_gone(&home, old);
    }
    home.assert_no_leftovers();
    home.run(&["verify"]).ok();
}

#[test]
fn safety_backups_are_counted_apart_by_keep_safety() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let app = create_items_db(&db, Journal::Rollback, &["start"], 0);
    home.config_set("retention.keep_local", "3");
    home.config_set("retention.keep_safety", "2");

    let mut manual = Vec::new();
    for i in 0..3 {
        app.execute("INSERT INTO items(name) VALUES (?1)", [format!("m{i}")])
            .unwrap();
        manual.push(id_of(&home.backup(&db)).to_string());
    }
    // Three restores make three safety backups.
    let mut safety = Vec::new();
    for _ in 0..3 {
        let out = home
            .run(&["restore", &manual[0], "--db", s(&db), "--json"])
            .ok()
            .json();
        safety.push(id_of(&out["safety_backup"]).to_string());
    }
    // Safety backups never push manual ones out.
    assert_eq!(
        ids_of_kind(&home, "manual"),
        manual.iter().rev().cloned().collect::<Vec<_>>(),
        "safety backups pushed manual backups out of keep_local"
    );

    // Retention (here via prune, and again after the next backup) keeps the newest two safety
    // backups and the newest three manual ones.
    home.run(&["prune"]).ok();
    let newest_safety: Vec<String> = safety.iter().rev().take(2).cloned().collect();
    assert_eq!(ids_of_kind(&home, "safety"), newest_safety);
    assert_eq!(
        ids_of_kind(&home, "manual"),
        manual.iter().rev().cloned().collect::<Vec<_>>()
    );
    assert_gone(&home, &safety[0]);

    let fourth = id_of(&home.backup(&db)).to_string();
    assert_eq!(
        ids_of_kind(&home, "manual"),
        vec![fourth, manual[2].clone(), manual[1].clone()]
    );
    assert_eq!(
        ids_of_kind(&home, "safety"),
        newest_safety,
        "a manual backup's retention removed safety backups"
    );
    home.assert_no_leftovers();
}

#[test]
fn prune_dry_run_lists_what_would_go_and_why_and_removes_nothing() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 0);
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(id_of(&home.backup(&db)).to_string());
    }
    home.config_set("retention.keep_local", "2");
    let files_before = file_names(&home.backups());
    let sums_before = read_bytes(&home.backups().join("SHA256SUMS"));

    let plan = home.run(&["prune", "--dry-run", "--json"]).ok().json();
    assert_eq!(plan["dry_run"], true, "{plan}");
    let remove = plan["remove"].as_array().expect("remove is an array");
    let keep = plan["keep"].as_array().expect("keep is an array");
    let mut expected_remove: Vec<String> = made[..3].to_vec();
    expected_remove.sort();
    let mut would_remove = ids_of(remove);
    would_remove.sort();
    assert_eq!(would_remove, expected_remove, "{plan}");
    let mut would_keep = ids_of(keep);
    would_keep.sort();
    let mut expected_keep = made[3..].to_vec();
    expected_keep.sort();
    assert_eq!(would_keep, expected_keep, "{plan}");
    for entry in remove.iter().chain(keep) {
        let reason = entry["reason"].as_str().unwrap_or_default();
        assert!(!reason.trim().is_empty(), "every entry says why: {entry}");
        assert!(entry["sha256"].is_string(), "entries are backups: {entry}");
    }

    // Nothing was removed.
    assert_eq!(file_names(&home.backups()), files_before);
    assert!(read_bytes(&home.backups().join("SHA256SUMS")) == sums_before);
    assert_eq!(home.ids().len(), 5);

    // The real prune does what the dry run said.
    let done = home.run(&["prune", "--json"]).ok().json();
    assert_eq!(done["dry_run"], false, "{done}");
    let mut removed = ids_of(done["remove"].as_array().unwrap());
    removed.sort();
    assert_eq!(removed, expected_remove);
    assert_eq!(
        home.ids(),
        made[3..].iter().rev().cloned().collect::<Vec<_>>()
    );
    for id in &made[..3] {
        assert_gone(&home, id);
    }
    home.assert_no_leftovers();
}

#[test]
fn delete_refuses_the_newest_verified_backup_without_force() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 0);
    let older = id_of(&home.backup(&db)).to_string();
    let newest = id_of(&home.backup(&db)).to_string();

    let line = home.run(&["delete", &newest]).fails_with(1);
    assert!(line.contains(&newest), "the error names the backup: {line}");
    assert!(home.artifact(&newest).exists());
    assert_eq!(home.ids(), vec![newest.clone(), older.clone()]);

    home.run(&["delete", &older]).ok();
    assert_gone(&home, &older);
    assert_eq!(home.ids(), vec![newest.clone()]);

    home.run(&["delete", &newest, "--force"]).ok();
    assert_gone(&home, &newest);
    assert!(home.ids().is_empty());
    home.assert_no_leftovers();
}

#[test]
fn pruning_never_removes_the_newest_verified_backup() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 0);
    home.backup(&db);
    let newest = id_of(&home.backup(&db)).to_string();

    // keep_local 0 may be refused as a setting (exit 2); if it is accepted, pruning must still
    // keep the newest verified backup.
    let set = home.run(&["config", "set", "retention.keep_local", "0"]);
    if set.code() != Some(0) {
        set.fails_with(2);
        return;
    }
    home.run(&["prune"]).ok();
    assert_eq!(home.ids(), vec![newest]);
}

/// The newest backup rots on disk and `lifeboat verify` finds it out: from then on the newest
/// *verified* backup is the older one, and retention must not remove it, or the last good copy
/// would be lost while a damaged one is kept.
#[test]
fn pruning_keeps_the_older_good_backup_once_verify_found_the_newest_damaged() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 0);
    let older = id_of(&home.backup(&db)).to_string();
    let newest = id_of(&home.backup(&db)).to_string();

    let artifact = home.artifact(&newest);
    let mut bytes = read_bytes(&artifact);
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
    fs::write(&artifact, bytes).unwrap();
    let run = home.run(&["verify"]);
    assert_eq!(run.code(), Some(1), "verify finds the damage:\n{run}");

    home.config_set("retention.keep_local", "1");
    home.run(&["prune"]).ok();
    assert!(
        home.ids().contains(&older),
        "prune removed {older}, the newest backup that passes verification; list: {:?}",
        home.ids()
    );
    assert!(home.artifact(&older).exists());
    home.run(&["verify", &older]).ok();
    let line = home.run(&["delete", &older]).fails_with(1);
    assert!(line.contains(&older), "{line}");
}

/// restic's `forget --keep-daily`: for the last N days that have backups, the newest backup of each
/// day is kept on top of keep_local. Local time is UTC here (TZ=UTC for the binary too).
#[test]
fn keep_daily_keeps_the_newest_backup_of_each_of_the_last_days_on_top_of_keep_local() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["x"], 0);
    let today = id_of(&home.backup(&db)).to_string();
    let yesterday_morning = forge_backup(&home, &today, &utc_date("yesterday 08:00"), "manual");
    let yesterday_evening = forge_backup(&home, &today, &utc_date("yesterday 18:00"), "manual");
    let two_days_ago = forge_backup(&home, &today, &utc_date("2 days ago 12:00"), "manual");
    let three_days_ago = forge_backup(&home, &today, &utc_date("3 days ago 12:00"), "manual");
    let ten_days_ago = forge_backup(&home, &today, &utc_date("10 days ago 12:00"), "manual");
    assert_eq!(home.ids().len(), 6, "the forged backups are listed");
    home.config_set("retention.keep_local", "1");
    home.config_set("retention.keep_daily", "3");

    let mut prune = home.command(&["prune", "--dry-run", "--json"]);
    prune.env("TZ", "UTC");
    let plan = run_command(prune, COMMAND_TIMEOUT).ok().json();
    let mut keep = ids_of(plan["keep"].as_array().unwrap());
    keep.sort();
    let mut expected_keep = vec![today, yesterday_evening, two_days_ago];
    expected_keep.sort();
    assert_eq!(keep, expected_keep, "{plan}");
    let mut remove = ids_of(plan["remove"].as_array().unwrap());
    remove.sort();
    let mut expected_remove = vec![yesterday_morning, three_days_ago, ten_days_ago];
    expected_remove.sort();
    assert_eq!(remove, expected_remove, "{plan}");
}
