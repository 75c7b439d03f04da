//! Notices as served in `/api/services` data: the owner's `[[notices]]` and Uptime Kuma's
//! pinned incident and maintenance, merged, filtered to those in effect at a moment,
//! ordered (in effect before upcoming, the more serious first) and given a `when` text in
//! the page's time zone ("until 18:00 CET"), so the page and its script write the same.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{NoticeConfig, NoticeStyle};
use crate::timezone::Zone;

/// How far ahead a scheduled maintenance is announced.
pub const UPCOMING: chrono::Duration = chrono::Duration::days(7);

/// What a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Notice,
    Incident,
    Maintenance,
}

/// Who wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeSource {
    Owner,
    UptimeKuma,
}

/// A notice before it is placed in time: from the configuration or an upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub id: String,
    pub kind: NoticeKind,
    pub style: NoticeStyle,
    pub title: String,
    pub body: String,
    pub source: NoticeSource,
    pub services: Vec<String>,
    /// `None`: the source gives no start (shown from when this process first saw it).
    pub starts: Option<DateTime<Utc>>,
    pub ends: Option<DateTime<Utc>>,
    /// When the source last changed it, if it says.
    pub updated: Option<DateTime<Utc>>,
    /// Whether it may be shown before it starts (a scheduled maintenance).
    pub announce: bool,
}

impl From<&NoticeConfig> for Draft {
    fn from(n: &NoticeConfig) -> Self {
        Draft {
            id: n.id.clone(),
            kind: if n.style == NoticeStyle::Maintenance {
                NoticeKind::Maintenance
            } else {
                NoticeKind::Notice
            },
            style: n.style,
            title: n.title.clone(),
            body: n.body.clone(),
            source: NoticeSource::Owner,
            services: n.services.clone(),
            starts: n.starts,
            ends: n.ends,
            updated: n.starts,
            announce: false,
        }
    }
}

/// One entry of `notices` in `/api/services` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub id: String,
    pub kind: NoticeKind,
    pub style: NoticeStyle,
    pub title: String,
    /// Plain text (line breaks kept); "" when there is none.
    pub body: String,
    pub source: NoticeSource,
    /// Names of the configured services it concerns.
    pub services: Vec<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// When, for people, in the page's time zone: "until 18:00 CET", "from Sun 29 Nov
    /// 02:00 CET to 03:00 CET", "since 28 Nov 19:04 CET", or "" (no times given).
    pub when: String,
}

impl Notice {
    /// What a service card it names says: "maintenance until 18:00 CET", or its title
    /// and when.
    pub(crate) fn card_note(&self) -> String {
        let head = if self.style == NoticeStyle::Maintenance {
            "maintenance"
        } else {
            self.title.as_str()
        };
        match self.when.as_str() {
            "" => head.to_string(),
            w if self.style == NoticeStyle::Maintenance => format!("{head} {w}"),
            w => format!("{head} · {w}"),
        }
    }
}

/// When each notice without a start was first seen (by id), so its `starts_at` holds
/// still from round to round.
#[derive(Debug, Default)]
pub struct FirstSeen(HashMap<String, DateTime<Utc>>);

impl FirstSeen {
    fn at(&mut self, id: &str, now: DateTime<Utc>) -> DateTime<Utc> {
        *self.0.entry(id.to_string()).or_insert(now)
    }
}

/// The notices in effect at `now` (and maintenance announced within [`UPCOMING`]),
/// ordered, with their `when` written in `zone`.
pub(crate) fn current(
    drafts: impl IntoIterator<Item = Draft>,
    seen: &mut FirstSeen,
    now: DateTime<Utc>,
    zone: &Zone,
) -> Vec<Notice> {
    let mut list: Vec<(bool, Notice)> = Vec::new();
    let mut ids = Vec::new();
    for d in drafts {
        if d.ends.is_some_and(|e| e <= now) {
            continue;
        }
        let upcoming = d.starts.is_some_and(|s| s > now);
        if upcoming && !(d.announce && d.starts.is_some_and(|s| s - now <= UPCOMING)) {
            continue;
        }
        ids.push(d.id.clone());
        let starts_at = d.starts.unwrap_or_else(|| seen.at(&d.id, now));
        let when = when(d.starts, d.ends, now, zone);
        list.push((
            upcoming,
            Notice {
                updated_at: d.updated.unwrap_or(starts_at),
                id: d.id,
                kind: d.kind,
                style: d.style,
                title: d.title,
                body: d.body,
                source: d.source,
                services: d.services,
                starts_at,
                ends_at: d.ends,
                when,
            },
        ));
    }
    seen.0.retain(|id, _| ids.contains(id));
    list.sort_by(|(ua, a), (ub, b)| {
        (ua, a.style, a.starts_at, &a.id).cmp(&(ub, b.style, b.starts_at, &b.id))
    });
    list.into_iter().map(|(_, n)| n).collect()
}

