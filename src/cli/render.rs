//! How the command line shows the engine's results: text for a person, or the JSON documents that
//! README.md specifies for scripts.

use std::path::Path;

use anyhow::Result;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};
use lifeboat::catalog::Entry;
use lifeboat::engine::{Health, Pruned, Restored, Verification};
use lifeboat::health::{Status, human_bytes};
use lifeboat::schedule::Schedule;
use serde::Serialize;
use serde_json::{Value, json};

/// A backup as scripts see it.
#[derive(Serialize)]
struct BackupJson<'a> {
    id: &'a str,
    created_at: Timestamp,
    kind: &'a str,
    size: u64,
    db_size: u64,
    sha256: &'a str,
    location: &'a str,
}

fn backup_json(entry: &Entry) -> Value {
    backup_json_at(entry, "local")
}

/// A backup, with where it is: "local", "drive" or "both".
pub fn backup_json_at(entry: &Entry, location: &str) -> Value {
    let manifest = &entry.manifest;
    serde_json::to_value(BackupJson {
        id: &manifest.id,
        created_at: manifest.created_at,
        kind: manifest.kind.name(),
        size: manifest.size,
        db_size: manifest.db_size,
        sha256: &manifest.sha256,
        location,
    })
    .unwrap_or(Value::Null)
}

fn with(mut object: Value, extra: &[(&str, Value)]) -> Value {
    if let Value::Object(map) = &mut object {
        for (key, value) in extra {
            map.insert((*key).to_string(), value.clone());
        }
    }
    object
}

