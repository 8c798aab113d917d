//! The job worker: one thread that runs the engine's jobs one at a time, off the coordinator's
//! thread, and reports their progress and outcome as `Event`s.
//!
//! The engine is opened afresh for each job, so a job always runs with the configuration as it
//! is on disk. Jobs also take the engine's job lock, so one started from the command line and one
//! started here wait for each other.

use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lifeboat::Engine;
use lifeboat::home::Home;
use lifeboat::manifest::Kind;
use lifeboat::progress::{CancelFlag, Observer, Stage};

use super::command::{Event, Input, Job, Outcome, Trigger};

/// How often progress may reach the tray: often enough to look alive, rarely enough to stay light.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);

pub struct Worker {
    jobs: Option<Sender<Job>>,
    cancel: CancelFlag,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    pub fn start(home: Home, events: Sender<Input>) -> std::io::Result<Worker> {
        let (jobs, queue) = mpsc::channel();
        let cancel = CancelFlag::default();
        let flag = cancel.clone();
        let thread = std::thread::Builder::new()
            .name("lifeboat-jobs".into())
            .spawn(move || work(home, queue, events, flag))?;
        Ok(Worker {
            jobs: Some(jobs),
            cancel,
            thread: Some(thread),
        })
    }

    pub fn run(&self, job: Job) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(job);
        }
    }

    /// Leaves the worker to end with the process, for a job that has no safe point to wait for.
    pub fn abandon(mut self) {
        self.jobs = None;
        // Dropping the handle detaches the thread.
        self.thread = None;
    }

    /// Asks a running job to stop at its next safe point and waits for the worker to end.
    pub fn stop(mut self) {
        self.cancel.cancel();
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn work(home: Home, queue: Receiver<Job>, events: Sender<Input>, cancel: CancelFlag) {
    for job in queue {
        if cancel.is_set() {
            break;
        }
        let reporter = Reporter {
            job: job.clone(),
            events: events.clone(),
            cancel: cancel.clone(),
            last: Mutex::new(None),
        };
        let outcome = run_job(&home, &job, &reporter);
        match &outcome {
            Outcome::Failed(error) => tracing::error!("{job:?} failed: {error}"),
            _ => tracing::info!("{job:?} finished"),
        }
        let _ = events.send(Input::Event(Event::Finished { job, outcome }));
    }
}

fn run_job(home: &Home, job: &Job, reporter: &Reporter) -> Outcome {
    let engine = match Engine::open(home.clone()) {
        Ok(engine) => engine,
        Err(error) => return Outcome::Failed(error.to_string()),
    };
    let result = match job {
        Job::Backup(trigger) => {
            let kind = match trigger {
                Trigger::Person => Kind::Manual,
                Trigger::Schedule => Kind::Scheduled,
            };
            engine.backup(None, kind, reporter).map(|entry| {
                // The same upload as `lifeboat backup`: a failure leaves the backup queued for the
                // next cycle and never makes the local backup a failed one.
                let upload_problem = match engine.upload_new_backup(&entry, reporter) {
                    None => None,
                    Some(Ok(uploads)) => uploads.failed.first().map(|(_, why)| why.clone()),
                    Some(Err(error)) => Some(error.to_string()),
                };
                Outcome::BackedUp {
                    entry: Box::new(entry),
                    upload_problem,
                }
            })
        }
        Job::Restore { id, .. } => engine
            .restore_local_or_remote(id, None, reporter)
            .map(|restored| Outcome::Restored(Box::new(restored))),
        Job::Drill { local, drive } => drill(&engine, local.as_deref(), drive.as_deref(), reporter),
        Job::DriveCycle => engine
            .drive_cycle(reporter)
            .map(|(_, listed)| Outcome::Listed(listed)),
        Job::DriveConnect => {
            // The consent page opens in the browser; its address goes to the log for a person
            // whose browser did not open.
            let tell = |address: &str| tracing::info!("Google's consent page: {address}");
            engine
                .drive_connect(None, &tell)
                .map(|account| Outcome::Connected(account.email))
        }
        Job::DriveDisconnect => engine.drive_disconnect().map(|()| Outcome::Disconnected),
    };
    result.unwrap_or_else(|error| Outcome::Failed(error.to_string()))
}

/// The restore drill: the newest local backup through `verify`, the newest Drive copy through
/// `verify_remote`; each touches nothing live.
fn drill(
    engine: &Engine,
    local: Option<&str>,
    drive: Option<&str>,
    reporter: &Reporter,
) -> lifeboat::Result<Outcome> {
    let problem = match local {
        Some(id) => engine
            .verify(Some(id), reporter)?
            .into_iter()
            .find_map(|result| result.problem),
        None => None,
    };
    let drive_problem = match drive {
        Some(id) => {
            let remote = engine.open_drive()?;
            engine.verify_remote(id, &remote, reporter)?.problem
        }
        None => None,
    };
    Ok(Outcome::Drilled {
        problem,
        drive_problem,
    })
}

/// Where each stage of a job falls in the job's whole, in percent: (start, end). Stages that run
/// beside the main one (the safety backup during a restore) do not move the figure.
fn span(job: &Job, stage: Stage) -> Option<(u64, u64)> {
    match (job, stage) {
        (Job::Backup(_), Stage::Snapshot) => Some((0, 20)),
        (Job::Backup(_), Stage::Compress) => Some((20, 60)),
        (Job::Backup(_), Stage::Verify) => Some((60, 75)),
        (Job::Backup(_), Stage::Prune) => Some((75, 80)),
        // With Drive connected, the upload is the last fifth; without, the job ends at 80%.
        (Job::Backup(_), Stage::Upload) => Some((80, 100)),
        (Job::DriveCycle, Stage::Upload) => Some((0, 100)),
        (Job::Restore { .. }, Stage::Decompress) => Some((0, 80)),
        (Job::Restore { .. }, Stage::Apply) => Some((80, 100)),
        (Job::Drill { .. }, Stage::Decompress) => Some((0, 100)),
        _ => None,
    }
}

/// How far the whole job is when `done` of `total` of `stage` are done.
fn overall(job: &Job, stage: Stage, done: u64, total: u64) -> Option<u8> {
    let (start, end) = span(job, stage)?;
    let within = (done.min(total).saturating_mul(end - start))
        .checked_div(total)
        .unwrap_or(0);
    Some((start + within).min(100) as u8)
}

/// Turns the engine's progress calls into a few events per second at most.
struct Reporter {
    job: Job,
    events: Sender<Input>,
    cancel: CancelFlag,
    last: Mutex<Option<(Stage, u8, Instant)>>,
}

impl Observer for Reporter {
    fn progress(&self, stage: Stage, done: u64, total: u64) {
        let Some(percent) = overall(&self.job, stage, done, total) else {
            return;
        };
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        let due = match *last {
            Some((last_stage, last_percent, at)) => {
                last_stage != stage
                    || (last_percent != percent && at.elapsed() >= PROGRESS_INTERVAL)
            }
            None => true,
        };
        if due {
            *last = Some((stage, percent, Instant::now()));
            let _ = self
                .events
                .send(Input::Event(Event::Progress { stage, percent }));
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_set()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_of_the_whole_job_and_only_moves_forward_through_its_stages() {
        let backup = Job::Backup(Trigger::Person);
        assert_eq!(overall(&backup, Stage::Snapshot, 0, 10), Some(0));
        assert_eq!(overall(&backup, Stage::Compress, 5, 10), Some(40));
        assert_eq!(overall(&backup, Stage::Verify, 10, 10), Some(75));
        assert_eq!(overall(&backup, Stage::Prune, 1, 1), Some(80));
        assert_eq!(overall(&backup, Stage::Upload, 1, 2), Some(90));
        assert_eq!(
            overall(&backup, Stage::Compress, 1, 0),
            Some(20),
            "no total: its start"
        );
        let restore = Job::Restore {
            id: "x".into(),
            undo: false,
        };
        assert_eq!(overall(&restore, Stage::Decompress, 1, 2), Some(40));
        assert_eq!(
            overall(&restore, Stage::Compress, 1, 2),
            None,
            "the safety backup"
        );
        assert_eq!(overall(&restore, Stage::Apply, 1, 1), Some(100));
    }
}
