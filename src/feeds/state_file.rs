//! The service history on disk (`<state_dir>/services.json`): a versioned JSON format,
//! written atomically (temp file, fsync, rename, fsync of the directory), read back
//! bounded and untrusted (names matched exactly to the configured services, counts and
//! times validated). A bad file is never fatal: the caller gets a warning and starts empty.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::history::{
    slot_of, Bucket, History, Status, Track, BUCKET_SECS, FAILS_FOR_DOWN, WEEK_BUCKETS,
};

/// The file's name inside `state_dir`.
pub const FILE_NAME: &str = "services.json";
/// What the `format` field says.
pub const FORMAT: &str = "kiteportal-service-history";
/// The version this build writes and reads.
pub const VERSION: u32 = 1;
/// Largest file read (200 services with a full week stay well below it).
pub const MAX_BYTES: u64 = 4 << 20;
/// Most checks one half-hour bucket can hold (one every 250 ms, the minimum interval).
const MAX_CHECKS: u32 = (BUCKET_SECS as u32) * 4;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV1 {
    format: String,
    version: u32,
    saved_at: DateTime<Utc>,
    services: Vec<ServiceV1>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceV1 {
    name: String,
    status: Status,
    since: Option<DateTime<Utc>>,
    /// `[slot, checks, up]`, oldest first.
    buckets: Vec<(i64, u32, u32)>,
}

/// Only the fields that say which format a file is, read before the rest.
#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<serde_json::Value>,
}

/// The state file's path in `dir`.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// The history as the file's bytes.
pub fn encode(history: &History, now: DateTime<Utc>) -> Vec<u8> {
    let file = FileV1 {
        format: FORMAT.to_string(),
        version: VERSION,
        saved_at: now,
        services: history
            .tracks
            .iter()
            .map(|(name, t)| ServiceV1 {
                name: name.clone(),
                status: t.status,
                since: t.since,
                buckets: t.buckets.iter().map(|b| (b.slot, b.checks, b.up)).collect(),
            })
            .collect(),
    };
    serde_json::to_vec(&file).unwrap_or_default()
}

/// Parses and validates a file's bytes into the history of the configured `names`.
/// Services not configured (renamed, removed) are dropped; configured ones missing from
/// the file start empty. Any invalid field rejects the whole file: a file that lies in
/// one place is not believed in another.
pub fn decode<'a>(
    bytes: &[u8],
    names: impl IntoIterator<Item = &'a str> + Clone,
    now: DateTime<Utc>,
) -> Result<History, String> {
    let header: Header =
        serde_json::from_slice(bytes).map_err(|e| format!("is not valid JSON ({e})"))?;
    if header.format.as_deref() != Some(FORMAT) {
        return Err("is not a kiteportal service history".to_string());
    }
    match header.version.as_ref().and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => {
            return Err(format!(
                "has format version {v}, this build reads {VERSION}"
            ))
        }
        None => return Err("has no format version".to_string()),
    }
    let file: FileV1 = serde_json::from_slice(bytes).map_err(|e| format!("is malformed ({e})"))?;
    let newest = slot_of(now);
    let mut history = History::new(names.clone());
    for s in file.services {
        let mut last = i64::MIN;
        let mut buckets = Vec::with_capacity(s.buckets.len());
        for (slot, checks, up) in s.buckets {
            if slot <= last || checks == 0 || checks > MAX_CHECKS || up > checks {
                return Err(format!("has an invalid bucket for '{}'", clip(&s.name)));
            }
            last = slot;
            if slot > newest - WEEK_BUCKETS && slot <= newest {
                buckets.push(Bucket { slot, checks, up });
            }
        }
        // A `since` in the future, or before 1990 (a negative year included), is forged.
        let implausible = |t| t > now || super::text::plausible_date(t, now).is_none();
        if s.since.is_some_and(implausible) || (s.status == Status::Unknown) != s.since.is_none() {
            return Err(format!("has an invalid status for '{}'", clip(&s.name)));
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
            };
        }
    }
    history.retain_names(names);
    Ok(history)
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
pub fn load<'a>(
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
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::files::write_atomic(path, &path.with_extension("json.tmp"), bytes)
}

