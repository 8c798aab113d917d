//! How a running job reports progress to its front end and learns that it should stop.
//!
//! The engine calls an [`Observer`] between chunks of work; the command line draws a progress bar
//! from it and the tray agent will turn it into events. Cancellation is cooperative: a job checks
//! [`Observer::cancelled`] at points where stopping leaves nothing half-done, and cleans up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The steps of a job, in the words a person would use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Snapshot,
    Compress,
    Verify,
    SafetyBackup,
    Download,
    Decompress,
    Apply,
    Prune,
    Upload,
}

impl Stage {
    pub fn label(self) -> &'static str {
        match self {
            Stage::Snapshot => "Taking a snapshot",
            Stage::Compress => "Compressing",
            Stage::Verify => "Verifying",
            Stage::SafetyBackup => "Making a safety backup",
            Stage::Download => "Downloading",
            Stage::Decompress => "Unpacking and checking",
            Stage::Apply => "Restoring",
            Stage::Prune => "Applying retention",
            Stage::Upload => "Uploading to Google Drive",
        }
    }
}

pub trait Observer: Sync {
    /// `done` of `total` bytes (or units) of `stage` are finished.
    fn progress(&self, stage: Stage, done: u64, total: u64);

    /// Another job holds the job lock; this one waits for it.
    fn waiting_for_lock(&self) {}

    /// True once the job should stop at its next safe point.
    fn cancelled(&self) -> bool {
        false
    }
}

/// An observer that shows nothing and never cancels.
pub struct Silent;

impl Observer for Silent {
    fn progress(&self, _stage: Stage, _done: u64, _total: u64) {}
}

/// A flag that one side sets and the running job reads.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
