//! The engine's operations, the functions both front ends call: backup, list, verify, restore,
//! delete, prune and health.
//!
//! Each job takes the job lock, records its start and end in the history, and cleans up what a
//! killed job left in the backups folder before it writes anything. Decisions (retention, health)
//! are pure functions elsewhere; this module gathers their facts and carries them out.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime as Zoned};

use crate::archive;
use crate::catalog::{Catalog, Entry};
use crate::check;
use crate::config::Config;
use crate::durable;
use crate::error::{Error, Result};
use crate::health::{self, Assessment, DatabaseState, Facts};
use crate::history::{History, Operation, Outcome, Run};
use crate::home::Home;
use crate::live::{self, Access, Presence};
use crate::lock::JobLock;
use crate::manifest::{self, Kind, Manifest};
use crate::progress::{Observer, Stage};
use crate::retention::{self, Candidate, Decision};
use crate::scratch::Disposal;

const MIB: u64 = 1024 * 1024;
/// Ending of the scratch image a restore unpacks beside the database.
const RESTORE_SUFFIX: &str = ".restore";
/// zstd level of the safety backup made before a restore.
const SAFETY_LEVEL: i32 = 1;

/// The engine for one home: its configuration, backups folder and history.
#[derive(Debug, Clone)]
pub struct Engine {
    home: Home,
    config: Config,
    /// Scratch images being removed; every job waits for them before it ends.
    disposal: std::sync::Arc<Disposal>,
}

/// The result of checking one backup.
#[derive(Debug, Clone)]
pub struct Verification {
    pub id: String,
    /// None when the manifest itself could not be read.
    pub entry: Option<Entry>,
    pub problem: Option<String>,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    pub restored: Entry,
    pub safety_backup: Option<Entry>,
    /// Where a damaged file that stood at the target was moved, if one did.
    pub set_aside: Option<PathBuf>,
}

/// When a new backup's snapshot gets SQLite's integrity check.
enum Integrity<'scope, 'env> {
    /// Before the backup is recorded: a backup that fails it is never listed.
    Checked,
    /// In a thread of the caller's scope, from the moment the snapshot is taken; the backup is
    /// recorded without waiting for it and the caller collects the verdict. A restore's safety
    /// backup is checked this way: the verdict decides only how the previous state is kept, never
    /// whether the restore goes on, so the restore need not wait for it.
    Alongside(&'scope std::thread::Scope<'scope, 'env>),
}

/// How one backup is made: which kind it is, how the live database is treated, the zstd level,
/// and when its snapshot is checked.
struct Recipe<'scope, 'env> {
    kind: Kind,
    access: Access,
    level: i32,
    integrity: Integrity<'scope, 'env>,
    /// Told (or dropped, if it never comes to that) once the snapshot is taken and the live
    /// database is no longer held.
    snapshot_taken: Option<std::sync::mpsc::Sender<()>>,
}

/// A backup just recorded.
struct Made<'scope> {
    entry: Entry,
    /// Its integrity check, when it runs [`Integrity::Alongside`].
    pending: Option<PendingCheck<'scope>>,
}

/// An integrity check still running on a snapshot image, which stays until the check is collected.
struct PendingCheck<'scope> {
    image: PathBuf,
    check: std::thread::ScopedJoinHandle<'scope, std::result::Result<(), String>>,
}

impl PendingCheck<'_> {
    /// Waits for the verdict: None when the snapshot is sound, else what is wrong with it. The
    /// image is still there for the caller, who removes it.
    fn verdict(self) -> (Option<String>, PathBuf) {
        let verdict = self
            .check
            .join()
            .unwrap_or_else(|_| Err("the integrity check stopped unexpectedly".into()));
        (verdict.err(), self.image)
    }

    /// Waits for the check and removes the image.
    fn discard(self) {
        let (_, image) = self.verdict();
        let _ = durable::remove_if_present(&image);
    }
}

/// What retention decided for one backup.
#[derive(Debug, Clone)]
pub struct Pruned {
    pub entry: Entry,
    pub decision: Decision,
}

