//! Google Drive, end to end: the real `lifeboat` binary against a loopback fake of Google
//! (tests/support/fake_google.py), a fake browser (tests/support/xdg-open) and a real
//! gnome-keyring Secret Service on a private D-Bus session bus that each test starts and stops.
//! Every test is one of the issue's promises, in the words a person would use.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::google::{World, incompressible_database};
use common::{items_at, run_command, s};
use serde_json::{Value, json};

fn all_text_under(folder: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![folder.to_path_buf()];
    while let Some(next) = stack.pop() {
        let Ok(reader) = fs::read_dir(&next) else {
            continue;
        };
        for item in reader.flatten() {
            let path = item.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = fs::read(&path) {
                found.push((path, bytes));
            }
        }
    }
    found
}

#[test]
fn connect_asks_only_for_drive_file_with_pkce_and_state_on_a_loopback_redirect() {
    let world = World::new();
    world.connect();
    let url = fs::read_to_string(&world.browser_log).unwrap();
    let url = url::Url::parse(url.trim()).unwrap();
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["scope"], "https://www.googleapis.com/auth/drive.file");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["code_challenge"].len(), 43, "base64url of a SHA-256");
    assert!(query["state"].len() >= 32);
    assert!(query["redirect_uri"].starts_with("http://127.0.0.1:"));
    assert_eq!(
        query["client_id"],
        "lifeboat-test.apps.googleusercontent.com"
    );
    let status = world.run(&["drive", "status", "--json"]).ok().json();
    assert_eq!(status["connected"], true);
    assert_eq!(status["account"], "person@example.com");
    world.connect();
    let grants = world.google.state()["refresh_tokens"].clone();
    let live = grants
        .as_object()
        .unwrap()
        .values()
        .filter(|grant| grant["revoked"] == false)
        .count();
    assert_eq!(
        live, 1,
        "connecting again revokes the earlier grant: {grants}"
    );
    assert!(status["quota"]["total"].as_u64().unwrap() > 0);
    assert_eq!(status["pending_uploads"], 0);
}

#[test]
fn an_answer_with_another_state_is_refused_and_no_code_is_exchanged() {
    let world = World::new();
    let mut command = world.command(&["drive", "connect", "--client-secret", s(&world.secret)]);
    command.env("FAKE_BROWSER_FORGE_STATE", "1");
    let message = run_command(command, Duration::from_secs(60)).fails_with(1);
    assert!(message.contains("state"), "{message}");
    assert!(
        world.google.state()["refresh_tokens"]
            .as_object()
            .unwrap()
            .is_empty()
    );
    let status = world.run(&["drive", "status", "--json"]).ok().json();
    assert_eq!(status["connected"], false);
}

#[test]
fn consent_without_the_drive_box_ticked_is_refused_and_revoked() {
    let world = World::new();
    world.google.control("set", json!({"grant_no_scope": true}));
    let message = world
        .run(&["drive", "connect", "--client-secret", s(&world.secret)])
        .fails_with(1);
    assert!(message.contains("not granted"), "{message}");
    let grants = world.google.state()["refresh_tokens"].clone();
    assert!(
        grants
            .as_object()
            .unwrap()
            .values()
            .all(|grant| grant["revoked"] == true),
        "{grants}"
    );
}

