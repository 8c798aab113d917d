//! Second homes for backups: the narrow interface every remote store implements (list, put, get,
//! delete, quota) and its error type.
//!
//! A remote holds complete artifacts and, beside each, the manifest that describes it, so that
//! listing needs no download. The local folder ([`folder::FolderRemote`]) and Google Drive
//! ([`crate::drive::Drive`]) sit behind the same trait and pass the same conformance suite, which is
//! how the engine can treat them alike.

pub mod folder;
pub mod queue;

use std::path::{Path, PathBuf};

use crate::catalog::Entry;
use crate::manifest::Manifest;

/// One backup held by a remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteEntry {
    pub manifest: Manifest,
    /// The remote's own name for the artifact (a Drive file id, a path).
    pub remote_id: String,
}

/// Space on a remote, in bytes; `total` is None when the account has no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub used: u64,
    pub total: Option<u64>,
}

impl Quota {
    pub fn available(&self) -> Option<u64> {
        self.total.map(|total| total.saturating_sub(self.used))
    }
}

/// Reports `done` of `total` bytes moved.
pub type Progress<'a> = &'a dyn Fn(u64, u64);

/// What can go wrong with a remote. [`RemoteError::is_transient`] says whether trying again later
/// (the next backup, the next agent cycle) may well succeed without anyone doing anything.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("Google Drive is not connected: run `lifeboat drive connect`")]
    NotConnected,

    #[error("Google Drive access was revoked or expired: reconnect with `lifeboat drive connect`")]
    AccessRevoked,

    #[error(
        "the OS keyring could not be reached ({0}); Lifeboat keeps Google tokens only there, so unlock or start the keyring and try again"
    )]
    Keyring(String),

    #[error(
        "Google Drive is full: the backup needs {needed} bytes and {available} are free; free some space on Drive or lower retention.keep_drive"
    )]
    QuotaExceeded { needed: u64, available: u64 },

    #[error("Google Drive refused the upload ({reason}): {sentence}")]
    LimitExceeded { reason: String, sentence: String },

    #[error(
        "Google Drive is busy ({reason}) and still refused after {attempts} tries; the upload will be retried later"
    )]
    Throttled { reason: String, attempts: u32 },

    #[error("could not reach {what}: {message}")]
    Unreachable { what: String, message: String },

    #[error("{what} answered HTTP {status}: {message}")]
    Api {
        what: String,
        status: u16,
        message: String,
    },

    #[error("{what} is not on the remote")]
    NotFound { what: String },

    #[error(
        "the copy of backup {id} on the remote does not match the local artifact ({problem}); the remote copy was deleted"
    )]
    Mismatch { id: String, problem: String },

    #[error("the remote copy of backup {id} failed its check: {problem}")]
    Corrupt { id: String, problem: String },

    #[error("the Google client secret {path}: {message}")]
    ClientSecret { path: PathBuf, message: String },

    #[error("{0}")]
    Consent(String),

    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{0}")]
    Protocol(String),
}

impl RemoteError {
    /// True when the same operation may succeed later with no change by anyone.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            RemoteError::Throttled { .. }
                | RemoteError::Unreachable { .. }
                | RemoteError::Api {
                    status: 500..=599,
                    ..
                }
        )
    }

    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> RemoteError {
        RemoteError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A second home for backups.
pub trait Remote {
    /// A name for messages, like "Google Drive".
    fn name(&self) -> String;

    /// Backups on the remote, newest first.
    fn list(&self) -> Result<Vec<RemoteEntry>, RemoteError>;

    /// Stores a local backup's artifact with its manifest, and checks what arrived. A backup already
    /// on the remote is not stored again: its existing entry is returned.
    fn put(&self, entry: &Entry, progress: Progress) -> Result<RemoteEntry, RemoteError>;

    /// Writes the artifact of `entry` to `destination` (a file that does not exist yet) and checks
    /// its size and SHA-256 against the manifest on the way.
    fn get(
        &self,
        entry: &RemoteEntry,
        destination: &Path,
        progress: Progress,
    ) -> Result<(), RemoteError>;

    fn delete(&self, entry: &RemoteEntry) -> Result<(), RemoteError>;

    fn quota(&self) -> Result<Quota, RemoteError>;
}

/// The entry whose id is `wanted`, or the only one whose id starts with it.
pub fn find<'a>(entries: &'a [RemoteEntry], wanted: &str) -> Option<&'a RemoteEntry> {
    entries
        .iter()
        .find(|entry| entry.manifest.id == wanted)
        .or_else(|| {
            let mut matching = entries
                .iter()
                .filter(|entry| !wanted.is_empty() && entry.manifest.id.starts_with(wanted));
            match (matching.next(), matching.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        })
}

/// Sorts entries newest first, the order every listing uses.
pub fn newest_first(entries: &mut [RemoteEntry]) {
    entries.sort_by(|a, b| {
        b.manifest
            .created_at
            .cmp(&a.manifest.created_at)
            .then_with(|| b.manifest.id.cmp(&a.manifest.id))
    });
}

/// Copies `source` to `destination` while hashing it, checking size and SHA-256 against
/// `manifest`. Streams in fixed blocks: memory stays flat whatever the artifact's size.
pub fn copy_checked(
    source: &mut dyn std::io::Read,
    destination: &Path,
    manifest: &Manifest,
    progress: Progress,
) -> Result<(), RemoteError> {
    use sha2::{Digest, Sha256};
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(destination)
        .map_err(|source| RemoteError::io("cannot create", destination, source))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        let read = source
            .read(&mut buffer)
            .map_err(|source| RemoteError::io("cannot read the copy of", destination, source))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        file.write_all(&buffer[..read])
            .map_err(|source| RemoteError::io("cannot write", destination, source))?;
        done += read as u64;
        progress(done, manifest.size);
    }
    file.sync_all()
        .map_err(|source| RemoteError::io("cannot sync", destination, source))?;
    check_digest(
        &manifest.id,
        done,
        &crate::manifest::hex(&hasher.finalize()),
        manifest,
    )
}

/// Compares what arrived with what the manifest promises.
pub fn check_digest(
    id: &str,
    size: u64,
    sha256: &str,
    manifest: &Manifest,
) -> Result<(), RemoteError> {
    if size != manifest.size {
        return Err(RemoteError::Corrupt {
            id: id.to_string(),
            problem: format!("it is {size} bytes, the manifest says {}", manifest.size),
        });
    }
    if sha256 != manifest.sha256 {
        return Err(RemoteError::Corrupt {
            id: id.to_string(),
            problem: "its SHA-256 does not match the manifest".to_string(),
        });
    }
    Ok(())
}
