//! `GET /metrics`: Prometheus text exposition (format 0.0.4) of the latest sample, the
//! feeds and the process's own request counters. Rendered from memory, no I/O. This file
//! owns the writer, the feed and process families and the handler; the sample's families
//! are in `host` and `containers`, the services' in `services`.

mod containers;
mod host;
mod services;

use std::fmt::{Display, Write as _};
use std::sync::atomic::Ordering;

use actix_web::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{web, HttpResponse};

use crate::feeds::feed::Feed;
use crate::feeds::{FeedStatus, Snapshot};
use crate::state::AppState;
use crate::tasks::TASK_PANICS;

/// Escapes a label value: backslash, double quote and line feed (exposition format).
pub(crate) fn escape_label(v: &str) -> std::borrow::Cow<'_, str> {
    if !v.contains(['\\', '"', '\n']) {
        return v.into();
    }
    let mut s = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.into()
}

/// Writes one metric family at a time: `# HELP`, `# TYPE`, then its samples.
struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape_label(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    /// A family with one unlabelled sample; nothing when the value is unknown (a missing
    /// series, as Prometheus expects, rather than a made-up 0).
    fn gauge(&mut self, name: &str, help: &str, value: Option<impl Display>) {
        if let Some(v) = value {
            self.family(name, "gauge", help);
            self.sample(name, &[], v);
        }
    }

    /// A family of labelled samples; the `None` values are left out, and the family
    /// header too when nothing is left.
    fn labelled<'a, V: Display>(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        rows: impl IntoIterator<Item = (Vec<(&'a str, &'a str)>, Option<V>)>,
    ) {
        let mut header = false;
        for (labels, v) in rows {
            let Some(v) = v else { continue };
            if !header {
                self.family(name, kind, help);
                header = true;
            }
            self.sample(name, &labels, v);
        }
    }
}

/// (feed name, status, age) of every feed.
fn feed_rows(state: &AppState) -> Vec<(String, FeedStatus, Option<u64>)> {
    fn row<T>(name: String, s: Snapshot<T>) -> (String, FeedStatus, Option<u64>) {
        (name, s.status, s.age_seconds)
    }
    let f = state.feeds();
    let mut rows = Vec::new();
    for feed in Feed::ALL {
        let name = feed.name().to_string();
        match feed {
            Feed::Weather => rows.push(row(name, f.weather.snapshot())),
            Feed::Activity => rows.push(row(name, f.activity.snapshot())),
            Feed::Services => rows.push(row(name, f.services.snapshot())),
            // Reported with the services (`uptime_kuma` in `/api/services`).
            Feed::UptimeKuma => {}
            Feed::Peer => {
                for (peer, cache) in &f.peers {
                    rows.push(row(format!("{name}:{}", peer.name), cache.snapshot()));
                }
            }
        }
    }
    rows
}

const STATUSES: [FeedStatus; 5] = [
    FeedStatus::Ok,
    FeedStatus::Stale,
    FeedStatus::Pending,
    FeedStatus::Error,
    FeedStatus::Disabled,
];

/// Renders the exposition text for `audience` (a public scrape, when allowed at all,
/// gets the public sample: no containers).
pub(crate) fn render(state: &AppState, audience: crate::access::Audience) -> String {
    let mut o = Out(String::with_capacity(8192));
    let stalled = state.metrics.stalled();
    if let Some(p) = state.metrics.latest() {
        host::host_metrics(&mut o, p.sample(audience));
        o.gauge(
            "kiteportal_sampler_last_success_timestamp_seconds",
            "When the sampler last published a sample (Unix time).",
            Some(p.sample.timestamp.timestamp_millis() as f64 / 1000.0),
        );
    }
    o.gauge(
        "kiteportal_sampler_stale",
        "1 when the sampler has not published for 3 intervals (see /api/health), else 0.",
        Some(u8::from(stalled.is_some())),
    );

    let feeds = feed_rows(state);
    o.labelled(
        "kiteportal_feed_status",
        "gauge",
        "1 for the feed's current status (ok, stale, pending, error, disabled), else 0.",
        feeds.iter().flat_map(|(name, status, _)| {
            STATUSES.iter().map(move |s| {
                (
                    vec![
                        ("feed", name.as_str()),
                        ("status", crate::names::name_of(&s)),
                    ],
                    Some(u8::from(s == status)),
                )
            })
        }),
    );
    o.labelled(
        "kiteportal_feed_age_seconds",
        "gauge",
        "Seconds since the feed's data was last fetched.",
        feeds
            .iter()
            .map(|(name, _, age)| (vec![("feed", name.as_str())], *age)),
    );

    if let Some(data) = state.feeds().services.snapshot().data {
        // A public scrape (`access.public_metrics`) gets the public copy: no owner-only
        // services.
        let public = audience
            .is_public()
            .then(|| crate::access::Redact::redacted(&*data))
            .flatten();
        services::service_metrics(&mut o, public.as_ref().unwrap_or(&data));
    }

    o.family(
        "kiteportal_http_requests_total",
        "counter",
        "Requests answered, by status class.",
    );
    for (class, n) in state.requests.counts() {
        o.sample("kiteportal_http_requests_total", &[("code", class)], n);
    }
    o.family(
        "kiteportal_task_panics_total",
        "counter",
        "Background task restarts after a panic.",
    );
    o.sample(
        "kiteportal_task_panics_total",
        &[],
        TASK_PANICS.load(Ordering::Relaxed),
    );
    o.family(
        "kiteportal_page_renders_total",
        "counter",
        "Times the page was rendered (this host's, or a peer's for /?host=).",
    );
    for (page, n) in crate::routes::pages::renders() {
        o.sample("kiteportal_page_renders_total", &[("page", page)], n);
    }
    o.0
}

/// `GET /metrics`: private by default (it names devices, mounts and sensors); the public
/// get the same 404 as any unknown path unless `access.public_metrics` is on.
pub(crate) async fn metrics(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    audience: crate::access::Audience,
) -> HttpResponse {
    if audience.is_public() && !state.config().access.public_metrics {
        return crate::routes::errors::not_found(&req);
    }
    HttpResponse::Ok()
        .insert_header((
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        ))
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(render(&state, audience))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("plain"), "plain");
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
