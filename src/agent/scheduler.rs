//! When the agent runs a scheduled backup: the next due time, the one catch-up after a run was
//! missed, and the retries of a failed run. A pure state machine: every method takes `now`, so
//! tests walk it through days and failures without waiting.
//!
//! The agent sleeps until `due_at()` (or a minute, whichever comes first) and then asks
//! `take_due(now)`. A machine that slept through one or more due times wakes with `now` past
//! `next`, runs once and moves `next` past `now`: missed days are not run one by one.
//!
//! It also times the agent's Drive cycle (`drive_cycle_due`): uploads still owed are retried, and
//! the list of backups on Drive refreshed, without a request every minute.

use jiff::{SignedDuration, Timestamp, ZonedDateTime as Zoned};
use lifeboat::offsite::DriveSummary;
use lifeboat::schedule::Schedule;

/// How often the Drive cycle lists Drive when no upload is owed: the list changes only through
/// this machine's own uploads (after which it is listed at once) or another machine's.
pub const DRIVE_CYCLE_EVERY: SignedDuration = SignedDuration::from_hours(1);
/// How soon the Drive cycle tries again while uploads are owed (a network or Drive that was away).
pub const DRIVE_RETRY_EVERY: SignedDuration = SignedDuration::from_mins(10);

/// When the Drive cycle is next due, given when it last ran (`None`: not since the agent started
/// or since Drive changed, so at once). Never while Drive is not connected or its access was
/// lost: a dead grant is not worth a request, and only reconnecting mends it.
pub fn drive_cycle_due(drive: Option<&DriveSummary>, last: Option<Timestamp>) -> Option<Timestamp> {
    let drive = drive.filter(|drive| !drive.access_revoked)?;
    let Some(last) = last else {
        return Some(Timestamp::MIN);
    };
    let every = if drive.pending.is_empty() {
        DRIVE_CYCLE_EVERY
    } else {
        DRIVE_RETRY_EVERY
    };
    Some(last.saturating_add(every).unwrap_or(Timestamp::MAX))
}

/// Waits before the second and third try of a failed scheduled backup: three tries within the hour.
pub const RETRY_DELAYS: [SignedDuration; 2] =
    [SignedDuration::from_mins(10), SignedDuration::from_mins(30)];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduler {
    schedule: Schedule,
    /// The next scheduled (or catch-up) run.
    next: Option<Timestamp>,
    /// A retry of a failed scheduled run: when, and how many tries failed so far.
    retry: Option<(Timestamp, usize)>,
}

/// What became of a failed scheduled run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// It will be tried again at this time; nothing is reported yet.
    RetryAt(Timestamp),
    /// Every try failed: report it.
    GaveUp,
}

impl Scheduler {
    /// The scheduler of an agent starting at `now`. When a scheduled time passed while no agent ran
    /// and no backup was made since (`newest_backup`), it is due at once: one catch-up run.
    pub fn start(schedule: Schedule, now: &Zoned, newest_backup: Option<Timestamp>) -> Scheduler {
        let missed = schedule
            .previous_run(now)
            .filter(|slot| newest_backup.is_none_or(|made| made < slot.timestamp()));
        let next = match missed {
            Some(_) => Some(now.timestamp()),
            None => schedule.next_run(now).map(|next| next.timestamp()),
        };
        Scheduler {
            schedule,
            next,
            retry: None,
        }
    }

    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// A changed schedule takes effect from `now` on: no catch-up for a time set in the past.
    pub fn reschedule(&mut self, schedule: Schedule, now: &Zoned) {
        if schedule == self.schedule {
            return;
        }
        self.schedule = schedule;
        self.next = schedule.next_run(now).map(|next| next.timestamp());
        if !schedule.enabled {
            self.retry = None;
        }
    }

    /// When the next scheduled run or retry is due.
    pub fn due_at(&self) -> Option<Timestamp> {
        match (self.next, self.retry.map(|(at, _)| at)) {
            (Some(next), Some(retry)) => Some(next.min(retry)),
            (next, retry) => next.or(retry),
        }
    }

    /// True when a run is due at `now`; the due time is then used up.
    pub fn take_due(&mut self, now: &Zoned) -> bool {
        let due = self.due_at().is_some_and(|due| due <= now.timestamp());
        if due {
            if self.next.is_some_and(|next| next <= now.timestamp()) {
                self.next = self.schedule.next_run(now).map(|next| next.timestamp());
            }
            // A retry that falls due together with the next slot is the same run.
            if self.retry.is_some_and(|(at, _)| at <= now.timestamp()) {
                self.retry = self.retry.map(|(_, failures)| (Timestamp::MAX, failures));
            }
        }
        due
    }

