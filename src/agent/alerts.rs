//! Which notifications the agent raises: a pure decision from health and job outcomes, so that a
//! problem is announced once, its end is announced once, and nothing repeats every minute.
//!
//! A "problem" is a stretch of time during which health is red. Its first notification says what
//! went wrong: the failed backup when a backup failing turned it red, else health's first issue.
//! While it lasts, further failures stay quiet (the icon is red and the menu names the issue); when
//! health leaves red, one "resolved" notification follows. A scheduled backup that failed but will
//! be retried is not a problem yet. Google Drive access lost (a revoked or expired grant) is told
//! once as what it is, with "Reconnect", even during a problem that began otherwise: only the
//! person can mend it, and a general "not protected" would not say how.

use lifeboat::health::Status;

use super::command::Command;

/// How loudly a desktop should present a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Low,
    Normal,
    Critical,
}

/// One notification, with the buttons it offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// True for the notice that says a problem is over.
    pub resolves: bool,
    pub summary: String,
    pub body: String,
    pub urgency: Urgency,
    /// Action id (a `Command` key, or "retry") and its label.
    pub actions: Vec<(String, String)>,
}

impl Notice {
    pub fn new(summary: impl Into<String>, body: impl Into<String>, urgency: Urgency) -> Notice {
        Notice {
            resolves: false,
            summary: summary.into(),
            body: body.into(),
            urgency,
            actions: Vec::new(),
        }
    }

    pub fn action(mut self, id: &str, label: &str) -> Notice {
        self.actions.push((id.to_string(), label.to_string()));
        self
    }
}

/// What the alerts remember between observations.
#[derive(Debug, Default)]
pub struct Alerts {
    in_problem: bool,
    told_not_configured: bool,
    told_drive_revoked: bool,
}

/// One look at the state, after a health refresh or a finished job.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    pub status: Status,
    pub first_issue: Option<&'a str>,
    /// No database is configured yet.
    pub not_configured: bool,
    /// A failed scheduled backup will be tried again.
    pub retry_pending: bool,
    /// The error of a backup that failed just now, if that is what prompted this look.
    pub backup_failed: Option<&'a str>,
    /// Google refused Lifeboat's grant (revoked or expired): only reconnecting helps.
    pub drive_revoked: bool,
}

impl Alerts {
    pub fn observe(&mut self, seen: Observation<'_>) -> Vec<Notice> {
        let mut notices = Vec::new();
        if seen.not_configured && !self.told_not_configured {
            self.told_not_configured = true;
            notices.push(
                Notice::new(
                    "Lifeboat is not set up yet",
                    "Choose the database to protect: set database.path in config.toml (menu: Open settings), or run `lifeboat config set database.path PATH`.",
                    Urgency::Normal,
                )
                .action(&Command::OpenConfig.key(), "Open settings"),
            );
        } else if !seen.not_configured {
            self.told_not_configured = false;
        }
        let newly_revoked = seen.drive_revoked && !self.told_drive_revoked;
        self.told_drive_revoked = seen.drive_revoked;
        match seen.status {
            Status::Error if newly_revoked => {
                self.in_problem = true;
                notices.push(
                    Notice::new(
                        "Google Drive access lost",
                        "Google no longer accepts Lifeboat's access to your Drive (it was revoked, or it expired). Backups are still made on this computer and wait to be uploaded; choose Reconnect to sign in to Google again.",
                        Urgency::Critical,
                    )
                    .action(&Command::DriveConnect.key(), "Reconnect")
                    .action(&Command::ViewLog.key(), "Open log"),
                );
            }
            Status::Error if self.in_problem => {}
            Status::Error if seen.retry_pending => {}
            Status::Error => {
                self.in_problem = true;
                notices.push(match seen.backup_failed {
                    Some(error) => Notice::new(
                        "Backup failed",
                        format!("{}. Fix that, then choose Retry.", sentence(error)),
                        Urgency::Critical,
                    )
                    .action("retry", "Retry")
                    .action(&Command::ViewLog.key(), "Open log"),
                    None => Notice::new(
                        "Your data is not protected",
                        seen.first_issue
                            .unwrap_or("Lifeboat found a problem; the log says more.")
                            .to_string(),
                        Urgency::Critical,
                    )
                    .action(&Command::BackUpNow.key(), "Back up now")
                    .action(&Command::ViewLog.key(), "Open log"),
                });
            }
            Status::Healthy | Status::Warning => {
                if self.in_problem {
                    self.in_problem = false;
                    notices.push(Notice {
                        resolves: true,
                        ..Notice::new(
                            "Lifeboat: resolved",
                            "Your data is protected again.",
                            Urgency::Low,
                        )
                    });
                }
            }
        }
        notices
    }
}

