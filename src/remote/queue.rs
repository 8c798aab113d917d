//! The uploads still owed to a remote, kept in the state folder so that a failed upload is tried
//! again by the next backup or status check, and a finished one is never sent twice.
//!
//! The file is small JSON rewritten atomically; only a job holding the job lock changes it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::durable;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The backup id.
    pub id: String,
    pub attempts: u32,
    /// The last failure, as the sentence a person reads.
    pub last_error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Queue {
    path: PathBuf,
}

impl Queue {
    pub fn new(path: impl Into<PathBuf>) -> Queue {
        Queue { path: path.into() }
    }

    pub fn load(&self) -> Result<Vec<Pending>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| Error::Config {
                path: self.path.clone(),
                message: format!("the upload queue is unreadable ({error}); delete the file and run `lifeboat drive status`"),
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(source) => Err(Error::io("cannot read", &self.path, source)),
        }
    }

    fn save(&self, pending: &[Pending]) -> Result<()> {
        let mut text = serde_json::to_vec_pretty(pending).unwrap_or_default();
        text.push(b'\n');
        durable::write_atomic(&self.path, &text)
    }

    /// Adds `id` unless it is already waiting.
    pub fn push(&self, id: &str) -> Result<()> {
        let mut pending = self.load()?;
        if !pending.iter().any(|item| item.id == id) {
            pending.push(Pending {
                id: id.to_string(),
                attempts: 0,
                last_error: None,
            });
            self.save(&pending)?;
        }
        Ok(())
    }

    /// Records a failed attempt for `id`.
    pub fn failed(&self, id: &str, error: &str) -> Result<()> {
        let mut pending = self.load()?;
        if let Some(item) = pending.iter_mut().find(|item| item.id == id) {
            item.attempts += 1;
            item.last_error = Some(error.to_string());
        }
        self.save(&pending)
    }

    /// Removes `id`: uploaded, or its local backup is gone.
    pub fn done(&self, id: &str) -> Result<()> {
        let mut pending = self.load()?;
        let before = pending.len();
        pending.retain(|item| item.id != id);
        if pending.len() != before {
            self.save(&pending)?;
        }
        Ok(())
    }
}
