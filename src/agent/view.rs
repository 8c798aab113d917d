//! What the tray shows, as plain data: the icon's colour, the one-line tooltip and the menu, a
//! pure function of the agent's state and `now`. The tray module only copies it to the platform.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime as Zoned};
use lifeboat::catalog::Entry;
use lifeboat::engine::Health;
use lifeboat::health::{self, DatabaseState, Status};
use lifeboat::manifest::Kind;
use lifeboat::schedule::{Frequency, Schedule};

use super::command::{Command, ScheduleChoice};
use super::icons::Colour;

/// How many backups the Restore submenu offers.
pub const RESTORE_CHOICES: usize = 10;

/// One menu entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Action {
        command: Command,
        label: String,
        enabled: bool,
    },
    Check {
        command: Command,
        label: String,
        checked: bool,
    },
    Submenu {
        label: String,
        enabled: bool,
        items: Vec<Item>,
    },
    /// A line that only informs (disabled).
    Note(String),
    Separator,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub colour: Colour,
    pub tooltip: String,
    pub menu: Vec<Item>,
}

/// A running job, as the menu shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    pub label: &'static str,
    pub percent: Option<u8>,
}

/// Everything the view depends on.
#[derive(Debug, Clone)]
pub struct State<'a> {
    pub health: Option<&'a Health>,
    /// Why health could not be computed (an invalid config.toml, an unreadable folder).
    pub trouble: Option<&'a str>,
    /// Backups, newest first.
    pub backups: &'a [Entry],
    pub undo: Option<&'a Entry>,
    pub schedule: Schedule,
    pub autostart: bool,
    pub busy: Option<&'a Busy>,
}

pub fn render(state: &State<'_>, now: &Zoned) -> View {
    View {
        colour: colour(state),
        tooltip: tooltip(state, now),
        menu: menu(state, now),
    }
}

fn colour(state: &State<'_>) -> Colour {
    if state.busy.is_some() {
        return Colour::Blue;
    }
    match (state.health, state.trouble) {
        (_, Some(_)) | (None, None) => Colour::Amber,
        // Nothing can be protected before a database is chosen: that is a task, not an alarm.
        (Some(health), None) if health.database == DatabaseState::NotConfigured => Colour::Amber,
        (Some(health), None) => match health.assessment.status {
            Status::Healthy => Colour::Green,
            Status::Warning => Colour::Amber,
            Status::Error => Colour::Red,
        },
    }
}

/// "Tue 24 Nov 02:00" in the local time zone.
pub fn when(time: Timestamp, zone: &TimeZone) -> String {
    time.to_zoned_datetime(zone.clone())
        .strftime("%a %-d %b %H:%M")
        .to_string()
}

fn tooltip(state: &State<'_>, now: &Zoned) -> String {
    let zone = now.time_zone();
    let last = match state.health.and_then(|health| health.last_backup.as_ref()) {
        // An absolute time, not "3 hours ago": a tooltip that changed every minute would wake the
        // panel every minute.
        Some(entry) => format!("last good backup {}", when(entry.manifest.created_at, zone)),
        None => "no good backup yet".to_string(),
    };
    let next = match state.schedule.next_run(now) {
        Some(next) => format!("next {}", when(next.timestamp(), zone)),
        None => "schedule off".to_string(),
    };
    let mut line = format!("Lifeboat: {last} · {next} · Google Drive not connected");
    if let Some(busy) = state.busy {
        line = format!("{} · {line}", busy_label(busy));
    }
    line
}

fn busy_label(busy: &Busy) -> String {
    match busy.percent {
        Some(percent) => format!("{} {percent}%", busy.label),
        None => busy.label.to_string(),
    }
}

/// "Tue 24 Nov 02:00 · 12.3 MB" (and where it is kept, when not only here).
fn backup_label(entry: &Entry, zone: &TimeZone) -> String {
    let manifest = &entry.manifest;
    let mut label = format!(
        "{} · {}",
        when(manifest.created_at, zone),
        health::human_bytes(manifest.size)
    );
    if manifest.kind == Kind::Safety {
        label.push_str(" · before a restore");
    }
    label
}

fn health_line(state: &State<'_>) -> String {
    if let Some(trouble) = state.trouble {
        return format!("Needs attention: {trouble}");
    }
    let Some(health) = state.health else {
        return "Checking…".to_string();
    };
    if health.database == DatabaseState::NotConfigured {
        return "Warning: No database is configured yet: choose it in Open settings.".to_string();
    }
    let first = health.assessment.issues.first();
    match (health.assessment.status, first) {
        (Status::Healthy, _) | (_, None) => "Healthy: your data is protected".to_string(),
        (Status::Warning, Some(issue)) => format!("Warning: {issue}"),
        (Status::Error, Some(issue)) => format!("Not protected: {issue}"),
    }
}