#[test]
fn tokens_live_only_in_the_keyring_never_in_the_home_or_the_logs() {
    let world = World::new();
    world.database(&["alpha"]);
    world.connect();
    world.backup();
    world.google.control("expire_access_tokens", json!({}));
    world.run(&["list", "--remote", "--json"]).ok();
    let state = world.google.state();
    let mut tokens: Vec<String> = state["access_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|token| token.as_str().unwrap().to_string())
        .collect();
    tokens.extend(state["refresh_tokens"].as_object().unwrap().keys().cloned());
    assert!(
        tokens.len() >= 3,
        "a refresh token and two access tokens: {tokens:?}"
    );
    let mut searched = all_text_under(world.home.path());
    searched.extend(all_text_under(&world.home.scratch("")));
    assert!(
        searched
            .iter()
            .any(|(path, _)| path.ends_with("lifeboat.log"))
    );
    for (path, bytes) in &searched {
        let text = String::from_utf8_lossy(bytes);
        for token in &tokens {
            assert!(
                !text.contains(token.as_str()),
                "a token is in {}",
                path.display()
            );
        }
    }
}

#[test]
fn disconnect_revokes_at_google_and_forgets_the_grant() {
    let world = World::new();
    world.connect();
    world.run(&["drive", "disconnect"]).ok();
    let state = world.google.state();
    assert!(
        state["refresh_tokens"]
            .as_object()
            .unwrap()
            .values()
            .all(|token| token["revoked"] == true)
    );
    assert_eq!(world.google.counter("revokes"), 1);
    let status = world.run(&["drive", "status", "--json"]).ok().json();
    assert_eq!(status["connected"], false);
    let listed = world.run(&["list", "--remote"]);
    assert!(listed.fails_with(1).contains("not connected"));
}

#[test]
fn connect_without_a_reachable_keyring_fails_clearly_and_writes_no_token() {
    let world = World::new();
    let mut command = world.command(&["drive", "connect", "--client-secret", s(&world.secret)]);
    command.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let run = run_command(command, Duration::from_secs(60));
    let message = run.fails_with(1);
    assert!(message.contains("keyring"), "{message}");
    assert!(
        !world.browser_log.exists(),
        "the browser must not open when the grant has nowhere to go"
    );
    assert!(
        world.google.state()["refresh_tokens"]
            .as_object()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_backup_made_while_the_keyring_is_away_is_uploaded_by_the_next_status() {
    let world = World::new();
    world.database(&["alpha"]);
    world.connect();
    let mut command = world.command(&["backup", "--json"]);
    command.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let run = run_command(command, Duration::from_secs(60)).ok();
    assert_eq!(run.json()["location"], "local");
    assert!(run.stderr.contains("keyring"), "{}", run.stderr);
    let status = world.run(&["drive", "status", "--json"]).ok().json();
    assert_eq!(status["pending_uploads"], 0, "{status}");
    assert_eq!(status["uploaded"].as_array().unwrap().len(), 1);
    assert_eq!(world.google.backups().len(), 1);
}

#[test]
fn small_backup_goes_in_one_multipart_request_into_its_folder_and_lists_from_drive() {
    let world = World::new();
    world.database(&["alpha", "beta"]);
    world.connect();
    let backup = world.backup();
    assert_eq!(backup["location"], "both");
    let file_id = backup["drive_file_id"].as_str().unwrap();
    let files = world.google.files();
    let folder = |name: &str| {
        files
            .iter()
            .find(|file| {
                file["name"] == name && file["mimeType"] == "application/vnd.google-apps.folder"
            })
            .unwrap_or_else(|| panic!("no folder {name}"))
            .clone()
    };
    let root = folder("Lifeboat Backups");
    let sub = folder("store.db");
    assert_eq!(sub["parents"][0], root["id"]);
    let uploaded = files.iter().find(|file| file["id"] == file_id).unwrap();
    assert_eq!(uploaded["parents"][0], sub["id"]);
    assert_eq!(uploaded["appProperties"]["id"], backup["id"]);
    assert_eq!(uploaded["appProperties"]["sha256"], backup["sha256"]);
    assert_eq!(world.google.counter("multipart"), 1);
    assert_eq!(world.google.counter("resumable_sessions"), 0);
    let listed = world.run(&["list", "--remote", "--json"]).ok().json();
    assert_eq!(listed[0]["id"], backup["id"]);
    assert_eq!(listed[0]["location"], "drive");
    assert_eq!(listed[0]["sha256"], backup["sha256"]);
}

#[test]
fn large_backup_is_resumed_from_the_servers_range_after_a_dropped_chunk_and_a_5xx() {
    let world = World::new();
    let db = world.home.scratch("store.db");
    incompressible_database(&db, 7);
    world.home.config_set("database.path", s(&db));
    world.home.config_set("drive.chunk_kib", "1024");
    world.connect();
    world
        .google
        .fault(json!({"scope": "chunk", "drop": true, "times": 1}));
    world
        .google
        .fault(json!({"scope": "chunk", "status": 503, "times": 1}));
    let backup = world.backup();
    assert_eq!(backup["location"], "both", "{backup}");
    let size = backup["size"].as_u64().unwrap();
    assert!(
        size > 5_000_000,
        "the artifact must be past the resumable threshold: {size}"
    );
    let chunks = size.div_ceil(1024 * 1024);
    assert_eq!(
        world.google.counter("resumable_sessions"),
        1,
        "one session, never restarted"
    );
    assert!(
        world.google.counter("status_queries") >= 2,
        "asked the session what arrived"
    );
    assert!(
        world.google.counter("chunks") <= chunks + 2,
        "resumed, not started over"
    );
    let uploaded = world.google.backups();
    assert_eq!(uploaded.len(), 1);
    assert_eq!(uploaded[0]["sha256Checksum"], backup["sha256"]);
    assert_eq!(uploaded[0]["size"], size.to_string());
}

#[test]
fn an_upload_whose_answer_was_lost_is_found_on_drive_not_sent_again() {
    let world = World::new();
    world.database(&["alpha"]);
    world.connect();
    world
        .google
        .fault(json!({"scope": "lost_answer", "times": 1}));
    let backup = world.backup();
    assert_eq!(backup["location"], "both", "{backup}");
    assert_eq!(world.google.backups().len(), 1);
    assert_eq!(world.google.counter("uploads_completed"), 1, "sent once");
    assert_eq!(
        world.google.state()["faults"],
        json!([]),
        "the answer was lost"
    );
}

#[test]
fn an_upload_given_up_half_way_continues_its_session_in_the_next_run() {
    let world = World::new();
    let db = world.home.scratch("store.db");
    incompressible_database(&db, 7);
    world.home.config_set("database.path", s(&db));
    world.home.config_set("drive.chunk_kib", "1024");
    world.connect();
    // Two chunks arrive, then the third is refused until Lifeboat gives up.
    world
        .google
        .fault(json!({"scope": "chunk", "status": 503, "keep": false, "skip": 2, "times": 100}));
    let backup = world.backup();
    assert_eq!(backup["location"], "local", "{backup}");
    assert!(
        backup["drive_error"].as_str().unwrap().contains("tries"),
        "{backup}"
    );
    assert!(world.home.path().join("state/drive-sessions.json").exists());
    world.google.control("clear_faults", json!({}));
    let chunks_before = world.google.counter("chunks");
    let status = world.run(&["drive", "status", "--json"]).ok().json();
    assert_eq!(status["pending_uploads"], 0, "{status}");
    assert_eq!(
        world.google.counter("resumable_sessions"),
        1,
        "the same session went on"
    );
    let size = backup["size"].as_u64().unwrap();
    let sent_after = world.google.counter("chunks") - chunks_before;
    assert_eq!(
        sent_after,
        size.div_ceil(1024 * 1024) - 2,
        "the two chunks that arrived were not sent again"
    );
    let uploaded = world.google.backups();
    assert_eq!(uploaded[0]["sha256Checksum"], backup["sha256"]);
}

#[test]
fn rate_limits_and_server_errors_are_retried_honouring_retry_after() {
    let world = World::new();
    world.database(&["alpha"]);
    world.connect();
    world.google.fault(json!({"scope": "upload", "status": 429, "reason": "rateLimitExceeded", "retry_after": 1, "times": 1}));
    world.google.fault(
        json!({"scope": "upload", "status": 403, "reason": "userRateLimitExceeded", "times": 1}),
    );
    world
        .google
        .fault(json!({"scope": "api", "status": 503, "times": 2}));
    let started = Instant::now();
    let backup = world.backup();
    assert_eq!(backup["location"], "both");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    assert_eq!(world.google.backups().len(), 1, "uploaded once");
}

#[test]
fn endless_server_errors_give_up_after_a_bounded_number_of_tries_and_queue_the_upload() {
    let world = World::new();
    world.database(&["alpha"]);
    world.connect();
    world
        .google
        .fault(json!({"scope": "upload", "status": 503, "times": 100}));
    let run = world.run(&["backup", "--json"]).ok();
    let backup = run.json();
    assert_eq!(backup["location"], "local");
    assert!(
        backup["drive_error"].as_str().unwrap().contains("tries"),
        "{backup}"
    );
    let left = world.google.state()["faults"][0]["times"].as_u64().unwrap();
    assert!(left >= 90, "bounded: {} tries", 100 - left);
    world.google.control("clear_faults", json!({}));
    let status = world.run(&["drive", "status", "--json"]).ok().json();
    assert_eq!(status["pending_uploads"], 0, "{status}");
    assert_eq!(world.google.backups().len(), 1);
}

#[test]
fn a_full_drive_is_reported_at_once_nothing_is_uploaded_and_the_next_status_uploads_it_once() {
    let world = World::new();
    world.database(&["alpha"]);
    world.connect();
    world.google.control("set", json!({"quota_limit": 2000}));
    let run = world.run(&["backup", "--json"]).ok();
    let backup = run.json();
    assert_eq!(backup["location"], "local");
    assert!(
        run.stderr.contains("Google Drive is full"),
        "{}",
        run.stderr
    );
    assert_eq!(world.google.counter("multipart"), 0, "nothing was sent");
    assert!(
        world.home.artifact(backup["id"].as_str().unwrap()).exists(),
        "the local backup stands"
    );
    let health = world.run(&["health", "--json"]).ok().json();
    assert_eq!(health["drive"]["pending_uploads"], 1);
    assert_eq!(
        health["status"], "warning",
        "a failed upload is not a failed backup: {health}"
    );
    assert_eq!(health["last_run"]["operation"], "upload");
    world
        .google
        .control("set", json!({"quota_limit": 15_000_000_000u64}));
    let status = world.run(&["drive", "status", "--json"]).ok().json();
    assert_eq!(status["pending_uploads"], 0);
    world.run(&["drive", "status", "--json"]).ok();
    world.backup();
    assert_eq!(world.google.backups().len(), 2);
    assert_eq!(
        world.google.counter("uploads_completed"),
        2,
        "nothing uploaded twice"
    );
}

#[test]
fn storage_quota_and_daily_limit_errors_are_not_retried() {
    let world = World::new();
    world.database(&["alpha"]);
    world.connect();
    for (reason, words) in [
        ("storageQuotaExceeded", "storage is full"),
        ("dailyLimitExceeded", "daily upload limit"),
    ] {
        world
            .google
            .fault(json!({"scope": "upload", "status": 403, "reason": reason, "times": 5}));
        let run = world.run(&["backup", "--json"]).ok();
        assert!(run.stderr.contains(words), "{reason}: {}", run.stderr);
        assert!(run.stderr.contains(reason), "{}", run.stderr);
        let left = world.google.state()["faults"][0]["times"].as_u64().unwrap();
        assert_eq!(left, 4, "{reason} was tried once");
        world.google.control("clear_faults", json!({}));
    }
}

#[test]
fn an_expired_access_token_is_refreshed_and_the_call_retried() {
    let world = World::new();
    world.database(&["alpha"]);
    world.connect();
    world.google.control("expire_access_tokens", json!({}));
    let backup = world.backup();
    assert_eq!(backup["location"], "both");
    assert!(world.google.counter("refreshes") >= 1);
}

#[test]
fn a_busy_token_endpoint_is_retried_when_refreshing() {
    let world = World::new();
    world.database(&["alpha"]);
    world.connect();
    world.google.control("expire_access_tokens", json!({}));
    world
        .google
        .fault(json!({"scope": "token", "status": 503, "times": 2}));
    assert_eq!(world.backup()["location"], "both");
    assert_eq!(world.google.state()["faults"], json!([]));
}

#[test]
fn a_revoked_grant_makes_health_an_error_and_the_backup_still_stands() {
    let world = World::new();
    world.database(&["alpha"]);
    world.connect();
    world.google.control("revoke_refresh_tokens", json!({}));
    world.google.control("expire_access_tokens", json!({}));
    let run = world.run(&["backup", "--json"]).ok();
    let backup = run.json();
    assert_eq!(backup["location"], "local");
    assert!(world.home.artifact(backup["id"].as_str().unwrap()).exists());
    let health = world.run(&["health", "--json"]).ok().json();
    assert_eq!(health["status"], "error");
    let issues = health["issues"].to_string();
    assert!(
        issues.contains("Google Drive access was revoked or expired: reconnect"),
        "{issues}"
    );
    world.connect();
    let status = world.run(&["drive", "status", "--json"]).ok().json();
    assert_eq!(
        status["pending_uploads"], 0,
        "the queued upload went after reconnecting"
    );
    let health = world.run(&["health", "--json"]).ok().json();
    assert!(!health["issues"].to_string().contains("revoked"));
}

#[test]
fn a_checksum_mismatch_on_drive_deletes_the_remote_copy_and_reports_it() {
    let world = World::new();
    world.database(&["alpha"]);
    world.connect();
    world
        .google
        .control("set", json!({"corrupt_checksum": true}));
    let backup = world.backup();
    assert_eq!(backup["location"], "local");
    assert!(
        backup["drive_error"]
            .as_str()
            .unwrap()
            .contains("does not match"),
        "{backup}"
    );
    assert!(
        world.google.backups().is_empty(),
        "the bad copy was deleted"
    );
}

#[test]
fn md5_is_checked_when_drive_gives_no_sha256() {
    let world = World::new();
    world.database(&["alpha"]);
    world.connect();
    world.google.control("set", json!({"omit_sha256": true}));
    assert_eq!(world.backup()["location"], "both");
}

#[test]
fn verify_remote_downloads_and_checks_a_copy_touching_nothing_live() {
    let world = World::new();
    let db = world.database(&["alpha"]);
    world.connect();
    let backup = world.backup();
    let id = backup["id"].as_str().unwrap();
    let before = fs::read(&db).unwrap();
    let verified = world.run(&["verify", id, "--remote", "--json"]).ok().json();
    assert_eq!(verified[0]["ok"], true, "{verified}");
    assert_eq!(fs::read(&db).unwrap(), before);
    world
        .google
        .fault(json!({"scope": "media_drop", "times": 1}));
    let verified = world.run(&["verify", id, "--remote", "--json"]).ok().json();
    assert_eq!(
        verified[0]["ok"], true,
        "a dropped download resumes: {verified}"
    );
}

#[test]
fn a_drive_copy_that_fails_its_check_makes_health_an_error_until_a_good_check() {
    let world = World::new();
    world.database(&["alpha"]);
    world.connect();
    let backup = world.backup();
    let id = backup["id"].as_str().unwrap().to_string();
    world.google.control("damage", json!({ "name": id }));

    let run = world.run(&["verify", &id, "--remote", "--json"]);
    let line = run.fails_with(1);
    assert!(line.contains(&id), "{line}");
    let health = world.run(&["health", "--json"]).ok().json();
    assert_eq!(health["status"], "error", "{health}");
    let issues = health["issues"].to_string();
    assert!(
        issues.contains("Google Drive copy of backup") && issues.contains(&id),
        "{health}"
    );

    // A new backup goes to Drive whole, and its good check clears the error.
    let fresh = world.backup();
    let fresh_id = fresh["id"].as_str().unwrap();
    world.run(&["verify", fresh_id, "--remote", "--json"]).ok();
    let health = world.run(&["health", "--json"]).ok().json();
    assert_eq!(health["status"], "healthy", "{health}");
}

#[test]
fn disaster_recovery_on_a_new_home_lists_and_restores_from_drive() {
    let world = World::new();
    world.database(&["alpha", "beta"]);
    world.connect();
    let backup = world.backup();
    let id = backup["id"].as_str().unwrap().to_string();
    // A new machine: a new home and keyring, the same Google account.
    let fresh = World::with_google(world.google.clone());
    fresh.connect();
    let listed = fresh.run(&["list", "--remote", "--json"]).ok().json();
    assert_eq!(listed[0]["id"], id.as_str());
    let target = fresh.home.scratch("restored.db");
    fresh
        .run(&[
            "restore",
            &id,
            "--from",
            "drive",
            "--db",
            s(&target),
            "--json",
        ])
        .ok();
    assert_eq!(items_at(&target), ["alpha", "beta"]);
    world
        .google
        .fault(json!({"scope": "media_drop", "times": 1}));
    let again = fresh.home.scratch("again.db");
    fresh.run(&["restore", &id, "--db", s(&again)]).ok();
    assert_eq!(items_at(&again), ["alpha", "beta"]);
}

#[test]
fn keep_drive_keeps_the_newest_backups_on_drive_and_delete_remote_removes_one() {
    let world = World::new();
    world.database(&["alpha"]);
    world.home.config_set("retention.keep_drive", "2");
    world.connect();
    let ids: Vec<String> = (0..3)
        .map(|_| world.backup()["id"].as_str().unwrap().to_string())
        .collect();
    let mut on_drive: Vec<String> = world
        .google
        .backups()
        .iter()
        .map(|file| file["appProperties"]["id"].as_str().unwrap().to_string())
        .collect();
    on_drive.sort();
    assert_eq!(on_drive, ids[1..]);
    world.run(&["delete", &ids[1], "--remote"]).ok();
    let left: Vec<Value> = world.google.backups();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["appProperties"]["id"], ids[2].as_str());
    assert!(!world.home.artifact(&ids[1]).exists());
}

#[test]
fn safety_backups_stay_local_unless_upload_safety_is_set() {
    let world = World::new();
    world.database(&["alpha"]);
    world.connect();
    let first = world.backup();
    let id = first["id"].as_str().unwrap();
    let restored = world.run(&["restore", id, "--json"]).ok().json();
    assert!(restored["safety_backup"].is_object());
    world.run(&["drive", "status"]).ok();
    let kinds = |world: &World| {
        let mut kinds: Vec<String> = world
            .google
            .backups()
            .iter()
            .map(|file| file["appProperties"]["kind"].as_str().unwrap().to_string())
            .collect();
        kinds.sort();
        kinds
    };
    assert_eq!(kinds(&world), ["manual"]);
    world.home.config_set("drive.upload_safety", "true");
    world.run(&["restore", id, "--json"]).ok();
    let status = world.run(&["drive", "status", "--json"]).ok().json();
    assert_eq!(status["uploaded"].as_array().unwrap().len(), 1, "{status}");
    assert_eq!(kinds(&world), ["manual", "safety"]);
}

#[test]
fn a_client_secret_that_is_not_a_desktop_app_is_a_usage_error() {
    let world = World::new();
    let web = world.home.scratch("web.json");
    fs::write(&web, r#"{"web": {"client_id": "x", "client_secret": "y"}}"#).unwrap();
    let message = world
        .run(&["drive", "connect", "--client-secret", s(&web)])
        .fails_with(2);
    assert!(message.contains("Desktop app"), "{message}");
    let message = world.run(&["drive", "connect"]).fails_with(2);
    assert!(message.contains("--client-secret"), "{message}");
}

#[test]
fn plain_http_to_a_non_loopback_google_is_refused() {
    let world = World::new();
    let mut command = world.command(&["drive", "connect", "--client-secret", s(&world.secret)]);
    command.env("LIFEBOAT_GOOGLE_TOKEN_URL", "http://192.0.2.1/token");
    let message = run_command(command, Duration::from_secs(60)).fails_with(2);
    assert!(message.contains("https"), "{message}");
}
