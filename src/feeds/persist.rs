//! The service history on disk (`<state_dir>/services.json`): a versioned JSON format
//! (version 2: half-hour buckets, 90 daily buckets, the served status and the recent
//! changes; a version-1 file is migrated), written atomically (temp file, fsync, rename,
//! fsync of the directory), read back bounded and untrusted (names matched exactly to the
//! configured services, counts and times validated). A bad file is never fatal: the
//! caller gets a warning and starts empty.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::changes::{Transition, KEPT};
use super::check_history::{
    slot_of, Bucket, History, Status, Track, BUCKET_SECS, FAILS_FOR_DOWN, WEEK_BUCKETS,
};
use super::days::{self, DayBucket, DAYS};
use super::ServiceState;

/// The file's name inside `state_dir`.
pub const FILE_NAME: &str = "services.json";
/// What the `format` field says.
pub const FORMAT: &str = "kiteportal-service-history";
/// The version this build writes (it reads this one and version 1).
pub const VERSION: u32 = 2;
/// Largest file read (200 services with a full week stay well below it).
pub const MAX_BYTES: u64 = 4 << 20;
/// Most checks one half-hour bucket can hold (one every 250 ms, the minimum interval).
const MAX_CHECKS: u32 = (BUCKET_SECS as u32) * 4;
/// Most checks one day can hold.
const MAX_DAY_CHECKS: u32 = MAX_CHECKS * 48;
/// Longest reason class and detail kept from a file.
const MAX_REASON: usize = 64;
const MAX_DETAIL: usize = 300;

/// The file: version 2, which also reads version 1 (whose services lack `days` and
/// `served`, and which has no `changes`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV2 {
    format: String,
    version: u32,
    saved_at: DateTime<Utc>,
    services: Vec<ServiceV2>,
    /// The recent served status changes, oldest first.
    #[serde(default)]
    changes: Vec<Transition>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceV2 {
    name: String,
    status: Status,
    since: Option<DateTime<Utc>>,
    /// `[slot, checks, up]`, oldest first.
    buckets: Vec<(i64, u32, u32)>,
    /// `[local day number, checks, up]`, oldest first (version 2).
    #[serde(default)]
    days: Vec<(i32, u32, u32)>,
    /// The last known served status (version 2).
    #[serde(default)]
    served: Option<ServiceState>,
}

/// Only the fields that say which format a file is, read before the rest.
#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<serde_json::Value>,
}

/// The state file's path in `dir`.
pub(crate) fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// The history as the file's bytes.
pub(crate) fn encode(history: &History, now: DateTime<Utc>) -> Vec<u8> {
    let file = FileV2 {
        format: FORMAT.to_string(),
        version: VERSION,
        saved_at: now,
        services: history
            .tracks
            .iter()
            .map(|(name, t)| ServiceV2 {
                name: name.clone(),
                status: t.status,
                since: t.since,
                buckets: t.buckets.iter().map(|b| (b.slot, b.checks, b.up)).collect(),
                days: t.days.iter().map(|d| (d.day, d.checks, d.up)).collect(),
                served: history.changes.last_known.get(name).copied(),
            })
            .collect(),
        changes: history.changes.recent.iter().cloned().collect(),
    };
    serde_json::to_vec(&file).unwrap_or_default()
}