fn menu(state: &State<'_>, now: &Zoned) -> Vec<Item> {
    let zone = now.time_zone();
    let idle = state.busy.is_none();
    let mut items = Vec::new();
    if let Some(busy) = state.busy {
        items.push(Item::Note(busy_label(busy)));
    }
    items.push(Item::Action {
        command: Command::BackUpNow,
        label: "Back up now".into(),
        enabled: idle,
    });
    let choices: Vec<Item> = state
        .backups
        .iter()
        .filter(|entry| entry.manifest.kind != Kind::Safety)
        .take(RESTORE_CHOICES)
        .map(|entry| Item::Submenu {
            label: backup_label(entry, zone),
            enabled: idle,
            items: vec![Item::Action {
                command: Command::Restore(entry.manifest.id.clone()),
                label: "Restore this backup".into(),
                enabled: idle,
            }],
        })
        .collect();
    items.push(Item::Submenu {
        label: "Restore".into(),
        enabled: idle && !choices.is_empty(),
        items: choices,
    });
    if let Some(undo) = state.undo {
        items.push(Item::Action {
            command: Command::UndoRestore,
            label: format!(
                "Undo last restore (back to {})",
                when(undo.manifest.created_at, zone)
            ),
            enabled: idle,
        });
    }
    items.push(Item::Action {
        command: Command::OpenBackupsFolder,
        label: "Open backups folder".into(),
        enabled: true,
    });
    items.push(Item::Separator);
    let schedule = state.schedule;
    let choice = |choice: ScheduleChoice, label: String, checked: bool| Item::Check {
        command: Command::SetSchedule(choice),
        label,
        checked,
    };
    items.push(Item::Submenu {
        label: "Schedule".into(),
        enabled: true,
        items: vec![
            choice(ScheduleChoice::Off, "Off".into(), !schedule.enabled),
            choice(
                ScheduleChoice::Daily,
                format!("Daily at {}", schedule.time),
                schedule.enabled && schedule.frequency == Frequency::Daily,
            ),
            choice(
                ScheduleChoice::Weekly,
                format!("Weekly on {} at {}", day_name(schedule), schedule.time),
                schedule.enabled && schedule.frequency == Frequency::Weekly,
            ),
        ],
    });
    items.push(Item::Check {
        command: Command::ToggleAutostart,
        label: "Start at login".into(),
        checked: state.autostart,
    });
    items.push(Item::Action {
        command: Command::OpenConfig,
        label: "Open settings (config.toml)".into(),
        enabled: true,
    });
    items.push(Item::Action {
        command: Command::ViewLog,
        label: "View log".into(),
        enabled: true,
    });
    items.push(Item::Separator);
    items.push(Item::Note(health_line(state)));
    items.push(Item::Action {
        command: Command::Quit,
        label: "Quit".into(),
        enabled: true,
    });
    items
}

