//! Upstream feeds (weather, Forgejo activity, service checks, Uptime Kuma, peers): one
//! module per upstream, the shared `Cached` value with its envelope states and the one
//! `scheduler` loop, and the data types each feed serves. The feeds know nothing of the
//! web or the shared state: `background` runs them and publishes what they produce.

pub(crate) mod cached;
pub(crate) mod changes;
pub(crate) mod check_history;
pub(crate) mod days;
pub(crate) mod error;
pub(crate) mod feed;
pub mod forgejo;
pub mod http;
pub(crate) mod kuma_notices;
pub(crate) mod lenient;
pub(crate) mod notices;
pub(crate) mod notify;
pub mod peers;
pub(crate) mod persist;
pub(crate) mod scheduler;
pub(crate) mod services;
pub(crate) mod uptime_kuma;
pub mod weather;

pub(crate) use cached::{Cached, FeedStatus, Snapshot};
pub(crate) use error::{FetchError, Reason};

use std::borrow::Cow;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{Audience, Redact};
use crate::host::Sample;

/// The envelope as served: `error` is the detail for the owner, the reason class for
/// the public; `data` is the audience's copy.
#[derive(Serialize)]
struct Envelope<'a, T> {
    status: FeedStatus,
    updated_at: Option<DateTime<Utc>>,
    age_seconds: Option<u64>,
    error: Option<Cow<'a, str>>,
    data: Option<&'a T>,
}

/// A feed envelope as JSON for `audience`: the one serialisation behind both
/// `/api/<feed>` and the stream's `data:` lines, so the two can never differ.
pub(crate) fn envelope_json<T: Serialize + Redact>(
    snapshot: &Snapshot<T>,
    audience: Audience,
) -> Bytes {
    let public = audience.is_public();
    let redacted = match &snapshot.data {
        Some(d) if public => d.redacted(),
        _ => None,
    };
    let envelope = Envelope {
        status: snapshot.status,
        updated_at: snapshot.updated_at,
        age_seconds: snapshot.age_seconds,
        error: snapshot.error.as_ref().map(|e| {
            if public {
                e.reason.label()
            } else {
                Cow::Borrowed(e.detail.as_str())
            }
        }),
        data: redacted.as_ref().or(snapshot.data.as_deref()),
    };
    match serde_json::to_vec(&envelope) {
        Ok(v) => Bytes::from(v),
        // Our own types always serialise; keep the envelope shape if one ever does not.
        Err(e) => Bytes::from(
            serde_json::json!({"status": "error", "updated_at": null, "age_seconds": null,
                "error": format!("cannot serialise: {e}"), "data": null})
            .to_string(),
        ),
    }
}

/// `/api/weather` data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Weather {
    pub location: String,
    pub temp_c: f64,
    pub feels_like_c: f64,
    pub humidity: f64,
    pub description: String,
    pub wind_kmph: f64,
    pub wind_dir: String,
    pub code: u32,
    pub forecast: Vec<Forecast>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// `YYYY-MM-DD`, the location's local date.
    pub date: String,
    pub max_c: f64,
    pub min_c: f64,
    pub description: String,
}

/// `/api/activity` data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub items: Vec<Commit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    pub repo: String,
    pub repo_url: String,
    pub sha: String,
    pub short_sha: String,
    /// First line of the commit message, as text (never HTML).
    pub message: String,
    pub author: String,
    pub date: DateTime<Utc>,
    pub url: String,
}

/// `/api/services` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Services {
    pub summary: Summary,
    /// Uptime Kuma as a source.
    pub uptime_kuma: KumaLink,
    pub services: Vec<ServiceStatus>,
    /// Checks since this process started, per service: (name, up, not up). For
    /// `/metrics`; not part of the JSON.
    #[serde(skip)]
    pub checks_total: Vec<(String, u64, u64)>,
    /// The recent status changes, oldest first, for `/status.atom`; not part of the JSON.
    #[serde(skip)]
    pub changes: Vec<changes::Transition>,
    /// The owner's and Uptime Kuma's notices in effect (and maintenance announced).
    #[serde(default)]
    pub notices: Vec<notices::Notice>,
}

/// Services by status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub up: usize,
    pub down: usize,
    pub unknown: usize,
    pub maintenance: usize,
    pub total: usize,
}

impl Summary {
    /// The counts of `list`.
    pub(crate) fn of(list: &[ServiceStatus]) -> Summary {
        let mut summary = Summary {
            total: list.len(),
            ..Summary::default()
        };
        for s in list {
            match s.status {
                ServiceState::Up => summary.up += 1,
                ServiceState::Down => summary.down += 1,
                ServiceState::Maintenance => summary.maintenance += 1,
                ServiceState::Unknown => summary.unknown += 1,
            }
        }
        summary
    }
}

/// Share of checks up (0..1), `null` until there is data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Uptime {
    #[serde(rename = "24h")]
    pub day: Option<f64>,
    #[serde(rename = "7d")]
    pub week: Option<f64>,
    /// Our own probes over the last 90 days (daily buckets).
    #[serde(rename = "90d", default)]
    pub quarter: Option<f64>,
}

