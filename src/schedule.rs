//! When scheduled backups run: the schedule's parts and the pure computation of the next run.
//!
//! Times are wall-clock times in the person's time zone. Across a daylight-saving change a daily
//! 02:30 that does not exist that night runs at the first instant after the gap, and one that exists
//! twice runs once, at the first of the two (jiff's "compatible" disambiguation, as cron does).

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, Time, Weekday};
use jiff::{SignedDuration, ZonedDateTime as Zoned};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How often scheduled backups run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Frequency {
    Daily,
    Weekly,
}

/// A day of the week, written `mon` .. `sun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    pub const NAMES: [&'static str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    fn weekday(self) -> Weekday {
        match self {
            Day::Mon => Weekday::Monday,
            Day::Tue => Weekday::Tuesday,
            Day::Wed => Weekday::Wednesday,
            Day::Thu => Weekday::Thursday,
            Day::Fri => Weekday::Friday,
            Day::Sat => Weekday::Saturday,
            Day::Sun => Weekday::Sunday,
        }
    }

    pub fn name(self) -> &'static str {
        Day::NAMES[self.weekday().to_monday_zero_offset() as usize]
    }
}

impl FromStr for Day {
    type Err = String;

    fn from_str(text: &str) -> Result<Day, String> {
        let days = [
            Day::Mon,
            Day::Tue,
            Day::Wed,
            Day::Thu,
            Day::Fri,
            Day::Sat,
            Day::Sun,
        ];
        let wanted = text.trim().to_ascii_lowercase();
        days.into_iter()
            .find(|day| day.name() == wanted)
            .ok_or_else(|| {
                format!("invalid day `{text}` (expected one of mon, tue, wed, thu, fri, sat, sun)")
            })
    }
}

/// A wall-clock time of day, written `HH:MM` (00:00 to 23:59).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeOfDay {
    pub hour: i8,
    pub minute: i8,
}

impl TimeOfDay {
    fn civil(self) -> Time {
        Time::constant(self.hour, self.minute, 0, 0)
    }
}

impl FromStr for TimeOfDay {
    type Err = String;

    fn from_str(text: &str) -> Result<TimeOfDay, String> {
        let invalid = || format!("invalid time `{text}` (expected HH:MM, from 00:00 to 23:59)");
        let (hour, minute) = text.trim().split_once(':').ok_or_else(invalid)?;
        let all_digits = |part: &str| {
            (1..=2).contains(&part.len()) && part.bytes().all(|byte| byte.is_ascii_digit())
        };
        if !all_digits(hour) || minute.len() != 2 || !all_digits(minute) {
            return Err(invalid());
        }
        let hour: i8 = hour.parse().map_err(|_| invalid())?;
        let minute: i8 = minute.parse().map_err(|_| invalid())?;
        if !(0..=23).contains(&hour) || !(0..=59).contains(&minute) {
            return Err(invalid());
        }
        Ok(TimeOfDay { hour, minute })
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:02}:{:02}", self.hour, self.minute)
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TimeOfDay, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The `[schedule]` section of the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Schedule {
    pub enabled: bool,
    pub frequency: Frequency,
    pub time: TimeOfDay,
    pub day: Day,
}

impl Default for Schedule {
    fn default() -> Schedule {
        Schedule {
            enabled: false,
            frequency: Frequency::Daily,
            time: TimeOfDay { hour: 2, minute: 0 },
            day: Day::Mon,
        }
    }
}

impl Schedule {
    /// The first scheduled run strictly after `after`, in `after`'s time zone; `None` when off.
    pub fn next_run(&self, after: &Zoned) -> Option<Zoned> {
        if !self.enabled {
            return None;
        }
        let step_days = match self.frequency {
            Frequency::Daily => 1,
            Frequency::Weekly => 7,
        };
        let mut date = self.first_candidate_date(after.date());
        // Two steps always suffice (today's time may have passed); the bound keeps the loop honest.
        for _ in 0..3 {
            let candidate = self.at(date, after)?;
            if candidate.timestamp() > after.timestamp() {
                return Some(candidate);
            }
            date = date.checked_add(jiff::Span::new().days(step_days)).ok()?;
        }
        None
    }

    /// The most recent scheduled time at or before `now`; the agent uses it to catch up once on a run
    /// that was missed while the machine was off.
    pub fn previous_run(&self, now: &Zoned) -> Option<Zoned> {
        if !self.enabled {
            return None;
        }
        let period = self.period();
        let back = now.checked_sub(period).ok()?;
        let next_after_back = self.next_run(&back)?;
        (next_after_back.timestamp() <= now.timestamp()).then_some(next_after_back)
    }

    /// How long one period of the schedule lasts (health allows two before it calls a backup late).
    pub fn period(&self) -> SignedDuration {
        match self.frequency {
            Frequency::Daily => SignedDuration::from_hours(24),
            Frequency::Weekly => SignedDuration::from_hours(24 * 7),
        }
    }

    fn first_candidate_date(&self, today: Date) -> Date {
        match self.frequency {
            Frequency::Daily => today,
            Frequency::Weekly => {
                let wanted = self.day.weekday();
                let ahead =
                    (wanted.to_monday_zero_offset() - today.weekday().to_monday_zero_offset() + 7)
                        % 7;
                today
                    .checked_add(jiff::Span::new().days(i64::from(ahead)))
                    .unwrap_or(today)
            }
        }
    }

    fn at(&self, date: Date, reference: &Zoned) -> Option<Zoned> {
        date.to_datetime(self.time.civil())
            .to_zoned_datetime(reference.time_zone().clone())
            .ok()
    }

