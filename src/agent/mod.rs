//! The tray agent (`lifeboat`, `lifeboat agent [--headless]`): runs the schedule and the engine,
//! shows health by the tray icon's colour and talks through notifications.
//!
//! One coordinator thread owns all state and the tray. It sleeps on one channel until a menu
//! click, a notification button or a job event arrives, or until the next due time (at most a
//! minute, when it re-reads health and, if its file changed, config.toml). Jobs run on the worker
//! thread one at a time. The agent decides nothing about backups: it calls the engine, including
//! for Google Drive (connecting, the upload queue's retries, listing, restoring and drilling).
//!
//! Modules, by what they own: `command` (the messages), `scheduler` (when to back up, and when the
//! Drive cycle runs), `alerts` (which notifications), `view` (what the tray shows) are pure;
//! `tray`, `notify`, `autostart`, `instance`, `signals` and `worker` are the edges.

mod alerts;
pub mod autostart;
mod command;
pub mod icons;
mod instance;
mod notify;
mod scheduler;
mod signals;
mod tray;
mod view;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use jiff::{SignedDuration, Timestamp, ZonedDateTime as Zoned};
use lifeboat::catalog::Entry;
use lifeboat::config;
use lifeboat::engine::Health;
use lifeboat::health::{self, DatabaseState, Status};
use lifeboat::history::{History, Operation, Outcome as RunOutcome};
use lifeboat::home::Home;
use lifeboat::manifest::Kind;
use lifeboat::offsite::DriveSummary;
use lifeboat::remote::RemoteEntry;
use lifeboat::{Engine, Error};

use alerts::{Alerts, Notice, Observation, Urgency};
use command::{Command, Event, Input, Job, Outcome, ScheduleChoice, Trigger};
use notify::Notifier;
use scheduler::{AfterFailure, Scheduler};
use tray::{Host, Tray};
use view::{Busy, View};
use worker::Worker;

/// The longest the agent sleeps: health can change with time alone (a backup grows old) and
/// config.toml may be edited, so it looks once a minute, and no more often when idle.
const TICK: Duration = Duration::from_secs(60);
/// How often the restore drill checks the newest backup.
const DRILL_EVERY: SignedDuration = SignedDuration::from_hours(24 * 7);
/// The first drill waits this long after start, so starting the agent is quiet.
const DRILL_GRACE: SignedDuration = SignedDuration::from_mins(10);
/// The log is started afresh (the old one kept as lifeboat.log.1) past this size.
const LOG_LIMIT: u64 = 5 * 1024 * 1024;