/// The state of the data, for `health` and the tray.
#[derive(Debug, Clone)]
pub struct Health {
    pub assessment: Assessment,
    pub last_backup: Option<Entry>,
    pub next_scheduled: Option<Zoned>,
    pub total_backups: usize,
    pub total_size: u64,
    pub last_run: Option<Run>,
    pub success_rate: Option<f64>,
    pub database: DatabaseState,
    /// Google Drive's state, when it is connected.
    pub drive: Option<crate::offsite::DriveSummary>,
}

impl Engine {
    /// Loads the configuration of `home`.
    pub fn open(home: Home) -> Result<Engine> {
        let config = Config::load(&home)?;
        Ok(Engine {
            home,
            config,
            disposal: Default::default(),
        })
    }

    pub fn home(&self) -> &Home {
        &self.home
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn catalog(&self) -> Catalog {
        Catalog::new(self.config.backups_folder(&self.home))
    }

    pub(crate) fn history(&self) -> History {
        History::new(self.home.history_file())
    }

    /// The database to work on: `chosen` if given, else the configured one.
    pub fn database_path(&self, chosen: Option<&Path>) -> Result<PathBuf> {
        chosen
            .map(Path::to_path_buf)
            .or_else(|| self.config.database.path.clone())
            .ok_or(Error::NoDatabaseConfigured)
    }

    fn access(&self) -> Access {
        Access {
            busy_timeout: Duration::from_secs(self.config.database.busy_timeout_secs),
            max_bytes: self.config.limits.max_backup_mb.saturating_mul(MIB),
        }
    }

    /// Runs `job` holding the job lock, recorded in the history as `operation`.
    pub(crate) fn job<T>(
        &self,
        operation: Operation,
        observer: &dyn Observer,
        job: impl FnOnce() -> Result<T>,
        made: impl Fn(&T) -> Vec<String>,
    ) -> Result<T> {
        self.home.prepare_state()?;
        let _lock = JobLock::acquire(&self.home.lock_file(), || observer.waiting_for_lock())?;
        let history = self.history();
        let started = history.start(operation, Timestamp::now())?;
        let result = job();
        self.disposal.finish();
        let (error, backups) = match &result {
            Ok(value) => (None, made(value)),
            Err(error) => (Some(error.to_string()), Vec::new()),
        };
        if let Err(error) = history.finish(started, Timestamp::now(), error, backups) {
            tracing::warn!("could not record the end of a {operation:?} run: {error}");
        }
        result
    }

    /// Takes one backup of the database (`chosen` or the configured one), verifies it, then
    /// applies retention.
    pub fn backup(
        &self,
        chosen: Option<&Path>,
        kind: Kind,
        observer: &dyn Observer,
    ) -> Result<Entry> {
        let database = self.database_path(chosen)?;
        self.job(
            Operation::Backup,
            observer,
            || {
                let catalog = self.catalog();
                catalog.prepare()?;
                catalog.remove_leftovers()?;
                let level = self.config.backups.compression_level;
                let recipe = Recipe {
                    kind,
                    access: self.access(),
                    level,
                    integrity: Integrity::Checked,
                    snapshot_taken: None,
                };
                let entry = self
                    .make_backup(&catalog, &database, recipe, observer)?
                    .entry;
                observer.progress(Stage::Prune, 0, 1);
                if let Err(error) = self.apply_retention(&catalog) {
                    // The backup itself is good; a failed clean-up must not make it look failed.
                    tracing::warn!(
                        "retention after backup {} failed: {error}",
                        entry.manifest.id
                    );
                }
                Ok(entry)
            },
            |entry| vec![entry.manifest.id.clone()],
        )
    }

    /// Snapshot, compress, verify and record one backup. The caller holds the job lock.
    fn make_backup<'scope>(
        &self,
        catalog: &Catalog,
        database: &Path,
        recipe: Recipe<'scope, '_>,
        observer: &dyn Observer,
    ) -> Result<Made<'scope>> {
        let Recipe {
            kind,
            access,
            level,
            integrity,
            snapshot_taken,
        } = recipe;
        let created_at = Timestamp::now();
        let id = catalog.new_id(kind, created_at);
        let image = catalog.temporary_image(&id);
        let artifact = catalog.temporary_artifact(&id);
        let mut pending = None;
        let mut handed_over = false;
        let made = (|| {
            let started = std::time::Instant::now();
            crate::background::lower_priority();
            observer.progress(Stage::Snapshot, 0, 1);
            live::snapshot(database, &image, &access, observer)?;
            tracing::debug!("{id}: snapshot taken in {:?}", started.elapsed());
            if let Some(taken) = snapshot_taken {
                let _ = taken.send(());
            }
            if let Integrity::Alongside(scope) = integrity {
                let checked = image.clone();
                pending = Some(PendingCheck {
                    image: image.clone(),
                    check: scope.spawn(move || check::integrity(&checked, check::SHARED_CACHE_KIB)),
                });
            }
            // The integrity check reads the image while zstd compresses it and the artifact is read
            // back: readers of the same cached file, each with its own core when there is one.
            let (examined, written) = std::thread::scope(|scope| {
                // Closed when compression ends, by which time the image has been read for the last
                // time.
                let (compressing, compressed) = std::sync::mpsc::channel::<()>();
                let writer = scope.spawn(|| {
                    let compressed = archive::compress(&image, &artifact, level, observer);
                    drop(compressing);
                    let compressed = compressed?;
                    tracing::debug!("{id}: compressed at {:?}", started.elapsed());
                    observer.progress(Stage::Verify, 0, compressed.artifact.size);
                    let reread = archive::digest_file(&artifact, observer)?;
                    if reread != compressed.artifact {
                        return Err(Error::Corrupt {
                            id: id.clone(),
                            problem: "the artifact read back from the disk differs from what was written; the disk may be failing".into(),
                        });
                    }
                    tracing::debug!("{id}: read back at {:?}", started.elapsed());
                    Ok(compressed)
                });
                let examined = match integrity {
                    Integrity::Checked => check::examine(&image),
                    Integrity::Alongside(_) => check::facts_of(&image),
                };
                if let Integrity::Checked = integrity {
                    // Nothing reads the image any more: it goes while the artifact is read back.
                    let _ = compressed.recv();
                    self.disposal.remove(image.clone());
                    handed_over = true;
                }
                let written = writer.join().unwrap_or_else(|_| {
                    Err(Error::Corrupt {
                        id: id.clone(),
                        problem: "writing it stopped unexpectedly".into(),
                    })
                });
                (examined, written)
            });
            let compressed = written?;
            let facts = examined.map_err(|problem| Error::DamagedDatabase {
                path: database.to_path_buf(),
                problem,
            })?;
            let manifest = Manifest {
                format: manifest::FORMAT,
                id: id.clone(),
                created_at,
                kind,
                artifact: Manifest::artifact_name(&id),
                size: compressed.artifact.size,
                sha256: compressed.artifact.sha256,
                db_size: compressed.image.size,
                db_sha256: compressed.image.sha256,
                page_size: facts.page_size,
                page_count: facts.page_count,
                user_version: facts.user_version,
                schema_sha256: facts.schema_sha256,
                source_path: database.display().to_string(),
                lifeboat_version: env!("CARGO_PKG_VERSION").to_string(),
            };
            catalog.add(&manifest, &artifact)
        })();
        match made {
            Ok(entry) if pending.is_some() => Ok(Made { entry, pending }),
            made => {
                if let Some(pending) = pending {
                    pending.discard();
                }
                if !handed_over {
                    self.disposal.remove(image);
                }
                if made.is_err() {
                    let _ = durable::remove_if_present(&artifact);
                }
                made.map(|entry| Made {
                    entry,
                    pending: None,
                })
            }
        }
    }

    /// Complete backups, newest first.
    pub fn list(&self) -> Result<Vec<Entry>> {
        self.catalog().list()
    }

    /// Checks one backup (`id`) or all of them: the artifact's SHA-256 and size against the
    /// manifest, then decompression and SQLite's integrity check of the image.
    pub fn verify(&self, id: Option<&str>, observer: &dyn Observer) -> Result<Vec<Verification>> {
        let catalog = self.catalog();
        // Resolve the id before taking the lock, so an unknown id fails at once.
        let wanted = id.map(|id| catalog.find(id)).transpose()?;
        self.home.prepare_state()?;
        let _lock = JobLock::acquire(&self.home.lock_file(), || observer.waiting_for_lock())?;
        catalog.remove_leftovers()?;
        let verified = (|| -> Result<Vec<Verification>> {
            let mut results = Vec::new();
            match wanted {
                Some(entry) => results.push(self.verify_entry(&catalog, entry, observer)?),
                None => {
                    let (entries, unreadable) = catalog.scan()?;
                    for entry in entries {
                        results.push(self.verify_entry(&catalog, entry, observer)?);
                    }
                    for bad in unreadable {
                        results.push(Verification {
                            id: bad.id,
                            entry: None,
                            problem: Some(bad.error.to_string()),
                        });
                    }
                }
            }
            Ok(results)
        })();
        // Like every job, it ends (and gives up the lock) only once its scratch images are gone.
        self.disposal.finish();
        let results = verified?;
        let history = self.history();
        for result in &results {
            let started = history.start(Operation::Verify, Timestamp::now())?;
            history.finish(
                started,
                Timestamp::now(),
                result.problem.clone(),
                vec![result.id.clone()],
            )?;
        }
        Ok(results)
    }

    fn verify_entry(
        &self,
        catalog: &Catalog,
        entry: Entry,
        observer: &dyn Observer,
    ) -> Result<Verification> {
        let image = catalog.temporary_image(&format!("{}.verify", entry.manifest.id));
        let checked = unpack_and_check(&entry, &image, archive::Unpacked::Scratch, observer);
        self.disposal.remove(image);
        let problem = match checked {
            Ok(()) => None,
            Err(Error::Corrupt { problem, .. }) => Some(problem),
            Err(Error::Cancelled) => return Err(Error::Cancelled),
            Err(other) => Some(other.to_string()),
        };
        Ok(Verification {
            id: entry.manifest.id.clone(),
            entry: Some(entry),
            problem,
        })
    }

    /// Restores backup `id` into the database (`chosen` or the configured one).
    ///
    /// Order: a safety backup of the current database is made while the chosen backup is unpacked
    /// and checked beside the target (nothing live is touched if either fails); then the image is
    /// applied through SQLite in one transaction, or moved into place when no database exists there.
    pub fn restore(
        &self,
        id: &str,
        chosen: Option<&Path>,
        observer: &dyn Observer,
    ) -> Result<Restored> {
        let target = self.database_path(chosen)?;
        self.job(
            Operation::Restore,
            observer,
            || {
                let catalog = self.catalog();
                let entry = catalog.find(id)?;
                catalog.prepare()?;
                catalog.remove_leftovers()?;
                let folder = target
                    .parent()
                    .filter(|parent| !parent.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .to_path_buf();
                durable::ensure_folder(&folder)?;
                remove_restore_leftovers(&folder)?;
                let image =
                    durable::temp_path(&folder, &format!("{}{RESTORE_SUFFIX}", entry.manifest.id));
                let restored = self.check_and_apply(&catalog, &entry, &image, &target, observer);
                // (Handed over already when the image was applied; a second time is harmless.)
                self.disposal.remove(image.clone());
                let _ = durable::remove_if_present(&durable::companion(&image, "-journal"));
                let restored = restored?;
                if let Err(error) = self.apply_retention(&catalog) {
                    tracing::warn!("retention after restore failed: {error}");
                }
                // With drive.upload_safety, the safety backup is owed to Drive like any backup (the
                // next backup or status check uploads it; a restore does not wait for the network).
                if let Some(safety) = &restored.safety_backup
                    && self.drive_connected()
                    && let Err(error) = self.queue_upload(safety)
                {
                    tracing::warn!(
                        "could not queue safety backup {} for Drive: {error}",
                        safety.manifest.id
                    );
                }
                Ok(restored)
            },
            |restored| {
                let mut ids = vec![restored.restored.manifest.id.clone()];
                ids.extend(
                    restored
                        .safety_backup
                        .iter()
                        .map(|entry| entry.manifest.id.clone()),
                );
                ids
            },
        )
    }

    /// Checks the chosen backup while the safety backup of the database at `target` is compressed
    /// (on two cores they cost little more than the longer of the two), then applies the image. The
    /// safety backup's snapshot gets its integrity check alongside all of this.
    ///
    /// If the chosen backup's check fails, the safety backup is removed again: nothing was changed,
    /// so it would only crowd out older ones. If the safety backup's check fails, the database was
    /// already damaged: its snapshot is kept beside it instead (`store.db.damaged-<time>`), where a
    /// damaged database's copy always goes, and the restore stands.
    fn check_and_apply(
        &self,
        catalog: &Catalog,
        entry: &Entry,
        image: &Path,
        target: &Path,
        observer: &dyn Observer,
    ) -> Result<Restored> {
        let access = self.access();
        let presence = live::presence(target)?;
        let mut restored = Restored {
            restored: entry.clone(),
            safety_backup: None,
            set_aside: None,
        };
        std::thread::scope(|scope| {
            // Restored through SQLite, the image is only read; moved into place, it must be on disk.
            let unpacked = match presence {
                Presence::Database(_) => archive::Unpacked::Scratch,
                _ => archive::Unpacked::Durable,
            };
            // The chosen backup is unpacked once the safety snapshot is taken, not during it: on
            // one disk the two writes slow each other several times over, and in rollback-journal
            // mode the snapshot keeps the application from committing for as long as it takes.
            let (snapshot_taken, wait_for_snapshot) = std::sync::mpsc::channel();
            let checker = scope.spawn(move || {
                let _ = wait_for_snapshot.recv();
                unpack_and_check(entry, image, unpacked, observer)
            });
            let safety = match presence {
                Presence::Database(_) => {
                    observer.progress(Stage::SafetyBackup, 0, 1);
                    // A restore must never be refused because today's database grew past the limit,
                    // and a person is waiting: the fastest zstd level, still fully checked.
                    let recipe = Recipe {
                        kind: Kind::Safety,
                        access: Access {
                            max_bytes: u64::MAX,
                            ..access
                        },
                        level: SAFETY_LEVEL,
                        integrity: Integrity::Alongside(scope),
                        snapshot_taken: Some(snapshot_taken),
                    };
                    self.make_backup(catalog, target, recipe, observer)
                        .map(Some)
                }
                _ => {
                    drop(snapshot_taken);
                    Ok(None)
                }
            };
            let checked = checker.join().unwrap_or_else(|_| {
                Err(Error::Corrupt {
                    id: entry.manifest.id.clone(),
                    problem: "its check stopped unexpectedly".into(),
                })
            });
            tracing::debug!("{}: unpacked and checked", entry.manifest.id);
            let safety = match (checked, safety) {
                (Err(error), safety) => {
                    if let Ok(Some(made)) = safety {
                        if let Some(pending) = made.pending {
                            pending.discard();
                        }
                        let _ = catalog.remove(&made.entry);
                    }
                    return Err(error);
                }
                (Ok(()), Err(Error::DamagedDatabase { problem, .. })) => {
                    // A damaged database is exactly what restores are for: no SQLite snapshot of
                    // it can be made, so its bytes are kept beside it instead.
                    tracing::warn!(
                        "{} is damaged ({problem}); keeping a copy of it",
                        target.display()
                    );
                    restored.set_aside = Some(copy_aside(target)?);
                    None
                }
                (Ok(()), Err(error)) => return Err(error),
                (Ok(()), Ok(made)) => made,
            };
            observer.progress(Stage::Apply, 0, 1);
            let applied = apply_image(presence, image, target, &access, observer);
            // Applied (or moved into place): the image goes while the safety backup's check ends.
            self.disposal.remove(image.to_path_buf());
            if let Some(made) = safety {
                restored.safety_backup = Some(made.entry);
                if let Some(pending) = made.pending {
                    let (problem, snapshot) = pending.verdict();
                    tracing::debug!("{}: safety backup checked", target.display());
                    let kept = problem.map(|problem| {
                        tracing::warn!(
                            "{} was damaged ({problem}); keeping a copy of it",
                            target.display()
                        );
                        keep_aside(&snapshot, target)
                    });
                    self.disposal.remove(snapshot);
                    if let Some(kept) = kept {
                        restored.set_aside = Some(kept?);
                        if let Some(safety) = restored.safety_backup.take() {
                            let _ = catalog.remove(&safety);
                        }
                    }
                }
            }
            if let Some(moved) = applied? {
                restored.set_aside = Some(moved);
            }
            Ok(restored)
        })
    }

    /// Removes backup `id`. The newest verified backup is kept unless `force` is set.
    pub fn delete(&self, id: &str, force: bool, observer: &dyn Observer) -> Result<Entry> {
        let catalog = self.catalog();
        let entry = catalog.find(id)?;
        self.job(
            Operation::Delete,
            observer,
            || {
                let entry = catalog.find(&entry.manifest.id)?;
                if !force && self.newest_verified(&catalog)?.as_ref() == Some(&entry) {
                    return Err(Error::NewestVerified(entry.manifest.id.clone()));
                }
                catalog.remove(&entry)?;
                Ok(entry)
            },
            |entry| vec![entry.manifest.id.clone()],
        )
    }

    /// Applies retention now, or (with `dry_run`) only says what it would do.
    pub fn prune(&self, dry_run: bool, observer: &dyn Observer) -> Result<Vec<Pruned>> {
        let catalog = self.catalog();
        if dry_run {
            return self.retention_plan(&catalog);
        }
        self.job(
            Operation::Prune,
            observer,
            || {
                catalog.remove_leftovers()?;
                self.apply_retention(&catalog)
            },
            |plan| {
                plan.iter()
                    .filter(|item| !item.decision.keep)
                    .map(|item| item.entry.manifest.id.clone())
                    .collect()
            },
        )
    }

    fn retention_plan(&self, catalog: &Catalog) -> Result<Vec<Pruned>> {
        let entries = catalog.list()?;
        let failed = self.failed_checks()?;
        let candidates: Vec<Candidate> = entries
            .iter()
            .map(|entry| Candidate {
                created_at: entry.manifest.created_at,
                kind: entry.manifest.kind,
                verified: !failed.contains(&entry.manifest.id),
            })
            .collect();
        let decisions = retention::plan(&candidates, &self.config.retention, &TimeZone::system());
        Ok(entries
            .into_iter()
            .zip(decisions)
            .map(|(entry, decision)| Pruned { entry, decision })
            .collect())
    }

    fn apply_retention(&self, catalog: &Catalog) -> Result<Vec<Pruned>> {
        let plan = self.retention_plan(catalog)?;
        for item in plan.iter().filter(|item| !item.decision.keep) {
            catalog.remove(&item.entry)?;
            tracing::info!(
                "retention removed {}: {}",
                item.entry.manifest.id,
                item.decision.reason
            );
        }
        Ok(plan)
    }

    /// Ids of backups whose most recent check failed.
    fn failed_checks(&self) -> Result<Vec<String>> {
        let mut latest: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
        for run in self.history().runs()? {
            if run.operation == Operation::Verify {
                for id in run.backups {
                    latest.insert(id, run.outcome == Outcome::Failed);
                }
            }
        }
        let mut failed: Vec<String> = latest
            .into_iter()
            .filter_map(|(id, failed)| failed.then_some(id))
            .collect();
        failed.sort();
        Ok(failed)
    }

    /// The newest manual or scheduled backup whose checks all passed.
    fn newest_verified(&self, catalog: &Catalog) -> Result<Option<Entry>> {
        let failed = self.failed_checks()?;
        Ok(catalog.list()?.into_iter().find(|entry| {
            entry.manifest.kind != Kind::Safety && !failed.contains(&entry.manifest.id)
        }))
    }

    /// The state of the data, from facts gathered now.
    pub fn health(&self) -> Result<Health> {
        let now = Timestamp::now();
        let catalog = self.catalog();
        let entries = catalog.list()?;
        let failed = self.failed_checks()?;
        let runs = self.history().runs()?;
        let backup_runs: Vec<&Run> = runs
            .iter()
            .filter(|run| run.operation == Operation::Backup)
            .collect();
        let database = match &self.config.database.path {
            None => DatabaseState::NotConfigured,
            Some(path) => match live::presence(path)? {
                Presence::Absent => DatabaseState::Missing(path.display().to_string()),
                _ => DatabaseState::Present {
                    path: path.display().to_string(),
                    size: size_of(path).unwrap_or(0),
                },
            },
        };
        let last_backup = self.newest_verified(&catalog)?;
        let recent: Vec<&&Run> = backup_runs.iter().rev().take(30).collect();
        let success_rate = (!recent.is_empty()).then(|| {
            recent
                .iter()
                .filter(|run| run.outcome == Outcome::Ok)
                .count() as f64
                / recent.len() as f64
        });
        let facts = Facts {
            now,
            database: database.clone(),
            newest_verified: last_backup.as_ref().map(|entry| entry.manifest.created_at),
            last_backup_run: backup_runs.last().map(|run| (*run).clone()),
            failed_checks: failed
                .into_iter()
                .filter(|id| entries.iter().any(|entry| &entry.manifest.id == id))
                .collect(),
            schedule: self.config.schedule,
            free_space: free_space(catalog.folder()),
            max_backup_bytes: self.config.limits.max_backup_mb.saturating_mul(MIB),
        };
        let mut assessment = health::assess(&facts);
        for (status, issue) in self.drive_issues() {
            assessment.status = assessment.status.max(status);
            assessment.issues.push(issue);
        }
        Ok(Health {
            assessment,
            last_backup,
            next_scheduled: self.config.schedule.next_run(&Zoned::now()),
            total_backups: entries.len(),
            total_size: entries.iter().map(|entry| entry.manifest.size).sum(),
            last_run: runs.last().cloned(),
            success_rate,
            database,
            drive: self.drive_summary(),
        })
    }
}

