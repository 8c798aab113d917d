//! The contract between the agent's parts: what the person asks for (`Command`, from the tray menu
//! or a notification's button) and what the job worker reports (`Event`).
//!
//! The tray and the notifications only turn clicks into commands and render state; the
//! coordinator in `mod.rs` is the one place that decides what a command does.

use lifeboat::catalog::Entry;
use lifeboat::engine::Restored;
use lifeboat::progress::Stage;
use lifeboat::remote::RemoteEntry;

/// What the person asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    BackUpNow,
    /// Restore the backup with this id.
    Restore(String),
    /// Restore the safety backup made by the last restore.
    UndoRestore,
    OpenBackupsFolder,
    SetSchedule(ScheduleChoice),
    ToggleAutostart,
    ViewLog,
    OpenConfig,
    /// Connect to Google Drive through the browser's consent page (also "Reconnect").
    DriveConnect,
    DriveDisconnect,
    Quit,
}

/// The schedule radio items of the menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleChoice {
    Off,
    Daily,
    Weekly,
}

impl Command {
    /// The id the command carries through a menu item or a notification action.
    pub fn key(&self) -> String {
        match self {
            Command::BackUpNow => "backup".into(),
            Command::Restore(id) => format!("restore:{id}"),
            Command::UndoRestore => "undo".into(),
            Command::OpenBackupsFolder => "open-backups".into(),
            Command::SetSchedule(ScheduleChoice::Off) => "schedule:off".into(),
            Command::SetSchedule(ScheduleChoice::Daily) => "schedule:daily".into(),
            Command::SetSchedule(ScheduleChoice::Weekly) => "schedule:weekly".into(),
            Command::ToggleAutostart => "autostart".into(),
            Command::ViewLog => "log".into(),
            Command::OpenConfig => "open-config".into(),
            Command::DriveConnect => "drive-connect".into(),
            Command::DriveDisconnect => "drive-disconnect".into(),
            Command::Quit => "quit".into(),
        }
    }

    /// The command behind a menu item's or an action's id; `None` for ids that carry none (a
    /// submenu, the health line, a notification closed without a choice).
    pub fn from_key(key: &str) -> Option<Command> {
        if let Some(id) = key.strip_prefix("restore:") {
            return (!id.is_empty()).then(|| Command::Restore(id.to_string()));
        }
        Some(match key {
            "backup" | "retry" => Command::BackUpNow,
            "undo" => Command::UndoRestore,
            "open-backups" => Command::OpenBackupsFolder,
            "schedule:off" => Command::SetSchedule(ScheduleChoice::Off),
            "schedule:daily" => Command::SetSchedule(ScheduleChoice::Daily),
            "schedule:weekly" => Command::SetSchedule(ScheduleChoice::Weekly),
            "autostart" => Command::ToggleAutostart,
            "log" => Command::ViewLog,
            "open-config" => Command::OpenConfig,
            "drive-connect" => Command::DriveConnect,
            "drive-disconnect" => Command::DriveDisconnect,
            "quit" => Command::Quit,
            _ => return None,
        })
    }
}

/// Why a backup runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The person clicked "Back up now" (or "Retry").
    Person,
    /// The schedule (a due time, a catch-up or a retry).
    Schedule,
}

/// One unit of work for the job worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    Backup(Trigger),
    Restore {
        id: String,
        undo: bool,
    },
    /// The weekly restore drill: check the newest backup (and the newest copy on Google Drive) as
    /// a restore would, touching nothing live.
    Drill {
        local: Option<String>,
        drive: Option<String>,
    },
    /// The Drive cycle: upload what is still queued, then list the backups on Drive.
    DriveCycle,
    DriveConnect,
    DriveDisconnect,
}

impl Job {
    /// What the menu says while the job runs.
    pub fn label(&self) -> &'static str {
        match self {
            Job::Backup(_) => "Backing up…",
            Job::Restore { .. } => "Restoring…",
            Job::Drill { .. } => "Checking a backup…",
            Job::DriveCycle => "Talking to Google Drive…",
            Job::DriveConnect => "Connecting to Google Drive…",
            Job::DriveDisconnect => "Disconnecting Google Drive…",
        }
    }
}

/// How a job ended.
#[derive(Debug)]
pub enum Outcome {
    BackedUp {
        entry: Box<Entry>,
        /// Why the new backup is not on Google Drive yet (it stays queued), when Drive is connected.
        upload_problem: Option<String>,
    },
    Restored(Box<Restored>),
    Drilled {
        /// What the check of the local backup found wrong.
        problem: Option<String>,
        /// What the check of the copy on Google Drive found wrong.
        drive_problem: Option<String>,
    },
    /// The backups on Google Drive, newest first.
    Listed(Vec<RemoteEntry>),
    /// Connected to Google Drive as this account.
    Connected(String),
    Disconnected,
    Failed(String),
}

/// What the job worker reports.
#[derive(Debug)]
pub enum Event {
    Progress { stage: Stage, percent: u8 },
    Finished { job: Job, outcome: Outcome },
}

/// Everything the coordinator waits for.
#[derive(Debug)]
pub enum Input {
    Command(Command),
    Event(Event),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_survives_the_trip_through_a_menu_id() {
        let commands = [
            Command::BackUpNow,
            Command::Restore("20261125T200348.123Z-manual".into()),
            Command::UndoRestore,
            Command::OpenBackupsFolder,
            Command::SetSchedule(ScheduleChoice::Off),
            Command::SetSchedule(ScheduleChoice::Daily),
            Command::SetSchedule(ScheduleChoice::Weekly),
            Command::ToggleAutostart,
            Command::ViewLog,
            Command::OpenConfig,
            Command::DriveConnect,
            Command::DriveDisconnect,
            Command::Quit,
        ];
        for command in commands {
            assert_eq!(Command::from_key(&command.key()), Some(command));
        }
        assert_eq!(Command::from_key("retry"), Some(Command::BackUpNow));
        assert_eq!(Command::from_key("__closed"), None);
        assert_eq!(Command::from_key("restore:"), None);
    }
}
