//! Desktop notifications (notify-rust: org.freedesktop.Notifications on Linux).
//!
//! A notice with buttons gets a thread that waits for the person's choice and hands it to the
//! coordinator as a `Command`, so a click on "Retry" is the same as the menu's "Back up now".
//! With no notification server (no session bus, a bare session), the first failure is logged and
//! the agent goes on quietly: notifications are a courtesy, never a reason to stop.

use std::sync::mpsc::Sender;

use super::alerts::{Notice, Urgency};
use super::command::{Command, Input};

pub struct Notifier {
    commands: Sender<Input>,
    /// Whether a failure to notify was already logged.
    failure_logged: bool,
}

impl Notifier {
    pub fn new(commands: Sender<Input>) -> Notifier {
        Notifier {
            commands,
            failure_logged: false,
        }
    }

    pub fn send(&mut self, notice: &Notice) {
        tracing::info!("notification: {}: {}", notice.summary, notice.body);
        if let Err(error) = self.show(notice)
            && !self.failure_logged
        {
            self.failure_logged = true;
            tracing::warn!("cannot show notifications ({error}); going on without them");
        }
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    fn show(&self, notice: &Notice) -> Result<(), notify_rust::error::Error> {
        let mut notification = notify_rust::Notification::new();
        notification
            .appname("Lifeboat")
            .summary(&notice.summary)
            .body(&notice.body)
            .icon("drive-harddisk")
            .urgency(match notice.urgency {
                Urgency::Low => notify_rust::Urgency::Low,
                Urgency::Normal => notify_rust::Urgency::Normal,
                Urgency::Critical => notify_rust::Urgency::Critical,
            });
        for (id, label) in &notice.actions {
            notification.action(id, label);
        }
        let handle = notification.show()?;
        if notice.actions.is_empty() {
            return Ok(());
        }
        let commands = self.commands.clone();
        // The wait ends when the person chooses or the notification is closed.
        let spawned = std::thread::Builder::new()
            .name("notification-action".into())
            .spawn(move || {
                handle.wait_for_action(|action| {
                    if let Some(command) = Command::from_key(action) {
                        let _ = commands.send(Input::Command(command));
                    }
                });
            });
        if let Err(error) = spawned {
            tracing::warn!("cannot wait for the notification's buttons: {error}");
        }
        Ok(())
    }

    #[cfg(not(all(unix, not(target_os = "macos"))))]
    fn show(&self, notice: &Notice) -> Result<(), notify_rust::error::Error> {
        // Windows and macOS notifications carry no action buttons through notify-rust; the menu
        // offers the same choices.
        notify_rust::Notification::new()
            .appname("Lifeboat")
            .summary(&notice.summary)
            .body(&notice.body)
            .show()
            .map(|_| ())
    }
}