    /// True while a failed scheduled run still has tries left.
    pub fn retry_pending(&self) -> bool {
        self.retry.is_some()
    }

    pub fn succeeded(&mut self) {
        self.retry = None;
    }

    /// Records that the scheduled run started by the last `take_due` failed at `now`.
    pub fn failed(&mut self, now: &Zoned) -> AfterFailure {
        let failures = self.retry.map_or(0, |(_, failures)| failures) + 1;
        match RETRY_DELAYS.get(failures - 1) {
            Some(delay) => {
                let at = now
                    .timestamp()
                    .saturating_add(*delay)
                    .unwrap_or(Timestamp::MAX);
                self.retry = Some((at, failures));
                AfterFailure::RetryAt(at)
            }
            None => {
                self.retry = None;
                AfterFailure::GaveUp
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::TimeZone;
    use lifeboat::schedule::{Day, Frequency};

    fn at(text: &str) -> Zoned {
        let zone = TimeZone::get("Europe/Berlin").expect("zone");
        text.parse::<jiff::civil::DateTime>()
            .expect("datetime")
            .to_zoned_datetime(zone)
            .expect("zoned")
    }

    fn daily(time: &str) -> Schedule {
        Schedule {
            enabled: true,
            frequency: Frequency::Daily,
            time: time.parse().expect("time"),
            day: Day::Mon,
        }
    }

    /// Walks the scheduler minute by minute from `from` to `to` as the agent would, every run
    /// succeeding, and returns the times it ran.
    fn runs_between(scheduler: &mut Scheduler, from: &str, to: &str) -> Vec<String> {
        let mut now = at(from);
        let end = at(to);
        let mut runs = Vec::new();
        while now <= end {
            if scheduler.take_due(&now) {
                runs.push(now.strftime("%Y-%m-%dT%H:%M").to_string());
                scheduler.succeeded();
            }
            now = now.checked_add(SignedDuration::from_mins(1)).expect("time");
        }
        runs
    }

    #[test]
    fn an_agent_started_before_the_time_runs_once_at_the_time_each_day() {
        let start = at("2026-11-25T01:00");
        let made_yesterday = at("2026-11-24T02:00").timestamp();
        let mut scheduler = Scheduler::start(daily("02:00"), &start, Some(made_yesterday));
        assert_eq!(scheduler.due_at(), Some(at("2026-11-25T02:00").timestamp()));
        assert_eq!(
            runs_between(&mut scheduler, "2026-11-25T01:00", "2026-11-27T01:00"),
            ["2026-11-25T02:00", "2026-11-26T02:00"]
        );
    }

    #[test]
    fn across_daylight_saving_changes_each_day_runs_once() {
        // Berlin skips 02:00-03:00 on 2026-03-29 and repeats it on 2026-10-25.
        let start = at("2026-03-28T00:00");
        let mut scheduler = Scheduler::start(daily("02:30"), &start, Some(start.timestamp()));
        assert_eq!(
            runs_between(&mut scheduler, "2026-03-28T00:00", "2026-03-30T23:00"),
            ["2026-03-28T02:30", "2026-03-29T03:30", "2026-03-30T02:30"]
        );
        let start = at("2026-10-24T00:00");
        let mut scheduler = Scheduler::start(daily("02:30"), &start, Some(start.timestamp()));
        assert_eq!(
            runs_between(&mut scheduler, "2026-10-24T00:00", "2026-10-26T23:00"),
            ["2026-10-24T02:30", "2026-10-25T02:30", "2026-10-26T02:30"]
        );
    }

    #[test]
    fn a_missed_run_is_caught_up_once_not_once_per_missed_day() {
        // Last backup three days ago; the machine was off since.
        let start = at("2026-11-25T09:00");
        let old = at("2026-11-22T02:00").timestamp();
        let mut scheduler = Scheduler::start(daily("02:00"), &start, Some(old));
        assert_eq!(
            runs_between(&mut scheduler, "2026-11-25T09:00", "2026-11-26T01:59"),
            ["2026-11-25T09:00"]
        );
    }

    #[test]
    fn no_catch_up_when_a_backup_was_made_after_the_missed_time() {
        let start = at("2026-11-25T09:00");
        let manual = at("2026-11-25T08:00").timestamp();
        let mut scheduler = Scheduler::start(daily("02:00"), &start, Some(manual));
        assert!(runs_between(&mut scheduler, "2026-11-25T09:00", "2026-11-26T01:59").is_empty());
    }

    #[test]
    fn a_machine_that_sleeps_through_due_times_runs_once_on_waking() {
        let start = at("2026-11-25T01:00");
        let mut scheduler = Scheduler::start(daily("02:00"), &start, Some(start.timestamp()));
        // Asleep from 01:00 on the 25th until 10:00 on the 27th: two due times missed.
        assert!(!scheduler.take_due(&at("2026-11-25T01:00")));
        assert!(scheduler.take_due(&at("2026-11-27T10:00")));
        scheduler.succeeded();
        assert!(!scheduler.take_due(&at("2026-11-27T10:01")));
        assert_eq!(scheduler.due_at(), Some(at("2026-11-28T02:00").timestamp()));
    }

    #[test]
    fn a_failed_run_is_tried_three_times_within_the_hour_then_reported() {
        let start = at("2026-11-25T01:00");
        let mut scheduler = Scheduler::start(daily("02:00"), &start, Some(start.timestamp()));
        assert!(scheduler.take_due(&at("2026-11-25T02:00")));
        let first = scheduler.failed(&at("2026-11-25T02:01"));
        assert_eq!(
            first,
            AfterFailure::RetryAt(at("2026-11-25T02:11").timestamp())
        );
        assert!(scheduler.retry_pending());
        assert!(!scheduler.take_due(&at("2026-11-25T02:10")));
        assert!(scheduler.take_due(&at("2026-11-25T02:11")));
        let second = scheduler.failed(&at("2026-11-25T02:12"));
        assert_eq!(
            second,
            AfterFailure::RetryAt(at("2026-11-25T02:42").timestamp())
        );
        assert!(scheduler.take_due(&at("2026-11-25T02:42")));
        assert_eq!(
            scheduler.failed(&at("2026-11-25T02:43")),
            AfterFailure::GaveUp
        );
        assert!(!scheduler.retry_pending());
        assert_eq!(scheduler.due_at(), Some(at("2026-11-26T02:00").timestamp()));
    }

    #[test]
    fn a_retry_that_succeeds_ends_the_retries() {
        let start = at("2026-11-25T01:00");
        let mut scheduler = Scheduler::start(daily("02:00"), &start, Some(start.timestamp()));
        assert!(scheduler.take_due(&at("2026-11-25T02:00")));
        scheduler.failed(&at("2026-11-25T02:01"));
        assert!(scheduler.take_due(&at("2026-11-25T02:11")));
        scheduler.succeeded();
        assert!(!scheduler.retry_pending());
        assert_eq!(scheduler.due_at(), Some(at("2026-11-26T02:00").timestamp()));
    }

    #[test]
    fn a_changed_schedule_takes_effect_without_a_catch_up() {
        let start = at("2026-11-25T09:00");
        let mut scheduler = Scheduler::start(daily("02:00"), &start, Some(start.timestamp()));
        scheduler.reschedule(daily("08:00"), &at("2026-11-25T09:30"));
        assert_eq!(scheduler.due_at(), Some(at("2026-11-26T08:00").timestamp()));
        scheduler.reschedule(daily("10:00"), &at("2026-11-25T09:30"));
        assert_eq!(scheduler.due_at(), Some(at("2026-11-25T10:00").timestamp()));
        let off = Schedule {
            enabled: false,
            ..daily("10:00")
        };
        scheduler.reschedule(off, &at("2026-11-25T09:30"));
        assert_eq!(scheduler.due_at(), None);
    }

    #[test]
    fn the_drive_cycle_runs_at_once_then_hourly_or_every_ten_minutes_while_uploads_are_owed() {
        let connected = DriveSummary {
            account: "person@example.com".into(),
            access_revoked: false,
            pending: Vec::new(),
        };
        let last = at("2026-11-25T09:00").timestamp();
        assert_eq!(drive_cycle_due(None, Some(last)), None, "not connected");
        assert_eq!(
            drive_cycle_due(Some(&connected), None),
            Some(Timestamp::MIN),
            "at start, and after Drive changed"
        );
        assert_eq!(
            drive_cycle_due(Some(&connected), Some(last)),
            Some(at("2026-11-25T10:00").timestamp())
        );
        let owed = DriveSummary {
            pending: vec![lifeboat::remote::queue::Pending {
                id: "b".into(),
                attempts: 1,
                last_error: Some("could not reach Google Drive".into()),
            }],
            ..connected.clone()
        };
        assert_eq!(
            drive_cycle_due(Some(&owed), Some(last)),
            Some(at("2026-11-25T09:10").timestamp())
        );
        let revoked = DriveSummary {
            access_revoked: true,
            ..owed
        };
        assert_eq!(
            drive_cycle_due(Some(&revoked), None),
            None,
            "only reconnecting helps"
        );
    }

    #[test]
    fn a_disabled_schedule_never_runs() {
        let off = Schedule::default();
        let mut scheduler = Scheduler::start(off, &at("2026-11-25T09:00"), None);
        assert!(runs_between(&mut scheduler, "2026-11-25T09:00", "2026-11-26T09:00").is_empty());
    }
}
