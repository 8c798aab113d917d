//! The engine's error type: what failed and on what, and how the front ends should treat it.
//!
//! Every variant names its subject (a path, a backup id) so that the one-line message a person sees
//! at the edge says where to look. `Error::is_usage` separates the person's mistakes (exit code 2)
//! from operations that failed (exit code 1).

use std::io;
use std::path::PathBuf;

/// Result alias used throughout the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },

    #[error(
        "no database is configured: pass --db PATH or run `lifeboat config set database.path PATH`"
    )]
    NoDatabaseConfigured,

    #[error("database {0} does not exist")]
    DatabaseMissing(PathBuf),

    #[error(
        "database {0} is an empty file; an empty store.db almost always means damage, so it is not backed up (restore a backup instead)"
    )]
    DatabaseEmpty(PathBuf),

    #[error("{0} is not a SQLite database")]
    NotSqlite(PathBuf),

    #[error(
        "database {path} stayed locked by another process for {seconds} s; try again when it is idle, or raise database.busy_timeout_secs"
    )]
    Locked { path: PathBuf, seconds: u64 },

    #[error(
        "database {path} is {size_mb} MB, above limits.max_backup_mb ({limit_mb} MB); raise the limit with `lifeboat config set limits.max_backup_mb N`"
    )]
    TooLarge {
        path: PathBuf,
        size_mb: u64,
        limit_mb: u64,
    },

    #[error("SQLite failed on {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("the disk holding {path} is full; free some space or move backups.folder")]
    DiskFull { path: PathBuf },

    #[error("{0} is a file where Lifeboat needs a folder; move it away or choose another folder")]
    NotAFolder(PathBuf),

    #[error("no backup with id {0}; `lifeboat list` shows the backups")]
    UnknownBackup(String),

    #[error(
        "no backup with id {0} on the remote (or more than one matches); `lifeboat list --remote` shows them"
    )]
    UnknownRemoteBackup(String),

    #[error("id {id} matches {count} backups; give more of it")]
    AmbiguousBackup { id: String, count: usize },

    #[error("database {path} is damaged: {problem}; restore a backup")]
    DamagedDatabase { path: PathBuf, problem: String },

    #[error("backup {id} failed its check: {problem}")]
    Corrupt { id: String, problem: String },

    #[error("backup {id} has an unreadable manifest {path}: {message}")]
    BadManifest {
        id: String,
        path: PathBuf,
        message: String,
    },

    #[error("backup {0} is the newest verified backup; pass --force to delete it anyway")]
    NewestVerified(String),

    #[error(
        "cannot restore into {path}: {reason}; close the application that uses it and run the restore again"
    )]
    RestoreNeedsExclusive { path: PathBuf, reason: String },

    #[error("cancelled")]
    Cancelled,

    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
}

impl Error {
    /// True for mistakes in how Lifeboat was asked or configured (exit code 2), as opposed to an
    /// operation that failed (exit code 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::Config { .. }
                | Error::NoDatabaseConfigured
                | Error::Remote(crate::remote::RemoteError::ClientSecret { .. })
        )
    }

    /// True when the same operation may well succeed if tried again later without any change.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Remote(remote) => remote.is_transient(),
            other => matches!(other, Error::Locked { .. }),
        }
    }

    /// Wraps an I/O error, recognising a full disk so the person is told what to do about it.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        let path = path.into();
        if is_disk_full(&source) {
            return Error::DiskFull { path };
        }
        Error::Io {
            action,
            path,
            source,
        }
    }

    /// Wraps a SQLite error on `path`, turning the codes a person can act on into their own variants.
    pub fn sqlite(path: impl Into<PathBuf>, source: rusqlite::Error, busy_seconds: u64) -> Error {
        use rusqlite::ErrorCode;
        let path = path.into();
        match source.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::Locked {
                path,
                seconds: busy_seconds,
            },
            Some(ErrorCode::NotADatabase) => Error::NotSqlite(path),
            Some(ErrorCode::DatabaseCorrupt) => Error::DamagedDatabase {
                path,
                problem: "SQLite reports that its file is malformed".to_string(),
            },
            Some(ErrorCode::DiskFull) => Error::DiskFull { path },
            _ => Error::Sqlite { path, source },
        }
    }
}

fn is_disk_full(error: &io::Error) -> bool {
    // EFBIG is what `ulimit -f` produces (after SIGXFSZ is ignored); ENOSPC and EDQUOT are a full
    // disk and a full quota. All three mean the same to a person: there is no room.
    matches!(
        error.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::FileTooLarge
    ) || matches!(error.raw_os_error(), Some(27) | Some(28) | Some(122))
}
