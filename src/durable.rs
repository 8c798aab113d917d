//! Writing files so that a crash leaves either the old state or the new one, never half of either.
//!
//! The order is always: write to a temporary name in the same folder, fsync the file, rename it into
//! place, fsync the folder (so the rename itself survives a power cut). Temporary names start with
//! [`TEMP_PREFIX`] so that whoever holds the job lock can recognise and remove what a killed run left.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Prefix of every temporary file Lifeboat creates; nothing else in its folders starts with it.
pub const TEMP_PREFIX: &str = ".lifeboat-tmp-";

/// Ending of every temporary name, so that nothing that reads a folder by file type (a desktop
/// reading `*.desktop` from an autostart folder, say) takes a half-written file for a real one.
pub const TEMP_SUFFIX: &str = ".tmp";

/// A temporary path in `folder` for a file that will become `final_name`.
pub fn temp_path(folder: &Path, final_name: &str) -> PathBuf {
    folder.join(format!(
        "{TEMP_PREFIX}{}-{final_name}{TEMP_SUFFIX}",
        std::process::id()
    ))
}

/// Creates (or truncates) a file for writing.
pub fn create(path: &Path) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|source| Error::io("cannot create", path, source))
}

/// Flushes a file's data and metadata to the disk.
pub fn sync(file: &File, path: &Path) -> Result<()> {
    file.sync_all()
        .map_err(|source| Error::io("cannot write", path, source))
}

/// Makes a rename or removal in `folder` durable.
pub fn sync_folder(folder: &Path) -> Result<()> {
    // Windows cannot open a folder as a file; NTFS journals the rename itself.
    #[cfg(unix)]
    {
        let handle =
            File::open(folder).map_err(|source| Error::io("cannot open folder", folder, source))?;
        handle
            .sync_all()
            .map_err(|source| Error::io("cannot sync folder", folder, source))?;
    }
    #[cfg(not(unix))]
    let _ = folder;
    Ok(())
}

/// Renames a finished, synced temporary file over `destination` and makes the rename durable.
pub fn commit(temporary: &Path, destination: &Path) -> Result<()> {
    fs::rename(temporary, destination)
        .map_err(|source| Error::io("cannot rename into place", destination, source))?;
    if let Some(folder) = destination.parent() {
        sync_folder(folder)?;
    }
    Ok(())
}

/// How much a [`SteadyFile`] writes before it asks the disk to catch up: small enough that an
/// application's fsync queued behind one run waits a few milliseconds at most.
const STEADY_SYNC_BYTES: u64 = 2 << 20;

/// A file written in long runs (an artifact, a database image) that is flushed to the disk every
/// 2 MiB on the way instead of all at once at the end. One large flush at the end holds up every
/// other process's fsync on the same disk for as long as it takes (on ext4 they share the
/// journal), and the application's commits are such fsyncs: steady small flushes keep its stalls
/// short, and the final [`sync`] has little left to do.
pub struct SteadyFile {
    file: File,
    unsynced: u64,
    written: u64,
}

impl SteadyFile {
    pub fn new(file: File) -> SteadyFile {
        SteadyFile {
            file,
            unsynced: 0,
            written: 0,
        }
    }

    /// Starts writing the last `length` bytes (ending at `end`) to the disk.
    fn catch_up(&self, end: u64, length: u64) -> std::io::Result<()> {
        // On Linux, sync_file_range starts the data's writeback without waiting for it and without
        // committing the filesystem's journal, so the application's own fsyncs do not queue behind
        // ours; the final `sync` commits the metadata once. Elsewhere, a plain data sync.
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let start = end.saturating_sub(length);
            let result = unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    start as libc::off64_t,
                    length as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                )
            };
            if result == 0 {
                return Ok(());
            }
            Err(std::io::Error::last_os_error())
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (end, length);
            self.file.sync_data()
        }
    }

    pub fn into_file(self) -> File {
        self.file
    }
}

impl Write for SteadyFile {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let written = self.file.write(buffer)?;
        self.unsynced += written as u64;
        self.written += written as u64;
        if self.unsynced >= STEADY_SYNC_BYTES {
            self.catch_up(self.written, self.unsynced)?;
            self.unsynced = 0;
        }
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Writes `contents` to `destination` atomically.
pub fn write_atomic(destination: &Path, contents: &[u8]) -> Result<()> {
    let folder = destination.parent().unwrap_or(Path::new("."));
    let name = destination
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = temp_path(folder, &name);
    let written = (|| {
        let mut file = create(&temporary)?;
        file.write_all(contents)
            .map_err(|source| Error::io("cannot write", &temporary, source))?;
        sync(&file, &temporary)?;
        commit(&temporary, destination)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

/// The file SQLite keeps beside a database under the name `database` + `suffix` ("-journal",
/// "-wal", "-shm"), or any other name made by appending to a path.
pub fn companion(database: &Path, suffix: &str) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes a file if it exists; a file that is already gone is not an error.
pub fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::io("cannot remove", path, source)),
    }
}

/// Creates a folder and its parents, reporting a file in the way clearly.
pub fn ensure_folder(folder: &Path) -> Result<()> {
    if folder.exists() && !folder.is_dir() {
        return Err(Error::NotAFolder(folder.to_path_buf()));
    }
    fs::create_dir_all(folder).map_err(|source| Error::io("cannot create folder", folder, source))
}
