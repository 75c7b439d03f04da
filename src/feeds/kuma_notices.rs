//! Uptime Kuma's notices on its published status page: the pinned `incident` (null or
//! one object) and the `maintenanceList` entries that are `under-maintenance` or
//! `scheduled`, read into bounded types and made into notice drafts.
//!
//! Kuma writes incident dates as `YYYY-MM-DD HH:mm:ss` in UTC; a `single` maintenance's
//! timeslots are wall-clock times in the maintenance's own zone (read with its
//! `timezoneOffset`), recurring ones RFC 3339; a `manual` maintenance has no dates. The
//! incident's `content` is Markdown written by the owner: shown as plain text (emphasis
//! and heading marks dropped), cleaned and capped like every upstream text.

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use serde::Deserialize;

use super::lenient::{First, FromObject, One, Scalar};
use super::notices::{Draft, NoticeKind, NoticeSource};
use super::uptime_kuma::parse_time;
use crate::config::{NoticeStyle, MAX_BODY, MAX_TITLE};
use crate::text;

/// Most maintenance entries read from one page.
pub const MAX_MAINTENANCE: usize = 20;
/// Most timeslots read of one maintenance (Kuma sends the running one and the next).
const MAX_SLOTS: usize = 8;
/// Most lines of a body.
const MAX_LINES: usize = 20;

/// The pinned incident.
#[derive(Debug)]
pub struct Incident(Draft);

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RawIncident {
    id: Scalar,
    style: Scalar,
    title: Scalar,
    content: Scalar,
    pin: Scalar,
    created_date: Scalar,
    last_updated_date: Scalar,
}

impl FromObject for Incident {
    type Raw = RawIncident;
    fn from_raw(raw: RawIncident) -> Option<Incident> {
        if raw.pin == Scalar::Bool(false) || raw.pin == Scalar::I64(0) || raw.pin == Scalar::U64(0)
        {
            return None;
        }
        let title = text::clean(raw.title.as_str().unwrap_or(""), MAX_TITLE);
        let body = plain(raw.content.as_str().unwrap_or(""));
        if title.is_empty() && body.is_empty() {
            return None;
        }
        let now = Utc::now();
        let date = |v: &Scalar| {
            v.as_str()
                .and_then(parse_time)
                .and_then(|t| text::plausible_date(t, now))
        };
        let starts = date(&raw.created_date);
        let style = match raw.style.as_str() {
            Some("danger") => NoticeStyle::Danger,
            Some("warning") => NoticeStyle::Warning,
            _ => NoticeStyle::Info,
        };
        Some(Incident(Draft {
            id: raw
                .id
                .as_i64()
                .map_or("kuma-incident".into(), |i| format!("kuma-incident-{i}")),
            kind: NoticeKind::Incident,
            style,
            title: if title.is_empty() {
                "Incident".into()
            } else {
                title
            },
            body,
            source: NoticeSource::UptimeKuma,
            services: Vec::new(),
            starts,
            ends: None,
            updated: date(&raw.last_updated_date).or(starts),
            announce: false,
        }))
    }
}

