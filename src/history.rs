//! The record of every run: what ran, when it started and ended, how it ended and why.
//!
//! Kept as JSON lines in the state folder, one line when a run starts and one when it ends, each
//! appended with a single write so concurrent readers never see half a line. A run with a start but
//! no end was killed; health counts it as failed. This is the engine's memory of outcomes; what
//! backups exist is never read from here (the backups folder says that).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Backup,
    Restore,
    Verify,
    Prune,
    Delete,
    /// Uploads to a remote (Google Drive); kept apart from Backup, so that a failed upload never
    /// makes a local backup that stands look failed.
    Upload,
    /// A backup brought down from a remote.
    Download,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    Failed,
    /// Started, never ended: the process was killed or the machine stopped.
    Interrupted,
}

/// One line of the history file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Line {
    run: String,
    operation: Operation,
    started_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ended_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// The backups the run made, restored or checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    backups: Vec<String>,
}

/// A run as health sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    pub operation: Operation,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub outcome: Outcome,
    pub error: Option<String>,
    #[serde(skip)]
    pub backups: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct History {
    path: PathBuf,
}

/// A run that has been announced and must be closed with [`History::finish`].
#[derive(Debug)]
pub struct Started {
    line: Line,
}

impl History {
    pub fn new(path: impl Into<PathBuf>) -> History {
        History { path: path.into() }
    }

    fn append(&self, line: &Line) -> Result<()> {
        let mut text = serde_json::to_vec(line).unwrap_or_default();
        text.push(b'\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|source| Error::io("cannot open", &self.path, source))?;
        file.write_all(&text)
            .map_err(|source| Error::io("cannot write", &self.path, source))
    }

    /// Records the start of a run.
    pub fn start(&self, operation: Operation, now: Timestamp) -> Result<Started> {
        let line = Line {
            run: format!("{}-{:08x}", now.as_millisecond(), rand::random::<u32>()),
            operation,
            started_at: now,
            ended_at: None,
            outcome: None,
            error: None,
            backups: Vec::new(),
        };
        self.append(&line)?;
        Ok(Started { line })
    }

    /// Records the end of a run.
    pub fn finish(
        &self,
        started: Started,
        now: Timestamp,
        error: Option<String>,
        backups: Vec<String>,
    ) -> Result<()> {
        let mut line = started.line;
        line.ended_at = Some(now);
        line.outcome = Some(if error.is_some() {
            Outcome::Failed
        } else {
            Outcome::Ok
        });
        line.error = error;
        line.backups = backups;
        self.append(&line)
    }

    /// Every run, oldest first. Unreadable lines (a torn write from a crash) are skipped.
    pub fn runs(&self) -> Result<Vec<Run>> {
        read_runs(&self.path)
    }
}

fn read_runs(path: &Path) -> Result<Vec<Run>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(Error::io("cannot read", path, source)),
    };
    let mut runs: Vec<Run> = Vec::new();
    let mut open: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for line in text
        .lines()
        .filter_map(|line| serde_json::from_str::<Line>(line).ok())
    {
        let run = Run {
            operation: line.operation,
            started_at: line.started_at,
            ended_at: line.ended_at,
            outcome: line.outcome.unwrap_or(Outcome::Interrupted),
            error: line.error,
            backups: line.backups,
        };
        match (line.outcome.is_some(), open.remove(&line.run)) {
            (true, Some(index)) => runs[index] = run,
            (false, _) => {
                open.insert(line.run, runs.len());
                runs.push(run);
            }
            (true, None) => runs.push(run),
        }
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_without_an_end_reads_as_interrupted() {
        let folder = tempfile::tempdir().expect("tempdir");
        let history = History::new(folder.path().join("h.jsonl"));
        let t0: Timestamp = "2026-11-25T10:00:00Z".parse().expect("time");
        let first = history.start(Operation::Backup, t0).expect("start");
        history.start(Operation::Backup, t0).expect("start killed");
        history
            .finish(first, t0, Some("disk full".into()), vec![])
            .expect("finish");
        let runs = history.runs().expect("runs");
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].outcome, Outcome::Failed);
        assert_eq!(runs[0].error.as_deref(), Some("disk full"));
        assert_eq!(runs[1].outcome, Outcome::Interrupted);
    }
}
