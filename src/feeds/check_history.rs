//! Per-service status history: half-hour buckets of check results (the last 7 days),
//! daily buckets (the last 90, [`super::days`]), the debounced status with when it began
//! (`since`), the uptime ratios and 24 h bar derived from them, and the served status
//! changes ([`super::changes`]). Pure logic: every function takes `now`, so tests are
//! deterministic.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// Length of one bucket, in seconds.
pub const BUCKET_SECS: i64 = 1800;
/// Buckets in the 24 h bar.
pub const DAY_BUCKETS: i64 = 48;
/// Buckets kept: 7 days, for the 7-day uptime.
pub const WEEK_BUCKETS: i64 = 7 * DAY_BUCKETS;
/// Failed checks in a row before a service counts as down (one lost packet is not an
/// outage).
pub const FAILS_FOR_DOWN: u32 = 2;

/// The debounced status of a service by our own probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Up,
    Down,
    #[default]
    Unknown,
}

/// One half-hour bucket: `slot` is the Unix time divided by [`BUCKET_SECS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub slot: i64,
    pub checks: u32,
    pub up: u32,
}

/// One cell of the 24 h bar as served in `/api/services` (`history`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BarCell {
    pub start: DateTime<Utc>,
    pub checks: u32,
    pub up: u32,
}

/// A status change, for the one log line per change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub from: Status,
    pub to: Status,
}

/// The memory of one service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Track {
    /// Non-empty buckets, oldest first, none older than [`WEEK_BUCKETS`].
    pub buckets: Vec<Bucket>,
    /// The debounced status.
    pub status: Status,
    /// When `status` began; `None` while unknown.
    pub since: Option<DateTime<Utc>>,
    /// Failed checks in a row.
    pub fails: u32,
    /// Daily buckets in the configured time zone, oldest first, the last 90 days.
    pub days: Vec<super::days::DayBucket>,
}

/// The bucket slot holding `t`.
pub(crate) fn slot_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(BUCKET_SECS)
}

fn slot_start(slot: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(slot.saturating_mul(BUCKET_SECS), 0)
        .single()
        .unwrap_or_default()
}

impl Track {
    /// Records one check result at `now`. The status turns up at once, and down only
    /// after [`FAILS_FOR_DOWN`] failures in a row; `since` moves only when it changes.
    pub(crate) fn record(&mut self, up: bool, now: DateTime<Utc>) -> Option<Change> {
        self.add(slot_of(now), 1, u32::from(up));
        self.prune(now);
        let before = self.status;
        if up {
            self.fails = 0;
            self.status = Status::Up;
        } else {
            self.fails = self.fails.saturating_add(1);
            if self.fails >= FAILS_FOR_DOWN {
                self.status = Status::Down;
            }
        }
        (self.status != before).then(|| {
            self.since = Some(now);
            Change {
                from: before,
                to: self.status,
            }
        })
    }

    fn add(&mut self, slot: i64, checks: u32, up: u32) {
        match self.buckets.iter().rposition(|b| b.slot <= slot) {
            Some(i) if self.buckets[i].slot == slot => {
                let b = &mut self.buckets[i];
                b.checks = b.checks.saturating_add(checks);
                b.up = b.up.saturating_add(up).min(b.checks);
            }
            Some(i) => self.buckets.insert(i + 1, Bucket { slot, checks, up }),
            None => self.buckets.insert(0, Bucket { slot, checks, up }),
        }
    }

    /// Drops buckets that fell out of the 7-day window.
    pub(crate) fn prune(&mut self, now: DateTime<Utc>) {
        let oldest = slot_of(now) - WEEK_BUCKETS + 1;
        self.buckets.retain(|b| b.slot >= oldest && b.checks > 0);
    }

    /// Share of checks up over the last `buckets` half hours; `None` without checks.
    pub(crate) fn uptime(&self, now: DateTime<Utc>, buckets: i64) -> Option<f64> {
        let newest = slot_of(now);
        let oldest = newest - buckets + 1;
        let (checks, up) = self
            .buckets
            .iter()
            .filter(|b| b.slot >= oldest && b.slot <= newest)
            .fold((0u64, 0u64), |(c, u), b| {
                (c + u64::from(b.checks), u + u64::from(b.up))
            });
        (checks > 0).then(|| up as f64 / checks as f64)
    }

    /// The 24 h bar: [`DAY_BUCKETS`] cells, oldest first, the last one holding `now`.
    pub(crate) fn bar(&self, now: DateTime<Utc>) -> Vec<BarCell> {
        bar_from(&self.buckets, now)
    }
}

