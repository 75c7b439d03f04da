//! Uptime Kuma as a source of service status: the published status page's two public
//! endpoints (`/api/status-page/<slug>` for the monitors, `/api/status-page/heartbeat/<slug>`
//! for beats and 24 h uptime), parsed tolerantly across the 1.23 and 2.x shapes.
//!
//! Shapes handled: `uptimeList` keyed `"<id>_24"` or plain `"<id>"`; heartbeat lists that
//! mix objects and the number `0` (an empty aggregated bucket); times as
//! `"2026-11-29 22:00:11.630"` (UTC without a zone) or RFC 3339; empty lists; status 2
//! (pending) and 3 (maintenance); a wrong slug answering 404 with a JSON reason.
//! Monitor names are owner-typed text: kept as plain text, control characters stripped,
//! length capped, and used only to match services, never shown as markup.
//!
//! Both bodies are untrusted (up to 1 MiB each): they are read straight into small
//! bounded types (`lenient`), never into a JSON tree, keeping at most 500 monitors and the
//! newest 200 beats of each; values of the wrong kind are skipped. Beats dated before
//! 1990 or more than a day ahead, and pings over an hour, are bad data and dropped.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use super::check_history::{buckets_from, Bucket};
use super::error::FetchError;
use super::http;
use super::kuma_notices::{self, Incident, Maintenance, MAX_MAINTENANCE};
use super::lenient::{First, FromObject, Last, Map, One, Scalar};
use super::notices::Draft;
use super::scheduler::Failure;
use crate::config::UptimeKumaConfig;
use crate::text;

/// How often the status page is read: Uptime Kuma caches it 1–5 minutes itself.
pub const REFRESH: Duration = Duration::from_secs(60);
/// Longest monitor name kept.
const MAX_NAME: usize = 120;
/// Most monitors read from one page.
const MAX_MONITORS: usize = 500;
/// Most groups read from one page (each with at most [`MAX_MONITORS`]).
const MAX_GROUPS: usize = 50;
/// Newest heartbeats kept per monitor (Kuma sends at most 100, or 100 bar buckets).
const MAX_BEATS: usize = 200;
/// Monitor entries kept of `heartbeatList` and `uptimeList` (both key styles).
const MAX_KEYS: usize = 2 * MAX_MONITORS;
/// Longest plausible response time: a "ping" of more than an hour is bad data.
pub const MAX_PING_MS: u64 = 3_600_000;

/// What a heartbeat says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beat {
    Down,
    Up,
    Pending,
    Maintenance,
}

impl Beat {
    fn from_code(code: i64) -> Option<Beat> {
        Some(match code {
            0 => Beat::Down,
            1 => Beat::Up,
            2 => Beat::Pending,
            3 => Beat::Maintenance,
            _ => return None,
        })
    }
}

/// One monitor on the status page with what its heartbeats say.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitor {
    /// The monitor's name as plain text (sanitised).
    pub name: String,
    /// The newest beat, if any.
    pub last: Option<Beat>,
    /// When the newest run of the same beat began (the oldest beat of that run seen).
    pub since: Option<DateTime<Utc>>,
    pub ping_ms: Option<u64>,
    /// Kuma's own 24 h uptime (0..1).
    pub uptime_24h: Option<f64>,
    /// Up/down beats in half-hour buckets (pending and maintenance are not counted).
    pub buckets: Vec<Bucket>,
}

/// The status page's monitors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kuma {
    pub monitors: Vec<Monitor>,
    /// The pinned incident and the maintenance under way or scheduled.
    pub notices: Vec<Draft>,
}

impl Kuma {
    /// The monitor called `name` (trimmed, case-insensitive), if any.
    pub(crate) fn monitor(&self, name: &str) -> Option<&Monitor> {
        let want = name.trim().to_lowercase();
        self.monitors
            .iter()
            .find(|m| m.name.trim().to_lowercase() == want)
    }
}

/// Plain text of an owner-typed name: one line, no control or invisible characters,
/// capped (the shared cleaning of upstream text).
pub(crate) fn clean_name(s: &str) -> String {
    text::clean(s, MAX_NAME)
}

/// A heartbeat time: `"2026-11-29 22:00:11.630"` (UTC, no zone) or RFC 3339.
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|n| n.and_utc())
}