/// Parses and validates a file's bytes into the history of the configured `names`.
/// Services not configured (renamed, removed) are dropped; configured ones missing from
/// the file start empty. Any invalid field rejects the whole file: a file that lies in
/// one place is not believed in another.
pub(crate) fn decode<'a>(
    bytes: &[u8],
    names: impl IntoIterator<Item = &'a str> + Clone,
    now: DateTime<Utc>,
) -> Result<History, String> {
    let header: Header =
        serde_json::from_slice(bytes).map_err(|e| format!("is not valid JSON ({e})"))?;
    if header.format.as_deref() != Some(FORMAT) {
        return Err("is not a kiteportal service history".to_string());
    }
    let version = match header.version.as_ref().and_then(|v| v.as_u64()) {
        Some(v @ (1 | 2)) => v,
        Some(v) => {
            return Err(format!(
                "has format version {v}, this build reads 1 and {VERSION}"
            ))
        }
        None => return Err("has no format version".to_string()),
    };
    let file: FileV2 = serde_json::from_slice(bytes).map_err(|e| format!("is malformed ({e})"))?;
    let mut history = History::new(names.clone());
    for s in file.services {
        let name = clip(&s.name);
        let bad = |what: &str| format!("has an invalid {what} for '{name}'");
        let buckets = valid_buckets(&s.buckets, now).ok_or_else(|| bad("bucket"))?;
        let days = if version == 1 {
            // Version 1 kept no days: they are made from its half-hour buckets (by UTC
            // date), so no check is lost.
            days_from(&buckets)
        } else {
            valid_days(&s.days, now).ok_or_else(|| bad("day"))?
        };
        // A `since` in the future, or before 1990 (a negative year included), is forged.
        let implausible = |t| t > now || crate::text::plausible_date(t, now).is_none();
        if s.since.is_some_and(implausible) || (s.status == Status::Unknown) != s.since.is_none() {
            return Err(bad("status"));
        }
        if let Some(t) = history.tracks.get_mut(&s.name) {
            *t = Track {
                buckets,
                status: s.status,
                since: s.since,
                // A service saved as down stays down until a check succeeds.
                fails: if s.status == Status::Down {
                    FAILS_FOR_DOWN
                } else {
                    0
                },
                days,
            };
            if let Some(served) = s.served.filter(|s| *s != ServiceState::Unknown) {
                history.changes.last_known.insert(s.name.clone(), served);
            }
        }
    }
    for t in file.changes.into_iter().rev().take(KEPT).rev() {
        if crate::text::plausible_date(t.at, now).is_none() || t.at > now {
            return Err(format!("has an invalid change for '{}'", clip(&t.service)));
        }
        if history.tracks.contains_key(&t.service) {
            history.changes.push(Transition {
                reason: t.reason.map(|r| clip_to(&r, MAX_REASON)),
                detail: t.detail.map(|d| clip_to(&d, MAX_DETAIL)),
                ..t
            });
        }
    }
    history.retain_names(names);
    Ok(history)
}

/// The half-hour buckets of a file, in order and with plausible counts, those of the
/// last week kept; `None` when one lies.
fn valid_buckets(raw: &[(i64, u32, u32)], now: DateTime<Utc>) -> Option<Vec<Bucket>> {
    let newest = slot_of(now);
    let mut last = i64::MIN;
    let mut buckets = Vec::with_capacity(raw.len());
    for &(slot, checks, up) in raw {
        if slot <= last || checks == 0 || checks > MAX_CHECKS || up > checks {
            return None;
        }
        last = slot;
        if slot > newest - WEEK_BUCKETS && slot <= newest {
            buckets.push(Bucket { slot, checks, up });
        }
    }
    Some(buckets)
}

/// The daily buckets of a file, in order and with plausible counts, those of the last
/// [`DAYS`] kept (a local day may be one ahead of UTC's); `None` when one lies.
fn valid_days(raw: &[(i32, u32, u32)], now: DateTime<Utc>) -> Option<Vec<DayBucket>> {
    let today = days::day_of(now, 0) + 1;
    let mut last = i32::MIN;
    let mut out = Vec::with_capacity(raw.len());
    for &(day, checks, up) in raw {
        if day <= last || checks == 0 || checks > MAX_DAY_CHECKS || up > checks {
            return None;
        }
        last = day;
        if day > today - DAYS && day <= today {
            out.push(DayBucket { day, checks, up });
        }
    }
    Some(out)
}

