//! `GET /status.atom`: an Atom 1.0 feed of what a visitor of the status page would want
//! to follow: each notice in effect (the owner's and Uptime Kuma's) and each service
//! status change with its public reason class, never a host or upstream text; newest
//! first, at most 50. Ids are stable: the same change or notice has the same id on every
//! request (a change's on both replicas too).

use actix_web::http::header::HeaderValue;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};

use super::edge::{self, Kind};
use super::negotiation::{conditional, Encoding, Representation};
use crate::access::{Audience, Redact};
use crate::feeds::changes::Transition;
use crate::feeds::notices::Notice;
use crate::feeds::ServiceState;
use crate::state::AppState;

/// Entries at most.
pub const MAX_ENTRIES: usize = 50;

/// The feed's id: one site, whichever replica answers.
const FEED_ID: &str = "urn:kiteportal:status";

/// Escapes text for XML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow (control characters) are dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A stable id for a change: the service, the new status and when it began.
fn change_id(t: &Transition) -> String {
    let slug: String = t
        .service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let hash = {
        use std::hash::Hasher;
        let mut h = std::hash::DefaultHasher::new();
        h.write(t.service.as_bytes());
        h.finish() & 0xffff_ffff
    };
    format!(
        "urn:kiteportal:change:{slug}-{hash:08x}:{}:{}",
        t.at.timestamp(),
        t.to
    )
}

/// One entry: "Forgejo is down (connection refused)".
fn change_entry(t: &Transition) -> String {
    let why = match (t.to, &t.reason) {
        (ServiceState::Up, _) | (_, None) => String::new(),
        (_, Some(r)) => format!(" ({r})"),
    };
    let title = format!("{} is {}{why}", t.service, t.to);
    let summary = format!(
        "{} changed from {} to {} at {}.",
        t.service,
        t.from,
        t.to,
        time(t.at)
    );
    format!(
        "<entry><id>{}</id><title>{}</title><updated>{}</updated>\
         <link rel=\"alternate\" type=\"text/html\" href=\"/\"/>\
         <category term=\"{}\"/><summary>{}</summary></entry>",
        esc(&change_id(t)),
        esc(&title),
        time(t.at),
        t.to,
        esc(&summary)
    )
}

/// Longest notice body in an entry's summary.
const MAX_SUMMARY: usize = 600;

/// One entry per notice: "[maintenance] Photos upgrade · until 18:00 CET".
fn notice_entry(n: &Notice) -> String {
    let when = if n.when.is_empty() {
        String::new()
    } else {
        format!(" · {}", n.when)
    };
    let title = format!("[{}] {}{when}", n.style, n.title);
    let body: String = n.body.chars().take(MAX_SUMMARY).collect();
    format!(
        "<entry><id>urn:kiteportal:notice:{}</id><title>{}</title><updated>{}</updated>\
         <published>{}</published><link rel=\"alternate\" type=\"text/html\" href=\"/\"/>\
         <category term=\"{}\"/><summary>{}</summary></entry>",
        esc(&n.id),
        esc(&title),
        time(n.updated_at),
        time(n.starts_at),
        n.style,
        esc(if body.is_empty() { &n.title } else { &body })
    )
}

/// The whole feed for `notices` and `changes` (oldest first) as of `now`.
pub(crate) fn render(notices: &[Notice], changes: &[Transition], now: DateTime<Utc>) -> String {
    let mut entries: Vec<(DateTime<Utc>, String)> = notices
        .iter()
        .map(|n| (n.updated_at, notice_entry(n)))
        .chain(changes.iter().map(|t| (t.at, change_entry(t))))
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.0));
    entries.truncate(MAX_ENTRIES);
    let updated = entries.first().map_or(now, |e| e.0);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <feed xmlns=\"http://www.w3.org/2005/Atom\">\
         <id>{FEED_ID}</id><title>KiteStacks status</title>\
         <subtitle>Service status changes of the KiteStacks homelab</subtitle>\
         <updated>{}</updated><author><name>KiteStacks</name></author>\
         <link rel=\"self\" type=\"application/atom+xml\" href=\"/status.atom\"/>\
         <link rel=\"alternate\" type=\"text/html\" href=\"/\"/>",
        time(updated)
    );
    for (_, e) in entries {
        out.push_str(&e);
    }
    out.push_str("</feed>\n");
    out
}

/// `GET /status.atom`: the same public-safe feed for everyone.
pub(crate) async fn feed(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let snap = state.feeds().services.snapshot();
    // The feed is public: the public copy of the data, never an owner-only service.
    let public = snap.data.as_deref().and_then(Redact::redacted);
    let (notices, changes) = public
        .as_ref()
        .or(snap.data.as_deref())
        .map_or((&[][..], &[][..]), |d| (&d.notices[..], &d.changes[..]));
    let body = Bytes::from(render(notices, changes, Utc::now()));
    let interval = state.config().metrics.interval;
    conditional(
        &req,
        Representation {
            etag: &edge::etag(&body),
            body: &body,
            encoding: Encoding::Identity,
            content_type: &HeaderValue::from_static("application/atom+xml; charset=utf-8"),
            cache_control: &edge::cache_control(Kind::Json, Audience::Public, interval),
            vary: false,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(service: &str, to: ServiceState, min: i64) -> Transition {
        Transition {
            service: service.into(),
            from: ServiceState::Up,
            to,
            reason: (to == ServiceState::Down).then(|| "connection refused".into()),
            detail: Some("connect to 10.0.0.5:3000 refused".into()),
            at: DateTime::from_timestamp(1_764_700_000 + min * 60, 0).unwrap(),
        }
    }

    #[test]
    fn newest_first_capped_escaped_and_without_details() {
        let mut changes: Vec<Transition> = (0..60)
            .map(|i| change(&format!("svc{i}"), ServiceState::Down, i))
            .collect();
        changes.push(change("<b>Photos</b> & co", ServiceState::Down, 100));
        let xml = render(&[], &changes, Utc::now());
        assert_eq!(xml.matches("<entry>").count(), MAX_ENTRIES);
        let first = xml
            .find("&lt;b&gt;Photos&lt;/b&gt; &amp; co is down")
            .unwrap();
        assert!(first < xml.find("svc59 is down").unwrap(), "newest first");
        assert!(!xml.contains("svc9 is"), "the oldest fell out");
        assert!(!xml.contains("10.0.0.5"), "no upstream detail");
        assert!(xml.contains("(connection refused)"));
        assert_eq!(change_id(&changes[3]), change_id(&changes[3].clone()));
        assert_ne!(change_id(&changes[3]), change_id(&changes[4]));
    }
}
