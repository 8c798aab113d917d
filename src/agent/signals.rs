//! A polite end on SIGTERM, SIGINT and SIGHUP (logout, `kill`, Ctrl-C): the same as the menu's
//! Quit, so a running job stops at a safe point instead of being cut off mid-write.
//!
//! The signals are blocked in every thread (the mask is inherited, so this runs before the agent
//! starts any) and one thread takes them with `sigwait`, where it may do anything, including
//! sending on a channel, which a signal handler may not.

use std::sync::mpsc::Sender;

use super::command::{Command, Input};

#[cfg(unix)]
pub fn forward_to(commands: Sender<Input>) {
    // SAFETY: sigset_t is plain data, initialised by sigemptyset before use; pthread_sigmask and
    // sigwait only read it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, signal);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            tracing::warn!("cannot take over SIGTERM; a signal will end the agent at once");
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut received: libc::c_int = 0;
                if libc::sigwait(&set, &mut received) == 0 {
                    tracing::info!("signal {received}: quitting");
                    let _ = commands.send(Input::Command(Command::Quit));
                }
            });
        if let Err(error) = spawned {
            tracing::warn!("cannot wait for signals: {error}");
        }
    }
}

#[cfg(not(unix))]
pub fn forward_to(_commands: Sender<Input>) {}