pub struct Options {
    pub home: Home,
    /// The `--home` the agent was started with, repeated in the start-at-login entry.
    pub home_argument: Option<PathBuf>,
    pub headless: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Engine(#[from] Error),
    #[error("cannot start the job thread: {0}")]
    Thread(std::io::Error),
}

/// Runs the agent until Quit. A second agent for the same user prints that one runs and returns.
pub fn run(options: Options) -> Result<(), AgentError> {
    let home = options.home.clone();
    home.prepare_state()?;
    let _instance = match instance::claim(&home.state_folder().join("agent.lock"))? {
        instance::Claim::Claimed(instance) => instance,
        instance::Claim::Running(pid) => {
            let which = pid
                .map(|pid| format!(" (process {pid})"))
                .unwrap_or_default();
            println!("Lifeboat's agent is already running{which}; nothing to do.");
            return Ok(());
        }
    };
    rotate_log(&home.logs_folder().join("lifeboat.log"));
    crate::cli::start_log(&home);
    tracing::info!("agent started (process {})", std::process::id());
    offer_autostart(&home, options.home_argument.as_deref());

    let (sender, inputs) = mpsc::channel();
    // Before any other thread starts: they inherit the blocked signals.
    signals::forward_to(sender.clone());
    let worker = Worker::start(home.clone(), sender.clone()).map_err(AgentError::Thread)?;
    let mut agent = Agent::new(&options, Notifier::new(sender.clone()), worker);

    if options.headless {
        tracing::info!("running headless, as asked: no tray icon");
    } else {
        let host = tray::find_host();
        if let Some(advice) = host.advice() {
            tracing::warn!("no tray host ({host:?}): {advice}");
            agent.notifier.send(&Notice::new(
                "Lifeboat runs without a tray icon",
                advice,
                Urgency::Normal,
            ));
        }
        if host != Host::NoBus {
            match Tray::start(sender.clone(), &agent.view()) {
                Ok(tray) => agent.tray = Some(tray),
                Err(error) => tracing::warn!("{error}; running headless"),
            }
        }
    }
    drop(sender);
    agent.observe(None);
    agent.run(inputs);
    if matches!(agent.running, Some(Job::DriveConnect)) {
        // Consent waits for the browser and holds nothing of the backups: no need to wait for it.
        agent.worker.abandon();
    } else {
        agent.worker.stop();
    }
    tracing::info!("agent stopped");
    Ok(())
}

struct Agent {
    home: Home,
    home_argument: Option<PathBuf>,
    /// Why the configuration could not be used, when it could not.
    trouble: Option<String>,
    config_seen: Option<SystemTime>,
    health: Option<Health>,
    backups: Vec<Entry>,
    /// The backups on Google Drive as the last Drive cycle listed them, newest first.
    remote: Vec<RemoteEntry>,
    /// When the Drive cycle last ran; `None` asks for one at once.
    last_drive_cycle: Option<Timestamp>,
    undo: Option<Entry>,
    scheduler: Scheduler,
    running: Option<Job>,
    busy: Option<Busy>,
    autostart: bool,
    started: Timestamp,
    last_drill: Option<Timestamp>,
    alerts: Alerts,
    notifier: Notifier,
    tray: Option<Tray>,
    worker: Worker,
}

impl Agent {
    fn new(options: &Options, notifier: Notifier, worker: Worker) -> Agent {
        let now = Zoned::now();
        let mut agent = Agent {
            home: options.home.clone(),
            home_argument: options.home_argument.clone(),
            trouble: None,
            config_seen: None,
            health: None,
            backups: Vec::new(),
            remote: Vec::new(),
            last_drive_cycle: None,
            undo: None,
            scheduler: Scheduler::start(Default::default(), &now, None),
            running: None,
            busy: None,
            autostart: autostart::is_on().unwrap_or(false),
            started: now.timestamp(),
            last_drill: None,
            alerts: Alerts::default(),
            notifier,
            tray: None,
            worker,
        };
        agent.config_seen = modified(&agent.home.config_file());
        let engine = agent.open_engine();
        agent.refresh(engine.as_ref());
        let newest = agent
            .backups
            .iter()
            .find(|entry| entry.manifest.kind != Kind::Safety)
            .map(|entry| entry.manifest.created_at);
        let schedule = engine
            .as_ref()
            .map(|engine| engine.config().schedule)
            .unwrap_or_default();
        agent.scheduler = Scheduler::start(schedule, &now, newest);
        agent.last_drill = last_verify(&agent.home);
        agent
    }

