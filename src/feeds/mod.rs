//! Upstream feeds (weather, Forgejo activity, service checks, peers): the shared
//! [`Cached`] value with its envelope states, the data types each feed serves, and
//! [`start`], which runs every feed on the one [`scheduler`].

pub mod cached;
pub mod error;
pub mod forgejo;
pub mod http;
pub mod peers;
pub mod scheduler;
pub mod services;
pub mod text;
pub mod weather;

pub use cached::{Cached, FeedStatus, Snapshot};
pub use error::{FetchError, Reason};

use std::borrow::Cow;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{Audience, Redact};
use crate::host::Sample;
use crate::state::AppState;
use crate::tasks::Tasks;

/// The live-stream events, in the order a new client receives them.
pub const EVENTS: [&str; 5] = ["metrics", "weather", "activity", "services", "hosts"];

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
pub fn envelope_json<T: Serialize + Redact>(snapshot: &Snapshot<T>, audience: Audience) -> Bytes {
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

/// The current body of stream event `event` for `audience` (the same bytes its endpoint
/// serves), or `None` when there is nothing yet (no metrics sample).
pub fn event_json(state: &AppState, event: &str, audience: Audience) -> Option<Bytes> {
    let f = state.feeds();
    match event {
        "metrics" => state.metrics.latest().map(|p| p.json(audience).clone()),
        "weather" => Some(envelope_json(&f.weather.snapshot(), audience)),
        "activity" => Some(envelope_json(&f.activity.snapshot(), audience)),
        "services" => Some(envelope_json(&f.services.snapshot(), audience)),
        "hosts" => Some(envelope_json(
            &crate::routes::api::hosts_snapshot(state),
            audience,
        )),
        _ => None,
    }
}

/// Publishes the current state of `event` to every stream client, each in its
/// audience's version.
pub fn publish(state: &AppState, event: &str) {
    let private = event_json(state, event, Audience::Private);
    let public = event_json(state, event, Audience::Public);
    if let (Some(private), Some(public)) = (private, public) {
        state.hub.publish(event, &private, &public);
    }
}

/// Starts every feed on its own background thread, for the running configuration and
/// its caches: weather, activity (when Forgejo is configured), service checks, and one
/// task per peer. Each runs once at once, then on its schedule; none runs inside a
/// request. A reload stops these tasks and calls this again.
pub fn start(state: &AppState, tasks: &mut Tasks) -> std::io::Result<()> {
    let config = state.config();
    let caches = state.feeds();

    let (st, cfg, cache) = (state.clone(), config.clone(), caches.weather.clone());
    tasks.spawn("feed-weather", move |sd| {
        let agent = http::agent(http::timeout_for(cfg.weather.refresh));
        scheduler::run(
            "weather",
            sd,
            &cache,
            cfg.weather.refresh,
            || weather::fetch(&agent, &cfg.weather),
            || publish(&st, "weather"),
        );
    })?;

    if config.forgejo.url.is_some() {
        let (st, cfg, cache) = (state.clone(), config.clone(), caches.activity.clone());
        tasks.spawn("feed-activity", move |sd| {
            let agent = http::agent(http::timeout_for(cfg.forgejo.refresh));
            scheduler::run(
                "activity",
                sd,
                &cache,
                cfg.forgejo.refresh,
                || forgejo::fetch(&agent, &cfg.forgejo),
                || publish(&st, "activity"),
            );
        })?;
    }

    let (st, cfg, cache) = (state.clone(), config.clone(), caches.services.clone());
    tasks.spawn("feed-services", move |sd| {
        let every = cfg.services_interval;
        let agent = http::agent(services::PROBE_TIMEOUT.min(http::timeout_for(every)));
        scheduler::run(
            "services",
            sd,
            &cache,
            every,
            || Ok(services::check_all(&agent, &cfg.services)),
            || publish(&st, "services"),
        );
    })?;

    for (i, (peer, cache)) in config.peers.iter().zip(&caches.peers).enumerate() {
        let (st, peer, cache) = (state.clone(), peer.clone(), cache.clone());
        let every = peers::refresh(config.metrics.interval);
        tasks.spawn(&format!("feed-peer-{i}"), move |sd| {
            let agent = http::agent(http::timeout_for(every).min(peers::MIN_REFRESH));
            scheduler::run(
                &format!("peer {}", peer.name),
                sd,
                &cache,
                every,
                || peers::fetch(&agent, &peer),
                || publish(&st, "hosts"),
            );
        })?;
    }
    Ok(())
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

/// One entry of `/api/services` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub name: String,
    pub url: String,
    pub description: String,
    pub icon: String,
    pub group: String,
    /// "up", "down" or "unknown".
    pub status: String,
    pub latency_ms: Option<u64>,
    pub http_status: Option<u16>,
    pub checked_at: Option<DateTime<Utc>>,
}

/// One entry of `/api/hosts` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostEntry {
    pub name: String,
    #[serde(rename = "self")]
    pub is_self: bool,
    /// The feed status of this host's metrics ("ok", "stale", "error", "pending").
    pub status: String,
    pub metrics: Option<Sample>,
}

impl Redact for Weather {}
impl Redact for Activity {}
impl Redact for ServiceStatus {}

impl Redact for HostEntry {
    fn redacted(&self) -> Option<Self> {
        let metrics = self.metrics.as_ref()?.redacted()?;
        Some(HostEntry {
            metrics: Some(metrics),
            ..self.clone()
        })
    }
}
