//! The command-line front end: runs one command against the engine and renders its result, as
//! text for a person or as one JSON document for a script.
//!
//! Nothing here decides anything about backups. Errors become one line on stderr, `error: ...`,
//! and an exit code: 2 for usage and configuration mistakes, 1 for operations that failed.

mod args;
mod bar;
mod render;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::Parser;
use lifeboat::config::{self, Config};
use lifeboat::home::Home;
use lifeboat::manifest::Kind;
use lifeboat::schedule::{Day, TimeOfDay};
use lifeboat::{Engine, Error};

use crate::agent;
use args::{AutostartAction, Cli, Command, ConfigAction, DriveAction, ScheduleAction, Source};
use bar::Bar;

const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;

pub fn main() -> ExitCode {
    prepare_process();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version are "errors" to clap that print to stdout and exit 0.
        Err(error) if !error.use_stderr() => {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            // clap's report spans several lines (usage, a hint); a script reads the first.
            let rendered = error.render().to_string();
            let first = rendered
                .lines()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("error: invalid arguments");
            let _ = writeln!(std::io::stderr(), "{first} (see `lifeboat --help`)");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            let usage = error.downcast_ref::<Error>().is_some_and(Error::is_usage);
            tracing::error!("{error:#}");
            let message = format!("{error:#}").replace('\n', " ");
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::from(if usage { EXIT_USAGE } else { EXIT_FAILED })
        }
    }
}

/// Process-wide settings that must hold before any file is written.
fn prepare_process() {
    // With a file-size limit (`ulimit -f`), writing past it raises SIGXFSZ, which kills the process
    // before it can clean up or say why. Ignored, the write fails with EFBIG and is reported as a
    // full disk like any other.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    std::panic::set_hook(Box::new(|info| {
        let _ = writeln!(
            std::io::stderr(),
            "error: Lifeboat stopped on an internal error ({info}); nothing was changed after that point, please report it"
        );
    }));
}

fn home_of(cli: &Cli) -> anyhow::Result<Home> {
    match &cli.home {
        Some(folder) => Ok(Home::at(folder)),
        None => Home::platform().ok_or_else(|| {
            anyhow!(Error::Config {
                path: "--home".into(),
                message: "no home folder is known for this user; pass --home DIR".into(),
            })
        }),
    }
}