/// `GET /api/status-page/<slug>`, as far as it is read: the groups' monitors, the
/// pinned incident and the maintenance list (`kuma_notices`); the config is read past.
/// Bounded: `MAX_GROUPS` groups of `MAX_MONITORS` monitors.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatusPage {
    #[serde(rename = "publicGroupList")]
    groups: First<Group, MAX_GROUPS>,
    incident: One<Incident>,
    #[serde(rename = "maintenanceList")]
    maintenance: First<Maintenance, MAX_MAINTENANCE>,
}

/// A group of monitors on the page.
#[derive(Debug)]
struct Group(Vec<Entry>);

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawGroup {
    #[serde(rename = "monitorList")]
    monitors: First<Entry, MAX_MONITORS>,
}

impl FromObject for Group {
    type Raw = RawGroup;
    fn from_raw(raw: RawGroup) -> Option<Group> {
        Some(Group(raw.monitors.0.unwrap_or_default()))
    }
}

/// A monitor listed on the page: its id and cleaned name.
#[derive(Debug)]
struct Entry {
    id: i64,
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawEntry {
    id: Scalar,
    name: Scalar,
}

impl FromObject for Entry {
    type Raw = RawEntry;
    fn from_raw(raw: RawEntry) -> Option<Entry> {
        Some(Entry {
            id: raw.id.as_i64()?,
            name: clean_name(raw.name.as_str()?),
        })
    }
}

/// `GET /api/status-page/heartbeat/<slug>`: the newest `MAX_BEATS` beats and the 24 h
/// uptime of at most `MAX_KEYS` monitors.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Heartbeats {
    #[serde(rename = "heartbeatList")]
    beats: Map<Last<Heartbeat, MAX_BEATS>, MAX_KEYS>,
    #[serde(rename = "uptimeList")]
    uptimes: Map<Scalar, MAX_KEYS>,
}