fn size_of(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|metadata| metadata.len())
}

/// Free bytes on the disk that holds `folder` (or its nearest existing parent).
fn free_space(folder: &Path) -> Option<u64> {
    let existing = folder.ancestors().find(|candidate| candidate.exists())?;
    fs4::available_space(existing).ok()
}

/// Unpacks an artifact into `image`, checking it against its manifest on the way: the artifact's
/// size and SHA-256, the image's SHA-256, then SQLite's integrity check.
pub(crate) fn unpack_and_check(
    entry: &Entry,
    image: &Path,
    unpacked: archive::Unpacked,
    observer: &dyn Observer,
) -> Result<()> {
    let manifest = &entry.manifest;
    let corrupt = |problem: String| Error::Corrupt {
        id: manifest.id.clone(),
        problem,
    };
    let on_disk = std::fs::metadata(&entry.artifact_path)
        .map_err(|_| {
            corrupt(format!(
                "its artifact {} is missing",
                entry.artifact_path.display()
            ))
        })?
        .len();
    if on_disk != manifest.size {
        return Err(corrupt(format!(
            "its artifact is {on_disk} bytes, the manifest says {}",
            manifest.size
        )));
    }
    let unpacked = archive::decompress(
        &entry.artifact_path,
        image,
        unpacked,
        &manifest.id,
        observer,
    )?;
    if unpacked.artifact.sha256 != manifest.sha256 {
        return Err(corrupt(
            "its artifact's SHA-256 does not match the manifest".into(),
        ));
    }
    if unpacked.image.sha256 != manifest.db_sha256 || unpacked.image.size != manifest.db_size {
        return Err(corrupt(
            "the database inside does not match the manifest".into(),
        ));
    }
    check::examine(image).map_err(corrupt)?;
    Ok(())
}

