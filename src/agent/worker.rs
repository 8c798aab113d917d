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
            engine
                .backup(None, kind, reporter)
                .map(|entry| Outcome::BackedUp(Box::new(entry)))
        }
        Job::Restore { id, .. } => engine
            .restore(id, None, reporter)
            .map(|restored| Outcome::Restored(Box::new(restored))),
        Job::Drill { id } => engine
            .verify(Some(id), reporter)
            .map(|results| Outcome::Drilled {
                problem: results.into_iter().find_map(|result| result.problem),
            }),
    };
    result.unwrap_or_else(|error| Outcome::Failed(error.to_string()))
}

/// Turns the engine's progress calls into a few events per second at most.
struct Reporter {
    events: Sender<Input>,
    cancel: CancelFlag,
    last: Mutex<Option<(Stage, u8, Instant)>>,
}

impl Observer for Reporter {
    fn progress(&self, stage: Stage, done: u64, total: u64) {
        let percent = (done.min(total).saturating_mul(100))
            .checked_div(total)
            .map_or(0, |percent| percent.min(100) as u8);
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
