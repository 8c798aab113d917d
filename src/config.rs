//! The configuration file: its keys and defaults, strict validation on load, and atomic updates.
//!
//! Unknown keys are errors, not warnings: a misspelt `keep_lokal` silently ignored would keep the
//! wrong number of backups for years. Every error names the file, the line and the key.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::durable;
use crate::error::{Error, Result};
use crate::home::Home;
use crate::retention::Policy;
use crate::schedule::Schedule;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database: DatabaseSection,
    pub backups: BackupsSection,
    pub schedule: Schedule,
    pub retention: Policy,
    pub limits: Limits,
    pub drive: DriveSection,
}

/// The `[drive]` section: which Google client Lifeboat is, and how uploads are cut. No token is
/// ever kept here; tokens live in the OS keyring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriveSection {
    /// The Desktop-app client secret JSON from Google Cloud Console (set by `drive connect`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    /// Or the client id and secret themselves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Upload safety backups too (off: they are the local undo of a restore).
    pub upload_safety: bool,
    /// Resumable upload chunk size in KiB, a multiple of 256.
    pub chunk_kib: u64,
}

impl Default for DriveSection {
    fn default() -> DriveSection {
        DriveSection {
            client_secret_file: None,
            client_id: None,
            client_secret: None,
            upload_safety: false,
            chunk_kib: 8192,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSection {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    pub busy_timeout_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupsSection {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<PathBuf>,
    pub compression_level: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_backup_mb: u64,
}

impl Default for DatabaseSection {
    fn default() -> DatabaseSection {
        DatabaseSection {
            path: None,
            busy_timeout_secs: 10,
        }
    }
}

impl Default for BackupsSection {
    fn default() -> BackupsSection {
        BackupsSection {
            folder: None,
            compression_level: 3,
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_backup_mb: 500 }
    }
}

impl Config {
    /// Loads the configuration of `home`; a missing file means every default.
    pub fn load(home: &Home) -> Result<Config> {
        let path = home.config_file();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(Error::io("cannot read", &path, source)),
        };
        Config::parse(&text, &path)
    }

    /// Parses and validates configuration text read from `path` (used in messages only).
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let config: Config = toml::from_str(text).map_err(|error| Error::Config {
            path: path.to_path_buf(),
            message: describe_toml_error(text, &error),
        })?;
        config.validate().map_err(|(key, problem)| Error::Config {
            path: path.to_path_buf(),
            message: match line_of_key(text, key) {
                Some(line) => format!("line {line}, key {key}: {problem}"),
                None => format!("key {key}: {problem}"),
            },
        })?;
        Ok(config)
    }

    /// Checks the values that have a type but not every value of it makes sense; on failure, the
    /// key and what is wrong with it.
    fn validate(&self) -> std::result::Result<(), (&'static str, String)> {
        if !(1..=19).contains(&self.backups.compression_level) {
            return Err((
                "backups.compression_level",
                format!("{} is outside 1 to 19", self.backups.compression_level),
            ));
        }
        if self.drive.chunk_kib == 0 || !self.drive.chunk_kib.is_multiple_of(256) {
            return Err((
                "drive.chunk_kib",
                format!("{} is not a positive multiple of 256", self.drive.chunk_kib),
            ));
        }
        if self.limits.max_backup_mb == 0 {
            return Err(("limits.max_backup_mb", "must be at least 1".to_string()));
        }
        if let Some(path) = &self.database.path
            && path.as_os_str().is_empty()
        {
            return Err(("database.path", "is empty".to_string()));
        }
        Ok(())
    }

    /// The backups folder: `backups.folder`, or the home's default.
    pub fn backups_folder(&self, home: &Home) -> PathBuf {
        self.backups
            .folder
            .clone()
            .unwrap_or_else(|| home.default_backups_folder())
    }

    /// The configuration as TOML, every key with its effective value.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// Sets each `key` (dotted, e.g. `retention.keep_local`) to its value in the configuration file of
/// `home`, keeping the rest of the file (comments included) as it is. The result is validated
/// before it is written, all keys at once; an invalid value leaves the file untouched.
pub fn set(home: &Home, changes: &[(&str, &str)]) -> Result<Config> {
    let path = home.config_file();
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => return Err(Error::io("cannot read", &path, source)),
    };
    let config_error = |message: String| Error::Config {
        path: path.clone(),
        message,
    };
    // The current file must itself be valid, or we would build on a mistake.
    Config::parse(&text, &path)?;
    let mut document: toml_edit::DocumentMut = text
        .parse()
        .map_err(|error: toml_edit::TomlError| config_error(error.message().to_string()))?;

    for (key, value) in changes {
        let (section, name) = key
            .split_once('.')
            .filter(|(section, name)| {
                !section.is_empty() && !name.is_empty() && !name.contains('.')
            })
            .ok_or_else(|| config_error(format!("key `{key}` is not of the form section.name")))?;
        let table = document
            .entry(section)
            .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()))
            .as_table_mut()
            .ok_or_else(|| config_error(format!("`{section}` is not a table")))?;
        table.insert(name, toml_edit::value(typed_value(value)));
    }