    fn run(&mut self, inputs: mpsc::Receiver<Input>) {
        let mut next_tick = Instant::now() + TICK;
        loop {
            let now = Zoned::now();
            if self.running.is_none() {
                self.start_due_jobs(&now);
            }
            // Rendered once per turn, after the jobs that fell due started: a job that follows
            // another at once (the Drive cycle after a backup) shows no idle moment between them.
            self.render();
            let until_due = self
                .scheduler
                .due_at()
                .filter(|_| self.running.is_none())
                .map(|due| duration_until(due, &now))
                .unwrap_or(TICK);
            let wait = until_due.min(next_tick.saturating_duration_since(Instant::now()));
            match inputs.recv_timeout(wait) {
                Ok(Input::Command(command)) => {
                    tracing::info!("command: {command:?}");
                    if command == Command::Quit {
                        return;
                    }
                    self.command(command);
                }
                Ok(Input::Event(event)) => self.event(event),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if Instant::now() >= next_tick {
                next_tick = Instant::now() + TICK;
                self.tick();
            }
        }
    }

    /// Once a minute: pick up an edited config.toml and re-read health.
    fn tick(&mut self) {
        self.reload_if_changed();
        if self.running.is_none() {
            let engine = self.open_engine();
            self.refresh(engine.as_ref());
            self.observe(None);
        }
    }

    fn reload_if_changed(&mut self) {
        let seen = modified(&self.home.config_file());
        if seen != self.config_seen {
            self.config_seen = seen;
            tracing::info!("config.toml changed; reloading it");
            self.reload();
        }
    }

    fn reload(&mut self) {
        let engine = self.open_engine();
        if let Some(engine) = &engine {
            self.scheduler
                .reschedule(engine.config().schedule, &Zoned::now());
        }
        if self.running.is_none() {
            self.refresh(engine.as_ref());
            self.observe(None);
        }
    }

    fn open_engine(&mut self) -> Option<Engine> {
        match Engine::open(self.home.clone()) {
            Ok(engine) => {
                self.trouble = None;
                Some(engine)
            }
            Err(error) => {
                if self.trouble.as_deref() != Some(&error.to_string()) {
                    tracing::error!("{error}");
                }
                self.trouble = Some(error.to_string());
                None
            }
        }
    }

    /// Re-reads health, the backups and the undo point.
    fn refresh(&mut self, engine: Option<&Engine>) {
        let Some(engine) = engine else {
            self.health = None;
            return;
        };
        match engine.health() {
            Ok(health) => {
                if health.drive.is_none() {
                    self.remote.clear();
                }
                self.health = Some(health);
            }
            Err(error) => {
                tracing::error!("cannot assess health: {error}");
                self.trouble = Some(error.to_string());
            }
        }
        match engine.list() {
            Ok(backups) => self.backups = backups,
            Err(error) => tracing::error!("cannot list backups: {error}"),
        }
        self.undo = undo_point(&self.home, &self.backups);
    }

    /// Raises the notifications the current state calls for.
    fn observe(&mut self, backup_failed: Option<&str>) {
        for notice in self.notices(backup_failed) {
            self.notifier.send(&notice);
        }
    }

    fn notices(&mut self, backup_failed: Option<&str>) -> Vec<Notice> {
        let Some(health) = &self.health else {
            return Vec::new();
        };
        let first_issue = health.assessment.issues.first().map(String::as_str);
        let not_configured = health.database == DatabaseState::NotConfigured;
        self.alerts.observe(Observation {
            // Before a database is chosen there is nothing to protect: the notice that says how
            // to choose one stands for the "no backup" error that follows from it.
            status: if not_configured {
                Status::Warning
            } else {
                health.assessment.status
            },
            first_issue,
            not_configured,
            retry_pending: self.scheduler.retry_pending(),
            backup_failed,
            drive_revoked: health
                .drive
                .as_ref()
                .is_some_and(|drive| drive.access_revoked),
        })
    }

    /// Google Drive's state, while it is connected.
    fn drive(&self) -> Option<&DriveSummary> {
        self.health
            .as_ref()
            .and_then(|health| health.drive.as_ref())
    }

    fn start_due_jobs(&mut self, now: &Zoned) {
        if self.scheduler.take_due(now) {
            tracing::info!("scheduled backup due");
            self.start(Job::Backup(Trigger::Schedule));
            return;
        }
        let drive_due = scheduler::drive_cycle_due(self.drive(), self.last_drive_cycle);
        if drive_due.is_some_and(|due| now.timestamp() >= due) {
            self.last_drive_cycle = Some(now.timestamp());
            self.start(Job::DriveCycle);
            return;
        }
        let drill_due = drill_due(self.started, self.last_drill);
        if now.timestamp() >= drill_due {
            self.last_drill = Some(now.timestamp());
            if let Some(drill) = drill_job(&self.backups, &self.remote, self.drive()) {
                self.start(drill);
            }
        }
    }

    fn start(&mut self, job: Job) {
        self.busy = Some(Busy {
            label: job.label(),
            percent: None,
        });
        self.running = Some(job.clone());
        self.worker.run(job);
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::BackUpNow
            | Command::Restore(_)
            | Command::UndoRestore
            | Command::DriveConnect
            | Command::DriveDisconnect
                if self.running.is_some() =>
            {
                tracing::info!("a job is running; {command:?} ignored");
            }
            Command::BackUpNow => self.start(Job::Backup(Trigger::Person)),
            Command::Restore(id) => self.start(Job::Restore { id, undo: false }),
            Command::UndoRestore => match &self.undo {
                Some(undo) => {
                    let id = undo.manifest.id.clone();
                    self.start(Job::Restore { id, undo: true });
                }
                None => tracing::info!("nothing to undo"),
            },
            Command::OpenBackupsFolder => {
                let folder = match Engine::open(self.home.clone()) {
                    Ok(engine) => engine.config().backups_folder(&self.home),
                    Err(_) => self.home.default_backups_folder(),
                };
                let _ = std::fs::create_dir_all(&folder);
                open_detached(folder);
            }
            Command::SetSchedule(choice) => {
                let enabled = if choice == ScheduleChoice::Off {
                    "false"
                } else {
                    "true"
                };
                let mut changes = vec![("schedule.enabled", enabled)];
                match choice {
                    ScheduleChoice::Daily => changes.push(("schedule.frequency", "daily")),
                    ScheduleChoice::Weekly => changes.push(("schedule.frequency", "weekly")),
                    ScheduleChoice::Off => {}
                }
                if let Err(error) = config::set(&self.home, &changes) {
                    tracing::error!("cannot change the schedule: {error}");
                }
                self.config_seen = modified(&self.home.config_file());
                self.reload();
            }
            Command::ToggleAutostart => {
                if let Err(error) = autostart::set(!self.autostart, self.home_argument.as_deref()) {
                    tracing::error!("{error}");
                }
                self.autostart = autostart::is_on().unwrap_or(false);
            }
            Command::DriveConnect => self.start(Job::DriveConnect),
            Command::DriveDisconnect => self.start(Job::DriveDisconnect),
            Command::ViewLog => open_detached(self.home.logs_folder().join("lifeboat.log")),
            Command::OpenConfig => {
                let path = self.home.config_file();
                if !path.exists() {
                    // An empty file is a valid configuration (every default); the editor needs one.
                    let _ = std::fs::write(&path, "");
                    self.config_seen = modified(&path);
                }
                open_detached(path);
            }
            Command::Quit => {}
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Progress { stage, percent } => {
                if let Some(busy) = &mut self.busy {
                    busy.percent = Some(percent);
                }
                tracing::debug!("{} {percent}%", stage.label());
            }
            Event::Finished { job, outcome } => self.finished(job, outcome),
        }
    }

