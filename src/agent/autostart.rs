//! Start at login: `lifeboat autostart on|off|status` and the menu's check item, and the names the
//! installers under installer/ register, so that the check mark tells the truth however the agent
//! came to start at login.
//!
//! - Linux: XDG autostart, written here rather than by auto-launch (which ignores
//!   `XDG_CONFIG_HOME`, knows nothing of system-wide entries and writes `Exec=` unquoted). The .deb
//!   installs `$XDG_CONFIG_DIRS/autostart/lifeboat.desktop` (`/etc/xdg/autostart`) for every user;
//!   a user's own `$XDG_CONFIG_HOME/autostart/lifeboat.desktop` overrides it, and `Hidden=true`
//!   there turns it off for that user, as the Desktop Application Autostart specification says.
//! - Windows: auto-launch's value `lifeboat` under `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`,
//!   the value the per-user MSI (installer/windows/lifeboat.wxs) writes.
//! - macOS: auto-launch's LaunchAgent `~/Library/LaunchAgents/<LAUNCH_AGENT_LABEL>.plist`, the same
//!   file as installer/macos's.

use std::path::{Path, PathBuf};

use auto_launch::{AutoLaunch, AutoLaunchBuilder, MacOSLaunchMode, WindowsEnableMode};

/// The entry's name: the .desktop file's stem on Linux and the Run value's name on Windows.
pub const ENTRY_NAME: &str = "lifeboat";
/// The app bundle's identifier (installer/macos/Info.plist).
pub const BUNDLE_ID: &str = "org.lifeboat.Lifeboat";
/// The LaunchAgent's label, which is also its file's stem (installer/macos).
pub const LAUNCH_AGENT_LABEL: &str = "org.lifeboat.Lifeboat.agent";