/// A service's status as served: our own probes' debounced status, or Uptime Kuma's
/// (which adds maintenance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceState {
    Up,
    Down,
    Unknown,
    Maintenance,
}

impl ServiceState {
    /// The state named `s`.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        crate::names::parse(s)
    }
}

impl From<check_history::Status> for ServiceState {
    fn from(s: check_history::Status) -> Self {
        match s {
            check_history::Status::Up => ServiceState::Up,
            check_history::Status::Down => ServiceState::Down,
            check_history::Status::Unknown => ServiceState::Unknown,
        }
    }
}

/// Where a service's status comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusSource {
    /// Our own checks.
    Probe,
    /// Uptime Kuma's monitor of the same name.
    UptimeKuma,
}

crate::names::display_by_name!(ServiceState, StatusSource);

/// Uptime Kuma as a source of the services' status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KumaLink {
    /// Not configured.
    Disabled,
    /// Configured, not read yet.
    Pending,
    /// Read: its monitors give the status of the services they watch.
    Ok,
    /// The last read failed or is too old: our own probes stand in.
    Unreachable,
}

/// One entry of `/api/services` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub name: String,
    pub url: String,
    pub description: String,
    pub icon: String,
    pub group: String,
    pub status: ServiceState,
    pub latency_ms: Option<u64>,
    pub http_status: Option<u16>,
    /// Why it is not up, as a short class ("timeout", "HTTP 502"); `null` when up.
    pub reason: Option<String>,
    /// When the current status began.
    pub since: Option<DateTime<Utc>>,
    pub checked_at: Option<DateTime<Utc>>,
    /// Where the status comes from.
    pub source: StatusSource,
    pub uptime: Uptime,
    /// The last 24 h in 48 half-hour buckets, oldest first.
    pub history: Vec<check_history::BarCell>,
    /// The last 90 local days, oldest first (our own probes). Always 90 in the API; left
    /// out (empty) only in the page's own stream, which does not redraw them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<days::DayCell>,
    /// Owner-only (`visibility = "private"`): the public copy leaves it out. Not part
    /// of the JSON.
    #[serde(skip)]
    pub private: bool,
}

/// One entry of `/api/hosts` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostEntry {
    pub name: String,
    #[serde(rename = "self")]
    pub is_self: bool,
    /// The feed status of this host's metrics (`ok`, `stale`, `error`, `pending`).
    pub status: FeedStatus,
    /// When its metrics last arrived (a peer's last good fetch).
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub age_seconds: Option<u64>,
    /// Why the last fetch failed: the detail for the owner, the class for the public.
    #[serde(default)]
    pub error: Option<String>,
    #[serde(skip)]
    pub reason: Option<Reason>,
    /// Its sampling interval, in seconds.
    #[serde(default)]
    pub interval_seconds: Option<f64>,
    pub metrics: Option<Sample>,
}

impl Redact for Weather {}
impl Redact for Activity {}
impl Redact for ServiceStatus {}

#[cfg(test)]
impl ServiceStatus {
    /// Service `name` (see `Service::for_test`) in `status`, with no history.
    pub(crate) fn for_test(name: &str, status: ServiceState) -> Self {
        ServiceStatus {
            status,
            history: Vec::new(),
            days: Vec::new(),
            ..services::unknown(&crate::config::Service::for_test(name), Utc::now())
        }
    }
}
impl Redact for Services {
    /// The public copy: without the owner-only services, their counts in the summary,
    /// their checks, their changes and their names in notices.
    fn redacted(&self) -> Option<Self> {
        if !self.services.iter().any(|s| s.private) {
            return None;
        }
        let hidden = |name: &str| self.services.iter().any(|s| s.private && s.name == name);
        let services: Vec<ServiceStatus> = self
            .services
            .iter()
            .filter(|s| !s.private)
            .cloned()
            .collect();
        let notices = self
            .notices
            .iter()
            .map(|n| {
                let mut n = n.clone();
                n.services.retain(|s| !hidden(s));
                n
            })
            .collect();
        Some(Services {
            summary: Summary::of(&services),
            uptime_kuma: self.uptime_kuma,
            checks_total: self
                .checks_total
                .iter()
                .filter(|(n, _, _)| !hidden(n))
                .cloned()
                .collect(),
            changes: self
                .changes
                .iter()
                .filter(|t| !hidden(&t.service))
                .cloned()
                .collect(),
            notices,
            services,
        })
    }
}

