//! Behaviour 5: the backups folder describes itself. Copied to an empty home on another machine,
//! `list` shows the same backups and `restore ID --db NEW_PATH` creates a working database.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use serde_json::Value;

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn a_backups_folder_copied_to_a_new_home_is_listed_and_restored_as_it_is() {
    let old_machine = Home::new();
    let db = old_machine.scratch("store.db");
    let app = create_items_db(&db, Journal::Wal, &["first"], 64);
    old_machine.backup(&db);
    app.execute("INSERT INTO items(name) VALUES ('second')", [])
        .unwrap();
    let content = dump(&app);
    let newest = id_of(&old_machine.backup(&db)).to_string();
    drop(app);
    let listed_there = old_machine.list();

    // The new machine has nothing but the copied folder; the old database is gone.
    let new_machine = Home::new();
    copy_dir(&old_machine.backups(), &new_machine.backups());
    remove_db(&db);

    let listed_here = new_machine.list();
    let summary = |list: &[Value]| -> Vec<(Value, Value, Value, Value)> {
        list.iter()
            .map(|b| {
                (
                    b["id"].clone(),
                    b["kind"].clone(),
                    b["sha256"].clone(),
                    b["created_at"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(
        summary(&listed_here),
        summary(&listed_there),
        "the copied folder lists differently"
    );
    new_machine.run(&["verify"]).ok();

    let restored = new_machine.scratch("restored.db");
    let out = new_machine
        .run(&["restore", &newest, "--db", s(&restored), "--json"])
        .ok()
        .json();
    assert_eq!(out["restored"]["id"], newest.as_str());
    assert_eq!(out["safety_backup"], Value::Null);
    let conn = open(&restored);
    assert_eq!(integrity(&conn), "ok");
    assert_eq!(dump(&conn), content);
    conn.execute("INSERT INTO items(name) VALUES ('third')", [])
        .unwrap();

    // The new machine carries on: backups of the restored database join the copied ones.
    drop(conn);
    let next = id_of(&new_machine.backup(&restored)).to_string();
    let ids = new_machine.ids();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[0], next, "list is newest first");
    assert!(sha256sum_check(&new_machine.backups()).status.success());
}

#[test]
fn a_backups_folder_elsewhere_is_used_through_backups_folder() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Rollback, &["moved"], 0);
    let elsewhere = home.scratch("usb-stick/lifeboat");
    home.config_set("backups.folder", s(&elsewhere));
    let id = id_of(&home.backup(&db)).to_string();
    assert!(elsewhere.join(format!("{id}.sqlite.zst")).is_file());
    assert!(elsewhere.join(format!("{id}.manifest.json")).is_file());
    assert!(elsewhere.join("SHA256SUMS").is_file());
    assert!(
        !home.backups().join(format!("{id}.sqlite.zst")).exists(),
        "the backup went to the default folder instead of backups.folder"
    );
    assert_eq!(home.ids(), vec![id]);
}
