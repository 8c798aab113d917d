//! Whether the data is safe, computed from facts: a pure function of what was observed and `now`.
//!
//! Like a dead man's switch, only verified backups count: a backup that exists but failed its
//! check, or one that is too old, does not make anyone safe. Every issue is a sentence that says
//! what is wrong and what to do about it.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::history::{Outcome, Run};
use crate::schedule::Schedule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Healthy,
    Warning,
    Error,
}

/// The state of the protected database, as seen by the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseState {
    NotConfigured,
    Missing(String),
    Present { path: String, size: u64 },
}

/// Everything health depends on.
#[derive(Debug, Clone)]
pub struct Facts {
    pub now: Timestamp,
    pub database: DatabaseState,
    /// When the newest backup that passed its checks (and no later check failed) was made.
    pub newest_verified: Option<Timestamp>,
    /// The most recent backup run (not safety backups made by a restore).
    pub last_backup_run: Option<Run>,
    /// Backups whose most recent check failed.
    pub failed_checks: Vec<String>,
    pub schedule: Schedule,
    /// Free bytes where the backups go, when that could be measured.
    pub free_space: Option<u64>,
    pub max_backup_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub status: Status,
    pub issues: Vec<String>,
}

/// How old the newest verified backup may be before health calls it an error.
pub fn allowed_age(schedule: &Schedule) -> SignedDuration {
    if schedule.enabled {
        schedule.period() * 2
    } else {
        SignedDuration::from_hours(48)
    }
}

pub fn assess(facts: &Facts) -> Assessment {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();

    match &facts.database {
        DatabaseState::NotConfigured => warnings.push(
            "No database is configured yet: set it with `lifeboat config set database.path PATH`."
                .to_string(),
        ),
        DatabaseState::Missing(path) => errors.push(format!(
            "The database {path} is missing: check that its disk is connected, or restore a backup."
        )),
        DatabaseState::Present { size, .. } => {
            if let Some(free) = facts.free_space
                && free < size.saturating_mul(2)
            {
                warnings.push(format!(
                    "Only {} is free for backups, less than twice the database's size ({}): free some space or move backups.folder.",
                    human_bytes(free),
                    human_bytes(*size)
                ));
            }
            if u128::from(*size) * 10 > u128::from(facts.max_backup_bytes) * 8 {
                warnings.push(format!(
                    "The database is {}, above 80% of the {} limit: raise limits.max_backup_mb before backups are refused.",
                    human_bytes(*size),
                    human_bytes(facts.max_backup_bytes)
                ));
            }
        }
    }

    if let Some(run) = &facts.last_backup_run {
        match run.outcome {
            Outcome::Failed => errors.push(format!(
                "The last backup failed: {}. Fix that and back up again.",
                run.error
                    .as_deref()
                    .unwrap_or("no reason was recorded")
                    .trim_end_matches('.')
            )),
            Outcome::Interrupted => errors.push(
                "The last backup was interrupted before it finished: back up again.".to_string(),
            ),
            Outcome::Ok => {}
        }
    }
    for id in &facts.failed_checks {
        errors.push(format!(
            "Backup {id} failed its last check: run `lifeboat verify` and make a new backup."
        ));
    }

    match facts.newest_verified {
        None => errors.push("There is no verified backup yet: back up now.".to_string()),
        Some(created_at) => {
            let age = facts.now.duration_since(created_at);
            let allowed = allowed_age(&facts.schedule);
            if age > allowed {
                errors.push(format!(
                    "The newest verified backup is {} old, older than {}: back up now and check the schedule.",
                    human_age(age),
                    human_age(allowed)
                ));
            }
        }
    }

    let status = if !errors.is_empty() {
        Status::Error
    } else if !warnings.is_empty() {
        Status::Warning
    } else {
        Status::Healthy
    };
    errors.extend(warnings);
    Assessment {
        status,
        issues: errors,
    }
}