/// Puts the checked image at `target`: through SQLite into a database there, or in the place of
/// nothing, an empty file or a foreign one (which is moved aside; its new place is returned).
fn apply_image(
    presence: Presence,
    image: &Path,
    target: &Path,
    access: &Access,
    observer: &dyn Observer,
) -> Result<Option<PathBuf>> {
    match presence {
        Presence::Database(_) => {
            let written = live::restore_into(target, image, access, observer)?;
            tracing::debug!("{}: {written} pages written", target.display());
            Ok(None)
        }
        Presence::Absent => {
            remove_stale_companions(target)?;
            durable::commit(image, target)?;
            Ok(None)
        }
        Presence::Empty | Presence::Foreign => {
            // An empty or foreign file cannot be restored into through SQLite; keep it, in case it
            // matters to someone, and put the backup in its place.
            let moved = set_aside(target)?;
            durable::commit(image, target)?;
            Ok(Some(moved))
        }
    }
}

/// Where a damaged file at `target` is kept: beside it, named for when it was found.
fn aside_path(target: &Path) -> PathBuf {
    let stamp = Timestamp::now().strftime("%Y%m%dT%H%M%SZ");
    durable::companion(target, &format!(".damaged-{stamp}"))
}

/// Moves a damaged file (and its SQLite companions) out of the way, keeping it beside the target.
fn set_aside(target: &Path) -> Result<PathBuf> {
    let aside = aside_path(target);
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let file = durable::companion(target, suffix);
        if file.exists() {
            let moved = durable::companion(&aside, suffix);
            std::fs::rename(&file, &moved)
                .map_err(|source| Error::io("cannot move aside", &file, source))?;
        }
    }
    Ok(aside)
}