fn print_json(value: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn local(time: Timestamp) -> String {
    time.to_zoned_datetime(TimeZone::system())
        .strftime("%a %d %b %Y %H:%M")
        .to_string()
}

fn zoned(time: &ZonedDateTime) -> String {
    time.strftime("%a %d %b %Y %H:%M %Z").to_string()
}

pub fn backup(entry: &Entry, as_json: bool) -> Result<()> {
    if as_json {
        return print_json(&backup_json(entry));
    }
    let manifest = &entry.manifest;
    println!(
        "Backed up {} as {} ({} compressed from {}), verified.",
        manifest.source_path,
        manifest.id,
        human_bytes(manifest.size),
        human_bytes(manifest.db_size)
    );
    Ok(())
}

pub fn list(entries: &[Entry], as_json: bool) -> Result<()> {
    list_at(entries, "local", as_json)
}

pub fn list_at(entries: &[Entry], location: &str, as_json: bool) -> Result<()> {
    if as_json {
        return print_json(&Value::Array(
            entries
                .iter()
                .map(|entry| backup_json_at(entry, location))
                .collect(),
        ));
    }
    if entries.is_empty() {
        println!("No backups yet.");
        return Ok(());
    }
    println!(
        "{:<34} {:<22} {:<9} {:>10} {:>10}  WHERE",
        "ID", "CREATED", "KIND", "SIZE", "DATABASE"
    );
    for entry in entries {
        let manifest = &entry.manifest;
        println!(
            "{:<34} {:<22} {:<9} {:>10} {:>10}  {location}",
            manifest.id,
            local(manifest.created_at),
            manifest.kind.name(),
            human_bytes(manifest.size),
            human_bytes(manifest.db_size)
        );
    }
    Ok(())
}

pub fn verification(results: &[Verification], as_json: bool) -> Result<()> {
    if as_json {
        let array = results
            .iter()
            .map(|result| {
                let base = match &result.entry {
                    Some(entry) => backup_json(entry),
                    None => json!({ "id": result.id }),
                };
                with(
                    base,
                    &[
                        ("ok", Value::Bool(result.problem.is_none())),
                        (
                            "problem",
                            result.problem.clone().map_or(Value::Null, Value::String),
                        ),
                    ],
                )
            })
            .collect();
        return print_json(&Value::Array(array));
    }
    if results.is_empty() {
        println!("No backups to verify.");
    }
    for result in results {
        match &result.problem {
            None => println!("ok      {}", result.id),
            Some(problem) => println!("FAILED  {}: {problem}", result.id),
        }
    }
    Ok(())
}

pub fn restored(restored: &Restored, target: &Path, as_json: bool) -> Result<()> {
    if as_json {
        return print_json(&json!({
            "restored": backup_json(&restored.restored),
            "safety_backup": restored.safety_backup.as_ref().map_or(Value::Null, backup_json),
            "set_aside": restored.set_aside.as_ref().map(|path| path.display().to_string()),
        }));
    }
    println!(
        "Restored backup {} into {}.",
        restored.restored.manifest.id,
        target.display()
    );
    if let Some(safety) = &restored.safety_backup {
        println!(
            "The previous state is kept as safety backup {}; `lifeboat restore {}` brings it back.",
            safety.manifest.id, safety.manifest.id
        );
    }
    if let Some(aside) = &restored.set_aside {
        println!(
            "The damaged file that was there is kept as {}.",
            aside.display()
        );
    }
    Ok(())
}

pub fn prune(plan: &[Pruned], dry_run: bool, as_json: bool) -> Result<()> {
    let item = |pruned: &Pruned| {
        with(
            backup_json(&pruned.entry),
            &[("reason", Value::String(pruned.decision.reason.clone()))],
        )
    };
    if as_json {
        return print_json(&json!({
            "dry_run": dry_run,
            "remove": plan.iter().filter(|p| !p.decision.keep).map(item).collect::<Vec<_>>(),
            "keep": plan.iter().filter(|p| p.decision.keep).map(item).collect::<Vec<_>>(),
        }));
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    for pruned in plan {
        let action = if pruned.decision.keep { "keep" } else { verb };
        println!(
            "{action:<13} {}  ({})",
            pruned.entry.manifest.id, pruned.decision.reason
        );
    }
    let removed = plan.iter().filter(|p| !p.decision.keep).count();
    println!(
        "{} backup(s) {verb}, {} kept.",
        removed,
        plan.len() - removed
    );
    Ok(())
}

pub fn health(health: &Health, as_json: bool) -> Result<()> {
    let status = match health.assessment.status {
        Status::Healthy => "healthy",
        Status::Warning => "warning",
        Status::Error => "error",
    };
    if as_json {
        let database = match &health.database {
            lifeboat::health::DatabaseState::NotConfigured => Value::Null,
            lifeboat::health::DatabaseState::Missing(path) => {
                json!({"path": path, "exists": false, "size": Value::Null})
            }
            lifeboat::health::DatabaseState::Present { path, size } => {
                json!({"path": path, "exists": true, "size": size})
            }
        };
        return print_json(&json!({
            "status": status,
            "issues": health.assessment.issues,
            "last_backup": health.last_backup.as_ref().map_or(Value::Null, backup_json),
            "next_scheduled": health.next_scheduled.as_ref().map(|next| next.timestamp().to_string()),
            "total_backups": health.total_backups,
            "total_size": health.total_size,
            "last_run": health.last_run,
            "success_rate": health.success_rate,
            "database": database,
            "drive": health.drive.as_ref().map_or(Value::Null, |drive| json!({
                "connected": true,
                "account": drive.account,
                "access_revoked": drive.access_revoked,
                "pending_uploads": drive.pending.len(),
            })),
        }));
    }
    println!("Status: {status}");
    for issue in &health.assessment.issues {
        println!("  - {issue}");
    }
    match &health.last_backup {
        Some(entry) => println!(
            "Last verified backup: {} ({})",
            local(entry.manifest.created_at),
            entry.manifest.id
        ),
        None => println!("Last verified backup: none"),
    }
    match &health.next_scheduled {
        Some(next) => println!("Next scheduled backup: {}", zoned(next)),
        None => println!("Next scheduled backup: none (the schedule is off)"),
    }
    println!(
        "Backups: {} using {}",
        health.total_backups,
        human_bytes(health.total_size)
    );
    if let Some(rate) = health.success_rate {
        println!("Backup success rate (last 30 runs): {:.0}%", rate * 100.0);
    }
    if let Some(drive) = &health.drive {
        println!(
            "Google Drive: {} ({} upload(s) pending)",
            drive.account,
            drive.pending.len()
        );
    }
    Ok(())
}

/// A backup just made, and what happened to its upload.
pub fn backup_uploaded(
    entry: &Entry,
    drive_file_id: Option<&str>,
    drive_problem: Option<&str>,
    as_json: bool,
) -> Result<()> {
    if as_json {
        let location = if drive_file_id.is_some() {
            "both"
        } else {
            "local"
        };
        return print_json(&with(
            backup_json_at(entry, location),
            &[
                (
                    "drive_file_id",
                    drive_file_id.map_or(Value::Null, |id| Value::String(id.into())),
                ),
                (
                    "drive_error",
                    drive_problem.map_or(Value::Null, |text| Value::String(text.into())),
                ),
            ],
        ));
    }
    backup(entry, false)?;
    match (drive_file_id, drive_problem) {
        (Some(_), _) => println!("Uploaded to Google Drive and checked there."),
        (None, Some(problem)) => println!("Not uploaded to Google Drive yet (queued): {problem}"),
        (None, None) => {}
    }
    Ok(())
}

pub fn drive_status(status: Option<&lifeboat::offsite::DriveStatus>, as_json: bool) -> Result<()> {
    let Some(status) = status else {
        if as_json {
            return print_json(&json!({"connected": false, "account": null, "quota": null,
                "folder": null, "pending_uploads": 0}));
        }
        println!("Google Drive is not connected; `lifeboat drive connect` connects it.");
        return Ok(());
    };
    if as_json {
        return print_json(&json!({
            "connected": true,
            "account": status.account,
            "quota": status.quota.map(|quota| json!({
                "used": quota.used, "total": quota.total, "available": quota.available(),
            })),
            "folder": status.folder,
            "pending_uploads": status.pending.len(),
            "uploaded": status.uploaded.iter().map(|entry| entry.manifest.id.clone()).collect::<Vec<_>>(),
            "problem": status.problem,
        }));
    }
    println!("Connected to Google Drive as {}.", status.account);
    if let Some(quota) = status.quota {
        match quota.total {
            Some(total) => println!(
                "Storage: {} used of {}.",
                human_bytes(quota.used),
                human_bytes(total)
            ),
            None => println!("Storage: {} used, no limit.", human_bytes(quota.used)),
        }
    }
    println!("Folder: {}", status.folder);
    println!("Uploads pending: {}", status.pending.len());
    if let Some(problem) = &status.problem {
        println!("Problem: {problem}");
    }
    Ok(())
}

pub fn schedule(schedule: &Schedule, as_json: bool) -> Result<()> {
    let next = schedule.next_run(&ZonedDateTime::now());
    if as_json {
        return print_json(&json!({
            "enabled": schedule.enabled,
            "frequency": schedule.frequency,
            "day": schedule.day,
            "time": schedule.time.to_string(),
            "next": next.as_ref().map(|next| next.timestamp().to_string()),
        }));
    }
    match next {
        Some(next) => println!("Schedule: {} (next: {})", schedule.describe(), zoned(&next)),
        None => println!("Schedule: off"),
    }
    Ok(())
}
