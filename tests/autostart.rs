//! Start at login on Linux with the .deb's system-wide entry: `lifeboat autostart status` sees
//! `$XDG_CONFIG_DIRS/autostart/lifeboat.desktop`, `off` hides it for this user only (a user entry
//! with `Hidden=true`), `on` takes that back, and `$XDG_CONFIG_HOME` is where the user's entry goes.
//!
//! Each test has its own HOME and a fake system folder standing in for /etc/xdg, filled with the
//! entry the package installs (installer/linux/lifeboat-autostart.desktop).
#![cfg(target_os = "linux")]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{COMMAND_TIMEOUT, LIFEBOAT, Run, run_command, s};
use tempfile::TempDir;

/// A user with a HOME, and a machine whose system config folder is `etc_xdg`.
struct Machine {
    root: TempDir,
    /// `XDG_CONFIG_HOME`, when the test sets one.
    config_home: Option<PathBuf>,
}

impl Machine {
    fn new() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        fs::create_dir_all(root.path().join("home")).expect("HOME");
        Machine {
            root,
            config_home: None,
        }
    }

    fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    fn etc_xdg(&self) -> PathBuf {
        self.root.path().join("etc-xdg")
    }

    fn system_entry(&self) -> PathBuf {
        self.etc_xdg().join("autostart/lifeboat.desktop")
    }

    fn user_entry(&self) -> PathBuf {
        self.config_home
            .clone()
            .unwrap_or_else(|| self.home().join(".config"))
            .join("autostart/lifeboat.desktop")
    }

    /// Installs the package's entry, its program paths pointing at `program`.
    fn install_system_entry(&self, program: &str) {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("installer/linux/lifeboat-autostart.desktop");
        let text = fs::read_to_string(shipped).expect("the package's autostart entry");
        assert!(text.contains("/usr/bin/lifeboat"), "{text}");
        fs::create_dir_all(self.etc_xdg().join("autostart")).expect("system folder");
        fs::write(
            self.system_entry(),
            text.replace("/usr/bin/lifeboat", program),
        )
        .expect("system entry");
    }

    fn lifeboat(&self, args: &[&str]) -> Run {
        let mut command = Command::new(LIFEBOAT);
        command
            .args(args)
            .env("HOME", self.home())
            .env_remove("LIFEBOAT_HOME")
            // A second, empty folder first: the spec's list is searched in order.
            .env(
                "XDG_CONFIG_DIRS",
                format!(
                    "{}:{}",
                    s(&self.root.path().join("empty")),
                    s(&self.etc_xdg())
                ),
            );
        match &self.config_home {
            Some(config) => command.env("XDG_CONFIG_HOME", config),
            None => command.env_remove("XDG_CONFIG_HOME"),
        };
        run_command(command, COMMAND_TIMEOUT).ok()
    }

    fn status(&self) -> String {
        self.lifeboat(&["autostart", "status"]).stdout
    }
}

#[test]
fn the_packages_entry_counts_as_on_and_off_hides_it_for_this_user_only() {
    let machine = Machine::new();
    assert!(machine.status().starts_with("off"), "nothing installed yet");
    machine.install_system_entry(LIFEBOAT);
    let status = machine.status();
    assert!(status.starts_with("on"), "{status}");
    assert!(status.contains(s(&machine.system_entry())), "{status}");

    machine.lifeboat(&["autostart", "off"]);
    let hiding = fs::read_to_string(machine.user_entry()).expect("a user entry");
    assert!(hiding.contains("Hidden=true"), "{hiding}");
    assert!(
        machine.system_entry().exists(),
        "the system entry is not ours to remove"
    );
    assert!(machine.status().starts_with("off"));

    machine.lifeboat(&["autostart", "on"]);
    assert!(
        !machine.user_entry().exists(),
        "on takes the hiding entry back, so the package's entry applies again"
    );
    assert!(machine.status().starts_with("on"));
}

#[test]
fn on_with_a_home_folder_overrides_the_packages_entry_and_off_still_hides_it() {
    let machine = Machine::new();
    machine.install_system_entry(LIFEBOAT);
    let data = machine.root.path().join("my data");
    machine.lifeboat(&["--home", s(&data), "autostart", "on"]);
    let entry = fs::read_to_string(machine.user_entry()).expect("a user entry");
    assert!(
        entry.contains(&format!("--home \"{}\" agent", s(&data))),
        "the user's entry remembers --home, quoted: {entry}"
    );
    assert!(machine.status().starts_with("on"));
    machine.lifeboat(&["autostart", "off"]);
    assert!(machine.status().starts_with("off"));
    assert!(
        fs::read_to_string(machine.user_entry())
            .expect("a user entry")
            .contains("Hidden=true")
    );
}

#[test]
fn a_system_entry_whose_program_is_gone_is_off() {
    // What `apt remove` leaves: /etc/xdg/autostart is configuration, kept until purge; its TryExec
    // names a program that is no longer there, so no session starts it.
    let machine = Machine::new();
    machine.install_system_entry("/nonexistent/lifeboat");
    assert!(machine.status().starts_with("off"));
}

#[test]
fn the_users_entry_goes_to_xdg_config_home() {
    let mut machine = Machine::new();
    machine.config_home = Some(machine.root.path().join("config"));
    machine.lifeboat(&["autostart", "on"]);
    assert!(machine.user_entry().exists());
    assert!(!machine.home().join(".config/autostart").exists());
    assert!(machine.status().starts_with("on"));
    machine.lifeboat(&["autostart", "off"]);
    assert!(
        !machine.user_entry().exists(),
        "no system entry: nothing to hide"
    );
    assert!(machine.status().starts_with("off"));
}