/// Daily buckets (UTC dates) made from half-hour buckets.
fn days_from(buckets: &[Bucket]) -> Vec<DayBucket> {
    let mut out: Vec<DayBucket> = Vec::new();
    for b in buckets {
        let start = chrono::DateTime::from_timestamp(b.slot.saturating_mul(BUCKET_SECS), 0)
            .unwrap_or_default();
        let day = days::day_of(start, 0);
        match out.last_mut() {
            Some(d) if d.day == day => {
                d.checks = d.checks.saturating_add(b.checks);
                d.up = d.up.saturating_add(b.up);
            }
            _ => out.push(DayBucket {
                day,
                checks: b.checks,
                up: b.up,
            }),
        }
    }
    out
}

fn clip_to(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(60).collect()
}

/// What [`load`] found.
#[derive(Debug)]
pub struct Loaded {
    /// The history of the configured names (empty on any problem).
    pub history: History,
    /// The warning to log, naming the file and what is done about it.
    pub warning: Option<String>,
    /// Whether this process may write the file: it read it (or there was none, or it
    /// was corrupt and is replaced). Never over a file it could not read (a FIFO, a
    /// link, no permission, too large) or one written by a newer version.
    pub writable: bool,
}

/// Reads the history of `names` from `path`, without ever blocking or following a link.
pub(crate) fn load<'a>(
    path: &Path,
    names: impl IntoIterator<Item = &'a str> + Clone,
    now: DateTime<Utc>,
) -> Loaded {
    let empty = |warning: String, writable: bool| Loaded {
        history: History::new(names.clone()),
        warning: Some(format!("service history '{}' {warning}", path.display())),
        writable,
    };
    let bytes = match read_bounded(path) {
        Ok(b) => b,
        Err((e, true)) => return empty(format!("{e}; starting with an empty history"), true),
        Err((e, false)) => {
            return empty(
                format!(
                    "{e}; starting with an empty history kept in memory only: this process \
                     never writes over a file it could not read (fix it and restart)"
                ),
                false,
            )
        }
    };
    match decode(&bytes, names.clone(), now) {
        Ok(history) => Loaded {
            history,
            warning: None,
            writable: true,
        },
        Err(e) if newer_version(&bytes) => empty(
            format!(
                "{e}; starting with an empty history kept in memory only (the file is \
                 left as it is for the version that wrote it)"
            ),
            false,
        ),
        Err(e) => empty(
            format!(
                "{e}; ignoring it and starting with an empty history (it is replaced at \
                 the next save)"
            ),
            true,
        ),
    }
}

/// Whether `bytes` are a history file of a version newer than this build's.
fn newer_version(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Header>(bytes).is_ok_and(|h| {
        h.format.as_deref() == Some(FORMAT)
            && h.version
                .and_then(|v| v.as_u64())
                .is_some_and(|v| v > u64::from(VERSION))
    })
}

/// The file's bytes, or why not and whether the file may then be written over (only
/// when there is none).
fn read_bounded(path: &Path) -> Result<Vec<u8>, (String, bool)> {
    let f = crate::files::open_regular_nofollow(path).map_err(|e| match e.kind() {
        // No file there (nor, below a file, any directory): nothing to lose by writing.
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => {
            ("does not exist (yet)".to_string(), true)
        }
        _ => (format!("cannot be read ({e})"), false),
    })?;
    let mut bytes = Vec::new();
    if !crate::files::read_capped(f, MAX_BYTES, &mut bytes)
        .map_err(|e| (format!("cannot be read ({e})"), false))?
    {
        return Err((format!("is larger than {} MiB", MAX_BYTES >> 20), false));
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` atomically (see [`crate::files::write_atomic`]), through
/// `<path>.tmp`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::files::write_atomic(path, &path.with_extension("json.tmp"), bytes)
}

/// Saves `history` to `path`.
pub(crate) fn save(path: &Path, history: &History, now: DateTime<Utc>) -> std::io::Result<()> {
    write_atomic(path, &encode(history, now))
}

#[cfg(test)]
#[path = "persist_tests.rs"]
mod tests;