    /// One line for a person, e.g. "daily at 02:00" or "weekly on mon at 02:00" or "off".
    pub fn describe(&self) -> String {
        if !self.enabled {
            return "off".to_string();
        }
        match self.frequency {
            Frequency::Daily => format!("daily at {}", self.time),
            Frequency::Weekly => format!("weekly on {} at {}", self.day.name(), self.time),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::TimeZone;

    fn zoned(text: &str, zone: &str) -> Zoned {
        let tz = TimeZone::get(zone).expect("zone known");
        text.parse::<jiff::civil::DateTime>()
            .expect("datetime")
            .to_zoned_datetime(tz)
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

    fn weekly(day: &str, time: &str) -> Schedule {
        Schedule {
            enabled: true,
            frequency: Frequency::Weekly,
            time: time.parse().expect("time"),
            day: day.parse().expect("day"),
        }
    }

    fn next(schedule: Schedule, after: &str, zone: &str) -> String {
        let next = schedule.next_run(&zoned(after, zone)).expect("a next run");
        next.strftime("%Y-%m-%dT%H:%M%:z").to_string()
    }

    #[test]
    fn times_parse_and_reject_what_a_clock_cannot_show() {
        assert_eq!(
            "02:00".parse::<TimeOfDay>(),
            Ok(TimeOfDay { hour: 2, minute: 0 })
        );
        assert_eq!(
            "7:05".parse::<TimeOfDay>(),
            Ok(TimeOfDay { hour: 7, minute: 5 })
        );
        for bad in [
            "25:00", "24:00", "12:60", "12", "12:5", "ab:cd", "-1:00", "", "12:00:00",
        ] {
            assert!(
                bad.parse::<TimeOfDay>().is_err(),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn daily_runs_later_today_or_tomorrow() {
        assert_eq!(
            next(daily("02:00"), "2026-11-25T01:00", "Europe/Berlin"),
            "2026-11-25T02:00+01:00"
        );
        assert_eq!(
            next(daily("02:00"), "2026-11-25T02:00", "Europe/Berlin"),
            "2026-11-26T02:00+01:00"
        );
        assert_eq!(
            next(daily("02:00"), "2026-11-25T13:00", "Europe/Berlin"),
            "2026-11-26T02:00+01:00"
        );
    }

    #[test]
    fn daily_across_spring_forward_runs_once_after_the_gap() {
        // Berlin skips 02:00-03:00 on 2026-03-29.
        assert_eq!(
            next(daily("02:30"), "2026-03-28T23:00", "Europe/Berlin"),
            "2026-03-29T03:30+02:00"
        );
        assert_eq!(
            next(daily("02:30"), "2026-03-29T04:00", "Europe/Berlin"),
            "2026-03-30T02:30+02:00"
        );
        // New York skips 02:00-03:00 on 2026-03-08.
        assert_eq!(
            next(daily("02:30"), "2026-03-07T12:00", "America/New_York"),
            "2026-03-08T03:30-04:00"
        );
    }

    #[test]
    fn daily_across_fall_back_runs_once_at_the_first_occurrence() {
        // Berlin repeats 02:00-03:00 on 2026-10-25.
        let first = next(daily("02:30"), "2026-10-25T00:00", "Europe/Berlin");
        assert_eq!(first, "2026-10-25T02:30+02:00");
        let after_first = zoned("2026-10-25T02:30", "Europe/Berlin");
        let second = daily("02:30").next_run(&after_first).expect("next");
        assert_eq!(
            second.strftime("%Y-%m-%dT%H:%M%:z").to_string(),
            "2026-10-26T02:30+01:00"
        );
        // New York repeats 01:00-02:00 on 2026-11-01.
        assert_eq!(
            next(daily("01:30"), "2026-10-31T22:00", "America/New_York"),
            "2026-11-01T01:30-04:00"
        );
    }

    #[test]
    fn weekly_keeps_its_weekday_and_wall_time_across_dst() {
        // 2026-03-25 is a Wednesday; the next Monday 02:00 in Berlin is after the change, at +02:00.
        assert_eq!(
            next(weekly("mon", "02:00"), "2026-03-25T12:00", "Europe/Berlin"),
            "2026-03-30T02:00+02:00"
        );
        assert_eq!(
            next(weekly("sun", "02:30"), "2026-03-27T12:00", "Europe/Berlin"),
            "2026-03-29T03:30+02:00"
        );
        assert_eq!(
            next(
                weekly("sun", "09:00"),
                "2026-10-30T12:00",
                "America/New_York"
            ),
            "2026-11-01T09:00-05:00"
        );
        // Same day, time already passed: a week later.
        assert_eq!(
            next(weekly("wed", "02:00"), "2026-11-25T13:00", "Europe/Berlin"),
            "2026-12-02T02:00+01:00"
        );
        assert_eq!(
            next(weekly("wed", "14:00"), "2026-11-25T13:00", "Europe/Berlin"),
            "2026-11-25T14:00+01:00"
        );
    }

    #[test]
    fn previous_run_finds_a_missed_time_once() {
        let schedule = daily("02:00");
        let now = zoned("2026-11-25T09:00", "Europe/Berlin");
        let missed = schedule.previous_run(&now).expect("missed run");
        assert_eq!(
            missed.strftime("%Y-%m-%dT%H:%M").to_string(),
            "2026-11-25T02:00"
        );
        let off = Schedule {
            enabled: false,
            ..schedule
        };
        assert!(off.previous_run(&now).is_none());
        assert!(off.next_run(&now).is_none());
    }
}
