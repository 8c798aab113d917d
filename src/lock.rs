//! One job at a time: an exclusive lock on a file in the state folder, held while a job runs.
//!
//! The operating system releases the lock when the process dies, so a killed job never leaves a
//! stale lock behind. The command line and the tray agent take the same lock, so a backup started
//! from one waits for a job started from the other.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use crate::error::{Error, Result};

/// Held for as long as a job runs; dropping it releases the lock.
#[derive(Debug)]
pub struct JobLock {
    _file: File,
}

/// Opens (creating it if need be, never truncating it) a file whose lock says who runs: the job
/// lock here, the agent's one-instance lock, which also reads back the holder's process id.
pub fn open_lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|source| Error::io("cannot open", path, source))
}

impl JobLock {
    /// Takes the lock, calling `waiting` once and then blocking if another job holds it.
    pub fn acquire(path: &Path, waiting: impl FnOnce()) -> Result<JobLock> {
        let file = open_lock_file(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                waiting();
                file.lock()
                    .map_err(|source| Error::io("cannot lock", path, source))?;
            }
            Err(TryLockError::Error(source)) => return Err(Error::io("cannot lock", path, source)),
        }
        Ok(JobLock { _file: file })
    }
}
