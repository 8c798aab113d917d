//! A desktop for the tray agent's tests: a private session bus (`dbus-daemon --session`), a real
//! notification server on it (python3-dbusmock's notification_daemon template), a
//! StatusNotifierWatcher standing in for the panel (tests/support/sni_watcher.py), and
//! tests/support/desktop.py to look at the tray and the notifications as a panel would.
//!
//! Each test gets its own bus and its own HOME, so tests run in parallel without seeing each
//! other, and nothing of the real session (or the real ~/.config/autostart) is touched. The Google
//! Drive tests put the desktop on the bus of their keyring (`Desktop::join`), since the agent
//! finds the tray, the notifications and the Secret Service on one session bus.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::common::{self, PYTHON, s, support_script};

/// How long anything the agent does in answer to a click may take here.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct Desktop {
    /// The HOME of everything started on this desktop.
    user_home: TempDir,
    address: String,
    /// The bus this desktop started, if it did not join another's.
    bus: Option<Child>,
    services: Vec<Child>,
}

/// Which tray host the desktop has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// A watcher that reports a host: icons are shown.
    Shown,
    /// A watcher with no host registered (GNOME without the AppIndicator extension).
    NoHost,
}

impl Desktop {
    pub fn start(panel: Panel) -> Desktop {
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus) must be installed");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().expect("stdout"))
            .read_line(&mut address)
            .expect("bus address");
        Desktop::on_bus(panel, address.trim(), Some(bus))
    }

    /// A desktop on the session bus at `address`, which someone else started.
    pub fn join(panel: Panel, address: &str) -> Desktop {
        Desktop::on_bus(panel, address, None)
    }

    fn on_bus(panel: Panel, address: &str, bus: Option<Child>) -> Desktop {
        let user_home = tempfile::Builder::new()
            .prefix("lifeboat-user-")
            .tempdir()
            .expect("temp HOME");
        // A stand-in for the desktop's opener (the `open` crate runs xdg-open first): it writes down
        // what it was asked to open, and no real program starts during the tests.
        let bin = user_home.path().join("bin");
        std::fs::create_dir_all(&bin).expect("bin folder");
        let opener = bin.join("xdg-open");
        std::fs::write(
            &opener,
            format!(
                "#!/bin/sh\necho \"$1\" >> '{}'\n",
                user_home.path().join("opened.txt").display()
            ),
        )
        .expect("fake xdg-open");
        std::fs::set_permissions(&opener, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let mut desktop = Desktop {
            user_home,
            address: address.to_string(),
            bus,
            services: Vec::new(),
        };
        desktop.mock(&["--template", "notification_daemon"]);
        desktop.wait_for_name("org.freedesktop.Notifications");
        let watcher = support_script("sni_watcher.py");
        let host = match panel {
            Panel::Shown => r#"{"host": true}"#,
            Panel::NoHost => r#"{"host": false}"#,
        };
        desktop.mock(&["--template", s(&watcher), "-p", host]);
        desktop.wait_for_name("org.kde.StatusNotifierWatcher");
        desktop
    }

    fn mock(&mut self, args: &[&str]) {
        let child = Command::new(PYTHON)
            .args(["-m", "dbusmock"])
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3-dbusmock must be installed");
        self.services.push(child);
    }

    fn wait_for_name(&self, name: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let owned = Command::new("dbus-send")
                .args(["--session", "--print-reply", "--dest=org.freedesktop.DBus"])
                .args(["/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner"])
                .arg(format!("string:{name}"))
                .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
                .output()
                .expect("dbus-send");
            if String::from_utf8_lossy(&owned.stdout).contains("boolean true") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{name} never appeared on the bus"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The HOME of the desktop's user.
    pub fn user_home(&self) -> &Path {
        self.user_home.path()
    }

    /// What the desktop's opener was asked to open, in order.
    pub fn opened(&self) -> Vec<String> {
        std::fs::read_to_string(self.user_home().join("opened.txt"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn autostart_entry(&self) -> PathBuf {
        self.user_home().join(".config/autostart/lifeboat.desktop")
    }

    /// `lifeboat --home HOME ARGS...` as started in this desktop session.
    pub fn lifeboat(&self, home: &common::Home, args: &[&str]) -> Command {
        let mut command = home.command(args);
        let path = format!(
            "{}:{}",
            self.user_home().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        command
            .env("PATH", path)
            .env("HOME", self.user_home())
            // Start at login looks at $XDG_CONFIG_HOME and the system-wide $XDG_CONFIG_DIRS too:
            // point both inside this desktop, so an installed /etc/xdg/autostart entry is not seen.
            .env_remove("XDG_CONFIG_HOME")
            .env("XDG_CONFIG_DIRS", self.user_home().join("etc-xdg"))
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("LIFEBOAT_LOG", "debug");
        command
    }

    /// Starts `lifeboat agent` (plus `extra` arguments) for `home` in this session.
    pub fn agent(&self, home: &common::Home, extra: &[&str]) -> Agent {
        let mut args = vec!["agent"];
        args.extend_from_slice(extra);
        let child = self
            .lifeboat(home, &args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the agent");
        Agent { child }
    }

    fn look(&self, args: &[&str]) -> Result<Value, String> {
        let output = Command::new(PYTHON)
            .arg(support_script("desktop.py"))
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .expect("run desktop.py");
        let text = String::from_utf8_lossy(&output.stdout).to_string();
        if !output.status.success() {
            return Err(format!(
                "desktop.py {args:?}: {text}{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|error| format!("{error}: {text}"))
    }

    /// The tray item as a panel sees it, or `None` while there is none on the bus.
    pub fn tray(&self) -> Option<Tray> {
        self.look(&["tray"]).ok().map(Tray)
    }

    /// Waits until the tray shows what `wanted` looks for, and returns it.
    #[track_caller]
    pub fn wait_for_tray(&self, what: &str, wanted: impl Fn(&Tray) -> bool) -> Tray {
        let deadline = Instant::now() + PATIENCE;
        let mut last = None;
        while Instant::now() < deadline {
            if let Some(tray) = self.tray() {
                if wanted(&tray) {
                    return tray;
                }
                last = Some(tray);
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("the tray never showed {what}; last seen: {last:#?}");
    }

    /// Clicks the menu item at `path` (labels; "#N" for the Nth entry of a submenu).
    #[track_caller]
    pub fn click(&self, path: &[&str]) {
        let mut args = vec!["click"];
        args.extend_from_slice(path);
        if let Err(error) = self.look(&args) {
            panic!("cannot click {path:?}: {error}");
        }
    }

    /// Every notification the server received, oldest first.
    pub fn notifications(&self) -> Vec<Value> {
        match self.look(&["notifications"]) {
            Ok(Value::Array(notes)) => notes,
            other => panic!("cannot read notifications: {other:?}"),
        }
    }

    /// Waits for a notification with this summary, and returns it.
    #[track_caller]
    pub fn wait_for_notification(&self, summary: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Some(note) = self
                .notifications()
                .into_iter()
                .find(|note| note["summary"] == summary)
            {
                return note;
            }
            thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "no notification {summary:?}; the server got {:#?}",
            self.notifications()
        );
    }

    /// The person chooses `action` on notification `id`.
    pub fn choose(&self, id: u64, action: &str) {
        if let Err(error) = self.look(&["act", &id.to_string(), action]) {
            panic!("cannot choose {action}: {error}");
        }
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        for child in self.services.iter_mut().chain(self.bus.as_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What desktop.py reports of the tray item.
#[derive(Debug, Clone)]
pub struct Tray(pub Value);

impl Tray {
    pub fn colour(&self) -> &str {
        self.0["colour"].as_str().unwrap_or("none")
    }

    pub fn tooltip(&self) -> &str {
        self.0["tooltip"].as_str().unwrap_or_default()
    }

    pub fn menu(&self) -> &[Value] {
        self.0["menu"].as_array().map(Vec::as_slice).unwrap_or(&[])
    }

    /// The top-level labels, in order.
    pub fn labels(&self) -> Vec<String> {
        self.menu()
            .iter()
            .map(|item| item["label"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    pub fn item(&self, label: &str) -> Option<&Value> {
        self.menu().iter().find(|item| item["label"] == label)
    }
}

/// A running agent; killed when dropped.
pub struct Agent {
    pub child: Child,
}

impl Agent {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the agent to end by itself and returns its exit code.
    #[track_caller]
    pub fn wait_for_exit(&mut self, within: Duration) -> Option<i32> {
        common::wait_with_timeout(&mut self.child, within, "the agent to quit").code()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Holds the engine's job lock (as a command-line job would) until dropped.
pub struct JobLockHolder {
    child: Child,
}

impl JobLockHolder {
    pub fn take(home: &common::Home) -> JobLockHolder {
        let lock = home.path().join("state").join("lifeboat.lock");
        std::fs::create_dir_all(lock.parent().expect("state folder")).expect("state folder");
        let mut child = Command::new(PYTHON)
            .arg("-c")
            .arg(
                "import fcntl, sys\n\
                 f = open(sys.argv[1], 'a')\n\
                 fcntl.flock(f, fcntl.LOCK_EX)\n\
                 print('locked', flush=True)\n\
                 sys.stdin.read()\n",
            )
            .arg(&lock)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("lock holder output");
        assert_eq!(line.trim(), "locked");
        JobLockHolder { child }
    }
}

impl Drop for JobLockHolder {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}