/// One heartbeat with a readable time and status (an aggregated bucket that is the
/// number `0`, or a beat without them, is not one).
#[derive(Debug, Clone, Copy)]
struct Heartbeat {
    time: DateTime<Utc>,
    beat: Beat,
    ping_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawHeartbeat {
    time: Scalar,
    status: Scalar,
    ping: Scalar,
}

impl FromObject for Heartbeat {
    type Raw = RawHeartbeat;
    fn from_raw(raw: RawHeartbeat) -> Option<Heartbeat> {
        Some(Heartbeat {
            time: parse_time(raw.time.as_str()?)?,
            beat: Beat::from_code(raw.status.as_i64()?)?,
            ping_ms: raw.ping.as_u64(),
        })
    }
}

/// Reads both endpoints of the status page. An error status or a redirect is an error
/// naming what the upstream said or where it pointed, as for every feed (Kuma answers
/// a wrong slug with 404 and `{"status": "fail", "msg": "…"}`).
pub(crate) fn fetch(agent: &ureq::Agent, cfg: &UptimeKumaConfig) -> Result<Kuma, Failure> {
    let slug = http::encode_segment(&cfg.slug);
    let host = http::host_of(cfg.url.as_str());
    fn get<T: serde::de::DeserializeOwned>(
        agent: &ureq::Agent,
        url: &str,
        host: &str,
    ) -> Result<T, Failure> {
        let f = http::get(agent, url, &[("Accept", "application/json")])?;
        f.json::<T>(host).map_err(|error| Failure {
            error,
            retry_after: f.retry_after.map(Duration::from_secs),
        })
    }
    let page: StatusPage = get(
        agent,
        &cfg.url.join(&format!("/api/status-page/{slug}")),
        &host,
    )?;
    let beats: Heartbeats = get(
        agent,
        &cfg.url.join(&format!("/api/status-page/heartbeat/{slug}")),
        &host,
    )?;
    parse(&page, &beats, Utc::now()).map_err(|e| Failure::from(FetchError::bad_data(e)))
}

/// Builds the monitors from the two bodies. Beats dated before 1990 or more than a day
/// after `now` are bad data and dropped, as is a ping over [`MAX_PING_MS`].
pub(crate) fn parse(
    page: &StatusPage,
    beats: &Heartbeats,
    now: DateTime<Utc>,
) -> Result<Kuma, String> {
    let groups = page
        .groups
        .0
        .as_ref()
        .ok_or("status page without publicGroupList")?;
    let mut monitors = Vec::new();
    for m in groups.iter().flat_map(|g| &g.0).take(MAX_MONITORS) {
        let key = m.id.to_string();
        let mut sorted: Vec<Heartbeat> = beats
            .beats
            .get(&key)
            .map(|l| l.items())
            .unwrap_or_default()
            .iter()
            .filter(|b| text::plausible_date(b.time, now).is_some())
            .copied()
            .collect();
        sorted.sort_by_key(|b| b.time);
        let uptime_24h = beats
            .uptimes
            .get(&format!("{key}_24"))
            .or_else(|| beats.uptimes.get(&key))
            .and_then(Scalar::as_f64)
            .filter(|r| r.is_finite())
            .map(|r| r.clamp(0.0, 1.0));
        monitors.push(monitor(m.name.clone(), &sorted, uptime_24h));
    }
    Ok(Kuma {
        monitors,
        notices: kuma_notices::drafts(&page.incident, &page.maintenance),
    })
}

/// A monitor from its beats, oldest first.
fn monitor(name: String, sorted: &[Heartbeat], uptime_24h: Option<f64>) -> Monitor {
    let last = sorted.last().map(|b| b.beat);
    let since = last.and_then(|l| {
        sorted
            .iter()
            .rev()
            .take_while(|b| b.beat == l)
            .last()
            .map(|b| b.time)
    });
    let ping_ms = sorted
        .last()
        .and_then(|b| b.ping_ms)
        .filter(|p| *p <= MAX_PING_MS);
    let buckets = buckets_from(sorted.iter().filter_map(|b| match b.beat {
        Beat::Up => Some((b.time, true)),
        Beat::Down => Some((b.time, false)),
        _ => None,
    }));
    Monitor {
        name,
        last,
        since,
        ping_ms,
        uptime_24h,
        buckets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
        let p = format!(
            "{}/tests/fixtures/uptime-kuma/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    }

    /// A day after the fixtures' beats.
    fn now() -> DateTime<Utc> {
        parse_time("2026-11-30 22:00:00").unwrap()
    }

    fn typed<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn both_time_formats() {
        let want = DateTime::parse_from_rfc3339("2026-11-29T22:00:11.630Z").unwrap();
        assert_eq!(parse_time("2026-11-29 22:00:11.630"), Some(want.into()));
        assert_eq!(parse_time("2026-11-29T22:00:11.630Z"), Some(want.into()));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn version_1_23() {
        let k = parse(
            &fixture("status-page.json"),
            &fixture("heartbeat-1.23.json"),
            now(),
        )
        .unwrap();
        assert_eq!(k.monitors.len(), 8);
        let portal = k.monitor("portal").unwrap();
        assert_eq!(
            (portal.last, portal.uptime_24h, portal.ping_ms),
            (Some(Beat::Up), Some(1.0), Some(44))
        );
        assert_eq!(portal.since, parse_time("2026-11-29 21:58:11.402"));
        let auth = k.monitor("Authentik").unwrap();
        assert_eq!(auth.last, Some(Beat::Pending));
        let f = k.monitor("Forgejo").unwrap();
        assert_eq!(f.last, Some(Beat::Down));
        assert_eq!(f.buckets.iter().map(|b| b.checks).sum::<u32>(), 3);
        assert_eq!(f.buckets.iter().map(|b| b.up).sum::<u32>(), 0);
        let op = k.monitor("OpenProject").unwrap();
        assert_eq!((op.last, op.uptime_24h), (None, Some(0.0)));
        assert_eq!(
            k.monitor("Open WebUI").unwrap().last,
            Some(Beat::Maintenance)
        );
        // The owner's markup is text; it matches only its literal name.
        assert!(k.monitor("Grafana <b>dash</b>").is_some());
        assert!(k.monitor("Grafana").is_none());
    }

    #[test]
    fn version_2_aggregated() {
        let k = parse(
            &fixture("status-page.json"),
            &fixture("heartbeat-2.0-aggregated.json"),
            now(),
        )
        .unwrap();
        let portal = k.monitor("Portal").unwrap();
        assert_eq!(
            (portal.last, portal.uptime_24h),
            (Some(Beat::Up), Some(1.0))
        );
        assert_eq!(portal.buckets.iter().map(|b| b.checks).sum::<u32>(), 3);
        let auth = k.monitor("Authentik").unwrap();
        assert_eq!((auth.last, auth.uptime_24h), (Some(Beat::Up), Some(0.8)));
        assert_eq!(k.monitor("Forgejo").unwrap().uptime_24h, Some(0.0));
        // No heartbeats listed at all for this monitor in this version.
        let kv = k.monitor("Kavita").unwrap();
        assert_eq!((kv.last, kv.uptime_24h), (None, None));
    }

    #[test]
    fn names_are_plain_text() {
        assert_eq!(clean_name(" a\u{202E}b\u{200B}c\n "), "abc");
        assert!(clean_name(&"x".repeat(500)).chars().count() <= MAX_NAME + 1);
        let (none, nothing) = (typed(json!({})), typed(json!({})));
        assert!(parse(&none, &nothing, now()).is_err());
        let empty = parse(
            &typed(json!({"publicGroupList": []})),
            &typed(json!({"heartbeatList": {}, "uptimeList": {}})),
            now(),
        )
        .unwrap();
        assert!(empty.monitors.is_empty());
    }

    #[test]
    fn implausible_times_and_pings_are_bad_data() {
        let page = typed(json!({"publicGroupList": [{"monitorList": [{"id": 1, "name": "a"}]}]}));
        let beat = |t: &str, status: u8, ping: serde_json::Value| json!({"time": t, "status": status, "ping": ping});
        let beats = typed(json!({"heartbeatList": {"1": [
            beat("0001-01-01 00:00:00", 1, json!(5)),
            beat("2026-11-30 20:00:00", 1, json!(40)),
            beat("2026-11-30 21:00:00", 1, json!(MAX_PING_MS + 1)),
            beat("9999-12-31 23:59:59", 0, json!(1)),
            beat("2026-12-02 23:00:00", 0, json!(1)),
        ]}}));
        let k = parse(&page, &beats, now()).unwrap();
        let a = k.monitor("a").unwrap();
        assert_eq!(a.last, Some(Beat::Up));
        assert_eq!(a.since, parse_time("2026-11-30 20:00:00"));
        assert_eq!(a.ping_ms, None);
        assert_eq!(a.buckets.iter().map(|b| b.checks).sum::<u32>(), 2);
        let beats = typed(
            json!({"heartbeatList": {"1": [beat("2026-11-30 21:00:00", 1, json!(MAX_PING_MS))]}}),
        );
        let a = parse(&page, &beats, now()).unwrap().monitors.remove(0);
        assert_eq!(a.ping_ms, Some(MAX_PING_MS));
    }

    #[test]
    fn values_of_the_wrong_kind_are_skipped_not_fatal() {
        let page = typed(json!({"publicGroupList": [0, "g", {"monitorList": [
            0, "x", {"id": "1", "name": "a"}, {"id": 2, "name": 5}, {"id": 3, "name": "ok"}
        ]}, {"monitorList": {"id": 4}}], "incident": [1, 2]}));
        let beats = typed(json!({"heartbeatList": {"3": "nope", "4": [0]},
                                 "uptimeList": {"3_24": "1", "3": 0.5}}));
        let k = parse(&page, &beats, now()).unwrap();
        assert_eq!(k.monitors.len(), 1);
        let ok = k.monitor("ok").unwrap();
        assert_eq!((ok.last, ok.uptime_24h), (None, None));
        let page: StatusPage = typed(json!({"publicGroupList": {"monitorList": []}}));
        assert!(parse(&page, &Heartbeats::default(), now()).is_err());
    }

    #[test]
    fn only_the_newest_beats_and_the_first_monitors_are_kept() {
        let list: Vec<_> = (0..MAX_MONITORS + 10)
            .map(|i| json!({"id": i, "name": format!("m{i}")}))
            .collect();
        let page = typed(json!({"publicGroupList": [{"monitorList": list}]}));
        let beats: Vec<_> = (0..MAX_BEATS + 50)
            .map(|i| {
                let t = now() - chrono::Duration::minutes(1000 - i as i64);
                json!({"time": t.to_rfc3339(), "status": 1, "ping": i})
            })
            .collect();
        let beats = typed(json!({"heartbeatList": {"0": beats}}));
        let k = parse(&page, &beats, now()).unwrap();
        assert_eq!(k.monitors.len(), MAX_MONITORS);
        let m = k.monitor("m0").unwrap();
        assert_eq!(m.ping_ms, Some((MAX_BEATS + 49) as u64));
        let kept: u32 = m.buckets.iter().map(|b| b.checks).sum();
        assert_eq!(kept as usize, MAX_BEATS);
    }
}