/// "3.2 MB", "512 bytes".
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// "3 days", "5 hours", "12 minutes".
pub fn human_age(age: SignedDuration) -> String {
    let minutes = age.as_secs().max(0) / 60;
    let (count, unit) = if minutes >= 48 * 60 {
        (minutes / (24 * 60), "day")
    } else if minutes >= 120 {
        (minutes / 60, "hour")
    } else {
        (minutes, "minute")
    };
    format!("{count} {unit}{}", if count == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Operation;

    fn now() -> Timestamp {
        "2026-11-25T12:00:00Z".parse().expect("time")
    }

    fn healthy_facts() -> Facts {
        Facts {
            now: now(),
            database: DatabaseState::Present {
                path: "/d/store.db".into(),
                size: 1_000_000,
            },
            newest_verified: Some(now() - SignedDuration::from_hours(3)),
            last_backup_run: None,
            failed_checks: Vec::new(),
            schedule: Schedule::default(),
            free_space: Some(50_000_000),
            max_backup_bytes: 500 * 1024 * 1024,
        }
    }

    fn run(outcome: Outcome) -> Run {
        Run {
            operation: Operation::Backup,
            started_at: now(),
            ended_at: Some(now()),
            outcome,
            error: Some("database /d/store.db is locked".into()),
            backups: Vec::new(),
        }
    }

    #[test]
    fn each_fact_gives_its_status() {
        type Change = Box<dyn Fn(&mut Facts)>;
        let table: Vec<(&str, Change, Status, &str)> = vec![
            ("recent backup", Box::new(|_| {}), Status::Healthy, ""),
            (
                "no backup",
                Box::new(|f| f.newest_verified = None),
                Status::Error,
                "no verified backup",
            ),
            (
                "backup 49 h old, no schedule",
                Box::new(|f| f.newest_verified = Some(now() - SignedDuration::from_hours(49))),
                Status::Error,
                "2 days old, older than 2 days",
            ),
            (
                "backup 47 h old, no schedule",
                Box::new(|f| f.newest_verified = Some(now() - SignedDuration::from_hours(47))),
                Status::Healthy,
                "",
            ),
            (
                "weekly schedule allows 13 days",
                Box::new(|f| {
                    f.schedule.enabled = true;
                    f.schedule.frequency = crate::schedule::Frequency::Weekly;
                    f.newest_verified = Some(now() - SignedDuration::from_hours(24 * 13));
                }),
                Status::Healthy,
                "",
            ),
            (
                "last run failed",
                Box::new(|f| f.last_backup_run = Some(run(Outcome::Failed))),
                Status::Error,
                "is locked. Fix",
            ),
            (
                "last run killed",
                Box::new(|f| f.last_backup_run = Some(run(Outcome::Interrupted))),
                Status::Error,
                "interrupted",
            ),
            (
                "last run ok",
                Box::new(|f| f.last_backup_run = Some(run(Outcome::Ok))),
                Status::Healthy,
                "",
            ),
            (
                "database missing",
                Box::new(|f| f.database = DatabaseState::Missing("/d/store.db".into())),
                Status::Error,
                "/d/store.db is missing",
            ),
            (
                "not configured",
                Box::new(|f| f.database = DatabaseState::NotConfigured),
                Status::Warning,
                "config set database.path",
            ),
            (
                "little space",
                Box::new(|f| f.free_space = Some(1_500_000)),
                Status::Warning,
                "twice the database",
            ),
            (
                "near the limit",
                Box::new(|f| f.max_backup_bytes = 1_200_000),
                Status::Warning,
                "above 80%",
            ),
            (
                "failed check",
                Box::new(|f| f.failed_checks = vec!["b1".into()]),
                Status::Error,
                "b1 failed",
            ),
        ];
        for (name, change, status, words) in table {
            let mut facts = healthy_facts();
            change(&mut facts);
            let assessment = assess(&facts);
            assert_eq!(assessment.status, status, "{name}: {:?}", assessment.issues);
            assert!(
                words.is_empty() || assessment.issues.iter().any(|issue| issue.contains(words)),
                "{name}: {:?} should mention {words:?}",
                assessment.issues
            );
            if status == Status::Healthy {
                assert!(
                    assessment.issues.is_empty(),
                    "{name}: {:?}",
                    assessment.issues
                );
            }
        }
    }
}
