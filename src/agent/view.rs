//! What the tray shows, as plain data: the icon's colour, the one-line tooltip and the menu, a
//! pure function of the agent's state and `now`. The tray module only copies it to the platform.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime as Zoned};
use lifeboat::catalog::Entry;
use lifeboat::engine::Health;
use lifeboat::health::{self, DatabaseState, Status};
use lifeboat::manifest::{Kind, Manifest};
use lifeboat::offsite::DriveSummary;
use lifeboat::remote::RemoteEntry;
use lifeboat::schedule::{Frequency, Schedule};

use super::command::{Command, ScheduleChoice};
use super::icons::Colour;

/// How many backups the Restore submenu offers (local and on Google Drive together).
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
    /// Backups on Google Drive as last listed, newest first (empty when not connected).
    pub remote: &'a [RemoteEntry],
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
    let mut line = format!("Lifeboat: {last} · {next} · {}", drive_state(state));
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

/// Google Drive's state in a few words, for the tooltip.
fn drive_state(state: &State<'_>) -> String {
    match drive(state) {
        None => "Google Drive not connected".to_string(),
        Some(drive) if drive.access_revoked => "Google Drive: reconnect needed".to_string(),
        Some(drive) if !drive.pending.is_empty() => {
            format!("Google Drive: {} waiting to upload", drive.pending.len())
        }
        Some(drive) => format!("Google Drive: {}", drive.account),
    }
}

fn drive<'a>(state: &State<'a>) -> Option<&'a DriveSummary> {
    state.health.and_then(|health| health.drive.as_ref())
}

/// One backup the Restore menu offers, and where its copies are.
struct Choice<'a> {
    manifest: &'a Manifest,
    local: bool,
    on_drive: bool,
}

/// The newest manual and scheduled backups, local and on Drive, each once.
fn restore_choices<'a>(local: &'a [Entry], remote: &'a [RemoteEntry]) -> Vec<Choice<'a>> {
    let offered = |manifest: &Manifest| manifest.kind != Kind::Safety;
    let mut choices: Vec<Choice<'a>> = local
        .iter()
        .filter(|entry| offered(&entry.manifest))
        .map(|entry| Choice {
            manifest: &entry.manifest,
            local: true,
            on_drive: remote
                .iter()
                .any(|copy| copy.manifest.id == entry.manifest.id),
        })
        .collect();
    for copy in remote.iter().filter(|copy| offered(&copy.manifest)) {
        if !choices
            .iter()
            .any(|choice| choice.manifest.id == copy.manifest.id)
        {
            choices.push(Choice {
                manifest: &copy.manifest,
                local: false,
                on_drive: true,
            });
        }
    }
    choices.sort_by_key(|choice| std::cmp::Reverse(choice.manifest.created_at));
    choices.truncate(RESTORE_CHOICES);
    choices
}

/// "Tue 24 Nov 02:00 · 12.3 MB", then where it is kept when not only here: "· on Drive" for a
/// backup only Drive holds (restoring it downloads it first), "· also on Drive" for one held both.
fn backup_label(choice: &Choice<'_>, zone: &TimeZone) -> String {
    let manifest = choice.manifest;
    let mut label = format!(
        "{} · {}",
        when(manifest.created_at, zone),
        health::human_bytes(manifest.size)
    );
    match (choice.local, choice.on_drive) {
        (false, _) => label.push_str(" · on Drive"),
        (true, true) => label.push_str(" · also on Drive"),
        (true, false) => {}
    }
    label
}

