//! Which backups to keep: a pure plan from the backups, the policy and the time zone.
//!
//! Manual and scheduled backups are kept by `keep_local` (the newest N) plus, like restic's
//! `forget`, `keep_daily` / `keep_weekly` / `keep_monthly` (the newest backup of each of the last N
//! days, ISO weeks or months that have a backup, in local time). Safety backups are counted apart by
//! `keep_safety`. Whatever the policy says, the newest verified backup is never removed: a policy
//! typo must not be able to leave a person with nothing.

use std::collections::HashSet;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::manifest::Kind;

/// The `[retention]` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub keep_local: usize,
    pub keep_safety: usize,
    pub keep_drive: usize,
    pub keep_daily: usize,
    pub keep_weekly: usize,
    pub keep_monthly: usize,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            keep_local: 30,
            keep_safety: 10,
            keep_drive: 50,
            keep_daily: 0,
            keep_weekly: 0,
            keep_monthly: 0,
        }
    }
}

/// What retention needs to know of one backup.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    pub created_at: Timestamp,
    pub kind: Kind,
    pub verified: bool,
}

/// The verdict on one backup, with the reason a person reads in `prune --dry-run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub keep: bool,
    pub reason: String,
}

/// Names the calendar period (day, ISO week, month) a local time falls in.
type BucketOf = fn(&jiff::ZonedDateTime) -> String;

