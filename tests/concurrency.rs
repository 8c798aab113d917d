//! Behaviour 6: two `lifeboat backup` runs at once both end well (one may wait for the other) and
//! the catalog stays intact.

mod common;

use std::collections::BTreeSet;
use std::fs;

use common::*;

#[test]
fn two_backups_at_once_both_succeed_and_the_catalog_stays_intact() {
    let home = Home::new();
    let db = home.scratch("store.db");
    create_items_db(&db, Journal::Wal, &["a", "b"], 8 * 1024);

    let runs: Vec<Run> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| home.run(&["backup", "--db", s(&db), "--json"])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ids = BTreeSet::new();
    for run in runs {
        let backup = run.ok().json();
        assert_backup_shape(&backup, "manual");
        ids.insert(id_of(&backup).to_string());
    }
    assert_eq!(ids.len(), 2, "the two backups got the same id: {ids:?}");

    let listed: BTreeSet<String> = home.ids().into_iter().collect();
    assert_eq!(listed, ids, "list shows both backups and nothing else");
    home.run(&["verify"]).ok();
    home.assert_no_leftovers();
    let check = sha256sum_check(&home.backups());
    assert!(check.status.success(), "{check}");
    let sums = fs::read_to_string(home.backups().join("SHA256SUMS")).unwrap();
    for id in &ids {
        assert!(
            sums.contains(&format!("{id}.sqlite.zst")),
            "SHA256SUMS lost {id}:\n{sums}"
        );
    }
}

#[test]
fn a_backup_during_a_restore_waits_and_both_succeed() {
    let home = Home::new();
    let db = home.scratch("store.db");
    let app = create_items_db(&db, Journal::Wal, &["kept"], 8 * 1024);
    let id = id_of(&home.backup(&db)).to_string();
    app.execute("INSERT INTO items(name) VALUES ('extra')", [])
        .unwrap();

    let (restore, backup) = std::thread::scope(|scope| {
        let restore = scope.spawn(|| home.run(&["restore", &id, "--db", s(&db), "--json"]));
        let backup = scope.spawn(|| home.run(&["backup", "--db", s(&db), "--json"]));
        (restore.join().unwrap(), backup.join().unwrap())
    });
    restore.ok();
    let backup = backup.ok().json();
    assert_eq!(items(&app), ["kept"]);
    let listed = home.ids();
    assert!(listed.contains(&id_of(&backup).to_string()));
    assert_eq!(
        listed.len(),
        3,
        "original, safety and the new backup: {listed:?}"
    );
    home.run(&["verify"]).ok();
    home.assert_no_leftovers();
}