    fn finished(&mut self, job: Job, outcome: Outcome) {
        self.running = None;
        self.busy = None;
        let now = Zoned::now();
        let engine = self.open_engine();
        self.refresh(engine.as_ref());
        let mut backup_failed = None;
        // A confirmation that a manual backup worked also says that a problem is over, in one
        // notification rather than two.
        let mut confirmation = None;
        match (&job, &outcome) {
            (
                Job::Backup(trigger),
                Outcome::BackedUp {
                    entry,
                    upload_problem,
                },
            ) => {
                // What is on Drive changed (or an upload is owed): the next cycle lists it now.
                self.last_drive_cycle = None;
                if *trigger == Trigger::Schedule {
                    self.scheduler.succeeded();
                } else {
                    let mut notice = Notice::new(
                        "Backup made",
                        format!(
                            "Lifeboat backed up your database and checked the copy ({}).",
                            health::human_bytes(entry.manifest.size)
                        ),
                        Urgency::Low,
                    );
                    if let Some(problem) = upload_problem {
                        notice.body.push_str(&format!(
                            " It is not on Google Drive yet ({problem}); Lifeboat tries again later."
                        ));
                    }
                    confirmation = Some(notice);
                }
            }
            (Job::Backup(trigger), Outcome::Failed(error)) => {
                if *trigger == Trigger::Schedule
                    && let AfterFailure::RetryAt(at) = self.scheduler.failed(&now)
                {
                    tracing::warn!("scheduled backup failed; trying again at {at}");
                }
                backup_failed = Some(error.clone());
            }
            (Job::Restore { undo, .. }, Outcome::Restored(restored)) => {
                let made = view::when(restored.restored.manifest.created_at, now.time_zone());
                let mut notice = Notice::new(
                    if *undo {
                        "Restore undone"
                    } else {
                        "Restore finished"
                    },
                    format!("Your database now holds the backup of {made}."),
                    Urgency::Normal,
                );
                if restored.safety_backup.is_some() {
                    notice
                        .body
                        .push_str(" What was there before is kept as a safety backup.");
                    notice = notice.action(&Command::UndoRestore.key(), "Undo");
                }
                self.notifier.send(&notice);
            }
            (Job::Restore { .. }, Outcome::Failed(error)) => {
                self.notifier.send(
                    &Notice::new(
                        "Restore failed",
                        format!("{error}. Your database was not changed."),
                        Urgency::Critical,
                    )
                    .action(&Command::ViewLog.key(), "Open log"),
                );
            }
            (
                Job::Drill { local, drive },
                Outcome::Drilled {
                    problem,
                    drive_problem,
                },
            ) => {
                // A failed local drill is in the history, so health (and the icon) turn red.
                if let (Some(id), Some(problem)) = (local, problem) {
                    tracing::error!("restore drill of {id} failed: {problem}");
                }
                if let (Some(id), Some(problem)) = (drive, drive_problem) {
                    tracing::error!("restore drill of the Drive copy of {id} failed: {problem}");
                    let made = self
                        .remote
                        .iter()
                        .find(|copy| &copy.manifest.id == id)
                        .map(|copy| view::when(copy.manifest.created_at, now.time_zone()))
                        .unwrap_or_else(|| id.clone());
                    self.notifier.send(
                        &Notice::new(
                            "A backup on Google Drive failed its check",
                            format!(
                                "The Drive copy of the backup of {made} is damaged: {problem}. The backups on this computer are not affected."
                            ),
                            Urgency::Critical,
                        )
                        .action(&Command::ViewLog.key(), "Open log"),
                    );
                }
            }
            (Job::Drill { .. }, Outcome::Failed(error)) => {
                tracing::error!("restore drill could not run: {error}");
            }
            (Job::DriveCycle, Outcome::Listed(listed)) => self.remote = listed.clone(),
            (Job::DriveCycle, Outcome::Failed(error)) => {
                // A revoked grant was recorded by the engine: health, refreshed above, says so.
                tracing::warn!("the Drive cycle failed: {error}");
            }
            (Job::DriveConnect, Outcome::Connected(account)) => {
                self.last_drive_cycle = None;
                self.notifier.send(&Notice::new(
                    "Google Drive connected",
                    format!(
                        "Lifeboat puts every backup on Google Drive too, as {account}, in the folder \"{}\".",
                        lifeboat::drive::ROOT_FOLDER
                    ),
                    Urgency::Low,
                ));
            }
            (Job::DriveConnect, Outcome::Failed(error)) => {
                self.notifier.send(
                    &Notice::new(
                        "Google Drive not connected",
                        format!(
                            "{}. Backups are still made on this computer.",
                            error.trim_end_matches('.')
                        ),
                        Urgency::Normal,
                    )
                    .action(&Command::OpenConfig.key(), "Open settings")
                    .action(&Command::ViewLog.key(), "Open log"),
                );
            }
            (Job::DriveDisconnect, Outcome::Disconnected) => {
                self.remote.clear();
                self.last_drive_cycle = None;
            }
            (Job::DriveDisconnect, Outcome::Failed(error)) => {
                tracing::error!("disconnecting Google Drive failed: {error}");
            }
            _ => {}
        }
        let mut notices = self.notices(backup_failed.as_deref());
        if let Some(mut confirmation) = confirmation {
            if notices.iter().any(|notice| notice.resolves) {
                notices.retain(|notice| !notice.resolves);
                confirmation.body.push_str(" Your data is protected again.");
            }
            notices.insert(0, confirmation);
        }
        for notice in notices {
            self.notifier.send(&notice);
        }
    }

