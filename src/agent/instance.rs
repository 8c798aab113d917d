//! One agent per user: an exclusive lock on `state/agent.lock`, held for the agent's life.
//!
//! The operating system drops the lock when the process ends, however it ends, so a crashed agent
//! never blocks the next one. The lock is apart from the job lock: an agent that sleeps must not
//! keep command-line backups waiting.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use lifeboat::Error;

/// Held while this agent runs.
#[derive(Debug)]
pub struct Instance {
    _file: File,
}

/// The outcome of trying to become the one agent.
#[derive(Debug)]
pub enum Claim {
    Claimed(Instance),
    /// Another agent holds the lock; its process id, when it wrote one.
    Running(Option<u32>),
}

pub fn claim(path: &Path) -> Result<Claim, Error> {
    let mut file = lifeboat::lock::open_lock_file(path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Ok(Claim::Running(text.trim().parse().ok()));
        }
        Err(TryLockError::Error(source)) => return Err(Error::io("cannot lock", path, source)),
    }
    // The process id is only for the message a second agent prints; failing to write it is harmless.
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(file, "{}", std::process::id());
    let _ = file.flush();
    Ok(Claim::Claimed(Instance { _file: file }))
}