impl Redact for HostEntry {
    /// The public copy: the public sample, and the error's class instead of its detail.
    fn redacted(&self) -> Option<Self> {
        Some(HostEntry {
            metrics: self
                .metrics
                .as_ref()
                .map(|m| m.redacted().unwrap_or_else(|| m.clone())),
            error: self.error.as_ref().map(|_| {
                self.reason
                    .map_or("unavailable".into(), |r| r.label().into_owned())
            }),
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn failed<T>(data: Option<T>) -> Snapshot<T> {
        Snapshot {
            status: FeedStatus::Stale,
            updated_at: None,
            age_seconds: Some(90),
            error: Some(FetchError::new(
                Reason::Refused,
                "connect 10.0.0.5:3000: refused",
            )),
            data: data.map(Arc::new),
        }
    }

    fn json(b: Bytes) -> serde_json::Value {
        serde_json::from_slice(&b).expect("an envelope is JSON")
    }

    #[test]
    fn the_envelope_gives_the_owner_the_detail_and_the_public_the_class() {
        let weather = Weather {
            location: "Bengaluru".into(),
            ..Weather::default()
        };
        let snap = failed(Some(weather));
        let private = json(envelope_json(&snap, Audience::Private));
        assert_eq!(private["status"], "stale");
        assert_eq!(private["age_seconds"], 90);
        assert_eq!(private["updated_at"], serde_json::Value::Null);
        assert_eq!(private["error"], "connect 10.0.0.5:3000: refused");
        assert_eq!(private["data"]["location"], "Bengaluru");
        let public = json(envelope_json(&snap, Audience::Public));
        assert_eq!(public["error"], "connection refused");
        assert_eq!(public["data"]["location"], "Bengaluru");
        let empty = json(envelope_json(&failed::<Weather>(None), Audience::Public));
        assert_eq!(empty["data"], serde_json::Value::Null);
    }

    #[test]
    fn a_public_host_entry_says_the_class_of_its_error_and_hides_the_samples_paths() {
        let mut metrics = Sample::default();
        metrics.view.proc = Some("/host/proc".into());
        let entry = HostEntry {
            name: "kscloud1".into(),
            is_self: false,
            status: FeedStatus::Stale,
            updated_at: None,
            age_seconds: Some(70),
            error: Some("GET http://100.64.0.2:8080/api/metrics: timed out".into()),
            reason: Some(Reason::Timeout),
            interval_seconds: Some(5.0),
            metrics: Some(metrics),
        };
        let public = entry.redacted().expect("a public copy");
        assert_eq!(public.error.as_deref(), Some("timeout"));
        assert_eq!(public.metrics.expect("metrics kept").view.proc, None);
        assert_eq!(
            (public.name.as_str(), public.age_seconds),
            ("kscloud1", Some(70))
        );
        let unclassed = HostEntry {
            reason: None,
            ..entry.clone()
        };
        assert_eq!(
            unclassed.redacted().and_then(|e| e.error).as_deref(),
            Some("unavailable")
        );
        let envelope = json(envelope_json(&failed(Some(entry)), Audience::Public));
        assert_eq!(envelope["data"]["error"], "timeout");
    }

    #[test]
    fn the_public_copy_of_the_services_has_no_private_one_nor_its_traces() {
        let svc = |name: &str, status: &str, private: bool| ServiceStatus {
            private,
            ..serde_json::from_value(serde_json::json!({
                "name": name, "url": "", "description": "", "icon": "", "group": "",
                "status": status, "latency_ms": null, "http_status": null, "reason": null,
                "since": null, "checked_at": null, "source": "probe",
                "uptime": {"24h": null, "7d": null}, "history": []
            }))
            .expect("a service")
        };
        let list = vec![svc("Photos", "up", false), svc("Vault", "down", true)];
        let change = |service: &str| changes::Transition {
            service: service.into(),
            from: ServiceState::Up,
            to: ServiceState::Down,
            reason: None,
            detail: None,
            at: Utc::now(),
        };
        let all = Services {
            summary: Summary::of(&list),
            uptime_kuma: KumaLink::Disabled,
            checks_total: vec![("Photos".into(), 1, 0), ("Vault".into(), 0, 1)],
            changes: vec![change("Photos"), change("Vault")],
            notices: Vec::new(),
            services: list,
        };
        assert_eq!(all.summary.down, 1);
        let public = all.redacted().expect("a public copy");
        assert_eq!(public.services.len(), 1);
        assert_eq!(public.summary, Summary::of(&public.services));
        assert_eq!((public.summary.total, public.summary.down), (1, 0));
        assert_eq!(public.checks_total.len(), 1);
        assert_eq!(public.changes.len(), 1);
        assert_eq!(public.changes[0].service, "Photos");
        // Nothing private: no copy at all.
        assert!(public.redacted().is_none());
    }

    #[test]
    fn service_states_read_back_from_their_names() {
        for s in [
            ServiceState::Up,
            ServiceState::Down,
            ServiceState::Unknown,
            ServiceState::Maintenance,
        ] {
            assert_eq!(ServiceState::parse(crate::names::name_of(&s)), Some(s));
            assert_eq!(
                serde_json::to_value(s).expect("json"),
                crate::names::name_of(&s)
            );
        }
        assert_eq!(ServiceState::parse("UP"), None);
        assert_eq!(
            ServiceState::from(check_history::Status::Down),
            ServiceState::Down
        );
        assert_eq!(
            ServiceState::from(check_history::Status::Up),
            ServiceState::Up
        );
        assert_eq!(
            ServiceState::from(check_history::Status::Unknown),
            ServiceState::Unknown
        );
    }
}

/// The integration tests' stub upstream (std only), shared with the unit tests here.
#[cfg(test)]
#[path = "../../tests/it/stub.rs"]
mod stub;
