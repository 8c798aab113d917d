//! Keeping a backup in the background of the machine: the application whose database is being
//! backed up must keep its share of the processor.
//!
//! A backup compresses on every core; left at normal priority, its threads (and zstd's workers,
//! which inherit the priority of the thread that starts them) queue the application's own threads
//! behind them, and its commits stall. At a lower priority the backup takes what is left over,
//! which on an idle machine is everything.

/// Lowers the scheduling priority of the calling thread, and of the threads it starts from now on,
/// to nice 10. It is never raised again: an unprivileged thread cannot, and the threads that run
/// jobs run nothing else.
pub fn lower_priority() {
    // On Linux a nice value belongs to a thread: PRIO_PROCESS with the thread's id changes only
    // this thread (and what it spawns later).
    #[cfg(target_os = "linux")]
    unsafe {
        let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
        let current = libc::getpriority(libc::PRIO_PROCESS, thread);
        if current < 10 {
            libc::setpriority(libc::PRIO_PROCESS, thread, 10);
        }
    }
}