pub(crate) fn start_log(home: &Home) {
    let folder = home.logs_folder();
    if std::fs::create_dir_all(&folder).is_err() {
        return;
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(folder.join("lifeboat.log"))
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIFEBOAT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let home = home_of(&cli)?;
    let command = cli.command.unwrap_or(Command::Agent { headless: false });
    match command {
        Command::Config { action } => return config_command(&home, action),
        Command::Schedule { action } => return schedule_command(&home, action),
        Command::Agent { headless } => {
            agent::run(agent::Options {
                home,
                home_argument: cli.home.clone(),
                headless,
            })?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Autostart { action } => return autostart_command(cli.home.as_deref(), action),
        _ => {}
    }
    let engine = Engine::open(home.clone())?;
    start_log(&home);
    let bar = Bar::new();
    match command {
        Command::Backup { db, json } => {
            let entry = engine.backup(db.as_deref(), Kind::Manual, &bar)?;
            tracing::info!("backup {} made", entry.manifest.id);
            // The local backup stands whatever happens to the upload; a failed upload stays queued.
            let Some(uploaded) = engine.upload_new_backup(&entry, &bar) else {
                bar.finish();
                render::backup(&entry, json.json)?;
                return Ok(ExitCode::SUCCESS);
            };
            bar.finish();
            let (file_id, problem) = match &uploaded {
                Ok(uploads) => (
                    uploads
                        .uploaded
                        .iter()
                        .find(|remote| remote.manifest.id == entry.manifest.id)
                        .map(|remote| remote.remote_id.clone()),
                    uploads.failed.first().map(|(_, sentence)| sentence.clone()),
                ),
                Err(error) => (None, Some(error.to_string())),
            };
            if let Some(problem) = &problem {
                let _ = writeln!(std::io::stderr(), "warning: {problem}");
            }
            render::backup_uploaded(&entry, file_id.as_deref(), problem.as_deref(), json.json)?;
        }
        Command::List {
            remote: false,
            json,
        } => render::list(&engine.list()?, json.json)?,
        Command::List { remote: true, json } => {
            let drive = engine.open_drive()?;
            let entries = remote_entries(engine.remote_list(&drive)?);
            render::list_at(&entries, "drive", json.json)?;
        }
        Command::Verify {
            id: Some(id),
            remote: true,
            json,
        } => {
            let drive = engine.open_drive()?;
            let result = engine.verify_remote(&id, &drive, &bar)?;
            bar.finish();
            render::verification(std::slice::from_ref(&result), json.json)?;
            if let Some(problem) = &result.problem {
                anyhow::bail!(
                    "the Google Drive copy of backup {} failed verification: {problem}",
                    result.id
                );
            }
        }
        Command::Verify { id, json, .. } => {
            let results = engine.verify(id.as_deref(), &bar)?;
            bar.finish();
            render::verification(&results, json.json)?;
            let failed: Vec<&str> = results
                .iter()
                .filter(|result| result.problem.is_some())
                .map(|result| result.id.as_str())
                .collect();
            if !failed.is_empty() {
                let first = results
                    .iter()
                    .find_map(|result| result.problem.as_deref())
                    .unwrap_or_default();
                anyhow::bail!(
                    "{} of {} backups failed verification ({}): {first}",
                    failed.len(),
                    results.len(),
                    failed.join(", ")
                );
            }
        }
        Command::Restore { id, db, from, json } => {
            let restored = match from {
                None => engine.restore_local_or_remote(&id, db.as_deref(), &bar)?,
                Some(Source::Local) => engine.restore(&id, db.as_deref(), &bar)?,
                Some(Source::Drive) => {
                    let drive = engine.open_drive()?;
                    engine.restore_from_remote(&id, db.as_deref(), &drive, &bar)?
                }
            };
            bar.finish();
            let target = engine.database_path(db.as_deref())?;
            tracing::info!("backup {} restored into {}", id, target.display());
            render::restored(&restored, &target, json.json)?;
        }
        Command::Delete {
            id,
            force,
            remote: false,
        } => {
            let entry = engine.delete(&id, force, &bar)?;
            println!("Deleted backup {}.", entry.manifest.id);
        }
        Command::Delete {
            id,
            force,
            remote: true,
        } => {
            let drive = engine.open_drive()?;
            match engine.delete(&id, force, &bar) {
                Ok(entry) => println!("Deleted backup {}.", entry.manifest.id),
                Err(Error::UnknownBackup(_)) => {}
                Err(error) => return Err(error.into()),
            }
            let removed = engine.delete_remote(&id, &drive)?;
            println!(
                "Deleted the Google Drive copy of backup {}.",
                removed.manifest.id
            );
        }
        Command::Drive { action } => drive_command(&engine, action, &bar)?,
        Command::Prune { dry_run, json } => {
            let plan = engine.prune(dry_run, &bar)?;
            render::prune(&plan, dry_run, json.json)?;
        }
        Command::Health { json } => render::health(&engine.health()?, json.json)?,
        Command::Config { .. }
        | Command::Schedule { .. }
        | Command::Agent { .. }
        | Command::Autostart { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

fn autostart_command(home: Option<&Path>, action: AutostartAction) -> anyhow::Result<ExitCode> {
    let place = agent::autostart::location()
        .map(|path| format!(" ({})", path.display()))
        .unwrap_or_default();
    match action {
        AutostartAction::On => {
            agent::autostart::set(true, home)?;
            println!("The agent starts at login{place}.");
        }
        AutostartAction::Off => {
            agent::autostart::set(false, home)?;
            println!("The agent does not start at login.");
        }
        AutostartAction::Status => {
            if agent::autostart::is_on()? {
                println!("on: the agent starts at login{place}");
            } else {
                println!("off: the agent does not start at login");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Remote entries in the shape the list renderer takes; the path is the remote's own name.
fn remote_entries(entries: Vec<lifeboat::remote::RemoteEntry>) -> Vec<lifeboat::catalog::Entry> {
    entries
        .into_iter()
        .map(|entry| lifeboat::catalog::Entry {
            artifact_path: entry.remote_id.into(),
            manifest: entry.manifest,
        })
        .collect()
}

fn drive_command(engine: &Engine, action: DriveAction, bar: &Bar) -> anyhow::Result<()> {
    match action {
        DriveAction::Connect { client_secret } => {
            // On stdout: stderr carries only the one `error:` line a script reads.
            let tell = |url: &str| {
                println!(
                    "Opening Google's consent page in your browser. If it does not open, visit:\n  {url}"
                );
            };
            let account = engine.drive_connect(client_secret.as_deref(), &tell)?;
            println!(
                "Connected to Google Drive as {}. Backups go to the folder \"{}\".",
                account.email,
                lifeboat::drive::ROOT_FOLDER
            );
        }
        DriveAction::Disconnect => {
            engine.drive_disconnect()?;
            println!(
                "Disconnected from Google Drive; Lifeboat's access was revoked at Google and removed from the keyring."
            );
        }
        DriveAction::Status { json } => {
            if !engine.drive_connected() {
                return render::drive_status(None, json.json);
            }
            let status = engine.drive_status(bar)?;
            bar.finish();
            render::drive_status(Some(&status), json.json)?;
        }
    }
    Ok(())
}

fn config_command(home: &Home, action: ConfigAction) -> anyhow::Result<ExitCode> {
    match action {
        ConfigAction::Path => println!("{}", home.config_file().display()),
        ConfigAction::Show => print!("{}", Config::load(home)?.to_toml()),
        ConfigAction::Set { key, value } => {
            config::set(home, &[(&key, &value)])?;
            println!("Set {key} = {value} in {}.", home.config_file().display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn schedule_command(home: &Home, action: ScheduleAction) -> anyhow::Result<ExitCode> {
    let usage = |message: String| {
        anyhow!(Error::Config {
            path: Path::new("schedule").to_path_buf(),
            message,
        })
    };
    let config = match action {
        ScheduleAction::Show { json } => {
            let config = Config::load(home)?;
            render::schedule(&config.schedule, json.json)?;
            return Ok(ExitCode::SUCCESS);
        }
        ScheduleAction::Off => config::set(home, &[("schedule.enabled", "false")])?,
        ScheduleAction::Daily { time } => {
            let time: TimeOfDay = time.parse().map_err(usage)?;
            config::set(
                home,
                &[
                    ("schedule.enabled", "true"),
                    ("schedule.frequency", "daily"),
                    ("schedule.time", &time.to_string()),
                ],
            )?
        }
        ScheduleAction::Weekly { day, time } => {
            let day: Day = day.parse().map_err(usage)?;
            let time: TimeOfDay = time.parse().map_err(usage)?;
            config::set(
                home,
                &[
                    ("schedule.enabled", "true"),
                    ("schedule.frequency", "weekly"),
                    ("schedule.day", day.name()),
                    ("schedule.time", &time.to_string()),
                ],
            )?
        }
    };
    render::schedule(&config.schedule, false).context("cannot print the schedule")?;
    Ok(ExitCode::SUCCESS)
}