/// A maintenance that is under way or scheduled, with the slot that matters now.
#[derive(Debug)]
pub struct Maintenance {
    draft: Draft,
    /// Scheduled without a known time (nothing to announce).
    scheduled_without_time: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RawMaintenance {
    id: Scalar,
    title: Scalar,
    description: Scalar,
    status: Scalar,
    timeslot_list: First<Slot, MAX_SLOTS>,
    timezone: Scalar,
    timezone_offset: Scalar,
}

/// One timeslot, its dates as written.
#[derive(Debug)]
pub struct Slot {
    start: String,
    end: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RawSlot {
    start_date: Scalar,
    end_date: Scalar,
}

impl FromObject for Slot {
    type Raw = RawSlot;
    fn from_raw(raw: RawSlot) -> Option<Slot> {
        Some(Slot {
            start: raw.start_date.as_str()?.to_string(),
            end: raw.end_date.as_str()?.to_string(),
        })
    }
}

impl FromObject for Maintenance {
    type Raw = RawMaintenance;
    fn from_raw(raw: RawMaintenance) -> Option<Maintenance> {
        let status = raw.status.as_str()?;
        if status != "under-maintenance" && status != "scheduled" {
            return None;
        }
        let offset = zone_offset(&raw.timezone, &raw.timezone_offset);
        let now = Utc::now();
        // The slot under way, else the next one.
        let slot = raw
            .timeslot_list
            .items()
            .iter()
            .filter_map(|s| Some((slot_time(&s.start, offset)?, slot_time(&s.end, offset)?)))
            .filter(|(s, e)| s < e && *e > now)
            .min_by_key(|(s, _)| *s);
        let title = text::clean(raw.title.as_str().unwrap_or(""), MAX_TITLE);
        Some(Maintenance {
            scheduled_without_time: status == "scheduled" && slot.is_none(),
            draft: Draft {
                id: format!("kuma-maintenance-{}", raw.id.as_i64()?),
                kind: NoticeKind::Maintenance,
                style: NoticeStyle::Maintenance,
                title: if title.is_empty() {
                    "Maintenance".into()
                } else {
                    title
                },
                body: plain(raw.description.as_str().unwrap_or("")),
                source: NoticeSource::UptimeKuma,
                services: Vec::new(),
                starts: slot.map(|s| s.0),
                ends: slot.map(|s| s.1),
                updated: None,
                announce: true,
            },
        })
    }
}

/// The notices of a status page: its incident, then its maintenance.
pub(crate) fn drafts(
    incident: &One<Incident>,
    maintenance: &First<Maintenance, MAX_MAINTENANCE>,
) -> Vec<Draft> {
    incident
        .0
        .iter()
        .map(|i| i.0.clone())
        .chain(
            maintenance
                .items()
                .iter()
                .filter(|m| !m.scheduled_without_time)
                .map(|m| m.draft.clone()),
        )
        .collect()
}

/// The maintenance's offset from UTC: `timezoneOffset` ("+01:00"), else UTC when its
/// zone is UTC or not given; `None` for a zone whose offset is not said.
fn zone_offset(zone: &Scalar, offset: &Scalar) -> Option<FixedOffset> {
    if let Some(o) = offset.as_str().and_then(parse_offset) {
        return Some(o);
    }
    match zone.as_str().map(str::trim) {
        None | Some("" | "UTC" | "Etc/UTC") => FixedOffset::east_opt(0),
        Some(_) => None,
    }
}

/// "+01:00", "-05:30", "+0530".
fn parse_offset(s: &str) -> Option<FixedOffset> {
    let s = s.trim();
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..].parse().ok()?;
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// A timeslot date: RFC 3339 as is, a wall-clock time in `offset`; dates before 1990 or
/// more than two years ahead are bad data.
fn slot_time(s: &str, offset: Option<FixedOffset>) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let t = match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.to_utc(),
        Err(_) => {
            let local = [
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())?;
            local.and_local_timezone(offset?).single()?.to_utc()
        }
    };
    let ahead = Utc::now() + chrono::Duration::days(730);
    text::plausible_date(t, ahead)
}

