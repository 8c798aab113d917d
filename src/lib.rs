//! Lifeboat's engine: consistent, verified backups of one SQLite database, and safe restores.
//!
//! The engine has no user interface. The command line (`src/cli`) and the tray agent are front ends
//! that call [`engine::Engine`] and render what it returns; nothing about backups is decided there.
//!
//! Modules, by what they own:
//! - [`live`]: the only code that opens the live database (snapshot and restore, and their locking).
//! - [`check`]: SQLite's integrity check of images Lifeboat made, opened read-only.
//! - [`archive`]: zstd compression with SHA-256 computed on the stream.
//! - [`manifest`], [`catalog`]: the backup format and the self-describing backups folder.
//! - [`retention`], [`health`], [`schedule`]: pure decisions, functions of their inputs and `now`.
//! - [`history`], [`lock`], [`durable`], [`home`], [`config`]: state, the job lock, crash-safe
//!   writes, folders and configuration.
//! - [`remote`]: the narrow interface of a second home for backups (list, put, get, delete, quota),
//!   a folder behind it, and the queue of uploads still owed; [`drive`]: Google Drive behind it
//!   (consent, tokens in the OS keyring, resumable uploads); [`offsite`]: the engine's operations
//!   with a remote (upload, list, restore and verify from it, retention there).

pub mod archive;
pub mod background;
pub mod catalog;
pub mod check;
pub mod config;
pub mod durable;
pub mod engine;
pub mod error;
pub mod health;
pub mod history;
pub mod home;
pub mod live;
pub mod lock;
pub mod manifest;
pub mod offsite;
pub mod progress;
pub mod retention;
pub mod schedule;
pub mod scratch;

pub use engine::Engine;
pub use error::{Error, Result};
pub mod drive;
pub mod remote;
