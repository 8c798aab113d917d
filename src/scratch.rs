//! Removing a job's scratch images (snapshots, unpacked backups) without making the job wait.
//!
//! Removing a 1 GiB scratch file took a quarter of a second here (ext4), a third of it freeing the
//! file's cached pages and the rest waiting inside the filesystem, and at the end of a backup or a
//! restore the job would do nothing else meanwhile. So a scratch file whose last reader is done is
//! handed to a [`Disposal`], which removes it on a thread of its own while the job goes on (reads
//! the artifact back, writes the catalog, applies retention). Removals run one after the other:
//! two at once took longer than both in turn.
//! [`Disposal::finish`] waits for every removal, so a job that has ended has left nothing behind.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use crate::durable;

/// Removals under way. Dropping it waits for them, like [`Disposal::finish`].
#[derive(Debug, Default)]
pub struct Disposal {
    removals: Mutex<Vec<JoinHandle<()>>>,
    /// Held by the removal under way, so that removals run one at a time.
    turn: Arc<Mutex<()>>,
}

impl Disposal {
    /// Removes `path` (if it exists) on a thread of its own. Nothing may use `path` any more:
    /// neither read the file nor create another one there before [`Disposal::finish`].
    pub fn remove(&self, path: PathBuf) {
        let turn = Arc::clone(&self.turn);
        let spawned = std::thread::Builder::new()
            .name("lifeboat-remove".into())
            .spawn({
                let path = path.clone();
                move || {
                    let _turn = hold(&turn);
                    remove_quietly(&path);
                }
            });
        match spawned {
            Ok(removal) => hold(&self.removals).push(removal),
            // No thread to spare: the job waits after all.
            Err(_) => {
                let _turn = hold(&self.turn);
                remove_quietly(&path);
            }
        }
    }

    /// Waits until every file handed over so far is gone.
    pub fn finish(&self) {
        let removals = std::mem::take(&mut *hold(&self.removals));
        for removal in removals {
            let _ = removal.join();
        }
    }
}

/// Locks `mutex`. What it guards (handles, or nothing) stays usable whatever a thread that
/// panicked while holding it was doing, so a poisoned lock is taken as it is.
fn hold<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for Disposal {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A scratch file that cannot be removed is left for the next job, which removes every scratch
/// file a killed or failed job left behind; it is worth a line in the log, not a failed job.
fn remove_quietly(path: &std::path::Path) {
    if let Err(error) = durable::remove_if_present(path) {
        tracing::warn!("{error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_returns_once_every_file_handed_over_is_gone() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let files: Vec<PathBuf> = (0..3)
            .map(|number| {
                let path = folder.path().join(format!("scratch-{number}"));
                std::fs::write(&path, vec![0u8; 1 << 20]).expect("write");
                path
            })
            .collect();
        let disposal = Disposal::default();
        for path in &files {
            disposal.remove(path.clone());
        }
        // A file already gone (removed twice) is no error.
        disposal.remove(files[0].clone());
        disposal.finish();
        assert!(files.iter().all(|path| !path.exists()));
        assert!(hold(&disposal.removals).is_empty());
    }
}