/// Copies the snapshot of a database found damaged beside the database, for whoever may want to
/// rescue something from it.
fn keep_aside(snapshot: &Path, target: &Path) -> Result<PathBuf> {
    let aside = aside_path(target);
    std::fs::copy(snapshot, &aside).map_err(|source| Error::io("cannot copy", snapshot, source))?;
    Ok(aside)
}

/// Copies a damaged database (and its WAL, which holds committed pages) beside it, for whoever may
/// want to rescue something from it; the restore then goes through SQLite into the original file.
fn copy_aside(target: &Path) -> Result<PathBuf> {
    let aside = aside_path(target);
    for suffix in ["", "-wal"] {
        let file = durable::companion(target, suffix);
        if file.exists() {
            let copy = durable::companion(&aside, suffix);
            std::fs::copy(&file, &copy)
                .map_err(|source| Error::io("cannot copy", &file, source))?;
        }
    }
    Ok(aside)
}

/// Removes the scratch images that a killed restore left beside the database. Only a job holding
/// the job lock may call this.
fn remove_restore_leftovers(folder: &Path) -> Result<()> {
    let Ok(reader) = std::fs::read_dir(folder) else {
        return Ok(());
    };
    for item in reader.flatten() {
        let name = item.file_name().to_string_lossy().into_owned();
        // The scratch image and the journal SQLite may leave beside it.
        if name.starts_with(durable::TEMP_PREFIX)
            && name.contains(&format!("{RESTORE_SUFFIX}{}", durable::TEMP_SUFFIX))
        {
            durable::remove_if_present(&item.path())?;
        }
    }
    Ok(())
}

/// A journal or WAL left beside a database that is gone would be applied by SQLite to the file we
/// put there: it belongs to the old file, so it goes.
fn remove_stale_companions(target: &Path) -> Result<()> {
    for suffix in ["-journal", "-wal", "-shm"] {
        durable::remove_if_present(&durable::companion(target, suffix))?;
    }
    Ok(())
}