/// An error message as the start of a sentence.
fn sentence(text: &str) -> String {
    let text = text.trim().trim_end_matches('.');
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "It stopped without saying why".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(status: Status) -> Observation<'static> {
        Observation {
            status,
            first_issue: Some("The database /data/store.db is missing."),
            not_configured: false,
            retry_pending: false,
            backup_failed: None,
            drive_revoked: false,
        }
    }

    #[test]
    fn drive_access_lost_is_told_once_with_reconnect_even_during_another_problem() {
        let mut alerts = Alerts::default();
        let revoked = Observation {
            first_issue: Some("Google Drive access was revoked or expired: reconnect"),
            drive_revoked: true,
            ..look(Status::Error)
        };
        let notices = alerts.observe(revoked);
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].summary, "Google Drive access lost");
        assert_eq!(notices[0].urgency, Urgency::Critical);
        assert_eq!(
            notices[0].actions[0],
            ("drive-connect".to_string(), "Reconnect".to_string())
        );
        for _ in 0..5 {
            assert!(alerts.observe(revoked).is_empty(), "told once");
        }
        let reconnected = alerts.observe(look(Status::Healthy));
        assert_eq!(reconnected.len(), 1);
        assert!(reconnected[0].resolves);

        // A red stretch that began with a missing database still tells of the lost access.
        assert_eq!(alerts.observe(look(Status::Error)).len(), 1);
        let also_revoked = alerts.observe(revoked);
        assert_eq!(also_revoked.len(), 1);
        assert_eq!(also_revoked[0].summary, "Google Drive access lost");
    }

    #[test]
    fn a_problem_is_told_once_and_its_end_once() {
        let mut alerts = Alerts::default();
        assert!(alerts.observe(look(Status::Healthy)).is_empty());
        let first = alerts.observe(look(Status::Error));
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].summary, "Your data is not protected");
        assert_eq!(first[0].urgency, Urgency::Critical);
        for _ in 0..5 {
            assert!(alerts.observe(look(Status::Error)).is_empty());
        }
        let repeated_failure = Observation {
            backup_failed: Some("database /data/store.db does not exist"),
            ..look(Status::Error)
        };
        assert!(alerts.observe(repeated_failure).is_empty());
        let resolved = alerts.observe(look(Status::Healthy));
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].summary, "Lifeboat: resolved");
        assert!(alerts.observe(look(Status::Healthy)).is_empty());
    }

    #[test]
    fn a_failed_backup_says_what_failed_and_offers_retry_and_the_log() {
        let mut alerts = Alerts::default();
        let failed = Observation {
            backup_failed: Some("database /data/store.db does not exist"),
            ..look(Status::Error)
        };
        let notices = alerts.observe(failed);
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].summary, "Backup failed");
        assert!(
            notices[0]
                .body
                .starts_with("Database /data/store.db does not exist.")
        );
        let actions: Vec<&str> = notices[0]
            .actions
            .iter()
            .map(|(id, _)| id.as_str())
            .collect();
        assert_eq!(actions, ["retry", "log"]);
    }

    #[test]
    fn a_scheduled_failure_with_retries_left_is_not_told_yet() {
        let mut alerts = Alerts::default();
        let retrying = Observation {
            retry_pending: true,
            backup_failed: Some("database is locked"),
            ..look(Status::Error)
        };
        assert!(alerts.observe(retrying).is_empty());
        let gave_up = Observation {
            retry_pending: false,
            ..retrying
        };
        assert_eq!(alerts.observe(gave_up).len(), 1);
    }

    #[test]
    fn not_configured_is_told_once_until_it_is_configured() {
        let mut alerts = Alerts::default();
        let unconfigured = Observation {
            not_configured: true,
            ..look(Status::Warning)
        };
        let notices = alerts.observe(unconfigured);
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].actions[0].0, "open-config");
        assert!(alerts.observe(unconfigured).is_empty());
        assert!(alerts.observe(look(Status::Warning)).is_empty());
        assert_eq!(alerts.observe(unconfigured).len(), 1);
    }
}