/// The Google Drive submenu: the account and what can be done with the connection.
fn drive_menu(state: &State<'_>, idle: bool) -> Item {
    let connect = |label: &str| Item::Action {
        command: Command::DriveConnect,
        label: label.into(),
        enabled: idle,
    };
    let items = match drive(state) {
        None => vec![Item::Note("Not connected".into()), connect("Connect…")],
        Some(drive) => {
            let mut items = vec![Item::Note(format!("Connected as {}", drive.account))];
            if drive.access_revoked {
                items.push(Item::Note(
                    "Access lost: reconnect to go on uploading".into(),
                ));
                items.push(connect("Reconnect…"));
            }
            if !drive.pending.is_empty() {
                items.push(Item::Note(format!(
                    "{} backup(s) waiting to upload",
                    drive.pending.len()
                )));
            }
            items.push(Item::Action {
                command: Command::DriveDisconnect,
                label: "Disconnect".into(),
                enabled: idle,
            });
            items
        }
    };
    Item::Submenu {
        label: "Google Drive".into(),
        // Without health (an invalid config.toml) the connection's state is unknown.
        enabled: state.health.is_some(),
        items,
    }
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
    let choices: Vec<Item> = restore_choices(state.backups, state.remote)
        .iter()
        .map(|choice| Item::Submenu {
            label: backup_label(choice, zone),
            enabled: idle,
            items: vec![Item::Action {
                command: Command::Restore(choice.manifest.id.clone()),
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
    items.push(drive_menu(state, idle));
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
                size: 12_300_000,
                db_size: 0,
                ..Manifest::placeholder(id, kind, created_at)
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
            remote: &[],
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
                "Google Drive >",
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

    fn on_drive(id: &str, created: &str) -> RemoteEntry {
        RemoteEntry {
            manifest: entry(id, created, Kind::Scheduled).manifest,
            remote_id: format!("drive-{id}"),
        }
    }

    fn connected(account: &str, revoked: bool, waiting: usize) -> DriveSummary {
        DriveSummary {
            account: account.into(),
            access_revoked: revoked,
            pending: (0..waiting)
                .map(|at| lifeboat::remote::queue::Pending {
                    id: format!("p{at}"),
                    attempts: 1,
                    last_error: None,
                })
                .collect(),
        }
    }

    fn submenu<'a>(view: &'a View, wanted: &str) -> &'a [Item] {
        view.menu
            .iter()
            .find_map(|item| match item {
                Item::Submenu { label, items, .. } if label == wanted => Some(items.as_slice()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no {wanted} submenu"))
    }

    #[test]
    fn the_restore_list_merges_local_and_drive_backups_and_says_where_each_is() {
        let local = [
            entry("l3", "2026-11-24T03:00:00Z", Kind::Scheduled),
            entry("l1", "2026-11-24T01:00:00Z", Kind::Manual),
            entry("s", "2026-11-24T05:00:00Z", Kind::Safety),
        ];
        let remote = [
            on_drive("d4", "2026-11-24T04:00:00Z"),
            on_drive("l3", "2026-11-24T03:00:00Z"),
            on_drive("d2", "2026-11-24T02:00:00Z"),
        ];
        let mut health = health(Status::Healthy, &[], local.first().cloned());
        health.drive = Some(connected("person@example.com", false, 0));
        let with_drive = State {
            remote: &remote,
            ..state(&health, &local)
        };
        let view = render(&with_drive, &now());
        let choices = submenu(&view, "Restore");
        assert_eq!(
            labels(choices),
            [
                "Tue 24 Nov 05:00 · 12.3 MB · on Drive >",
                "Tue 24 Nov 04:00 · 12.3 MB · also on Drive >",
                "Tue 24 Nov 03:00 · 12.3 MB · on Drive >",
                "Tue 24 Nov 02:00 · 12.3 MB >",
            ]
        );
        let Item::Submenu { items: inner, .. } = &choices[0] else {
            panic!("each backup is a submenu");
        };
        assert!(matches!(
            &inner[0],
            Item::Action { command: Command::Restore(id), .. } if id == "d4"
        ));
        assert!(
            view.tooltip.ends_with("· Google Drive: person@example.com"),
            "{}",
            view.tooltip
        );

        let many: Vec<RemoteEntry> = (10..22)
            .map(|hour| on_drive(&format!("d{hour}"), &format!("2026-11-23T{hour:02}:00:00Z")))
            .collect();
        let crowded = State {
            remote: &many,
            ..state(&health, &local)
        };
        let view = render(&crowded, &now());
        assert_eq!(submenu(&view, "Restore").len(), RESTORE_CHOICES);
    }

    #[test]
    fn the_drive_menu_offers_connect_reconnect_or_disconnect_with_the_account() {
        let mut health = health(Status::Healthy, &[], None);
        let view = render(&state(&health, &[]), &now());
        assert_eq!(
            labels(submenu(&view, "Google Drive")),
            ["(Not connected)", "Connect…"]
        );
        assert!(view.tooltip.ends_with("· Google Drive not connected"));

        health.drive = Some(connected("person@example.com", false, 0));
        let view = render(&state(&health, &[]), &now());
        let items = submenu(&view, "Google Drive");
        assert_eq!(
            labels(items),
            ["(Connected as person@example.com)", "Disconnect"]
        );
        assert_eq!(
            items[1],
            Item::Action {
                command: Command::DriveDisconnect,
                label: "Disconnect".into(),
                enabled: true
            }
        );

        health.drive = Some(connected("person@example.com", true, 2));
        let view = render(&state(&health, &[]), &now());
        assert_eq!(
            labels(submenu(&view, "Google Drive")),
            [
                "(Connected as person@example.com)",
                "(Access lost: reconnect to go on uploading)",
                "Reconnect…",
                "(2 backup(s) waiting to upload)",
                "Disconnect"
            ]
        );
        assert!(view.tooltip.ends_with("· Google Drive: reconnect needed"));
        health.drive = Some(connected("person@example.com", false, 2));
        let view = render(&state(&health, &[]), &now());
        assert!(
            view.tooltip
                .ends_with("· Google Drive: 2 waiting to upload")
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
