//! The 90-day memory of a service: one bucket of checks per local day (the day in the
//! configured time zone when the check ran), the 90-entry strip served as `days`, and
//! the 90-day uptime. Pure logic: the caller says which day it is.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Days kept and shown.
pub const DAYS: i32 = 90;

/// A local day as a number (days since 0001-01-01 of the proleptic Gregorian calendar,
/// chrono's "days from CE").
pub type DayNumber = i32;

/// The local day of `now` at the time zone offset `offset_secs` east of UTC.
pub(crate) fn day_of(now: DateTime<Utc>, offset_secs: i32) -> DayNumber {
    (now + chrono::Duration::seconds(i64::from(offset_secs)))
        .date_naive()
        .num_days_from_ce()
}

/// One day's checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayBucket {
    pub day: DayNumber,
    pub checks: u32,
    pub up: u32,
}

/// One entry of `days` as served: `{"date": "YYYY-MM-DD", "checks", "up"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayCell {
    pub date: NaiveDate,
    pub checks: u32,
    pub up: u32,
}

/// Adds `checks`/`up` to `day` in `days` (oldest first, one bucket a day) and drops
/// the days that fell out of the window ending on `day`.
pub(crate) fn add(days: &mut Vec<DayBucket>, day: DayNumber, checks: u32, up: u32) {
    match days.iter().rposition(|b| b.day <= day) {
        Some(i) if days[i].day == day => {
            let b = &mut days[i];
            b.checks = b.checks.saturating_add(checks);
            b.up = b.up.saturating_add(up).min(b.checks);
        }
        Some(i) => days.insert(i + 1, DayBucket { day, checks, up }),
        None => days.insert(0, DayBucket { day, checks, up }),
    }
    prune(days, day);
}

/// Drops days older than the [`DAYS`] ending on `today` (and empty ones).
pub(crate) fn prune(days: &mut Vec<DayBucket>, today: DayNumber) {
    let oldest = today - DAYS + 1;
    days.retain(|b| b.day >= oldest && b.checks > 0);
}

/// The strip: [`DAYS`] cells, oldest first, the last one `today`.
pub(crate) fn cells(days: &[DayBucket], today: DayNumber) -> Vec<DayCell> {
    (today - DAYS + 1..=today)
        .filter_map(|d| {
            let date = NaiveDate::from_num_days_from_ce_opt(d)?;
            let b = days.iter().find(|b| b.day == d);
            Some(DayCell {
                date,
                checks: b.map_or(0, |b| b.checks),
                up: b.map_or(0, |b| b.up),
            })
        })
        .collect()
}

/// Share of checks up over the [`DAYS`] ending on `today`; `None` without checks.
pub(crate) fn uptime(days: &[DayBucket], today: DayNumber) -> Option<f64> {
    let oldest = today - DAYS + 1;
    let (checks, up) = days
        .iter()
        .filter(|b| b.day >= oldest && b.day <= today)
        .fold((0u64, 0u64), |(c, u), b| {
            (c + u64::from(b.checks), u + u64::from(b.up))
        });
    (checks > 0).then(|| up as f64 / checks as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_local_day_follows_the_offset() {
        let t = at("2026-12-02T23:30:00Z");
        let utc = day_of(t, 0);
        assert_eq!(day_of(t, 3600), utc + 1, "Amsterdam is already on the 3rd");
        assert_eq!(day_of(t, -5 * 3600), utc, "New York is still on the 2nd");
        let date = NaiveDate::from_num_days_from_ce_opt(utc).unwrap();
        assert_eq!(date.to_string(), "2026-12-02");
    }

    #[test]
    fn ninety_days_are_kept_counted_and_shown_oldest_first() {
        let today = day_of(at("2026-12-03T12:00:00Z"), 0);
        let mut days = Vec::new();
        add(&mut days, today - 120, 5, 5);
        add(&mut days, today - 89, 10, 9);
        add(&mut days, today - 1, 4, 0);
        add(&mut days, today, 3, 3);
        add(&mut days, today, 1, 0);
        assert_eq!(days.len(), 3, "day -120 fell out: {days:?}");
        assert_eq!(
            days[2],
            DayBucket {
                day: today,
                checks: 4,
                up: 3
            }
        );
        let strip = cells(&days, today);
        assert_eq!(strip.len(), 90);
        assert_eq!(strip[0].date.to_string(), "2026-09-05");
        assert_eq!((strip[0].checks, strip[0].up), (10, 9));
        assert_eq!(strip[89].date.to_string(), "2026-12-03");
        assert_eq!((strip[88].checks, strip[88].up), (4, 0));
        assert_eq!(uptime(&days, today), Some(12.0 / 18.0));
        assert_eq!(uptime(&[], today), None);
        // Tomorrow, the oldest day leaves the window.
        assert_eq!(uptime(&days, today + 1), Some(3.0 / 8.0));
        // A day without checks keeps no bucket.
        add(&mut days, today + 2, 0, 0);
        assert!(days.iter().all(|b| b.checks > 0), "{days:?}");
    }
}
