//! Where Lifeboat keeps its files: the configuration, the default backups folder, logs and state.
//!
//! `--home DIR` (or `LIFEBOAT_HOME`) puts everything under one folder, which is how tests and
//! portable installs work; otherwise the platform's config and data folders are used.

use std::path::PathBuf;

use crate::durable;
use crate::error::Result;

/// The resolved set of Lifeboat's own folders. It owns no backups: the backups folder may be moved
/// elsewhere by the configuration, see `Config::backups_folder`.
#[derive(Debug, Clone)]
pub struct Home {
    config_folder: PathBuf,
    data_folder: PathBuf,
}

impl Home {
    /// Everything under one folder.
    pub fn at(folder: impl Into<PathBuf>) -> Home {
        let folder = folder.into();
        Home {
            config_folder: folder.clone(),
            data_folder: folder,
        }
    }

    /// The platform's folders (`~/.config/lifeboat` and `~/.local/share/lifeboat` on Linux), or
    /// `None` when the platform gives no home folder to put them in.
    pub fn platform() -> Option<Home> {
        let dirs = directories::ProjectDirs::from("", "", "lifeboat")?;
        Some(Home {
            config_folder: dirs.config_dir().to_path_buf(),
            data_folder: dirs.data_dir().to_path_buf(),
        })
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_folder.join("config.toml")
    }

    pub fn default_backups_folder(&self) -> PathBuf {
        self.data_folder.join("backups")
    }

    pub fn logs_folder(&self) -> PathBuf {
        self.data_folder.join("logs")
    }

    pub fn state_folder(&self) -> PathBuf {
        self.data_folder.join("state")
    }

    pub fn history_file(&self) -> PathBuf {
        self.state_folder().join("history.jsonl")
    }

    pub fn lock_file(&self) -> PathBuf {
        self.state_folder().join("lifeboat.lock")
    }

    /// Creates the state folder, the one every job needs before it starts.
    pub fn prepare_state(&self) -> Result<()> {
        durable::ensure_folder(&self.state_folder())
    }
}
