//! The command line's grammar (clap). The names here are a contract that scripts rely on.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "lifeboat",
    version,
    about = "Keeps one SQLite database safe: verified backups, safe restores",
    propagate_version = true
)]
pub struct Cli {
    /// Keep config.toml, backups/, logs/ and state/ in DIR
    #[arg(long, global = true, env = "LIFEBOAT_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// Without a command, Lifeboat runs as the tray agent.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct Json {
    /// Print one JSON document on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Take one backup now
    Backup {
        /// The database to back up (default: database.path from the configuration)
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
        #[command(flatten)]
        json: Json,
    },
    /// List backups, newest first
    List {
        /// List the backups on Google Drive instead
        #[arg(long)]
        remote: bool,
        #[command(flatten)]
        json: Json,
    },
    /// Check the checksum and integrity of one backup or all of them
    Verify {
        /// The backup to check (default: all)
        id: Option<String>,
        /// Download the Google Drive copy of ID and check it (a restore drill)
        #[arg(long, requires = "id")]
        remote: bool,
        #[command(flatten)]
        json: Json,
    },
    /// Restore a backup (a safety backup of the current database is made first)
    Restore {
        id: String,
        /// The database to restore into (default: database.path from the configuration)
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
        /// Where the backup comes from (default: local when present, else Google Drive)
        #[arg(long, value_enum)]
        from: Option<Source>,
        #[command(flatten)]
        json: Json,
    },
    /// Remove one backup
    Delete {
        id: String,
        /// Delete even the newest verified backup
        #[arg(long)]
        force: bool,
        /// Remove the Google Drive copy too
        #[arg(long)]
        remote: bool,
    },
    /// Connect to Google Drive, disconnect, or show the connection
    Drive {
        #[command(subcommand)]
        action: DriveAction,
    },
    /// Apply the retention policy now
    Prune {
        /// Only show what would be removed, and why
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        json: Json,
    },
    /// Say whether the data is safe, and what to do if it is not
    Health {
        #[command(flatten)]
        json: Json,
    },
    /// Show or change when scheduled backups run
    Schedule {
        #[command(subcommand)]
        action: ScheduleAction,
    },
    /// Show or change the configuration
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Run the tray agent: the schedule, the tray icon and notifications (the default)
    Agent {
        /// No tray icon, even where a desktop could show one
        #[arg(long)]
        headless: bool,
    },
    /// Turn starting the agent at login on or off, or show whether it is on
    Autostart {
        #[command(subcommand)]
        action: AutostartAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum AutostartAction {
    /// Start the agent at login
    On,
    /// Do not start the agent at login
    Off,
    /// Say whether the agent starts at login
    Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    Local,
    Drive,
}

#[derive(Debug, Subcommand)]
pub enum DriveAction {
    /// Open Google's consent page in the browser and keep the grant in the OS keyring
    Connect {
        /// The JSON of a Desktop app OAuth client from Google Cloud Console
        #[arg(long, value_name = "FILE")]
        client_secret: Option<PathBuf>,
    },
    /// Revoke Lifeboat's access at Google and remove the grant from the keyring
    Disconnect,
    /// Show the account, quota, folder and uploads still owed; retries queued uploads
    Status {
        #[command(flatten)]
        json: Json,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScheduleAction {
    /// Show the schedule and the next run
    Show {
        #[command(flatten)]
        json: Json,
    },
    /// Turn scheduled backups off (the time is kept)
    Off,
    /// Back up every day at HH:MM (local time)
    Daily {
        #[arg(value_name = "HH:MM")]
        time: String,
    },
    /// Back up once a week on DAY (mon..sun) at HH:MM (local time)
    Weekly {
        #[arg(value_name = "DAY")]
        day: String,
        #[arg(value_name = "HH:MM")]
        time: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the effective configuration, every key with its value
    Show,
    /// Print the configuration file's path
    Path,
    /// Set KEY (section.name) to VALUE, validating it first
    Set { key: String, value: String },
}