/// Markdown as plain text: heading, quote and emphasis marks dropped, lines kept,
/// cleaned and capped.
pub(crate) fn plain(md: &str) -> String {
    let lines: Vec<String> = md
        .lines()
        .take(4 * MAX_LINES)
        .map(|l| {
            let l = l.trim_start();
            let l = l.trim_start_matches('#').trim_start_matches('>');
            l.replace("**", "").replace("__", "").replace('`', "")
        })
        .collect();
    text::clean_lines(&lines.join("\n"), MAX_BODY, MAX_LINES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Page {
        incident: One<Incident>,
        #[serde(rename = "maintenanceList")]
        maintenance: First<Maintenance, MAX_MAINTENANCE>,
    }

    fn page(v: serde_json::Value) -> Vec<Draft> {
        let p: Page = serde_json::from_value(v).unwrap();
        drafts(&p.incident, &p.maintenance)
    }

    fn fixture() -> serde_json::Value {
        let p = format!(
            "{}/tests/fixtures/uptime-kuma/status-page-incident.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    }

    #[test]
    fn the_fixtures_incident_and_maintenance() {
        let mut v = fixture();
        // The single maintenance runs now (its fixture dates are in the past).
        let now = Utc::now();
        let local = |t: DateTime<Utc>| {
            (t + chrono::Duration::hours(1))
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        };
        v["maintenanceList"][1]["timeslotList"][0] = json!({
            "startDate": local(now - chrono::Duration::hours(1)),
            "endDate": local(now + chrono::Duration::hours(3)),
        });
        let d = page(v);
        let ids: Vec<&str> = d.iter().map(|n| n.id.as_str()).collect();
        // The recurring one is scheduled without a time: nothing to announce.
        assert_eq!(ids, ["kuma-incident-3", "kuma-maintenance-5"]);
        let inc = &d[0];
        assert_eq!(inc.title, "Media server migrating to new disks");
        assert_eq!(
            inc.body,
            "Streams may stutter until Sunday 18:00.\nDownloads are paused."
        );
        assert_eq!(inc.style, NoticeStyle::Warning);
        assert_eq!(inc.starts, parse_time("2026-11-28 19:04:11"));
        assert_eq!(inc.updated, parse_time("2026-11-29 08:15:40"));
        let m = &d[1];
        let secs = |t: DateTime<Utc>| t.timestamp() / 60;
        assert_eq!(
            m.starts.map(secs),
            Some(secs(now - chrono::Duration::hours(1)))
        );
        assert_eq!(
            m.ends.map(secs),
            Some(secs(now + chrono::Duration::hours(3)))
        );
        assert_eq!(
            (m.style, m.kind),
            (NoticeStyle::Maintenance, NoticeKind::Maintenance)
        );
    }

    #[test]
    fn every_strategy_and_status() {
        let soon = (Utc::now() + chrono::Duration::hours(5)).to_rfc3339();
        let later = (Utc::now() + chrono::Duration::hours(6)).to_rfc3339();
        let m = |id: i64, strategy: &str, status: &str, slots: serde_json::Value| {
            json!({"id": id, "title": format!("m{id}"), "strategy": strategy, "status": status,
                   "timeslotList": slots, "timezone": "UTC", "timezoneOffset": "+00:00"})
        };
        let slot = json!([{"startDate": soon, "endDate": later}]);
        let d = page(json!({"incident": null, "maintenanceList": [
            m(1, "manual", "under-maintenance", json!([])),
            m(2, "single", "scheduled", slot.clone()),
            m(3, "recurring-interval", "scheduled", slot.clone()),
            m(4, "recurring-weekday", "ended", slot.clone()),
            m(5, "recurring-day-of-month", "inactive", slot.clone()),
            m(6, "cron", "unknown", slot.clone()),
            m(7, "cron", "scheduled", json!([])),
            m(8, "single", "under-maintenance", json!([{"startDate": "garbage", "endDate": 5}])),
            "not an object", {"id": "x", "status": "scheduled"},
        ]}));
        let ids: Vec<&str> = d.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "kuma-maintenance-1",
                "kuma-maintenance-2",
                "kuma-maintenance-3",
                "kuma-maintenance-8"
            ]
        );
        assert_eq!((d[0].starts, d[0].ends), (None, None));
        assert!(d[1].starts.is_some() && d[1].announce);
        assert_eq!(d[3].starts, None);
    }

    #[test]
    fn hostile_text_is_plain_and_bounded() {
        let big = "A".repeat(1 << 20);
        let d = page(
            json!({"incident": {"id": 9, "style": "primary", "pin": true,
            "title": "<script>alert(1)</script>\u{202E}gnp.exe",
            "content": format!("# Head\n\n> **bold** `code`\u{200B}\n{big}"),
            "createdDate": "9999-01-01 00:00:00"}}),
        );
        let i = &d[0];
        assert_eq!(i.title, "<script>alert(1)</script>gnp.exe");
        assert!(
            i.body.starts_with("Head\n\nbold code\nAAA"),
            "{}",
            &i.body[..40]
        );
        assert!(i.body.chars().count() <= MAX_BODY);
        assert_eq!(i.style, NoticeStyle::Info);
        // A date far ahead is not believed.
        assert_eq!(i.starts, None);
        for pin in [json!(false), json!(0)] {
            let unpinned = page(json!({"incident": {"id": 1, "title": "x", "pin": pin}}));
            assert!(unpinned.is_empty(), "pin {pin}");
        }
        assert_eq!(parse_offset("+05:30"), FixedOffset::east_opt(19_800));
        assert_eq!(parse_offset("-0100"), FixedOffset::east_opt(-3600));
        assert_eq!(parse_offset("+25:00"), None);
        assert_eq!(parse_offset("Z"), None);
    }
}