// `Read` and `NoHome` come only from the Linux code.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
#[derive(Debug, thiserror::Error)]
pub enum AutostartError {
    #[error("cannot find this program's own path: {0}")]
    OwnPath(std::io::Error),
    #[error("cannot change start at login: {0}")]
    Entry(#[from] auto_launch::Error),
    #[error("cannot change start at login: {0}")]
    File(#[from] lifeboat::Error),
    #[error("cannot read the start-at-login entry {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no HOME: cannot find the folder for start at login")]
    NoHome,
}

/// The program and arguments that start the agent: `lifeboat [--home DIR] agent`.
fn command_line(home: Option<&Path>) -> Result<(String, Vec<String>), AutostartError> {
    let program = std::env::current_exe().map_err(AutostartError::OwnPath)?;
    let mut arguments: Vec<String> = Vec::new();
    if let Some(home) = home {
        arguments.push("--home".into());
        arguments.push(home.display().to_string());
    }
    arguments.push("agent".into());
    Ok((program.display().to_string(), arguments))
}

/// auto-launch's entry on Windows and macOS, with the names the installers use. Built on every
/// platform (the builder's setters exist everywhere) so that Linux's lints check it too.
#[cfg_attr(target_os = "linux", allow(dead_code))]
fn entry(home: Option<&Path>) -> Result<AutoLaunch, AutostartError> {
    let (program, arguments) = command_line(home)?;
    let mut builder = AutoLaunchBuilder::new();
    if cfg!(target_os = "macos") {
        // A plist's ProgramArguments array needs no shell quoting, only XML escaping. The program
        // stays as it is: auto-launch checks that it exists (a path with `&` is not supported).
        builder
            .set_app_name(LAUNCH_AGENT_LABEL)
            .set_macos_launch_mode(MacOSLaunchMode::LaunchAgent)
            .set_bundle_identifiers(&[BUNDLE_ID])
            .set_app_path(&program)
            .set_args(&arguments.iter().map(|a| xml_escape(a)).collect::<Vec<_>>());
    } else {
        // Only HKCU: the MSI is per user, and the default would try HKLM first when elevated.
        builder
            .set_app_name(ENTRY_NAME)
            .set_windows_enable_mode(WindowsEnableMode::CurrentUser)
            .set_app_path(&windows_quote(&program, true))
            .set_args(
                &arguments
                    .iter()
                    .map(|a| windows_quote(a, false))
                    .collect::<Vec<_>>(),
            );
    }
    Ok(builder.build()?)
}

/// Turns start at login on or off.
pub fn set(on: bool, home: Option<&Path>) -> Result<(), AutostartError> {
    #[cfg(target_os = "linux")]
    {
        xdg::set(on, home)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let entry = entry(home)?;
        if on {
            entry.enable()?;
        } else {
            entry.disable()?;
        }
        Ok(())
    }
}

pub fn is_on() -> Result<bool, AutostartError> {
    #[cfg(target_os = "linux")]
    {
        xdg::is_on()
    }
    #[cfg(not(target_os = "linux"))]
    {
        Ok(entry(None)?.is_enabled()?)
    }
}

/// Where the entry that decides lives, for messages (Linux): the user's own entry when there is
/// one, else the system-wide one; `None` elsewhere.
pub fn location() -> Option<PathBuf> {
    #[cfg(target_os = "linux")]
    {
        let user = xdg::user_entry().ok()?;
        if user.exists() {
            return Some(user);
        }
        Some(xdg::system_entry().unwrap_or(user))
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// XDG autostart (Linux): the user's entry over the system-wide ones.
#[cfg(target_os = "linux")]
mod xdg {
    use std::path::{Path, PathBuf};

    use super::{AutostartError, ENTRY_NAME, command_line, desktop_entry, hides, hiding_entry};

    fn file_name() -> String {
        format!("{ENTRY_NAME}.desktop")
    }

    /// The spec ignores relative paths in these variables.
    fn absolute(value: &str) -> Option<PathBuf> {
        let path = PathBuf::from(value);
        path.is_absolute().then_some(path)
    }

    /// `$XDG_CONFIG_HOME/autostart/lifeboat.desktop`, `$HOME/.config` standing in for an unset
    /// or relative `XDG_CONFIG_HOME`.
    pub fn user_entry() -> Result<PathBuf, AutostartError> {
        let config = std::env::var("XDG_CONFIG_HOME")
            .ok()
            .and_then(|value| absolute(&value))
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|home| !home.is_empty())
                    .map(|home| PathBuf::from(home).join(".config"))
            })
            .ok_or(AutostartError::NoHome)?;
        Ok(config.join("autostart").join(file_name()))
    }

    /// The first `$XDG_CONFIG_DIRS/autostart/lifeboat.desktop` that exists (`/etc/xdg` when the
    /// variable is unset or empty): the entry a package installed for every user.
    pub fn system_entry() -> Option<PathBuf> {
        let dirs = std::env::var("XDG_CONFIG_DIRS")
            .ok()
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| "/etc/xdg".into());
        dirs.split(':')
            .filter_map(absolute)
            .map(|dir| dir.join("autostart").join(file_name()))
            .find(|path| path.is_file())
    }

