//! Memory stays flat while artifacts move to and from Drive: uploading and downloading an artifact
//! larger than the limit keeps the process's peak resident memory under 64 MiB (the bound
//! for a 1 GiB artifact; bench/run.sh measures that size, this test a quicker one of 96 MiB).

mod common;

use std::time::Duration;

use common::google::{World, incompressible_database};
use common::{run_command, s, support_script};
use serde_json::json;

const LIMIT_KIB: u64 = 64 * 1024;

/// Runs lifeboat with ARGS in the world and returns its output and its peak memory in KiB.
fn measured(world: &World, args: &[&str]) -> (common::Run, u64) {
    let out = world.home.scratch("peak.txt");
    let mut command = std::process::Command::new("/usr/bin/python3");
    command
        .arg(support_script("peak_rss.py"))
        .arg(&out)
        .arg(common::LIFEBOAT)
        .arg("--home")
        .arg(world.home.path())
        .args(args)
        .envs(world.environment());
    let run = run_command(command, Duration::from_secs(600));
    let peak = std::fs::read_to_string(&out)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (run, peak)
}

#[test]
fn uploading_and_downloading_a_large_artifact_keeps_memory_flat() {
    let world = World::new();
    let db = world.home.scratch("store.db");
    incompressible_database(&db, 96);
    world.home.config_set("database.path", s(&db));
    world.connect();
    // The backup's own upload is refused, so that the upload below runs in a process of its own.
    world.google.fault(
        json!({"scope": "upload", "status": 403, "reason": "dailyLimitExceeded", "times": 1}),
    );
    let backup = world.backup();
    assert_eq!(backup["location"], "local");
    assert!(backup["size"].as_u64().unwrap() > 90 * 1024 * 1024);

    let (run, upload_peak) = measured(&world, &["drive", "status", "--json"]);
    let status = run.ok().json();
    assert_eq!(status["pending_uploads"], 0, "{status}");
    assert_eq!(world.google.backups().len(), 1);
    assert!(
        upload_peak < LIMIT_KIB,
        "upload peaked at {upload_peak} KiB"
    );

    let id = backup["id"].as_str().unwrap();
    let (run, download_peak) = measured(&world, &["verify", id, "--remote", "--json"]);
    let verified = run.ok().json();
    assert_eq!(verified[0]["ok"], true, "{verified}");
    assert!(
        download_peak < LIMIT_KIB,
        "download peaked at {download_peak} KiB"
    );
    eprintln!("peak memory: upload {upload_peak} KiB, download {download_peak} KiB");
}
