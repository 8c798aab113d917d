//! One conformance suite for every remote: the local folder and Google Drive (against the loopback
//! fake) must list, put, get, delete and report quota alike, so the engine can treat them alike.

mod common;

use std::path::Path;

use common::google::World;
use lifeboat::catalog::{Catalog, Entry};
use lifeboat::home::Home as LifeboatHome;
use lifeboat::remote::folder::FolderRemote;
use lifeboat::remote::{Remote, RemoteError};

fn quiet(_done: u64, _total: u64) {}

/// What every remote must do, shown with two local backups (newest first).
fn conformance(remote: &dyn Remote, entries: &[Entry], scratch: &Path) {
    let name = remote.name();
    assert!(remote.list().unwrap().is_empty(), "{name}: starts empty");

    let older = remote.put(&entries[1], &quiet).unwrap();
    let same = |a: &lifeboat::manifest::Manifest, b: &lifeboat::manifest::Manifest| {
        (
            &a.id,
            a.created_at,
            a.kind,
            a.size,
            &a.sha256,
            a.db_size,
            &a.db_sha256,
        ) == (
            &b.id,
            b.created_at,
            b.kind,
            b.size,
            &b.sha256,
            b.db_size,
            &b.db_sha256,
        )
    };
    assert!(
        same(&older.manifest, &entries[1].manifest),
        "{name}: the manifest travels"
    );
    let again = remote.put(&entries[1], &quiet).unwrap();
    assert_eq!(
        again.remote_id, older.remote_id,
        "{name}: a backup is never stored twice"
    );
    let seen = std::cell::RefCell::new(Vec::new());
    let record = |done: u64, total: u64| seen.borrow_mut().push((done, total));
    remote.put(&entries[0], &record).unwrap();
    let seen = seen.into_inner();
    let size = entries[0].manifest.size;
    assert_eq!(
        seen.last(),
        Some(&(size, size)),
        "{name}: progress reaches the end"
    );
    assert!(
        seen.windows(2).all(|pair| pair[0].0 <= pair[1].0),
        "{name}: progress only grows"
    );

    let listed = remote.list().unwrap();
    let ids: Vec<&str> = listed
        .iter()
        .map(|entry| entry.manifest.id.as_str())
        .collect();
    let expected: Vec<&str> = entries
        .iter()
        .map(|entry| entry.manifest.id.as_str())
        .collect();
    assert_eq!(ids, expected, "{name}: newest first");

    let copy = scratch.join(format!("{}.copy", listed[0].manifest.id));
    remote.get(&listed[0], &copy, &quiet).unwrap();
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(&entries[0].artifact_path).unwrap(),
        "{name}: get returns the bytes that were put"
    );
    assert!(
        remote.get(&listed[0], &copy, &quiet).is_err(),
        "{name}: get never overwrites a file"
    );

    let mut tampered = listed[0].clone();
    tampered.manifest.sha256 = "0".repeat(64);
    let checked = remote.get(&tampered, &scratch.join("tampered"), &quiet);
    assert!(
        matches!(checked, Err(RemoteError::Corrupt { .. })),
        "{name}: get checks the SHA-256: {checked:?}"
    );

    let quota = remote.quota().unwrap();
    assert!(
        quota.total.is_none_or(|total| total >= quota.used),
        "{name}: {quota:?}"
    );

    for entry in &listed {
        remote.delete(entry).unwrap();
    }
    assert!(remote.list().unwrap().is_empty(), "{name}: delete removes");
}

#[test]
fn the_folder_remote_and_google_drive_pass_the_same_suite() {
    let world = World::new();
    world.database(&["alpha"]);
    world.backup();
    world.backup();
    world.connect();
    // This binary has this one test, so nothing else reads the environment while it changes.
    for (key, value) in world.environment() {
        unsafe { std::env::set_var(key, value) };
    }
    let entries = Catalog::new(world.home.backups()).list().unwrap();
    assert_eq!(entries.len(), 2);

    let scratch = tempfile::tempdir().unwrap();
    let folder = FolderRemote::new(scratch.path().join("remote"));
    conformance(&folder, &entries, &fresh_folder(scratch.path(), "folder"));

    let engine = lifeboat::Engine::open(LifeboatHome::at(world.home.path())).unwrap();
    let drive = engine.open_drive().unwrap();
    conformance(&drive, &entries, &fresh_folder(scratch.path(), "drive"));
}

fn fresh_folder(parent: &Path, name: &str) -> std::path::PathBuf {
    let folder = parent.join(name);
    std::fs::create_dir(&folder).unwrap();
    folder
}
