//! Start at login: `lifeboat autostart on|off|status` and the menu's check item.
//!
//! auto-launch writes the platform's entry (on Linux `$HOME/.config/autostart/lifeboat.desktop`).
//! It puts the path and arguments into the entry's `Exec=` line as they are, so a path with a
//! space would break the entry: each is quoted here as the Desktop Entry specification asks.

use std::path::{Path, PathBuf};

use auto_launch::{AutoLaunch, AutoLaunchBuilder};

#[derive(Debug, thiserror::Error)]
pub enum AutostartError {
    #[error("cannot find this program's own path: {0}")]
    OwnPath(std::io::Error),
    #[error("cannot change start at login: {0}")]
    Entry(#[from] auto_launch::Error),
}

/// The start-at-login entry that runs `lifeboat [--home DIR] agent`.
fn entry(home: Option<&Path>) -> Result<AutoLaunch, AutostartError> {
    let program = std::env::current_exe().map_err(AutostartError::OwnPath)?;
    let mut arguments: Vec<String> = Vec::new();
    if let Some(home) = home {
        arguments.push(quote("--home"));
        arguments.push(quote(&home.display().to_string()));
    }
    arguments.push(quote("agent"));
    Ok(AutoLaunchBuilder::new()
        .set_app_name("lifeboat")
        .set_app_path(&quote(&program.display().to_string()))
        .set_args(&arguments)
        .build()?)
}

/// Turns start at login on or off.
pub fn set(on: bool, home: Option<&Path>) -> Result<(), AutostartError> {
    let entry = entry(home)?;
    if on {
        entry.enable()?;
    } else {
        entry.disable()?;
    }
    Ok(())
}

pub fn is_on() -> Result<bool, AutostartError> {
    Ok(entry(None)?.is_enabled()?)
}

/// Where the entry lives, for messages (Linux); `None` elsewhere.
pub fn location() -> Option<PathBuf> {
    if cfg!(target_os = "linux") {
        let home = std::env::var_os("HOME")?;
        Some(PathBuf::from(home).join(".config/autostart/lifeboat.desktop"))
    } else {
        None
    }
}

/// One argument of an `Exec=` line: left as it is when it has nothing special, else double-quoted
/// with `"`, `` ` ``, `$` and `\` escaped. (In a .desktop file the backslash itself is then
/// escaped once more by the string-value rules, which auto-launch does not do; Lifeboat's own
/// paths rarely hold one, and the quoting below keeps spaces, the common case, working.)
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
}
