//! The engine's operations with a second home for backups (Google Drive, or any [`Remote`]):
//! connecting, uploading new backups through a persistent queue, listing, restoring and verifying
//! from the remote, deleting there, and retention on the remote.
//!
//! These are `Engine` methods like the local ones, so the command line and the tray agent call the
//! same functions. Drive's state that is not secret (the account's address, whether the grant was
//! found revoked) lives in `state/drive.json`; the grant itself lives only in the OS keyring.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::catalog::Entry;
use crate::config;
use crate::drive::endpoints::ClientCredentials;
use crate::drive::{self, Account, Drive, UploadSettings};
use crate::durable;
use crate::engine::{Engine, Restored, Verification, unpack_and_check};
use crate::error::{Error, Result};
use crate::health::Status;
use crate::history::Operation;

use crate::manifest::Kind;
use crate::progress::{Observer, Stage};
use crate::remote::queue::{Pending, Queue};
use crate::remote::{self, Quota, Remote, RemoteEntry, RemoteError};

/// How the history names the Drive copy of a backup, which shares the local copy's id.
const DRIVE_COPY: &str = "@drive";

/// What Lifeboat remembers of the Drive connection, none of it secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveState {
    pub account: String,
    pub connected_at: Option<Timestamp>,
    /// Set when Google answered `invalid_grant`: only a new `drive connect` helps.
    pub access_revoked: bool,
}

/// Drive's part of `health` and `drive status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveSummary {
    pub account: String,
    pub access_revoked: bool,
    pub pending: Vec<Pending>,
}

/// What `drive status` shows.
#[derive(Debug, Clone)]
pub struct DriveStatus {
    pub account: String,
    pub quota: Option<Quota>,
    pub folder: String,
    pub pending: Vec<Pending>,
    /// Backups the status check uploaded from the queue.
    pub uploaded: Vec<RemoteEntry>,
    pub problem: Option<String>,
}

/// The result of working through the upload queue.
#[derive(Debug, Clone, Default)]
pub struct Uploads {
    pub uploaded: Vec<RemoteEntry>,
    /// Backup id and the sentence saying why it is still queued.
    pub failed: Vec<(String, String)>,
    pub removed_by_retention: Vec<RemoteEntry>,
}

/// Which backups on the remote retention keeps: for each database (told apart by its file name,
/// as the Drive subfolders are), the newest `keep` manual and scheduled ones and the newest
/// `keep_safety` safety ones. Entries are newest first; the result is in their order.
pub fn remote_plan(entries: &[RemoteEntry], keep: usize, keep_safety: usize) -> Vec<bool> {
    let mut counts: std::collections::HashMap<(String, bool), usize> =
        std::collections::HashMap::new();
    entries
        .iter()
        .map(|entry| {
            let safety = entry.manifest.kind == Kind::Safety;
            let database = drive::subfolder_of(&entry.manifest.source_path);
            let count = counts.entry((database, safety)).or_default();
            *count += 1;
            *count <= if safety { keep_safety } else { keep }
        })
        .collect()
}

impl Engine {
    fn drive_state_file(&self) -> PathBuf {
        self.home().state_folder().join("drive.json")
    }

    fn upload_queue(&self) -> Queue {
        Queue::new(self.home().state_folder().join("drive-queue.json"))
    }

    /// The name of this home's keyring entry.
    fn drive_key(&self) -> String {
        self.home().config_file().display().to_string()
    }