    fn read(path: &Path) -> Result<String, AutostartError> {
        std::fs::read_to_string(path).map_err(|source| AutostartError::Read {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Whether an entry starts the agent at login: not hidden, not disabled, and its `TryExec`
    /// program there (so a system entry the package left behind after `apt remove` counts as off).
    fn starts(path: &Path) -> Result<bool, AutostartError> {
        let text = read(path)?;
        if hides(&text) {
            return Ok(false);
        }
        Ok(super::try_exec(&text).is_none_or(|program| installed(&program)))
    }

    /// `TryExec`: an absolute path, or a name looked up on PATH.
    fn installed(program: &str) -> bool {
        if program.starts_with('/') {
            return Path::new(program).is_file();
        }
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
    }

    pub fn is_on() -> Result<bool, AutostartError> {
        let user = user_entry()?;
        if user.exists() {
            return starts(&user);
        }
        match system_entry() {
            Some(system) => starts(&system),
            None => Ok(false),
        }
    }

    /// On: with a working system entry and no `--home` to remember, the user's own entry goes
    /// (undoing an earlier off), so the package's entry applies; otherwise the user's entry runs
    /// this program. Off: with a system entry the user's entry hides it, else it goes.
    pub fn set(on: bool, home: Option<&Path>) -> Result<(), AutostartError> {
        let user = user_entry()?;
        let system = system_entry();
        let contents = if on {
            let system_starts = match &system {
                Some(path) => starts(path)?,
                None => false,
            };
            if home.is_none() && system_starts {
                None
            } else {
                let (program, arguments) = command_line(home)?;
                Some(desktop_entry(&program, &arguments))
            }
        } else {
            system.map(|_| hiding_entry())
        };
        match contents {
            Some(text) => {
                if let Some(folder) = user.parent() {
                    lifeboat::durable::ensure_folder(folder)?;
                }
                lifeboat::durable::write_atomic(&user, text.as_bytes())?;
            }
            None => lifeboat::durable::remove_if_present(&user)?,
        }
        Ok(())
    }
}

/// The user's autostart entry that runs `program arguments...`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn desktop_entry(program: &str, arguments: &[String]) -> String {
    let exec: Vec<String> = std::iter::once(program)
        .chain(arguments.iter().map(String::as_str))
        .map(quote)
        .collect();
    // In a .desktop file the Exec value is first unescaped as a string (`\\` is one backslash),
    // then split as a command line; `%` starts a field code, so a literal one is `%%`.
    let exec = exec.join(" ").replace('\\', "\\\\").replace('%', "%%");
    format!(
        "[Desktop Entry]\nType=Application\nName=Lifeboat\n\
         Comment=Keeps one SQLite database backed up\nExec={exec}\nIcon=lifeboat\n\
         Terminal=false\nX-GNOME-Autostart-enabled=true\n"
    )
}

/// The user's entry that switches a system-wide entry of the same name off for this user.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn hiding_entry() -> String {
    "[Desktop Entry]\nType=Application\nName=Lifeboat\nHidden=true\n".into()
}

/// The value of `key` in the `[Desktop Entry]` group.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn desktop_value(text: &str, key: &str) -> Option<String> {
    let mut in_entry = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_entry = line == "[Desktop Entry]";
        } else if in_entry
            && let Some((name, value)) = line.split_once('=')
            && name.trim() == key
        {
            return Some(value.trim().to_string());
        }
    }
    None
}

/// Whether an entry is switched off: `Hidden=true` (the spec), or GNOME's own
/// `X-GNOME-Autostart-enabled=false`, which its settings write.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn hides(text: &str) -> bool {
    desktop_value(text, "Hidden").as_deref() == Some("true")
        || desktop_value(text, "X-GNOME-Autostart-enabled").as_deref() == Some("false")
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn try_exec(text: &str) -> Option<String> {
    desktop_value(text, "TryExec").filter(|value| !value.is_empty())
}

/// One argument of an `Exec=` line: left as it is when it has nothing special, else double-quoted
/// with `"`, `` ` ``, `$` and `\` escaped, as the Desktop Entry specification asks.
pub fn quote(argument: &str) -> String {
    let plain = !argument.is_empty()
        && argument
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "/-_.,:+=@%".contains(character));
    if plain {
        return argument.to_string();
    }
    let mut quoted = String::from("\"");
    for character in argument.chars() {
        if matches!(character, '"' | '`' | '$' | '\\') {
            quoted.push('\\');
        }
        quoted.push(character);
    }
    quoted.push('"');
    quoted
}

/// One part of a Windows command line (the Run value): the program always in double quotes, as the
/// MSI writes it; an argument only when it has a space or is empty. Backslashes stay as they are
/// except before the closing quote, where they are doubled (CommandLineToArgvW's rule).
#[cfg_attr(not(windows), allow(dead_code))]
fn windows_quote(part: &str, program: bool) -> String {
    if !program && !part.is_empty() && !part.contains([' ', '\t', '"']) {
        return part.to_string();
    }
    let trailing = part.len() - part.trim_end_matches('\\').len();
    format!("\"{}{}\"", part.replace('"', "\\\""), "\\".repeat(trailing))
}