/// Decides for every candidate (the result is in the order of `candidates`).
pub fn plan(candidates: &[Candidate], policy: &Policy, zone: &TimeZone) -> Vec<Decision> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    // Newest first; ties keep their input order so the plan is stable.
    order.sort_by(|&a, &b| candidates[b].created_at.cmp(&candidates[a].created_at));

    let mut reasons: Vec<Vec<String>> = vec![Vec::new(); candidates.len()];
    let regular: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&index| candidates[index].kind != Kind::Safety)
        .collect();
    let safety: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&index| candidates[index].kind == Kind::Safety)
        .collect();

    for (rank, &index) in regular.iter().take(policy.keep_local).enumerate() {
        reasons[index].push(format!(
            "{} of the newest {} (keep_local)",
            rank + 1,
            policy.keep_local
        ));
    }
    for (rank, &index) in safety.iter().take(policy.keep_safety).enumerate() {
        reasons[index].push(format!(
            "{} of the newest {} safety backups (keep_safety)",
            rank + 1,
            policy.keep_safety
        ));
    }
    let periods: [(usize, &str, BucketOf); 3] = [
        (policy.keep_daily, "keep_daily", |time| {
            time.strftime("%Y-%m-%d").to_string()
        }),
        (policy.keep_weekly, "keep_weekly", |time| {
            let week = time.date().iso_week_date();
            format!("{}-W{:02}", week.year(), week.week())
        }),
        (policy.keep_monthly, "keep_monthly", |time| {
            time.strftime("%Y-%m").to_string()
        }),
    ];
    for (count, name, bucket_of) in periods {
        let mut seen = HashSet::new();
        for &index in &regular {
            if seen.len() == count {
                break;
            }
            let bucket = bucket_of(&candidates[index].created_at.to_zoned_datetime(zone.clone()));
            if seen.insert(bucket.clone()) {
                reasons[index].push(format!("newest of {bucket} ({name})"));
            }
        }
    }
    if let Some(&newest_verified) = order
        .iter()
        .find(|&&index| candidates[index].verified && candidates[index].kind != Kind::Safety)
        .or_else(|| order.iter().find(|&&index| candidates[index].verified))
    {
        reasons[newest_verified].push("the newest verified backup".to_string());
    }

    reasons
        .into_iter()
        .enumerate()
        .map(|(index, reasons)| {
            if reasons.is_empty() {
                let limit = match candidates[index].kind {
                    Kind::Safety => format!("keep_safety = {}", policy.keep_safety),
                    _ => format!("keep_local = {}", policy.keep_local),
                };
                Decision {
                    keep: false,
                    reason: format!("older than what {limit} keeps"),
                }
            } else {
                Decision {
                    keep: true,
                    reason: reasons.join("; "),
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    fn candidate(time: &str, kind: Kind) -> Candidate {
        Candidate {
            created_at: at(time),
            kind,
            verified: true,
        }
    }

    fn kept(decisions: &[Decision]) -> Vec<usize> {
        decisions
            .iter()
            .enumerate()
            .filter(|(_, decision)| decision.keep)
            .map(|(index, _)| index)
            .collect()
    }

    fn policy(keep_local: usize) -> Policy {
        Policy {
            keep_local,
            ..Policy::default()
        }
    }

    #[test]
    fn keep_local_keeps_the_newest_n() {
        let candidates: Vec<Candidate> = (1..=5)
            .map(|day| candidate(&format!("2026-11-0{day}T10:00:00Z"), Kind::Manual))
            .collect();
        let decisions = plan(&candidates, &policy(3), &TimeZone::UTC);
        assert_eq!(kept(&decisions), vec![2, 3, 4]);
        assert!(decisions[0].reason.contains("keep_local = 3"));
    }

    #[test]
    fn safety_backups_are_counted_apart() {
        let mut candidates = vec![
            candidate("2026-11-01T10:00:00Z", Kind::Safety),
            candidate("2026-11-02T10:00:00Z", Kind::Safety),
            candidate("2026-11-03T10:00:00Z", Kind::Safety),
        ];
        candidates.push(candidate("2026-11-04T10:00:00Z", Kind::Manual));
        candidates.push(candidate("2026-11-05T10:00:00Z", Kind::Scheduled));
        let policy = Policy {
            keep_local: 2,
            keep_safety: 1,
            ..Policy::default()
        };
        assert_eq!(
            kept(&plan(&candidates, &policy, &TimeZone::UTC)),
            vec![2, 3, 4]
        );
    }

    #[test]
    fn the_newest_verified_backup_survives_any_policy() {
        let mut candidates = vec![
            candidate("2026-11-01T10:00:00Z", Kind::Manual),
            candidate("2026-11-02T10:00:00Z", Kind::Manual),
        ];
        candidates[1].verified = false;
        let decisions = plan(&candidates, &policy(0), &TimeZone::UTC);
        assert_eq!(kept(&decisions), vec![0]);
        assert!(decisions[0].reason.contains("newest verified"));
    }

    #[test]
    fn daily_weekly_and_monthly_keep_the_newest_of_each_period_in_local_time() {
        // Two a day for ten days in November, at 09:00 and 23:30 UTC; in Berlin the 23:30 one is
        // already the next day.
        let mut candidates = Vec::new();
        for day in 1..=10 {
            candidates.push(candidate(
                &format!("2026-11-{day:02}T09:00:00Z"),
                Kind::Scheduled,
            ));
            candidates.push(candidate(
                &format!("2026-11-{day:02}T23:30:00Z"),
                Kind::Scheduled,
            ));
        }
        candidates.push(candidate("2026-10-15T09:00:00Z", Kind::Scheduled));
        let daily = Policy {
            keep_local: 1,
            keep_daily: 3,
            ..Policy::default()
        };
        let utc = plan(&candidates, &daily, &TimeZone::UTC);
        // Newest of Nov 10, 9 and 8 in UTC are the 23:30 ones: indexes 19, 17, 15.
        assert_eq!(kept(&utc), vec![15, 17, 19]);
        let berlin = plan(
            &candidates,
            &daily,
            &TimeZone::get("Europe/Berlin").expect("zone"),
        );
        // Berlin is UTC+1 in November, so 23:30Z is already the next day there: Nov 11 holds only
        // 19; Nov 10 holds 18 (10:00) and 17 (00:30), newest 18; Nov 9 holds 16 and 15, newest 16.
        assert_eq!(kept(&berlin), vec![16, 18, 19]);

        let monthly = Policy {
            keep_local: 1,
            keep_monthly: 2,
            ..Policy::default()
        };
        assert_eq!(
            kept(&plan(&candidates, &monthly, &TimeZone::UTC)),
            vec![19, 20]
        );
        let weekly = Policy {
            keep_local: 0,
            keep_weekly: 2,
            ..Policy::default()
        };
        // 2026-11-10 is in ISO week 46, 2026-11-08 (Sunday) in week 45.
        assert_eq!(
            kept(&plan(&candidates, &weekly, &TimeZone::UTC)),
            vec![15, 19]
        );
    }
}