    fn view(&self) -> View {
        let state = view::State {
            health: self.health.as_ref(),
            trouble: self.trouble.as_deref(),
            backups: &self.backups,
            remote: &self.remote,
            undo: self.undo.as_ref(),
            schedule: *self.scheduler.schedule(),
            autostart: self.autostart,
            busy: self.busy.as_ref(),
        };
        view::render(&state, &Zoned::now())
    }

    fn render(&mut self) {
        if self.tray.is_some() {
            let view = self.view();
            if let Some(tray) = &mut self.tray {
                tray.show(&view);
            }
        }
    }
}

/// When the next restore drill is due: a week after the last check of a backup, and never in the
/// first minutes after the agent started (starting must be quiet).
fn drill_due(started: Timestamp, last_check: Option<Timestamp>) -> Timestamp {
    let grace_over = started
        .saturating_add(DRILL_GRACE)
        .unwrap_or(Timestamp::MAX);
    match last_check {
        Some(last) => last
            .saturating_add(DRILL_EVERY)
            .unwrap_or(Timestamp::MAX)
            .max(grace_over),
        None => grace_over,
    }
}

/// What the weekly drill checks: the newest manual or scheduled backup here and, while access to
/// Drive works, the newest such copy on Drive; `None` when there is nothing to check.
fn drill_job(
    backups: &[Entry],
    remote: &[RemoteEntry],
    drive: Option<&DriveSummary>,
) -> Option<Job> {
    let local = backups
        .iter()
        .find(|entry| entry.manifest.kind != Kind::Safety)
        .map(|entry| entry.manifest.id.clone());
    let drive = drive
        .filter(|drive| !drive.access_revoked)
        .and_then(|_| {
            remote
                .iter()
                .find(|copy| copy.manifest.kind != Kind::Safety)
        })
        .map(|copy| copy.manifest.id.clone());
    (local.is_some() || drive.is_some()).then_some(Job::Drill { local, drive })
}

/// The safety backup made by the last successful restore, while it still exists.
fn undo_point(home: &Home, backups: &[Entry]) -> Option<Entry> {
    let runs = History::new(home.history_file()).runs().ok()?;
    let last = runs
        .iter()
        .rev()
        .find(|run| run.operation == Operation::Restore && run.outcome == RunOutcome::Ok)?;
    let safety = last.backups.get(1)?;
    backups
        .iter()
        .find(|entry| &entry.manifest.id == safety)
        .cloned()
}

/// When the last check of a backup (a drill or `lifeboat verify`) ended.
fn last_verify(home: &Home) -> Option<Timestamp> {
    let runs = History::new(home.history_file()).runs().ok()?;
    runs.iter()
        .rev()
        .find(|run| run.operation == Operation::Verify)
        .and_then(|run| run.ended_at)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path)
        .and_then(|meta| meta.modified())
        .ok()
}