/// Saves `history` to `path`.
pub fn save(path: &Path, history: &History, now: DateTime<Utc>) -> std::io::Result<()> {
    write_atomic(path, &encode(history, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn round_trip_keeps_configured_names_only() {
        let now = at("2026-11-30T10:00:00Z");
        let mut h = History::new(["a", "b"]);
        h.track_mut("a").record(true, now);
        h.track_mut("b").record(false, now);
        h.track_mut("b").record(false, now);
        let bytes = encode(&h, now);
        assert_eq!(decode(&bytes, ["a", "b"], now).unwrap(), h);
        let renamed = decode(&bytes, ["a", "c"], now).unwrap();
        assert_eq!(renamed.get("a"), h.get("a"));
        assert_eq!(renamed.get("c"), Some(&Track::default()));
        assert!(renamed.get("b").is_none());
    }

    #[test]
    fn bad_files_are_rejected_with_a_reason() {
        let now = at("2026-11-30T10:00:00Z");
        let slot = slot_of(now);
        let svc = |b: &str| {
            format!(
                r#"{{"format":"{FORMAT}","version":1,"saved_at":"2026-11-30T09:00:00Z","services":[{{"name":"a","status":"up","since":"2026-11-30T09:00:00Z","buckets":{b}}}]}}"#
            )
        };
        let cases = [
            ("", "not valid JSON"),
            ("{\"format\":", "not valid JSON"),
            ("[1,2]", "not valid JSON"),
            (r#"{"format":"other","version":1}"#, "not a kiteportal"),
            (
                &format!(r#"{{"format":"{FORMAT}","version":9,"services":[]}}"#),
                "format version 9",
            ),
            (&svc(&format!("[[{slot},2,3]]")), "invalid bucket"),
            (&svc(&format!("[[{slot},0,0]]")), "invalid bucket"),
            (
                &svc(&format!("[[{slot},1,1],[{slot},1,1]]")),
                "invalid bucket",
            ),
            (&svc("[[1,\"x\",1]]"), "malformed"),
        ];
        for (text, want) in cases {
            let e = decode(text.as_bytes(), ["a"], now).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
        assert!(decode(svc(&format!("[[{slot},2,1]]")).as_bytes(), ["a"], now).is_ok());
        // A half hour holds at most one check every 250 ms: 7,200.
        let full = svc(&format!("[[{slot},7200,7200]]"));
        assert!(decode(full.as_bytes(), ["a"], now).is_ok());
        let over = svc(&format!("[[{slot},7201,1]]"));
        assert_eq!(
            decode(over.as_bytes(), ["a"], now).unwrap_err(),
            "has an invalid bucket for 'a'"
        );
    }

    #[test]
    fn a_file_is_believed_about_the_last_week_and_its_statuses_only() {
        let now = at("2026-11-30T10:00:00Z");
        let newest = slot_of(now);
        let file = |status: &str, since: &str, name: &str| {
            format!(
                r#"{{"format":"{FORMAT}","version":1,"saved_at":"2026-11-30T09:00:00Z","services":[{{"name":"{name}","status":"{status}","since":{since},"buckets":[[{},1,1],[{},1,1]]}}]}}"#,
                newest - WEEK_BUCKETS,
                newest - WEEK_BUCKETS + 1
            )
        };
        let h = decode(
            file("up", r#""2026-11-30T09:00:00Z""#, "a").as_bytes(),
            ["a"],
            now,
        )
        .expect("a good file");
        let slots: Vec<i64> = h.get("a").unwrap().buckets.iter().map(|b| b.slot).collect();
        assert_eq!(slots, [newest - WEEK_BUCKETS + 1]);
        for (status, since) in [
            ("up", r#""2026-11-30T11:00:00Z""#),    // began in the future
            ("up", r#""1989-12-31T23:59:59Z""#),    // before 1990
            ("down", r#""-0001-01-01T00:00:00Z""#), // a negative year
            ("unknown", r#""2026-11-30T09:00:00Z""#),
            ("down", "null"),
        ] {
            let e = decode(file(status, since, "a").as_bytes(), ["a"], now).unwrap_err();
            assert_eq!(e, "has an invalid status for 'a'", "{status} {since}");
        }
        let named = file("down", "null", &format!("x\\u001b[2J{}", "y".repeat(100)));
        let e = decode(named.as_bytes(), ["a"], now).unwrap_err();
        assert_eq!(
            e,
            format!("has an invalid status for 'x[2J{}'", "y".repeat(56))
        );
    }

    #[test]
    fn load_never_fails_and_says_whether_the_file_may_be_written() {
        let dir = tempfile::tempdir().unwrap();
        let now = at("2026-11-30T10:00:00Z");
        let p = path_in(dir.path());
        let l = load(&p, ["a"], now);
        assert_eq!(l.history, History::new(["a"]));
        assert!(l.warning.unwrap().contains("does not exist"));
        assert!(l.writable);
        std::fs::write(&p, b"{\"format\": \"kiteportal-serv").unwrap();
        let l = load(&p, ["a"], now);
        assert_eq!(l.history, History::new(["a"]));
        let w = l.warning.unwrap();
        assert!(
            w.contains(&p.display().to_string()) && w.contains("empty"),
            "{w}"
        );
        assert!(l.writable, "a corrupt file is replaced");
        let newer = format!(r#"{{"format":"{FORMAT}","version":9,"services":[]}}"#);
        std::fs::write(&p, newer).unwrap();
        let l = load(&p, ["a"], now);
        assert!(!l.writable, "a newer version's file is left alone");
    }

    #[test]
    fn a_fifo_or_a_link_at_the_file_is_refused_at_once_and_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let now = at("2026-11-30T10:00:00Z");
        let p = path_in(dir.path());
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &p,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let t = std::time::Instant::now();
        let l = load(&p, ["a"], now);
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
        assert!(!l.writable);
        assert!(l.warning.unwrap().contains("not a regular file"));
        std::fs::remove_file(&p).unwrap();
        let target = dir.path().join("elsewhere.json");
        std::fs::write(&target, b"precious").unwrap();
        std::os::unix::fs::symlink(&target, &p).unwrap();
        let l = load(&p, ["a"], now);
        assert!(!l.writable);
        assert!(l.warning.unwrap().contains("symbolic link"));
    }

    #[test]
    fn the_temp_file_is_never_followed_nor_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let p = path_in(dir.path());
        let tmp = p.with_extension("json.tmp");
        let target = dir.path().join("victim");
        std::fs::write(&target, b"precious").unwrap();
        std::os::unix::fs::symlink(&target, &tmp).unwrap();
        write_atomic(&p, b"one").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"precious");
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &tmp,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let t = std::time::Instant::now();
        write_atomic(&p, b"two").unwrap();
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        // A link at the final name is replaced, its target untouched.
        std::fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink(&target, &p).unwrap();
        write_atomic(&p, b"three").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"precious");
        assert!(!std::fs::symlink_metadata(&p).unwrap().is_symlink());
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = path_in(dir.path());
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(write_atomic(&dir.path().join("no/such/dir/x.json"), b"x").is_err());
    }

    #[test]
    fn fifty_services_with_a_full_week_stay_under_one_mib() {
        let now = at("2026-11-30T10:00:00Z");
        let names: Vec<String> = (0..50).map(|i| format!("service number {i:02}")).collect();
        let mut h = History::new(names.iter().map(String::as_str));
        for n in &names {
            let t = h.track_mut(n);
            for i in 0..WEEK_BUCKETS {
                let when = now - chrono::Duration::seconds(i * BUCKET_SECS);
                for _ in 0..60 {
                    t.record(i % 7 != 0, when);
                }
            }
        }
        let size = encode(&h, now).len();
        assert!(size < 1 << 20, "{size} bytes");
        eprintln!("50 services, a full week: {size} bytes");
    }

    #[test]
    fn a_file_of_exactly_the_cap_is_read_and_one_byte_more_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("services.json");
        std::fs::write(&p, vec![b' '; MAX_BYTES as usize]).unwrap();
        assert_eq!(read_bounded(&p).unwrap().len() as u64, MAX_BYTES);
        std::fs::write(&p, vec![b' '; MAX_BYTES as usize + 1]).unwrap();
        assert_eq!(
            read_bounded(&p).unwrap_err(),
            ("is larger than 4 MiB".to_string(), false)
        );
    }
}