/// "until 18:00 CET", "from Sun 29 Nov 02:00 CET to 03:00 CET", "since 19:04 CET", "".
pub(crate) fn when(
    starts: Option<DateTime<Utc>>,
    ends: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    zone: &Zone,
) -> String {
    match (starts, ends) {
        (Some(s), e) if s > now => {
            let from = format!("from {}", time(s, now, zone));
            match e {
                Some(e) => format!("{from} to {}", time(e, s, zone)),
                None => from,
            }
        }
        (_, Some(e)) => format!("until {}", time(e, now, zone)),
        (Some(s), None) => format!("since {}", time(s, now, zone)),
        (None, None) => String::new(),
    }
}

/// `t` in `zone`: "18:00 CET" on the same day as `near`, else "Sun 29 Nov 18:00 CET".
fn time(t: DateTime<Utc>, near: DateTime<Utc>, zone: &Zone) -> String {
    let day = |x: DateTime<Utc>| x.with_timezone(&zone.at(x).0).date_naive();
    if day(t) == day(near) {
        zone.format(t, "%H:%M")
    } else {
        zone.format(t, "%a %-d %b %H:%M")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn draft(id: &str, style: NoticeStyle, starts: Option<&str>, ends: Option<&str>) -> Draft {
        Draft {
            id: id.into(),
            kind: NoticeKind::Notice,
            style,
            title: format!("title {id}"),
            body: String::new(),
            source: NoticeSource::Owner,
            services: vec!["Grafana".into()],
            starts: starts.map(t),
            ends: ends.map(t),
            updated: None,
            announce: false,
        }
    }

    #[test]
    fn only_notices_in_their_window_the_serious_first() {
        let now = t("2026-11-29T12:00:00Z");
        let zone = Zone::utc();
        let mut seen = FirstSeen::default();
        let mut announced = draft(
            "soon",
            NoticeStyle::Maintenance,
            Some("2026-11-30T02:00:00Z"),
            Some("2026-11-30T03:00:00Z"),
        );
        announced.announce = true;
        let mut far = announced.clone();
        far.id = "far".into();
        far.starts = Some(t("2026-12-20T02:00:00Z"));
        far.ends = None;
        let drafts = vec![
            draft("info", NoticeStyle::Info, None, None),
            draft(
                "past",
                NoticeStyle::Danger,
                Some("2026-11-28T00:00:00Z"),
                Some("2026-11-29T11:59:59Z"),
            ),
            draft(
                "later",
                NoticeStyle::Danger,
                Some("2026-11-29T12:00:01Z"),
                None,
            ),
            draft(
                "danger",
                NoticeStyle::Danger,
                Some("2026-11-29T11:00:00Z"),
                Some("2026-11-29T18:00:00Z"),
            ),
            draft(
                "open",
                NoticeStyle::Warning,
                Some("2026-11-28T19:04:00Z"),
                None,
            ),
            announced,
            far,
        ];
        let got = current(drafts.clone(), &mut seen, now, &zone);
        let ids: Vec<&str> = got.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["danger", "open", "info", "soon"]);
        let when: Vec<&str> = got.iter().map(|n| n.when.as_str()).collect();
        assert_eq!(
            when,
            [
                "until 18:00 UTC",
                "since Sat 28 Nov 19:04 UTC",
                "",
                "from Mon 30 Nov 02:00 UTC to 03:00 UTC"
            ]
        );
        assert_eq!(got[0].card_note(), "title danger · until 18:00 UTC");
        assert_eq!(
            got[3].card_note(),
            "maintenance from Mon 30 Nov 02:00 UTC to 03:00 UTC"
        );
        assert_eq!(got[2].card_note(), "title info");
        // A notice without a start keeps the moment it was first seen.
        assert_eq!(got[2].starts_at, now);
        let later = current(drafts, &mut seen, now + chrono::Duration::minutes(5), &zone);
        let info = later.iter().find(|n| n.id == "info").unwrap();
        assert_eq!((info.starts_at, info.updated_at), (now, now));
    }

    #[test]
    fn times_are_written_in_the_zone() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tz");
        let zone = Zone::resolve(Some("Europe/Amsterdam"), &root).unwrap();
        let now = t("2026-11-29T12:00:00Z");
        let until = when(None, Some(t("2026-11-29T17:00:00Z")), now, &zone);
        assert_eq!(until, "until 18:00 CET");
        let json = serde_json::to_value(NoticeKind::Maintenance).unwrap();
        assert_eq!(json, "maintenance");
        assert_eq!(
            serde_json::to_value(NoticeSource::UptimeKuma).unwrap(),
            "uptime_kuma"
        );
    }
}