fn duration_until(due: Timestamp, now: &Zoned) -> Duration {
    let left = due.duration_since(now.timestamp());
    Duration::try_from(left).unwrap_or(Duration::ZERO)
}

/// Opens a file or folder with the desktop's default program, on a thread of its own because the
/// launcher may take its time and the agent must not wait for it.
fn open_detached(path: PathBuf) {
    let spawned = std::thread::Builder::new()
        .name("open".into())
        .spawn(move || {
            if let Err(error) = open::that(&path) {
                tracing::warn!("cannot open {}: {error}", path.display());
            }
        });
    if let Err(error) = spawned {
        tracing::warn!("cannot open a file: {error}");
    }
}

/// Keeps the log from growing without end: past `LOG_LIMIT` it becomes lifeboat.log.1.
fn rotate_log(log: &Path) {
    let large = std::fs::metadata(log).is_ok_and(|meta| meta.len() > LOG_LIMIT);
    if large {
        let _ = std::fs::rename(log, log.with_extension("log.1"));
    }
}

/// Start at login is on by default: the first agent turns it on, once; after that the person's
/// choice stands.
fn offer_autostart(home: &Home, home_argument: Option<&Path>) {
    let marker = home.state_folder().join("autostart-offered");
    if marker.exists() {
        return;
    }
    match autostart::set(true, home_argument) {
        Ok(()) => tracing::info!("start at login turned on"),
        Err(error) => tracing::warn!("{error}"),
    }
    let _ = std::fs::write(&marker, "");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    fn backup(id: &str, kind: Kind) -> Entry {
        Entry {
            manifest: lifeboat::manifest::Manifest::placeholder(
                id,
                kind,
                at("2026-11-24T02:00:00Z"),
            ),
            artifact_path: id.into(),
        }
    }

    #[test]
    fn the_drill_checks_the_newest_backup_here_and_on_drive_while_drive_access_works() {
        let local = [backup("s", Kind::Safety), backup("l", Kind::Scheduled)];
        let remote = [
            RemoteEntry {
                manifest: backup("s2", Kind::Safety).manifest,
                remote_id: "f1".into(),
            },
            RemoteEntry {
                manifest: backup("d", Kind::Manual).manifest,
                remote_id: "f2".into(),
            },
        ];
        let mut drive = DriveSummary {
            account: "person@example.com".into(),
            access_revoked: false,
            pending: Vec::new(),
        };
        let both = Job::Drill {
            local: Some("l".into()),
            drive: Some("d".into()),
        };
        assert_eq!(drill_job(&local, &remote, Some(&drive)), Some(both));
        assert_eq!(
            drill_job(&local, &remote, None),
            Some(Job::Drill {
                local: Some("l".into()),
                drive: None
            }),
            "not connected: only the local backup"
        );
        drive.access_revoked = true;
        assert_eq!(
            drill_job(&[], &remote, Some(&drive)),
            None,
            "access lost and nothing here: nothing to check"
        );
        drive.access_revoked = false;
        assert_eq!(
            drill_job(&[], &remote, Some(&drive)),
            Some(Job::Drill {
                local: None,
                drive: Some("d".into())
            }),
            "a machine whose backups are only on Drive"
        );
    }

    #[test]
    fn the_drill_runs_weekly_but_never_right_after_start() {
        let started = at("2026-11-25T09:00:00Z");
        assert_eq!(drill_due(started, None), at("2026-11-25T09:10:00Z"));
        let checked = at("2026-11-20T08:00:00Z");
        assert_eq!(
            drill_due(started, Some(checked)),
            at("2026-11-27T08:00:00Z")
        );
        let long_ago = at("2026-10-01T08:00:00Z");
        assert_eq!(
            drill_due(started, Some(long_ago)),
            at("2026-11-25T09:10:00Z")
        );
    }
}
