//! A folder as a remote (a second disk, a mounted share): the same self-describing layout as the
//! backups folder, written through [`Catalog`], so a copy there is also restorable by hand.

use std::path::{Path, PathBuf};

use crate::catalog::{Catalog, Entry};
use crate::remote::{Progress, Quota, Remote, RemoteEntry, RemoteError, copy_checked};

pub struct FolderRemote {
    catalog: Catalog,
}

impl FolderRemote {
    pub fn new(folder: impl Into<PathBuf>) -> FolderRemote {
        FolderRemote {
            catalog: Catalog::new(folder),
        }
    }

    fn engine_error(error: crate::Error) -> RemoteError {
        RemoteError::Protocol(error.to_string())
    }
}

impl Remote for FolderRemote {
    fn name(&self) -> String {
        format!("folder {}", self.catalog.folder().display())
    }

    fn list(&self) -> Result<Vec<RemoteEntry>, RemoteError> {
        let entries = self.catalog.list().map_err(Self::engine_error)?;
        Ok(entries
            .into_iter()
            .map(|entry| RemoteEntry {
                remote_id: entry.artifact_path.display().to_string(),
                manifest: entry.manifest,
            })
            .collect())
    }

    fn put(&self, entry: &Entry, progress: Progress) -> Result<RemoteEntry, RemoteError> {
        if let Some(existing) = self
            .list()?
            .into_iter()
            .find(|remote| remote.manifest.id == entry.manifest.id)
        {
            return Ok(existing);
        }
        self.catalog.prepare().map_err(Self::engine_error)?;
        let temporary = self.catalog.temporary_artifact(&entry.manifest.id);
        let copied = std::fs::File::open(&entry.artifact_path)
            .map_err(|source| RemoteError::io("cannot open", &entry.artifact_path, source))
            .and_then(|mut source| copy_checked(&mut source, &temporary, &entry.manifest, progress))
            .and_then(|()| {
                self.catalog
                    .add(&entry.manifest, &temporary)
                    .map_err(Self::engine_error)
            });
        match copied {
            Ok(added) => Ok(RemoteEntry {
                remote_id: added.artifact_path.display().to_string(),
                manifest: added.manifest,
            }),
            Err(error) => {
                let _ = std::fs::remove_file(&temporary);
                Err(error)
            }
        }
    }

    fn get(
        &self,
        entry: &RemoteEntry,
        destination: &Path,
        progress: Progress,
    ) -> Result<(), RemoteError> {
        let path = Path::new(&entry.remote_id);
        let mut source = std::fs::File::open(path).map_err(|_| RemoteError::NotFound {
            what: format!("backup {}", entry.manifest.id),
        })?;
        copy_checked(&mut source, destination, &entry.manifest, progress)
    }

    fn delete(&self, entry: &RemoteEntry) -> Result<(), RemoteError> {
        let local = self
            .catalog
            .find(&entry.manifest.id)
            .map_err(|_| RemoteError::NotFound {
                what: format!("backup {}", entry.manifest.id),
            })?;
        self.catalog.remove(&local).map_err(Self::engine_error)
    }

    fn quota(&self) -> Result<Quota, RemoteError> {
        let folder = self.catalog.folder();
        let existing = folder
            .ancestors()
            .find(|candidate| candidate.exists())
            .unwrap_or(folder);
        let total = fs4::total_space(existing)
            .map_err(|source| RemoteError::io("cannot measure", existing, source))?;
        let available = fs4::available_space(existing)
            .map_err(|source| RemoteError::io("cannot measure", existing, source))?;
        Ok(Quota {
            used: total.saturating_sub(available),
            total: Some(total),
        })
    }
}
