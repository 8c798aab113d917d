//! The tray agent as a desktop sees it: its StatusNotifierItem and dbusmenu on a private session
//! bus, the notifications a real notification server receives, its schedule, one agent per user,
//! and start at login. Every test runs the real `lifeboat agent`; the Google Drive ones run it
//! against the loopback Google, fake browser and keyring of tests/drive.rs.

mod common;
mod desktop;

use std::fs;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::google::World;
use common::{Home, Journal, create_items_db, items_at, s};
use desktop::{Desktop, JobLockHolder, PATIENCE, Panel};
use serde_json::{Value, json};

fn kinds(home: &Home) -> Vec<String> {
    home.list()
        .iter()
        .map(|backup| backup["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn count(home: &Home, kind: &str) -> usize {
    kinds(home).iter().filter(|found| *found == kind).count()
}

fn summaries(desktop: &Desktop) -> Vec<String> {
    desktop
        .notifications()
        .iter()
        .map(|note| note["summary"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A home whose configured database holds `items`.
fn configured_home(items: &[&str]) -> (Home, std::path::PathBuf) {
    let home = Home::new();
    let db = home.scratch("store.db");
    drop(create_items_db(&db, Journal::Wal, items, 64));
    home.config_set("database.path", s(&db));
    (home, db)
}

/// Local wall-clock time `minutes` from now, as HH:MM (the agent reads the same zone).
fn local_time_in(minutes: i64) -> String {
    let output = Command::new("date")
        .arg("-d")
        .arg(format!("{minutes} min"))
        .arg("+%H:%M")
        .output()
        .expect("date");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn the_tray_backs_up_restores_undoes_and_reports_a_missing_database_once() {
    let desktop = Desktop::start(Panel::Shown);
    let (home, db) = configured_home(&["apple", "pear"]);
    let mut agent = desktop.agent(&home, &[]);

    // No backup yet: red, and one notification that says so and offers to back up.
    let tray = desktop.wait_for_tray("red", |tray| tray.colour() == "red");
    assert_eq!(
        tray.labels(),
        [
            "Back up now",
            "Restore",
            "Open backups folder",
            "Google Drive",
            "",
            "Schedule",
            "Start at login",
            "Open settings (config.toml)",
            "View log",
            "",
            "Not protected: There is no verified backup yet: back up now.",
            "Quit"
        ]
    );
    assert!(
        tray.tooltip()
            .starts_with("Lifeboat: no good backup yet · schedule off"),
        "{}",
        tray.tooltip()
    );
    assert_eq!(tray.item("Restore").expect("Restore")["enabled"], false);
    let health_line = &tray.menu()[10];
    assert_eq!(
        health_line["enabled"], false,
        "the health line is information only"
    );
    let first = desktop.wait_for_notification("Your data is not protected");
    assert_eq!(first["urgency"], 2);
    assert_eq!(first["actions"]["backup"], "Back up now");

    // Back up now, while a command-line job holds the job lock: the icon turns blue and the
    // menu says a backup runs; when the lock is free, the backup is made and the icon is green.
    let holder = JobLockHolder::take(&home);
    desktop.click(&["Back up now"]);
    let busy = desktop.wait_for_tray("blue", |tray| tray.colour() == "blue");
    assert_eq!(busy.labels()[0], "Backing up…");
    assert_eq!(busy.item("Back up now").expect("item")["enabled"], false);
    assert_eq!(busy.item("Restore").expect("item")["enabled"], false);
    drop(holder);
    let green = desktop.wait_for_tray("green", |tray| tray.colour() == "green");
    assert_eq!(kinds(&home), ["manual"]);
    assert!(green.tooltip().starts_with("Lifeboat: last good backup "));
    let made = desktop.wait_for_notification("Backup made");
    assert!(
        made["body"]
            .as_str()
            .unwrap_or_default()
            .ends_with("Your data is protected again."),
        "one notification confirms the backup and the end of the problem: {made}"
    );
    assert!(!summaries(&desktop).contains(&"Lifeboat: resolved".to_string()));

    // The application changes the data; a restore from the menu brings the backup back.
    {
        let conn = common::open(&db);
        conn.execute("INSERT INTO items(name) VALUES ('plum')", [])
            .expect("insert");
    }
    let tray = desktop.wait_for_tray("a backup to restore", |tray| {
        tray.item("Restore")
            .is_some_and(|item| item["enabled"] == true)
    });
    let restore = tray.item("Restore").expect("Restore");
    let choices = restore["children"].as_array().expect("backups");
    assert_eq!(choices.len(), 1);
    let only = &choices[0];
    assert!(only["label"].as_str().unwrap_or_default().contains(" · "));
    assert_eq!(only["children"][0]["label"], "Restore this backup");
    desktop.click(&["Restore", "#0", "Restore this backup"]);
    let restored = desktop.wait_for_notification("Restore finished");
    assert_eq!(items_at(&db), ["apple", "pear"]);
    assert_eq!(restored["actions"]["undo"], "Undo");
    let tray = desktop.wait_for_tray("Undo in the menu", |tray| {
        tray.labels()
            .iter()
            .any(|label| label.starts_with("Undo last restore"))
    });
    assert_eq!(tray.colour(), "green");

    // "Undo" on the notification puts back what was there before the restore.
    desktop.choose(restored["id"].as_u64().expect("id"), "undo");
    desktop.wait_for_notification("Restore undone");
    assert_eq!(items_at(&db), ["apple", "pear", "plum"]);

    // The database vanishes: the next backup fails, the icon turns red, one notification says
    // what failed with Retry and Open log; failing again raises no second one.
    let before = desktop.notifications().len();
    fs::remove_file(&db).expect("remove db");
    let _ = fs::remove_file(format!("{}-wal", db.display()));
    let _ = fs::remove_file(format!("{}-shm", db.display()));
    desktop.click(&["Back up now"]);
    let red = desktop.wait_for_tray("red", |tray| tray.colour() == "red");
    assert!(
        red.labels()
            .iter()
            .any(|label| label.starts_with("Not protected: The database")),
        "{:?}",
        red.labels()
    );
    let failed = desktop.wait_for_notification("Backup failed");
    assert_eq!(failed["urgency"], 2);
    assert_eq!(failed["actions"]["retry"], "Retry");
    assert_eq!(failed["actions"]["log"], "Open log");
    assert!(
        failed["body"]
            .as_str()
            .unwrap_or_default()
            .contains("does not exist"),
        "{failed}"
    );
    desktop.click(&["Back up now"]);
    thread::sleep(Duration::from_secs(3));
    let after: Vec<Value> = desktop.notifications().split_off(before);
    assert_eq!(
        after.len(),
        1,
        "one notification for one problem, however often it fails: {after:#?}"
    );

    // The disk is back; "Retry" on the notification backs up, and the problem is over.
    drop(create_items_db(&db, Journal::Wal, &["fig"], 0));
    let backups = home.list().len();
    desktop.choose(failed["id"].as_u64().expect("id"), "retry");
    desktop.wait_for_tray("green again", |tray| tray.colour() == "green");
    assert_eq!(home.list().len(), backups + 1);
    let confirmations = summaries(&desktop)
        .iter()
        .filter(|summary| *summary == "Backup made")
        .count();
    assert_eq!(confirmations, 2);

    // Quit ends the agent.
    desktop.click(&["Quit"]);
    assert_eq!(agent.wait_for_exit(PATIENCE), Some(0));
}

#[test]
fn an_agent_with_no_database_is_amber_and_says_how_to_set_it_up() {
    let desktop = Desktop::start(Panel::Shown);
    let home = Home::new();
    let _agent = desktop.agent(&home, &[]);
    let tray = desktop.wait_for_tray("amber", |tray| tray.colour() == "amber");
    assert!(tray.item("Open settings (config.toml)").is_some());
    assert!(
        tray.labels()
            .iter()
            .any(|label| label.starts_with("Warning: No database is configured yet")),
        "{:?}",
        tray.labels()
    );
    let told = desktop.wait_for_notification("Lifeboat is not set up yet");
    assert_eq!(told["actions"]["open-config"], "Open settings");
}

#[test]
fn without_a_tray_host_the_agent_says_so_once_and_keeps_running() {
    let desktop = Desktop::start(Panel::NoHost);
    let (home, _db) = configured_home(&["apple"]);
    home.backup(&home.scratch("store.db"));
    let mut agent = desktop.agent(&home, &[]);
    let told = desktop.wait_for_notification("Lifeboat runs without a tray icon");
    assert!(
        told["body"]
            .as_str()
            .unwrap_or_default()
            .contains("AppIndicator"),
        "{told}"
    );
    thread::sleep(Duration::from_secs(2));
    assert!(agent.is_running(), "the agent keeps running the schedule");
    let told_count = summaries(&desktop)
        .iter()
        .filter(|summary| *summary == "Lifeboat runs without a tray icon")
        .count();
    assert_eq!(told_count, 1);
}

#[test]
fn with_no_session_bus_the_agent_says_so_once_in_its_log_and_keeps_running() {
    let (home, db) = configured_home(&["apple"]);
    home.backup(&db);
    let user = tempfile::tempdir().expect("HOME");
    let mut command = home.command(&["agent"]);
    command
        .env("HOME", user.path())
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut agent = desktop::Agent {
        child: command.spawn().expect("agent"),
    };
    let log_file = home.path().join("logs/lifeboat.log");
    let deadline = Instant::now() + PATIENCE;
    let log = loop {
        let log = fs::read_to_string(&log_file).unwrap_or_default();
        if log.contains("cannot show notifications") {
            break log;
        }
        assert!(Instant::now() < deadline, "nothing logged: {log}");
        thread::sleep(Duration::from_millis(100));
    };
    thread::sleep(Duration::from_secs(2));
    assert!(agent.is_running(), "the schedule goes on without a desktop");
    assert_eq!(log.matches("no tray host (NoBus)").count(), 1, "{log}");
    let log = fs::read_to_string(&log_file).expect("log");
    assert_eq!(log.matches("cannot show notifications").count(), 1, "{log}");
}

#[test]
fn headless_shows_no_tray_icon() {
    let desktop = Desktop::start(Panel::Shown);
    let (home, _db) = configured_home(&["apple"]);
    let mut agent = desktop.agent(&home, &["--headless"]);
    // The agent is up once it told about the missing backup.
    desktop.wait_for_notification("Your data is not protected");
    assert!(agent.is_running());
    assert!(desktop.tray().is_none(), "no StatusNotifierItem on the bus");
}

#[test]
fn a_second_agent_says_one_is_running_and_exits_0() {
    let desktop = Desktop::start(Panel::Shown);
    let (home, _db) = configured_home(&["apple"]);
    let _first = desktop.agent(&home, &[]);
    desktop.wait_for_tray("the first agent's icon", |_| true);
    let second = common::run_command(desktop.lifeboat(&home, &["agent"]), PATIENCE).ok();
    assert!(
        second.stdout.contains("already running"),
        "{}",
        second.stdout
    );
    // No arguments at all also means the agent.
    let bare = common::run_command(desktop.lifeboat(&home, &[]), PATIENCE).ok();
    assert!(bare.stdout.contains("already running"), "{}", bare.stdout);
}

#[test]
fn the_menu_opens_the_backups_folder_the_log_and_the_settings() {
    let desktop = Desktop::start(Panel::Shown);
    let (home, _db) = configured_home(&["apple"]);
    let _agent = desktop.agent(&home, &[]);
    desktop.wait_for_tray("the icon", |_| true);
    let wanted = [
        ("Open backups folder", home.backups()),
        ("View log", home.path().join("logs/lifeboat.log")),
        ("Open settings (config.toml)", home.config_file()),
    ];
    for (count, (label, path)) in wanted.iter().enumerate() {
        desktop.click(&[label]);
        let deadline = Instant::now() + PATIENCE;
        while desktop.opened().len() <= count {
            assert!(Instant::now() < deadline, "{label} opened nothing");
            thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(desktop.opened()[count], s(path), "{label}");
    }
}

#[test]
fn the_schedule_menu_turns_the_schedule_on_and_off() {
    let desktop = Desktop::start(Panel::Shown);
    let (home, db) = configured_home(&["apple"]);
    home.backup(&db);
    let _agent = desktop.agent(&home, &[]);
    desktop.wait_for_tray("schedule off", |tray| {
        tray.tooltip().contains("schedule off")
    });
    desktop.click(&["Schedule", "Weekly on Monday at 02:00"]);
    let tray = desktop.wait_for_tray("a next run", |tray| tray.tooltip().contains("· next Mon "));
    let checked: Vec<&str> = tray.item("Schedule").expect("Schedule")["children"]
        .as_array()
        .expect("choices")
        .iter()
        .filter(|item| item["checked"] == true)
        .map(|item| item["label"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        checked,
        ["Weekly on Monday at 02:00"],
        "one choice is checked"
    );
    let shown = home.run(&["schedule", "show", "--json"]).ok().json();
    assert_eq!(shown["enabled"], true);
    assert_eq!(shown["frequency"], "weekly");
    desktop.click(&["Schedule", "Off"]);
    desktop.wait_for_tray("schedule off", |tray| {
        tray.tooltip().contains("schedule off")
    });
    assert_eq!(
        home.run(&["schedule", "show", "--json"]).ok().json()["enabled"],
        false
    );
}

#[test]
fn sigterm_ends_the_agent_as_quit_does() {
    let desktop = Desktop::start(Panel::Shown);
    let (home, _db) = configured_home(&["apple"]);
    let mut agent = desktop.agent(&home, &[]);
    desktop.wait_for_tray("the icon", |_| true);
    let killed = Command::new("kill")
        .args(["-TERM", &agent.pid().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    assert_eq!(agent.wait_for_exit(PATIENCE), Some(0));
    let log = fs::read_to_string(home.path().join("logs/lifeboat.log")).expect("log");
    assert!(log.contains("agent stopped"), "{log}");
    assert!(desktop.tray().is_none(), "the icon left the bus");
}

#[test]
fn autostart_on_and_off_write_and_remove_the_login_entry() {
    let desktop = Desktop::start(Panel::Shown);
    let home = Home::new();
    let run = |args: &[&str]| common::run_command(desktop.lifeboat(&home, args), PATIENCE).ok();
    assert!(run(&["autostart", "status"]).stdout.starts_with("off"));
    run(&["autostart", "on"]);
    let entry = fs::read_to_string(desktop.autostart_entry()).expect("autostart entry");
    let exec = entry
        .lines()
        .find(|line| line.starts_with("Exec="))
        .expect("Exec line");
    assert!(
        exec.starts_with(&format!("Exec={}", common::LIFEBOAT)),
        "{exec}"
    );
    assert!(
        exec.ends_with(&format!("--home {} agent", s(home.path()))),
        "{exec}"
    );
    assert!(run(&["autostart", "status"]).stdout.starts_with("on"));
    run(&["autostart", "off"]);
    assert!(!desktop.autostart_entry().exists());
    assert!(run(&["autostart", "status"]).stdout.starts_with("off"));
}

#[test]
fn the_first_agent_turns_start_at_login_on_and_the_menu_turns_it_off() {
    let desktop = Desktop::start(Panel::Shown);
    let (home, _db) = configured_home(&["apple"]);
    let _agent = desktop.agent(&home, &[]);
    let tray = desktop.wait_for_tray("Start at login checked", |tray| {
        tray.item("Start at login")
            .is_some_and(|item| item["checked"] == true)
    });
    assert_eq!(
        tray.item("Start at login").expect("item")["toggle"],
        "checkmark"
    );
    assert!(desktop.autostart_entry().exists());
    desktop.click(&["Start at login"]);
    desktop.wait_for_tray("Start at login unchecked", |tray| {
        tray.item("Start at login")
            .is_some_and(|item| item["checked"] == false)
    });
    assert!(!desktop.autostart_entry().exists());
}

#[test]
fn a_daily_time_a_minute_ahead_makes_exactly_one_scheduled_backup() {
    let desktop = Desktop::start(Panel::Shown);
    let (home, db) = configured_home(&["apple"]);
    // A backup made just now: nothing is missed, so only the coming time may run.
    home.backup(&db);
    let time = local_time_in(1);
    home.run(&["schedule", "daily", &time]).ok();
    let _agent = desktop.agent(&home, &["--headless"]);
    let deadline = Instant::now() + Duration::from_secs(100);
    while count(&home, "scheduled") == 0 {
        assert!(
            Instant::now() < deadline,
            "no scheduled backup at {time}: {:?}",
            kinds(&home)
        );
        thread::sleep(Duration::from_millis(500));
    }
    thread::sleep(Duration::from_secs(5));
    assert_eq!(count(&home, "scheduled"), 1, "{:?}", kinds(&home));
    // Scheduled successes are silent.
    assert!(!summaries(&desktop).contains(&"Backup made".to_string()));
}

#[test]
fn an_agent_started_after_a_missed_time_catches_up_exactly_once() {
    let desktop = Desktop::start(Panel::Shown);
    let (home, _db) = configured_home(&["apple"]);
    // The time passed two minutes ago and no backup was made since.
    home.run(&["schedule", "daily", &local_time_in(-2)]).ok();
    let mut agent = desktop.agent(&home, &["--headless"]);
    let deadline = Instant::now() + PATIENCE;
    while count(&home, "scheduled") == 0 {
        assert!(Instant::now() < deadline, "no catch-up: {:?}", kinds(&home));
        thread::sleep(Duration::from_millis(200));
    }
    thread::sleep(Duration::from_secs(3));
    assert_eq!(count(&home, "scheduled"), 1);
    // Started again, it finds the missed time covered and does not run it twice.
    drop(agent);
    agent = desktop.agent(&home, &["--headless"]);
    thread::sleep(Duration::from_secs(4));
    assert!(agent.is_running());
    assert_eq!(count(&home, "scheduled"), 1, "{:?}", kinds(&home));
}

#[test]
fn a_schedule_changed_from_the_command_line_reaches_the_running_agent() {
    let desktop = Desktop::start(Panel::Shown);
    let (home, db) = configured_home(&["apple"]);
    home.backup(&db);
    let _agent = desktop.agent(&home, &[]);
    desktop.wait_for_tray("schedule off", |tray| {
        tray.tooltip().contains("schedule off")
    });
    common::run_command(
        desktop.lifeboat(&home, &["schedule", "weekly", "sun", "03:30"]),
        PATIENCE,
    )
    .ok();
    // The agent looks at config.toml once a minute.
    let deadline = Instant::now() + Duration::from_secs(75);
    loop {
        let tray = desktop.tray().expect("tray");
        let weekly = tray.item("Schedule").and_then(|schedule| {
            schedule["children"]
                .as_array()
                .and_then(|items| items.iter().find(|item| item["checked"] == true))
                .map(|item| item["label"].as_str().unwrap_or_default().to_string())
        });
        if weekly.as_deref() == Some("Weekly on Sunday at 03:30") {
            assert!(tray.tooltip().contains("· next Sun "), "{}", tray.tooltip());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the agent never saw the change: {weekly:?}"
        );
        thread::sleep(Duration::from_millis(500));
    }
}

/// A desktop on the bus of `world`'s keyring (the agent finds the tray, the notifications and the
/// Secret Service on one session bus).
fn drive_desktop(world: &World) -> Desktop {
    Desktop::join(Panel::Shown, world.keyring.address())
}

/// The agent in `world`: the fake Google, its browser first on PATH, the keyring.
fn drive_agent(desktop: &Desktop, world: &World) -> desktop::Agent {
    let mut command = desktop.lifeboat(&world.home, &["agent"]);
    command
        .envs(world.environment())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    desktop::Agent {
        child: command.spawn().expect("spawn the agent"),
    }
}

/// The labels of a submenu's entries.
fn entries(tray: &desktop::Tray, submenu: &str) -> Vec<String> {
    tray.item(submenu)
        .and_then(|item| item["children"].as_array())
        .map(|items| {
            items
                .iter()
                .map(|item| item["label"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn idle(tray: &desktop::Tray) -> bool {
    tray.colour() != "blue"
        && tray
            .item("Back up now")
            .is_some_and(|item| item["enabled"] == true)
}

#[test]
fn a_backup_only_on_drive_is_offered_by_the_tray_and_restored_from_there() {
    let world = World::new();
    let db = world.database(&["alpha", "beta"]);
    world.connect();
    let backup = world.backup();
    assert_eq!(backup["location"], "both");
    let id = backup["id"].as_str().expect("id").to_string();
    // The local copy is gone (a cleaned folder, another machine's backup): only Drive holds it.
    world.run(&["delete", &id, "--force"]).ok();
    assert!(world.home.list().is_empty());
    common::open(&db)
        .execute("INSERT INTO items(name) VALUES ('gamma')", [])
        .expect("insert");

    let desktop = drive_desktop(&world);
    let _agent = drive_agent(&desktop, &world);
    let tray = desktop.wait_for_tray("the Drive backup under Restore", |tray| {
        tray.item("Restore")
            .is_some_and(|item| item["enabled"] == true)
    });
    let choices = entries(&tray, "Restore");
    assert_eq!(choices.len(), 1, "{choices:?}");
    assert!(choices[0].ends_with(" · on Drive"), "{choices:?}");
    assert!(
        tray.tooltip()
            .ends_with("· Google Drive: person@example.com"),
        "{}",
        tray.tooltip()
    );
    assert_eq!(
        entries(&tray, "Google Drive"),
        ["Connected as person@example.com", "Disconnect"]
    );

    desktop.click(&["Restore", "#0", "Restore this backup"]);
    desktop.wait_for_notification("Restore finished");
    assert_eq!(items_at(&db), ["alpha", "beta"]);
    assert!(
        world.home.artifact(&id).exists(),
        "the backup came down into the backups folder"
    );
    let tray = desktop.wait_for_tray("the backup here and on Drive", |tray| {
        entries(tray, "Restore")
            .first()
            .is_some_and(|label| label.ends_with(" · also on Drive"))
    });
    assert!(
        tray.labels()
            .iter()
            .any(|label| label.starts_with("Undo last restore")),
        "{:?}",
        tray.labels()
    );
}

#[test]
fn connect_from_the_menu_goes_through_the_consent_page_and_backups_then_go_to_drive() {
    let world = World::new();
    let db = world.database(&["alpha"]);
    world
        .home
        .config_set("drive.client_secret_file", s(&world.secret));
    world.home.backup(&db);
    let desktop = drive_desktop(&world);
    let _agent = drive_agent(&desktop, &world);
    let tray = desktop.wait_for_tray("Connect…", |tray| {
        entries(tray, "Google Drive") == ["Not connected", "Connect…"]
    });
    assert!(
        tray.tooltip().ends_with("· Google Drive not connected"),
        "{}",
        tray.tooltip()
    );

    desktop.click(&["Google Drive", "Connect…"]);
    let tray = desktop.wait_for_tray("the account", |tray| {
        entries(tray, "Google Drive") == ["Connected as person@example.com", "Disconnect"]
    });
    desktop.wait_for_notification("Google Drive connected");
    let consent = fs::read_to_string(&world.browser_log).expect("the browser was opened");
    assert!(consent.contains("code_challenge_method=S256"), "{consent}");
    assert!(
        tray.tooltip()
            .ends_with("· Google Drive: person@example.com"),
        "{}",
        tray.tooltip()
    );
    let status = world.run(&["drive", "status", "--json"]).ok().json();
    assert_eq!(status["connected"], true);

    // A backup from the menu goes to Drive as well, and the Restore list says so.
    desktop.wait_for_tray("idle", idle);
    desktop.click(&["Back up now"]);
    desktop.wait_for_notification("Backup made");
    desktop.wait_for_tray("the new backup on Drive", |tray| {
        entries(tray, "Restore")
            .first()
            .is_some_and(|label| label.ends_with(" · also on Drive"))
    });
    assert_eq!(world.google.backups().len(), 1);

    // Disconnect revokes the grant at Google.
    desktop.wait_for_tray("idle", idle);
    desktop.click(&["Google Drive", "Disconnect"]);
    desktop.wait_for_tray("Connect… again", |tray| {
        entries(tray, "Google Drive") == ["Not connected", "Connect…"]
    });
    assert_eq!(world.google.counter("revokes"), 1);
}

#[test]
fn a_revoked_grant_turns_the_icon_red_with_one_notification_whose_reconnect_mends_it() {
    let world = World::new();
    world.database(&["alpha"]);
    world.connect();
    assert_eq!(world.backup()["location"], "both");
    world.google.control("revoke_refresh_tokens", json!({}));
    world.google.control("expire_access_tokens", json!({}));

    let desktop = drive_desktop(&world);
    let _agent = drive_agent(&desktop, &world);
    let red = desktop.wait_for_tray("red", |tray| tray.colour() == "red");
    assert!(
        red.labels()
            .iter()
            .any(|label| label
                .starts_with("Not protected: Google Drive access was revoked or expired")),
        "{:?}",
        red.labels()
    );
    assert!(
        red.tooltip().ends_with("· Google Drive: reconnect needed"),
        "{}",
        red.tooltip()
    );
    let lost = desktop.wait_for_notification("Google Drive access lost");
    assert_eq!(lost["urgency"], 2);
    assert_eq!(lost["actions"]["drive-connect"], "Reconnect");
    assert_eq!(lost["actions"]["log"], "Open log");

    // A backup whose upload is refused again raises no second notice of the lost access.
    desktop.wait_for_tray("idle", idle);
    desktop.click(&["Back up now"]);
    let made = desktop.wait_for_notification("Backup made");
    assert!(
        made["body"]
            .as_str()
            .unwrap_or_default()
            .contains("not on Google Drive yet"),
        "{made}"
    );
    thread::sleep(Duration::from_secs(2));
    let told = summaries(&desktop)
        .iter()
        .filter(|summary| *summary == "Google Drive access lost")
        .count();
    assert_eq!(told, 1, "{:?}", summaries(&desktop));

    // Reconnect on the notification: consent again, the queued upload goes, the icon is green.
    desktop.choose(lost["id"].as_u64().expect("id"), "drive-connect");
    desktop.wait_for_tray("green", |tray| tray.colour() == "green");
    desktop.wait_for_notification("Lifeboat: resolved");
    let deadline = Instant::now() + PATIENCE;
    while world.google.backups().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the queued backup never reached Drive"
        );
        thread::sleep(Duration::from_millis(200));
    }
}
