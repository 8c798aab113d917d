//! The tray icon: renders a `View` and turns menu clicks into `Command`s.
//!
//! On Linux it is a StatusNotifierItem with a com.canonical.dbusmenu menu on the session bus
//! (tray-icon's ksni backend: no GTK, no display). The item lives on the coordinator thread (muda's
//! menu types are not `Send`); clicks arrive on ksni's thread and are forwarded over the channel.
//! Windows and macOS need a winit event loop on the main thread, which this build does not have
//! yet: there `start` reports the tray as unsupported and the agent runs headless.

use std::sync::mpsc::Sender;

use super::command::Input;
use super::view::View;

/// Whether anyone can see a tray icon on this desktop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// A StatusNotifierWatcher is on the bus and reports a host (a panel that shows icons).
    Present,
    NoBus,
    NoWatcher,
    /// A watcher is there but no panel registered with it.
    NoPanel,
}

impl Host {
    /// What to tell the person when there is no tray to show, or `None` when there is one.
    pub fn advice(self) -> Option<&'static str> {
        match self {
            Host::Present => None,
            Host::NoBus => Some(
                "There is no desktop session bus, so Lifeboat runs without a tray icon. Backups still run on schedule; use `lifeboat health` to check on them.",
            ),
            Host::NoWatcher | Host::NoPanel => Some(
                "This desktop shows no tray icons (on GNOME, install the AppIndicator extension). Backups still run on schedule; use `lifeboat health` to check on them.",
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrayError {
    #[error("the tray icon could not be created: {0}")]
    Create(String),
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    #[error("this build has no tray icon for this platform")]
    Unsupported,
}

#[cfg(target_os = "linux")]
pub use linux::{Tray, find_host};

#[cfg(target_os = "linux")]
mod linux {
    use super::*;

    use tray_icon::menu::{
        CheckMenuItem, IsMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu,
    };
    use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

    use crate::agent::command::Command;
    use crate::agent::icons::{self, Colour};
    use crate::agent::view::Item;

    /// The size of the pixmap handed to the panel; panels scale it to their own size.
    const ICON_SIZE: u32 = 32;

    pub struct Tray {
        icon: TrayIcon,
        shown: View,
    }

    /// Asks the session bus whether a tray host is there.
    pub fn find_host() -> Host {
        let Ok(connection) = zbus::blocking::Connection::session() else {
            return Host::NoBus;
        };
        let watcher = zbus::blocking::Proxy::new(
            &connection,
            "org.kde.StatusNotifierWatcher",
            "/StatusNotifierWatcher",
            "org.kde.StatusNotifierWatcher",
        );
        let Ok(watcher) = watcher else {
            return Host::NoWatcher;
        };
        match watcher.get_property::<bool>("IsStatusNotifierHostRegistered") {
            Ok(true) => Host::Present,
            Ok(false) => Host::NoPanel,
            Err(_) => Host::NoWatcher,
        }
    }

    fn picture(colour: Colour) -> Result<Icon, TrayError> {
        Icon::from_rgba(icons::render(colour, ICON_SIZE), ICON_SIZE, ICON_SIZE)
            .map_err(|error| TrayError::Create(error.to_string()))
    }

    impl Tray {
        /// Puts the icon on the bus and forwards its menu clicks to `commands`.
        pub fn start(commands: Sender<Input>, view: &View) -> Result<Tray, TrayError> {
            MenuEvent::set_event_handler(Some(move |event: MenuEvent| {
                if let Some(command) = Command::from_key(&event.id.0) {
                    let _ = commands.send(Input::Command(command));
                }
            }));
            let icon = TrayIconBuilder::new()
                .with_id("lifeboat")
                .with_title("Lifeboat")
                .with_tooltip(&view.tooltip)
                .with_icon(picture(view.colour)?)
                .with_menu(Box::new(build_menu(&view.menu)?))
                .build()
                .map_err(|error| TrayError::Create(error.to_string()))?;
            Ok(Tray {
                icon,
                shown: view.clone(),
            })
        }

        /// Shows `view`, changing only what differs (each change is a signal on the bus).
        pub fn show(&mut self, view: &View) {
            if view.colour != self.shown.colour {
                match picture(view.colour) {
                    Ok(picture) => {
                        if let Err(error) = self.icon.set_icon(Some(picture)) {
                            tracing::warn!("cannot change the tray icon: {error}");
                        }
                    }
                    Err(error) => tracing::warn!("{error}"),
                }
            }
            if view.tooltip != self.shown.tooltip
                && let Err(error) = self.icon.set_tooltip(Some(&view.tooltip))
            {
                tracing::warn!("cannot change the tooltip: {error}");
            }
            if view.menu != self.shown.menu {
                match build_menu(&view.menu) {
                    Ok(menu) => self.icon.set_menu(Some(Box::new(menu))),
                    Err(error) => tracing::warn!("{error}"),
                }
            }
            self.shown = view.clone();
        }
    }

    fn build_menu(items: &[Item]) -> Result<Menu, TrayError> {
        let menu = Menu::new();
        for item in items {
            let kind = build_item(item)?;
            menu.append(kind.as_ref())
                .map_err(|error| TrayError::Create(error.to_string()))?;
        }
        Ok(menu)
    }

    fn build_item(item: &Item) -> Result<Box<dyn IsMenuItem>, TrayError> {
        Ok(match item {
            Item::Action {
                command,
                label,
                enabled,
            } => Box::new(MenuItem::with_id(command.key(), label, *enabled, None)),
            Item::Check {
                command,
                label,
                checked,
            } => Box::new(CheckMenuItem::with_id(
                command.key(),
                label,
                true,
                *checked,
                None,
            )),
            Item::Note(text) => Box::new(MenuItem::new(text, false, None)),
            Item::Separator => Box::new(PredefinedMenuItem::separator()),
            Item::Submenu {
                label,
                enabled,
                items,
            } => {
                let submenu = Submenu::new(label, *enabled);
                for inner in items {
                    let kind = build_item(inner)?;
                    submenu
                        .append(kind.as_ref())
                        .map_err(|error| TrayError::Create(error.to_string()))?;
                }
                Box::new(submenu)
            }
        })
    }
}

#[cfg(not(target_os = "linux"))]
pub struct Tray;

#[cfg(not(target_os = "linux"))]
impl Tray {
    pub fn start(_commands: Sender<Input>, _view: &View) -> Result<Tray, TrayError> {
        Err(TrayError::Unsupported)
    }

    pub fn show(&mut self, _view: &View) {}
}

#[cfg(not(target_os = "linux"))]
pub fn find_host() -> Host {
    Host::NoWatcher
}