/// A string for a plist `<string>`: auto-launch writes its arguments into the XML as they are.
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_spaces_are_quoted_for_the_exec_line() {
        assert_eq!(quote("/usr/bin/lifeboat"), "/usr/bin/lifeboat");
        assert_eq!(quote("agent"), "agent");
        assert_eq!(
            quote("/home/ann/My Apps/lifeboat"),
            "\"/home/ann/My Apps/lifeboat\""
        );
        assert_eq!(quote("a\"b$c"), "\"a\\\"b\\$c\"");
        assert_eq!(quote(""), "\"\"");
    }

    #[test]
    fn the_exec_line_survives_the_desktop_string_rules() {
        let entry = desktop_entry(
            "/opt/my apps/lifeboat",
            &["--home".into(), "/srv/a\\b 100%".into(), "agent".into()],
        );
        assert_eq!(
            desktop_value(&entry, "Exec").as_deref(),
            Some("\"/opt/my apps/lifeboat\" --home \"/srv/a\\\\\\\\b 100%%\" agent")
        );
    }

    #[test]
    fn hidden_or_gnome_disabled_entries_do_not_start() {
        assert!(hides(&hiding_entry()));
        assert!(hides(
            "[Desktop Entry]\nExec=lifeboat agent\nX-GNOME-Autostart-enabled=false\n"
        ));
        assert!(!hides(&desktop_entry(
            "/usr/bin/lifeboat",
            &["agent".into()]
        )));
        // A key in another group is not the entry's.
        assert!(!hides(
            "[Desktop Entry]\nExec=x\n[Desktop Action a]\nHidden=true\n"
        ));
        assert_eq!(
            try_exec("[Desktop Entry]\nTryExec=/usr/bin/lifeboat\n").as_deref(),
            Some("/usr/bin/lifeboat")
        );
    }

    #[test]
    fn the_windows_run_value_quotes_as_the_msi_does() {
        let program = r"C:\Users\Ann Lee\AppData\Local\Programs\Lifeboat\lifeboat.exe";
        assert_eq!(windows_quote(program, true), format!("\"{program}\""));
        assert_eq!(windows_quote("agent", false), "agent");
        assert_eq!(windows_quote(r"D:\My Data\", false), r#""D:\My Data\\""#);
        assert_eq!(windows_quote(r"D:\data", false), r"D:\data");
    }

    /// The installers under installer/ register the same entry this code manages, so the menu's
    /// check mark is right after an install and `autostart off` undoes what the installer did.
    #[test]
    fn the_installers_register_the_entry_this_code_manages() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("installer");
        let read = |path: &str| {
            std::fs::read_to_string(root.join(path))
                .unwrap_or_else(|error| panic!("installer/{path}: {error}"))
        };
        let system = read("linux/lifeboat-autostart.desktop");
        assert_eq!(
            desktop_value(&system, "Exec").as_deref(),
            Some("/usr/bin/lifeboat agent")
        );
        assert!(!hides(&system));
        let wxs = read("windows/lifeboat.wxs");
        assert!(wxs.contains(r"Software\Microsoft\Windows\CurrentVersion\Run"));
        assert!(wxs.contains(&format!("Name=\"{ENTRY_NAME}\"")));
        assert!(wxs.contains(r#"Value="&quot;[INSTALLDIR]lifeboat.exe&quot; agent""#));
        let agent = read(&format!("macos/{LAUNCH_AGENT_LABEL}.plist"));
        assert!(agent.contains(&format!("<string>{LAUNCH_AGENT_LABEL}</string>")));
        assert!(agent.contains(&format!("<string>{BUNDLE_ID}</string>")));
        let info = read("macos/Info.plist");
        assert!(info.contains(&format!("<string>{BUNDLE_ID}</string>")));
    }
}
