//! The backups folder: which backups it holds, adding and removing them, and its SHA256SUMS file.
//!
//! The folder describes itself. A backup is listed when its manifest is present; the manifest is
//! written last, after the artifact is complete, synced and verified, so a backup cut short by a
//! crash is never listed. Removal goes the other way round: manifest first. Only a job holding the
//! job lock may change the folder; reading it needs no lock, since every change is a rename.

use std::fs;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::durable::{self, TEMP_PREFIX};
use crate::error::{Error, Result};
use crate::manifest::{ARTIFACT_SUFFIX, Kind, MANIFEST_SUFFIX, Manifest};

/// Name of the checksum file that stock `sha256sum -c` reads.
pub const CHECKSUMS: &str = "SHA256SUMS";

/// One complete backup in the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub manifest: Manifest,
    pub artifact_path: PathBuf,
}

/// A manifest that could not be read: listed apart so `verify` can name it.
#[derive(Debug)]
pub struct Unreadable {
    pub id: String,
    pub error: Error,
}

#[derive(Debug, Clone)]
pub struct Catalog {
    folder: PathBuf,
}

impl Catalog {
    pub fn new(folder: impl Into<PathBuf>) -> Catalog {
        Catalog {
            folder: folder.into(),
        }
    }

    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// Creates the folder if needed (a file in its place is an error).
    pub fn prepare(&self) -> Result<()> {
        durable::ensure_folder(&self.folder)
    }

    /// Names of the files in the folder; none when the folder does not exist yet.
    fn file_names(&self) -> Result<Vec<String>> {
        if self.folder.exists() && !self.folder.is_dir() {
            return Err(Error::NotAFolder(self.folder.clone()));
        }
        let reader = match fs::read_dir(&self.folder) {
            Ok(reader) => reader,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(Error::io("cannot read folder", &self.folder, source)),
        };
        reader
            .map(|item| {
                item.map(|item| item.file_name().to_string_lossy().into_owned())
                    .map_err(|source| Error::io("cannot read folder", &self.folder, source))
            })
            .collect()
    }

    fn ids(&self) -> Result<Vec<String>> {
        Ok(self
            .file_names()?
            .iter()
            .filter_map(|name| name.strip_suffix(MANIFEST_SUFFIX))
            .filter(|id| !id.is_empty() && !id.starts_with('.'))
            .map(str::to_string)
            .collect())
    }

    /// Complete backups, newest first, and the manifests that could not be read.
    pub fn scan(&self) -> Result<(Vec<Entry>, Vec<Unreadable>)> {
        let mut entries = Vec::new();
        let mut unreadable = Vec::new();
        for id in self.ids()? {
            let path = self.folder.join(Manifest::manifest_name(&id));
            match Manifest::read(&path, &id) {
                Ok(manifest) => entries.push(Entry {
                    artifact_path: self.folder.join(&manifest.artifact),
                    manifest,
                }),
                // Gone between listing and reading: a concurrent delete, not a problem.
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => unreadable.push(Unreadable { id, error }),
            }
        }
        entries.sort_by(|a, b| {
            b.manifest
                .created_at
                .cmp(&a.manifest.created_at)
                .then_with(|| b.manifest.id.cmp(&a.manifest.id))
        });
        unreadable.sort_by(|a, b| b.id.cmp(&a.id));
        Ok((entries, unreadable))
    }

    /// Complete backups, newest first.
    pub fn list(&self) -> Result<Vec<Entry>> {
        Ok(self.scan()?.0)
    }

    /// The backup whose id is `wanted`, or the only one whose id starts with it.
    pub fn find(&self, wanted: &str) -> Result<Entry> {
        let entries = self.list()?;
        if let Some(exact) = entries.iter().find(|entry| entry.manifest.id == wanted) {
            return Ok(exact.clone());
        }
        let mut matching: Vec<&Entry> = entries
            .iter()
            .filter(|entry| !wanted.is_empty() && entry.manifest.id.starts_with(wanted))
            .collect();
        match matching.len() {
            0 => Err(Error::UnknownBackup(wanted.to_string())),
            1 => Ok(matching.remove(0).clone()),
            count => Err(Error::AmbiguousBackup {
                id: wanted.to_string(),
                count,
            }),
        }
    }

    /// A new id for a backup of `kind` made at `created_at`, unique in the folder: sortable UTC
    /// time to the millisecond (so that an id is not handed out again after retention removed the
    /// backup that had it), then the kind, so the folder reads well in a file manager too.
    pub fn new_id(&self, kind: Kind, created_at: Timestamp) -> String {
        let base = format!(
            "{}-{}",
            created_at.strftime("%Y%m%dT%H%M%S%.3fZ"),
            kind.name()
        );
        let taken = |id: &str| {
            self.folder.join(Manifest::manifest_name(id)).exists()
                || self.folder.join(Manifest::artifact_name(id)).exists()
        };
        if !taken(&base) {
            return base;
        }
        (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|id| !taken(id))
            .unwrap_or(base)
    }

    /// Where a job writes an artifact before it is complete.
    pub fn temporary_artifact(&self, id: &str) -> PathBuf {
        durable::temp_path(&self.folder, &Manifest::artifact_name(id))
    }

    /// Where a job keeps a scratch database image.
    pub fn temporary_image(&self, id: &str) -> PathBuf {
        durable::temp_path(&self.folder, &format!("{id}.image"))
    }

    /// Moves a finished, synced and verified artifact into place and records its manifest.
    pub fn add(&self, manifest: &Manifest, finished_artifact: &Path) -> Result<Entry> {
        let artifact_path = self.folder.join(&manifest.artifact);
        durable::commit(finished_artifact, &artifact_path)?;
        durable::write_atomic(
            &self.folder.join(Manifest::manifest_name(&manifest.id)),
            &manifest.to_json(),
        )?;
        self.write_checksums()?;
        Ok(Entry {
            manifest: manifest.clone(),
            artifact_path,
        })
    }

    /// Removes a backup: manifest first, so it stops being listed before its artifact goes.
    pub fn remove(&self, entry: &Entry) -> Result<()> {
        durable::remove_if_present(
            &self
                .folder
                .join(Manifest::manifest_name(&entry.manifest.id)),
        )?;
        durable::remove_if_present(&entry.artifact_path)?;
        durable::sync_folder(&self.folder)?;
        self.write_checksums()
    }

    /// Rewrites SHA256SUMS from the manifests, in the format `sha256sum -c` reads.
    pub fn write_checksums(&self) -> Result<()> {
        let mut entries = self.list()?;
        entries.sort_by(|a, b| a.manifest.id.cmp(&b.manifest.id));
        let text: String = entries
            .iter()
            .map(|entry| format!("{}  {}\n", entry.manifest.sha256, entry.manifest.artifact))
            .collect();
        durable::write_atomic(&self.folder.join(CHECKSUMS), text.as_bytes())
    }

    /// Removes what jobs that were killed left behind: temporary files, and artifacts whose manifest
    /// was never written. Only a job holding the job lock may call this.
    pub fn remove_leftovers(&self) -> Result<Vec<PathBuf>> {
        let mut removed = Vec::new();
        for name in self.file_names()? {
            let orphan = name
                .strip_suffix(ARTIFACT_SUFFIX)
                .is_some_and(|id| !self.folder.join(Manifest::manifest_name(id)).exists());
            if name.starts_with(TEMP_PREFIX) || orphan {
                let path = self.folder.join(&name);
                durable::remove_if_present(&path)?;
                removed.push(path);
            }
        }
        Ok(removed)
    }
}