    let updated = document.to_string();
    let keys: Vec<&str> = changes.iter().map(|(key, _)| *key).collect();
    let config = Config::parse(&updated, &path).map_err(|error| match error {
        Error::Config { message, .. } => {
            config_error(format!("cannot set {}: {message}", keys.join(", ")))
        }
        other => other,
    })?;
    if let Some(folder) = path.parent() {
        durable::ensure_folder(folder)?;
    }
    durable::write_atomic(&path, updated.as_bytes())?;
    Ok(config)
}

/// Reads a command-line value as the TOML type it looks like: integers and booleans as themselves,
/// anything else as a string (so paths and times need no quoting).
fn typed_value(text: &str) -> toml_edit::Value {
    if let Ok(number) = text.parse::<i64>() {
        return number.into();
    }
    match text {
        "true" => true.into(),
        "false" => false.into(),
        _ => text.into(),
    }
}

/// One line out of toml's multi-line report: "line N, key a.b: what is wrong".
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', " ");
    let Some(span) = error.span() else {
        return message;
    };
    let start = span.start.min(text.len());
    let line_number = text[..start].matches('\n').count() + 1;
    match key_at(text, start) {
        Some(key) => format!("line {line_number}, key {key}: {message}"),
        None => format!("line {line_number}: {message}"),
    }
}

/// The line on which dotted `key` (`section.name`) is set, if it is set in `text`.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    let (section, name) = key.split_once('.')?;
    let mut current = String::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            current = trimmed
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_string();
        } else if current == section
            && trimmed
                .split_once('=')
                .is_some_and(|(left, _)| left.trim().trim_matches('"') == name)
        {
            return Some(index + 1);
        }
    }
    None
}

/// The dotted key whose line holds byte offset `offset`, found from the nearest table header above.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let line_start = text[..offset].rfind('\n').map_or(0, |index| index + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let header = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|candidate| candidate.starts_with('[') && candidate.ends_with(']'))
        .map(|candidate| {
            candidate
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_string()
        });
    let trimmed = line.trim();
    if trimmed.starts_with('[') {
        return Some(
            trimmed
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_string(),
        );
    }
    let name = trimmed.split_once('=')?.0.trim().trim_matches('"');
    if name.is_empty() {
        return None;
    }
    Some(match header {
        Some(section) => format!("{section}.{name}"),
        None => name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        match Config::parse(text, Path::new("/h/config.toml")) {
            Err(error) => error.to_string(),
            Ok(_) => panic!("expected an error for {text:?}"),
        }
    }

    #[test]
    fn an_empty_file_means_every_default() {
        let config = Config::parse("", Path::new("c.toml")).expect("valid");
        assert_eq!(config, Config::default());
        assert_eq!(config.retention.keep_local, 30);
        assert_eq!(config.retention.keep_safety, 10);
        assert_eq!(config.retention.keep_drive, 50);
        assert_eq!(config.limits.max_backup_mb, 500);
        assert!(!config.schedule.enabled);
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_key() {
        let unknown = error_of("[retention]\nkeep_local = 3\nkeep_lokal = 4\n");
        assert!(
            unknown.starts_with("/h/config.toml: line 3, key retention.keep_lokal"),
            "{unknown}"
        );
        let bad_time = error_of("[schedule]\nenabled = true\ntime = \"25:00\"\n");
        assert!(bad_time.contains("line 3, key schedule.time"), "{bad_time}");
        assert!(bad_time.contains("25:00"), "{bad_time}");
        let syntax = error_of("[database\npath = 1\n");
        assert!(syntax.contains("line 1"), "{syntax}");
        assert!(!syntax.contains('\n'), "one line: {syntax}");
        let level = error_of("# levels\n[backups]\ncompression_level = 40\n");
        assert!(
            level.contains("line 3, key backups.compression_level"),
            "{level}"
        );
    }

    #[test]
    fn set_validates_before_it_writes_and_keeps_comments() {
        let folder = tempfile::tempdir().expect("tempdir");
        let home = Home::at(folder.path());
        fs::write(home.config_file(), "# mine\n[retention]\nkeep_local = 5\n").expect("write");
        let config = set(&home, &[("retention.keep_safety", "4")]).expect("set");
        assert_eq!(config.retention.keep_safety, 4);
        assert_eq!(config.retention.keep_local, 5);
        set(&home, &[("schedule.time", "03:15")]).expect("set time");
        let before = fs::read_to_string(home.config_file()).expect("read");
        assert!(before.starts_with("# mine"));
        assert!(set(&home, &[("schedule.time", "25:00")]).is_err());
        assert!(set(&home, &[("retention.nonsense", "1")]).is_err());
        assert!(set(&home, &[("nodot", "1")]).is_err());
        assert_eq!(
            fs::read_to_string(home.config_file()).expect("read"),
            before
        );
    }
}
