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

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use super::error::{FetchError, Reason};
use super::history::{buckets_from, Bucket};
use super::http;
use super::scheduler::Failure;
use super::text;
use crate::config::UptimeKumaConfig;

/// How often the status page is read: Uptime Kuma caches it 1–5 minutes itself.
pub const REFRESH: Duration = Duration::from_secs(60);
/// Longest monitor name kept.
const MAX_NAME: usize = 120;
/// Most monitors read from one page.
const MAX_MONITORS: usize = 500;

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
}

impl Kuma {
    /// The monitor called `name` (trimmed, case-insensitive), if any.
    pub fn monitor(&self, name: &str) -> Option<&Monitor> {
        let want = name.trim().to_lowercase();
        self.monitors
            .iter()
            .find(|m| m.name.trim().to_lowercase() == want)
    }
}

/// Plain text of an owner-typed name: one line, no control or invisible characters,
/// capped (the shared cleaning of upstream text).
pub fn clean_name(s: &str) -> String {
    text::clean(s, MAX_NAME)
}

/// A heartbeat time: `"2026-11-29 22:00:11.630"` (UTC, no zone) or RFC 3339.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|n| n.and_utc())
}

/// Reads both endpoints of the status page.
pub fn fetch(agent: &ureq::Agent, cfg: &UptimeKumaConfig) -> Result<Kuma, Failure> {
    let slug = http::encode_segment(&cfg.slug);
    let host = http::host_of(cfg.url.as_str());
    let get = |path: String| -> Result<Value, Failure> {
        let f = http::get(
            agent,
            &cfg.url.join(&path),
            &[("Accept", "application/json")],
        )?;
        if !(200..300).contains(&f.status) {
            // Kuma answers a wrong slug with 404 and {"status":"fail","msg":"…"}.
            let msg = serde_json::from_slice::<Value>(&f.body)
                .ok()
                .and_then(|v| v.get("msg").and_then(Value::as_str).map(text::clip))
                .unwrap_or_else(|| http::first_line(&f.body));
            return Err(Failure {
                error: FetchError::new(
                    Reason::Http(f.status),
                    format!("HTTP {} from {host}: {msg}", f.status),
                ),
                retry_after: f.retry_after.map(Duration::from_secs),
            });
        }
        Ok(f.json::<Value>(&host)?)
    };
    let page = get(format!("/api/status-page/{slug}"))?;
    let beats = get(format!("/api/status-page/heartbeat/{slug}"))?;
    parse(&page, &beats).map_err(|e| Failure::from(FetchError::bad_data(e)))
}

/// Builds the monitors from the two bodies.
pub fn parse(page: &Value, beats: &Value) -> Result<Kuma, String> {
    let groups = page
        .get("publicGroupList")
        .and_then(Value::as_array)
        .ok_or("status page without publicGroupList")?;
    let heartbeats = beats.get("heartbeatList").and_then(Value::as_object);
    let uptimes = beats.get("uptimeList").and_then(Value::as_object);
    let mut monitors = Vec::new();
    for m in groups
        .iter()
        .filter_map(|g| g.get("monitorList").and_then(Value::as_array))
        .flatten()
        .take(MAX_MONITORS)
    {
        let (Some(id), Some(name)) = (
            m.get("id").and_then(Value::as_i64),
            m.get("name").and_then(Value::as_str),
        ) else {
            continue;
        };
        let key = id.to_string();
        let list: Vec<(DateTime<Utc>, Beat, Option<u64>)> = heartbeats
            .and_then(|h| h.get(&key))
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .filter_map(|b| {
                        // An empty aggregated bucket is the number 0, not an object.
                        let o = b.as_object()?;
                        let t = parse_time(o.get("time")?.as_str()?)?;
                        let s = Beat::from_code(o.get("status")?.as_i64()?)?;
                        Some((t, s, o.get("ping").and_then(Value::as_u64)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let uptime_24h = uptimes
            .and_then(|u| u.get(&format!("{key}_24")).or_else(|| u.get(&key)))
            .and_then(Value::as_f64)
            .filter(|r| r.is_finite())
            .map(|r| r.clamp(0.0, 1.0));
        let mut sorted = list;
        sorted.sort_by_key(|(t, _, _)| *t);
        let last = sorted.last().map(|(_, s, _)| *s);
        let since = last.and_then(|l| {
            sorted
                .iter()
                .rev()
                .take_while(|(_, s, _)| *s == l)
                .last()
                .map(|(t, _, _)| *t)
        });
        let ping_ms = sorted.last().and_then(|(_, _, p)| *p);
        let buckets = buckets_from(sorted.iter().filter_map(|(t, s, _)| match s {
            Beat::Up => Some((*t, true)),
            Beat::Down => Some((*t, false)),
            _ => None,
        }));
        monitors.push(Monitor {
            name: clean_name(name),
            last,
            since,
            ping_ms,
            uptime_24h,
            buckets,
        });
    }
    Ok(Kuma { monitors })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let p = format!(
            "{}/tests/fixtures/uptime-kuma/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
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
        assert!(parse(&serde_json::json!({}), &serde_json::json!({})).is_err());
        let empty = parse(
            &serde_json::json!({"publicGroupList": []}),
            &serde_json::json!({"heartbeatList": {}, "uptimeList": {}}),
        )
        .unwrap();
        assert!(empty.monitors.is_empty());
    }
}