/// The 24 h bar of any bucket list (ours, or one built from another source).
pub(crate) fn bar_from(buckets: &[Bucket], now: DateTime<Utc>) -> Vec<BarCell> {
    let newest = slot_of(now);
    (newest - DAY_BUCKETS + 1..=newest)
        .map(|slot| {
            let b = buckets.iter().find(|b| b.slot == slot);
            BarCell {
                start: slot_start(slot),
                checks: b.map_or(0, |b| b.checks),
                up: b.map_or(0, |b| b.up),
            }
        })
        .collect()
}

/// Buckets from timestamped results (`(when, up)`), for a source that gives single
/// checks rather than counts.
pub(crate) fn buckets_from(
    results: impl IntoIterator<Item = (DateTime<Utc>, bool)>,
) -> Vec<Bucket> {
    let mut t = Track::default();
    for (when, up) in results {
        t.add(slot_of(when), 1, u32::from(up));
    }
    t.buckets
}

/// Every configured service's memory, keyed by its exact name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub tracks: BTreeMap<String, Track>,
    /// The served status changes (kept in the state file).
    pub changes: super::changes::Changes,
    /// Checks since this process started, per service: (up, not up). Not kept.
    pub checks_total: BTreeMap<String, (u64, u64)>,
}

impl History {
    /// An empty history for these service names.
    pub(crate) fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        History {
            tracks: names
                .into_iter()
                .map(|n| (n.to_string(), Track::default()))
                .collect(),
            ..History::default()
        }
    }

    /// Keeps only the tracks of `names` (exact match) and adds empty ones for new names:
    /// a renamed or removed service loses its history, a new one starts empty.
    pub(crate) fn retain_names<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        let mut kept = BTreeMap::new();
        for n in names {
            let t = self.tracks.remove(n).unwrap_or_default();
            kept.insert(n.to_string(), t);
        }
        self.tracks = kept;
        let names = self.tracks.keys().map(String::as_str);
        self.changes.retain_names(names);
        let tracks = &self.tracks;
        self.checks_total.retain(|n, _| tracks.contains_key(n));
    }

    pub(crate) fn track_mut(&mut self, name: &str) -> &mut Track {
        self.tracks.entry(name.to_string()).or_default()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Track> {
        self.tracks.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn down_only_after_two_failures_and_since_moves_only_on_change() {
        let t0 = at("2026-11-30T10:00:00Z");
        let mut t = Track::default();
        let steps = [
            // (up, status after, since after (minutes after t0), change)
            (true, Status::Up, Some(0), true),
            (false, Status::Up, Some(0), false), // one lost check: still up
            (true, Status::Up, Some(0), false),
            (false, Status::Up, Some(0), false),
            (false, Status::Down, Some(4), true),
            (false, Status::Down, Some(4), false),
            (true, Status::Up, Some(6), true),
        ];
        for (i, (up, status, since, change)) in steps.into_iter().enumerate() {
            let now = t0 + chrono::Duration::minutes(i as i64);
            let c = t.record(up, now);
            assert_eq!(t.status, status, "step {i}");
            assert_eq!(
                t.since,
                since.map(|m| t0 + chrono::Duration::minutes(m)),
                "step {i}"
            );
            assert_eq!(c.is_some(), change, "step {i}");
        }
    }

    #[test]
    fn first_failures_go_from_unknown_to_down_after_two() {
        let t0 = at("2026-11-30T10:00:00Z");
        let mut t = Track::default();
        assert_eq!(t.record(false, t0), None);
        assert_eq!(t.status, Status::Unknown);
        assert_eq!(t.fails, 1);
        let c = t.record(false, t0 + chrono::Duration::seconds(30)).unwrap();
        assert_eq!((c.from, c.to), (Status::Unknown, Status::Down));
    }

    #[test]
    fn uptime_and_bar_come_from_the_buckets() {
        let now = at("2026-11-30T10:10:00Z");
        let mut t = Track::default();
        assert_eq!(t.uptime(now, DAY_BUCKETS), None);
        // Two days ago: 4 checks, none up (inside 7 d, outside 24 h).
        for i in 0..4 {
            t.record(
                false,
                now - chrono::Duration::days(2) + chrono::Duration::seconds(i),
            );
        }
        // This half hour: 3 up, 1 down.
        for up in [true, true, false, true] {
            t.record(up, now);
        }
        // 50 minutes ago: the previous-but-one cell.
        t.record(true, now - chrono::Duration::minutes(50));
        assert_eq!(t.uptime(now, DAY_BUCKETS), Some(4.0 / 5.0));
        assert_eq!(t.uptime(now, WEEK_BUCKETS), Some(4.0 / 9.0));
        let bar = t.bar(now);
        assert_eq!(bar.len(), 48);
        assert_eq!(bar[47].start, at("2026-11-30T10:00:00Z"));
        assert_eq!((bar[47].checks, bar[47].up), (4, 3));
        assert_eq!((bar[46].checks, bar[45].checks, bar[45].up), (0, 1, 1));
        assert_eq!(bar[0].start, at("2026-11-29T10:30:00Z"));
        assert!(t.buckets.windows(2).all(|w| w[0].slot < w[1].slot));
    }

    #[test]
    fn old_buckets_fall_out_of_the_week() {
        let now = at("2026-11-30T10:00:00Z");
        let mut t = Track::default();
        t.record(true, now - chrono::Duration::days(8));
        t.record(true, now - chrono::Duration::days(6));
        t.record(true, now);
        assert_eq!(t.buckets.len(), 2);
        assert_eq!(t.uptime(now, WEEK_BUCKETS), Some(1.0));
    }

    #[test]
    fn renamed_services_lose_their_history() {
        let mut h = History::new(["a", "b"]);
        h.track_mut("a").record(true, at("2026-11-30T10:00:00Z"));
        h.track_mut("b").record(true, at("2026-11-30T10:00:00Z"));
        h.retain_names(["a", "B", "c"]);
        assert_eq!(h.tracks.len(), 3);
        assert_eq!(h.get("a").unwrap().buckets.len(), 1);
        assert!(h.get("B").unwrap().buckets.is_empty());
        assert!(h.get("b").is_none());
    }

    #[test]
    fn buckets_from_single_results() {
        let b = buckets_from([
            (at("2026-11-30T10:01:00Z"), true),
            (at("2026-11-30T09:59:00Z"), false),
            (at("2026-11-30T10:02:00Z"), false),
        ]);
        assert_eq!(
            b.iter().map(|b| (b.checks, b.up)).collect::<Vec<_>>(),
            [(1, 0), (2, 1)]
        );
    }

    #[test]
    fn the_week_keeps_its_oldest_bucket_and_drops_the_one_before_and_empty_ones() {
        let now = at("2026-11-30T10:00:00Z");
        let newest = slot_of(now);
        let oldest = newest - WEEK_BUCKETS + 1;
        let mut t = Track {
            buckets: vec![
                Bucket {
                    slot: oldest - 1,
                    checks: 1,
                    up: 1,
                },
                Bucket {
                    slot: oldest,
                    checks: 1,
                    up: 1,
                },
                Bucket {
                    slot: newest - 1,
                    checks: 0,
                    up: 0,
                },
                Bucket {
                    slot: newest,
                    checks: 2,
                    up: 1,
                },
            ],
            ..Track::default()
        };
        t.prune(now);
        let slots: Vec<i64> = t.buckets.iter().map(|b| b.slot).collect();
        assert_eq!(slots, [oldest, newest]);
    }

    #[test]
    fn checks_in_one_half_hour_share_a_bucket_and_the_next_half_hour_starts_one() {
        let t0 = at("2026-11-30T10:00:00Z");
        let mut t = Track::default();
        t.record(true, t0);
        t.record(false, t0 + chrono::Duration::minutes(10));
        t.record(true, t0 + chrono::Duration::minutes(40));
        let got: Vec<(i64, u32, u32)> =
            t.buckets.iter().map(|b| (b.slot, b.checks, b.up)).collect();
        assert_eq!(got, [(slot_of(t0), 2, 1), (slot_of(t0) + 1, 1, 1)]);
    }

    #[test]
    fn the_24_hours_are_exactly_48_buckets() {
        let now = at("2026-11-30T10:00:00Z");
        let newest = slot_of(now);
        let t = Track {
            buckets: vec![
                Bucket {
                    slot: newest - DAY_BUCKETS,
                    checks: 1,
                    up: 0,
                },
                Bucket {
                    slot: newest - DAY_BUCKETS + 1,
                    checks: 1,
                    up: 1,
                },
            ],
            ..Track::default()
        };
        assert_eq!(t.uptime(now, DAY_BUCKETS), Some(1.0));
        assert_eq!(t.uptime(now, DAY_BUCKETS + 1), Some(0.5));
    }
}