fn day_name(schedule: Schedule) -> &'static str {
    match schedule.day.name() {
        "mon" => "Monday",
        "tue" => "Tuesday",
        "wed" => "Wednesday",
        "thu" => "Thursday",
        "fri" => "Friday",
        "sat" => "Saturday",
        _ => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeboat::health::Assessment;
    use lifeboat::manifest::Manifest;

    fn now() -> Zoned {
        "2026-11-25T12:00:00+01:00[Europe/Berlin]"
            .parse()
            .expect("time")
    }

    fn entry(id: &str, created: &str, kind: Kind) -> Entry {
        let created_at: Timestamp = created.parse().expect("time");
        Entry {
            manifest: Manifest {
                format: 1,
                id: id.into(),
                created_at,
                kind,
                artifact: format!("{id}.sqlite.zst"),
                size: 12_300_000,
                sha256: String::new(),
                db_size: 0,
                db_sha256: String::new(),
                page_size: 4096,
                page_count: 1,
                user_version: 0,
                schema_sha256: String::new(),
                source_path: String::new(),
                lifeboat_version: String::new(),
            },
            artifact_path: id.into(),
        }
    }

    fn health(status: Status, issues: &[&str], last: Option<Entry>) -> Health {
        Health {
            assessment: Assessment {
                status,
                issues: issues.iter().map(|issue| issue.to_string()).collect(),
            },
            last_backup: last,
            next_scheduled: None,
            total_backups: 0,
            total_size: 0,
            last_run: None,
            success_rate: None,
            database: DatabaseState::Present {
                path: "/d/store.db".into(),
                size: 8192,
            },
            drive: None,
        }
    }

    fn state<'a>(health: &'a Health, backups: &'a [Entry]) -> State<'a> {
        State {
            health: Some(health),
            trouble: None,
            backups,
            undo: None,
            schedule: Schedule::default(),
            autostart: true,
            busy: None,
        }
    }

    fn labels(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|item| match item {
                Item::Action { label, .. } | Item::Check { label, .. } => label.clone(),
                Item::Submenu { label, .. } => format!("{label} >"),
                Item::Note(text) => format!("({text})"),
                Item::Separator => "--".into(),
            })
            .collect()
    }

    #[test]
    fn the_colour_follows_health_and_turns_blue_while_a_job_runs() {
        let backups = [];
        for (status, colour) in [
            (Status::Healthy, Colour::Green),
            (Status::Warning, Colour::Amber),
            (Status::Error, Colour::Red),
        ] {
            let health = health(status, &["x"], None);
            assert_eq!(render(&state(&health, &backups), &now()).colour, colour);
        }
        let health = health(Status::Error, &["x"], None);
        let busy = Busy {
            label: "Backing up…",
            percent: Some(45),
        };
        let running = State {
            busy: Some(&busy),
            ..state(&health, &backups)
        };
        let view = render(&running, &now());
        assert_eq!(view.colour, Colour::Blue);
        assert_eq!(
            view.menu[0],
            Item::Note("Backing up… 45%".into()),
            "the menu says what runs"
        );
        assert!(matches!(&view.menu[1], Item::Action { enabled: false, .. }));
    }

    #[test]
    fn with_no_database_chosen_the_icon_is_amber_and_the_menu_says_what_to_do() {
        let mut unconfigured = health(Status::Error, &["There is no verified backup yet."], None);
        unconfigured.database = DatabaseState::NotConfigured;
        let view = render(&state(&unconfigured, &[]), &now());
        assert_eq!(view.colour, Colour::Amber);
        assert!(view.menu.contains(&Item::Note(
            "Warning: No database is configured yet: choose it in Open settings.".into()
        )));
    }

    #[test]
    fn the_menu_offers_the_ten_newest_backups_each_behind_its_own_confirmation() {
        let backups: Vec<Entry> = (0..12)
            .rev()
            .map(|hour| {
                entry(
                    &format!("b{hour}"),
                    &format!("2026-11-24T{hour:02}:00:00Z"),
                    Kind::Scheduled,
                )
            })
            .collect();
        let health = health(Status::Healthy, &[], backups.first().cloned());
        let view = render(&state(&health, &backups), &now());
        assert_eq!(
            labels(&view.menu),
            [
                "Back up now",
                "Restore >",
                "Open backups folder",
                "--",
                "Schedule >",
                "Start at login",
                "Open settings (config.toml)",
                "View log",
                "--",
                "(Healthy: your data is protected)",
                "Quit"
            ]
        );
        let Item::Submenu { items, .. } = &view.menu[1] else {
            panic!("Restore is a submenu");
        };
        assert_eq!(items.len(), RESTORE_CHOICES);
        assert_eq!(
            labels(items)[0],
            "Tue 24 Nov 12:00 · 12.3 MB >",
            "local time, size"
        );
        let Item::Submenu { items: inner, .. } = &items[0] else {
            panic!("each backup is a submenu");
        };
        assert_eq!(
            inner,
            &[Item::Action {
                command: Command::Restore("b11".into()),
                label: "Restore this backup".into(),
                enabled: true
            }]
        );
        assert!(
            view.tooltip
                .starts_with("Lifeboat: last good backup Tue 24 Nov 12:00 · schedule off")
        );
    }

    #[test]
    fn undo_appears_after_a_restore_and_the_health_line_names_the_first_issue() {
        let safety = entry("s", "2026-11-25T10:00:00Z", Kind::Safety);
        let health = health(
            Status::Error,
            &["The database /d/store.db is missing.", "second"],
            None,
        );
        let backups = [safety.clone()];
        let with_undo = State {
            undo: Some(&safety),
            ..state(&health, &backups)
        };
        let view = render(&with_undo, &now());
        let labels = labels(&view.menu);
        assert!(labels.contains(&"Undo last restore (back to Wed 25 Nov 11:00)".to_string()));
        assert!(
            labels.contains(&"(Not protected: The database /d/store.db is missing.)".to_string())
        );
        // Safety backups are offered through Undo, not in the Restore list.
        assert!(labels.contains(&"Restore >".to_string()));
        let restore = view
            .menu
            .iter()
            .find(|item| matches!(item, Item::Submenu { label, .. } if label == "Restore"));
        assert!(matches!(
            restore,
            Some(Item::Submenu { enabled: false, .. })
        ));
    }
}