    pub fn drive_state(&self) -> Option<DriveState> {
        let bytes = std::fs::read(self.drive_state_file()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn save_drive_state(&self, state: &DriveState) -> Result<()> {
        self.home().prepare_state()?;
        let mut text = serde_json::to_vec_pretty(state).unwrap_or_default();
        text.push(b'\n');
        durable::write_atomic(&self.drive_state_file(), &text)
    }

    /// True once `drive connect` succeeded here and `drive disconnect` has not undone it.
    pub fn drive_connected(&self) -> bool {
        self.drive_state().is_some()
    }

    fn credentials(&self, client_secret: Option<&Path>) -> Result<ClientCredentials> {
        let section = &self.config().drive;
        if let Some(path) = client_secret.or(section.client_secret_file.as_deref()) {
            return Ok(ClientCredentials::from_file(path)?);
        }
        match (&section.client_id, &section.client_secret) {
            (Some(id), Some(secret)) => Ok(ClientCredentials::from_values(id.clone(), secret.clone())),
            _ => Err(Error::Config {
                path: self.home().config_file(),
                message: "no Google client is configured: pass --client-secret FILE (the JSON of a Desktop app client from Google Cloud Console), or set drive.client_id and drive.client_secret".into(),
            }),
        }
    }

    /// Opens the Drive remote of this home, listing the configured database's backups (every
    /// database's when none is configured).
    pub fn open_drive(&self) -> Result<Drive> {
        if !self.drive_connected() {
            return Err(RemoteError::NotConnected.into());
        }
        let database = self
            .config()
            .database
            .path
            .as_ref()
            .map(|path| drive::subfolder_of(&path.display().to_string()));
        let upload = UploadSettings {
            chunk_size: self.config().drive.chunk_kib * 1024,
            sessions_file: Some(self.home().state_folder().join("drive-sessions.json")),
            ..UploadSettings::default()
        };
        Ok(Drive::open(
            &self.drive_key(),
            self.credentials(None)?,
            database,
            upload,
        )?)
    }

    /// Runs consent in the browser (`tell` shows the consent address), keeps the grant in the
    /// keyring and remembers the client secret file in the configuration.
    pub fn drive_connect(
        &self,
        client_secret: Option<&Path>,
        tell: &dyn Fn(&str),
    ) -> Result<Account> {
        let credentials = self.credentials(client_secret)?;
        let account = Drive::connect(&self.drive_key(), credentials, tell)?;
        if let Some(path) = client_secret {
            let absolute = std::path::absolute(path)
                .map_err(|source| Error::io("cannot resolve", path, source))?;
            config::set(
                self.home(),
                &[("drive.client_secret_file", &absolute.display().to_string())],
            )?;
        }
        self.save_drive_state(&DriveState {
            account: account.email.clone(),
            connected_at: Some(Timestamp::now()),
            access_revoked: false,
        })?;
        Ok(account)
    }

    /// Revokes the grant at Google, removes it from the keyring and forgets the connection.
    pub fn drive_disconnect(&self) -> Result<()> {
        let revoked = match self.open_drive() {
            Ok(drive) => drive.disconnect(),
            Err(Error::Remote(RemoteError::NotConnected)) => Ok(()),
            Err(error) => return Err(error),
        };
        durable::remove_if_present(&self.drive_state_file())?;
        durable::remove_if_present(&self.upload_queue_path())?;
        match revoked {
            // The grant was already dead: nothing is left to revoke.
            Ok(()) | Err(RemoteError::AccessRevoked) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    fn upload_queue_path(&self) -> PathBuf {
        self.home().state_folder().join("drive-queue.json")
    }

    /// Remembers whether the grant still works, for `health`.
    fn note<T>(&self, result: &std::result::Result<T, RemoteError>) {
        let Some(mut state) = self.drive_state() else {
            return;
        };
        let revoked = matches!(result, Err(RemoteError::AccessRevoked));
        if revoked != state.access_revoked && (revoked || result.is_ok()) {
            state.access_revoked = revoked;
            if let Err(error) = self.save_drive_state(&state) {
                tracing::warn!("could not record Drive's state: {error}");
            }
        }
    }

    /// Whether a backup of this kind goes to the remote.
    fn uploads_kind(&self, kind: Kind) -> bool {
        kind != Kind::Safety || self.config().drive.upload_safety
    }

    /// Puts `entry` in the upload queue (if its kind is uploaded), before anything can fail on the
    /// way to the remote: a backup made while the keyring or the network is away is still owed.
    pub fn queue_upload(&self, entry: &Entry) -> Result<()> {
        if self.uploads_kind(entry.manifest.kind) {
            self.home().prepare_state()?;
            self.upload_queue().push(&entry.manifest.id)?;
        }
        Ok(())
    }

    /// Sends a backup just made to Google Drive, or `None` when Drive is not connected. The backup
    /// is queued before anything can fail on the way, then the whole queue is worked through, so
    /// the command line and the tray agent leave the same backups owed after a failure.
    pub fn upload_new_backup(
        &self,
        entry: &Entry,
        observer: &dyn Observer,
    ) -> Option<Result<Uploads>> {
        if !self.drive_connected() {
            return None;
        }
        Some(
            self.queue_upload(entry)
                .and_then(|()| self.open_drive())
                .and_then(|drive| self.upload_pending(&drive, observer)),
        )
    }

    /// Works through the upload queue when something is in it; an empty queue costs no request
    /// and leaves no run in the history (the agent's cycle calls this every time).
    fn retry_queued(&self, remote: &dyn Remote, observer: &dyn Observer) -> Result<Uploads> {
        if self.upload_queue().load()?.is_empty() {
            return Ok(Uploads::default());
        }
        self.upload_pending(remote, observer)
    }

    /// The tray agent's Drive cycle: retries the uploads still queued, then lists the backups on
    /// Drive (newest first) for the Restore menu. A revoked grant is recorded for `health` by
    /// either call.
    pub fn drive_cycle(&self, observer: &dyn Observer) -> Result<(Uploads, Vec<RemoteEntry>)> {
        let drive = self.open_drive()?;
        let uploads = self.retry_queued(&drive, observer)?;
        let listed = self.remote_list(&drive)?;
        Ok((uploads, listed))
    }

    /// Restores backup `id` from the local copy when there is one, else from Google Drive when it
    /// is connected (what `restore ID` without `--from` and the tray's Restore menu do).
    pub fn restore_local_or_remote(
        &self,
        id: &str,
        chosen: Option<&Path>,
        observer: &dyn Observer,
    ) -> Result<Restored> {
        match self.catalog().find(id) {
            Err(Error::UnknownBackup(_)) if self.drive_connected() => {
                let drive = self.open_drive()?;
                self.restore_from_remote(id, chosen, &drive, observer)
            }
            _ => self.restore(id, chosen, observer),
        }
    }

    /// Queues `entry` for upload (if its kind is uploaded) and works through the queue.
    pub fn upload_backup(
        &self,
        entry: &Entry,
        remote: &dyn Remote,
        observer: &dyn Observer,
    ) -> Result<Uploads> {
        self.queue_upload(entry)?;
        self.upload_pending(remote, observer)
    }

    /// Uploads every queued backup that still exists locally, each checked on the remote, then
    /// applies retention there. A failure keeps the backup queued and stops the run when it is
    /// about the account (revoked, full, daily limit), since the next upload would fail the same way.
    pub fn upload_pending(&self, remote: &dyn Remote, observer: &dyn Observer) -> Result<Uploads> {
        self.job(
            Operation::Upload,
            observer,
            || {
                let queue = self.upload_queue();
                let catalog = self.catalog();
                let mut uploads = Uploads::default();
                for pending in queue.load()? {
                    let Ok(entry) = catalog.find(&pending.id) else {
                        queue.done(&pending.id)?;
                        continue;
                    };
                    let size = entry.manifest.size;
                    let progress = |done: u64, total: u64| {
                        observer.progress(Stage::Upload, done, total.max(size))
                    };
                    let result = remote.put(&entry, &progress);
                    self.note(&result);
                    match result {
                        Ok(uploaded) => {
                            queue.done(&pending.id)?;
                            tracing::info!("backup {} uploaded to {}", pending.id, remote.name());
                            uploads.uploaded.push(uploaded);
                        }
                        Err(error) => {
                            let sentence = error.to_string();
                            tracing::warn!("upload of backup {} failed: {sentence}", pending.id);
                            queue.failed(&pending.id, &sentence)?;
                            uploads.failed.push((pending.id.clone(), sentence));
                            if !error.is_transient() {
                                break;
                            }
                        }
                    }
                }
                if !uploads.uploaded.is_empty() {
                    match self.remote_retention(remote) {
                        Ok(removed) => uploads.removed_by_retention = removed,
                        Err(error) => {
                            tracing::warn!("retention on {} failed: {error}", remote.name())
                        }
                    }
                }
                Ok(uploads)
            },
            |uploads| {
                uploads
                    .uploaded
                    .iter()
                    .map(|entry| entry.manifest.id.clone())
                    .collect()
            },
        )
    }

    /// Removes from the remote what retention does not keep (keep_drive, and keep_safety for
    /// uploaded safety backups).
    fn remote_retention(
        &self,
        remote: &dyn Remote,
    ) -> std::result::Result<Vec<RemoteEntry>, RemoteError> {
        let entries = remote.list()?;
        let policy = &self.config().retention;
        let plan = remote_plan(&entries, policy.keep_drive, policy.keep_safety);
        let mut removed = Vec::new();
        for (entry, keep) in entries.into_iter().zip(plan) {
            if !keep {
                remote.delete(&entry)?;
                tracing::info!(
                    "retention removed {} from {}",
                    entry.manifest.id,
                    remote.name()
                );
                removed.push(entry);
            }
        }
        Ok(removed)
    }

    /// Backups on the remote, newest first.
    pub fn remote_list(&self, remote: &dyn Remote) -> Result<Vec<RemoteEntry>> {
        let result = remote.list();
        self.note(&result);
        Ok(result?)
    }

    /// The account, quota and queue; works through the queue first (the agent's cycle and
    /// `drive status` are when a failed upload is retried).
    pub fn drive_status(&self, observer: &dyn Observer) -> Result<DriveStatus> {
        let state = self.drive_state().ok_or(RemoteError::NotConnected)?;
        let folder = match &self.config().database.path {
            Some(path) => format!(
                "{}/{}",
                drive::ROOT_FOLDER,
                drive::subfolder_of(&path.display().to_string())
            ),
            None => drive::ROOT_FOLDER.to_string(),
        };
        let drive = self.open_drive()?;
        let uploads = self.retry_queued(&drive, observer)?;
        let uploaded = uploads.uploaded;
        let mut problem = uploads.failed.first().map(|(_, sentence)| sentence.clone());
        let account = drive.account();
        self.note(&account);
        let (email, quota) = match account {
            Ok(account) => (account.email, Some(account.quota)),
            Err(error) => {
                problem.get_or_insert(error.to_string());
                (state.account, None)
            }
        };
        Ok(DriveStatus {
            account: email,
            quota,
            folder,
            pending: self.upload_queue().load()?,
            uploaded,
            problem,
        })
    }

    /// Drive's part of health, from local state only (no network), so the tray can poll it.
    pub fn drive_summary(&self) -> Option<DriveSummary> {
        let state = self.drive_state()?;
        Some(DriveSummary {
            account: state.account,
            access_revoked: state.access_revoked,
            pending: self.upload_queue().load().unwrap_or_default(),
        })
    }

    /// Health issues about Drive: a revoked grant is an error, uploads still owed a warning.
    pub fn drive_issues(&self) -> Vec<(Status, String)> {
        let Some(summary) = self.drive_summary() else {
            return Vec::new();
        };
        let mut issues = Vec::new();
        if let Some((id, problem)) = self.last_drive_check_failure() {
            issues.push((
                Status::Error,
                format!(
                    "The Google Drive copy of backup {id} failed its check ({}): make a new backup so that a good copy goes to Drive.",
                    problem.trim_end_matches('.')
                ),
            ));
        }
        if summary.access_revoked {
            issues.push((Status::Error, RemoteError::AccessRevoked.to_string()));
        }
        let failed: Vec<&Pending> = summary
            .pending
            .iter()
            .filter(|item| item.attempts > 0)
            .collect();
        if let Some(first) = failed.first() {
            issues.push((
                Status::Warning,
                format!(
                    "{} backup(s) are waiting to be uploaded to Google Drive; the last attempt said: {}",
                    failed.len(),
                    first.last_error.as_deref().unwrap_or("unknown")
                ),
            ));
        }
        issues
    }

    /// Records a check of a Drive copy in the history, apart from checks of the local copy that
    /// shares its id.
    fn record_drive_check(&self, id: &str, problem: Option<String>) {
        let history = self.history();
        let recorded = history
            .start(Operation::Verify, Timestamp::now())
            .and_then(|started| {
                history.finish(
                    started,
                    Timestamp::now(),
                    problem,
                    vec![format!("{id}{DRIVE_COPY}")],
                )
            });
        if let Err(error) = recorded {
            tracing::warn!("could not record the check of the Drive copy of {id}: {error}");
        }
    }

    /// The backup and problem of the most recent check of a Drive copy, when that check failed. Only
    /// the latest counts: the weekly drill checks the newest copy, and a good result clears the red.
    fn last_drive_check_failure(&self) -> Option<(String, String)> {
        let runs = self.history().runs().ok()?;
        let last = runs.iter().rev().find(|run| {
            run.operation == Operation::Verify
                && run.backups.iter().any(|id| id.ends_with(DRIVE_COPY))
        })?;
        if last.outcome == crate::history::Outcome::Ok {
            return None;
        }
        let id = last
            .backups
            .first()?
            .trim_end_matches(DRIVE_COPY)
            .to_string();
        Some((
            id,
            last.error
                .clone()
                .unwrap_or_else(|| "it was interrupted".into()),
        ))
    }

    /// Restores backup `id` from the remote: the artifact is streamed into the backups folder
    /// while its SHA-256 is checked, becomes a local backup like any other, and is then restored
    /// with every rule of a local restore (its checks first, then the safety backup).
    pub fn restore_from_remote(
        &self,
        id: &str,
        chosen: Option<&Path>,
        remote: &dyn Remote,
        observer: &dyn Observer,
    ) -> Result<Restored> {
        let entries = self.remote_list(remote)?;
        let wanted = remote::find(&entries, id)
            .ok_or_else(|| Error::UnknownRemoteBackup(id.to_string()))?
            .clone();
        self.fetch(&wanted, remote, observer)?;
        self.restore(&wanted.manifest.id, chosen, observer)
    }

    /// Brings a remote backup into the backups folder, unless an identical one is already there.
    fn fetch(
        &self,
        wanted: &RemoteEntry,
        remote: &dyn Remote,
        observer: &dyn Observer,
    ) -> Result<Entry> {
        let catalog = self.catalog();
        if let Ok(local) = catalog.find(&wanted.manifest.id)
            && local.manifest.sha256 == wanted.manifest.sha256
        {
            return Ok(local);
        }
        self.job(
            Operation::Download,
            observer,
            || {
                catalog.prepare()?;
                catalog.remove_leftovers()?;
                let temporary = catalog.temporary_artifact(&wanted.manifest.id);
                let progress =
                    |done: u64, total: u64| observer.progress(Stage::Download, done, total);
                let fetched = remote.get(wanted, &temporary, &progress);
                self.note(&fetched);
                if let Err(error) = fetched {
                    let _ = durable::remove_if_present(&temporary);
                    return Err(error.into());
                }
                let mut manifest = wanted.manifest.clone();
                if manifest.source_path.is_empty() {
                    manifest.source_path = remote.name();
                }
                catalog.add(&manifest, &temporary)
            },
            |entry| vec![entry.manifest.id.clone()],
        )
    }

    /// A restore drill on a remote copy: downloads it into a temporary folder, checks its SHA-256,
    /// unpacks it and runs SQLite's integrity check. Nothing live, and no local backup, is touched.
    pub fn verify_remote(
        &self,
        id: &str,
        remote: &dyn Remote,
        observer: &dyn Observer,
    ) -> Result<Verification> {
        let entries = self.remote_list(remote)?;
        let wanted = remote::find(&entries, id)
            .ok_or_else(|| Error::UnknownRemoteBackup(id.to_string()))?
            .clone();
        self.home().prepare_state()?;
        let folder = durable::temp_path(
            &self.home().state_folder(),
            &format!("{}.drill", wanted.manifest.id),
        );
        durable::ensure_folder(&folder)?;
        let artifact = folder.join(&wanted.manifest.artifact);
        let progress = |done: u64, total: u64| observer.progress(Stage::Download, done, total);
        let fetched = remote.get(&wanted, &artifact, &progress);
        self.note(&fetched);
        let problem = match fetched {
            Err(RemoteError::Corrupt { problem, .. }) => Some(problem),
            Err(error) => {
                let _ = std::fs::remove_dir_all(&folder);
                return Err(error.into());
            }
            Ok(()) => {
                let entry = Entry {
                    manifest: wanted.manifest.clone(),
                    artifact_path: artifact,
                };
                match unpack_and_check(
                    &entry,
                    &folder.join("image.db"),
                    crate::archive::Unpacked::Scratch,
                    observer,
                ) {
                    Ok(()) => None,
                    Err(Error::Corrupt { problem, .. }) => Some(problem),
                    Err(error) => Some(error.to_string()),
                }
            }
        };
        let _ = std::fs::remove_dir_all(&folder);
        self.record_drive_check(&wanted.manifest.id, problem.clone());
        Ok(Verification {
            id: wanted.manifest.id.clone(),
            entry: Some(Entry {
                artifact_path: PathBuf::from(&wanted.remote_id),
                manifest: wanted.manifest,
            }),
            problem,
        })
    }

    /// Removes the remote copy of backup `id`.
    pub fn delete_remote(&self, id: &str, remote: &dyn Remote) -> Result<RemoteEntry> {
        let entries = self.remote_list(remote)?;
        let wanted = remote::find(&entries, id)
            .ok_or_else(|| Error::UnknownRemoteBackup(id.to_string()))?
            .clone();
        let deleted = remote.delete(&wanted);
        self.note(&deleted);
        deleted?;
        self.upload_queue().done(&wanted.manifest.id)?;
        Ok(wanted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;

    fn entry(id: &str, kind: Kind) -> RemoteEntry {
        entry_of(id, kind, "/data/store.db")
    }

    fn entry_of(id: &str, kind: Kind, source: &str) -> RemoteEntry {
        RemoteEntry {
            remote_id: id.to_string(),
            manifest: Manifest {
                source_path: source.to_string(),
                ..Manifest::placeholder(id, kind, Timestamp::UNIX_EPOCH)
            },
        }
    }

    #[test]
    fn remote_retention_keeps_the_newest_of_each_group() {
        let entries = [
            entry("5", Kind::Manual),
            entry("4", Kind::Safety),
            entry("3", Kind::Scheduled),
            entry("2", Kind::Safety),
            entry("1", Kind::Manual),
        ];
        assert_eq!(
            remote_plan(&entries, 2, 1),
            [true, true, true, false, false]
        );
        assert_eq!(remote_plan(&entries, 0, 0), [false; 5]);
        assert_eq!(remote_plan(&entries, 50, 10), [true; 5]);
    }

    #[test]
    fn remote_retention_counts_each_database_apart() {
        let entries = [
            entry_of("4", Kind::Manual, "/a/store.db"),
            entry_of("3", Kind::Manual, "/b/other.db"),
            entry_of("2", Kind::Manual, "store.db"),
            entry_of("1", Kind::Manual, "other.db"),
        ];
        assert_eq!(remote_plan(&entries, 1, 0), [true, true, false, false]);
    }
}
