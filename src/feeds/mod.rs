//! Upstream feeds (weather, Forgejo activity, service checks, peers): the shared
//! [`Cached`] value with its envelope states, the data types each feed serves, and
//! [`start`], which runs every feed on the one [`scheduler`].

pub mod cached;
pub mod forgejo;
pub mod http;
pub mod peers;
pub mod scheduler;
pub mod services;
pub mod weather;

pub use cached::{Cached, FeedStatus, Snapshot};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::host::Sample;
use crate::state::AppState;
use crate::tasks::Tasks;

/// The live-stream events, in the order a new client receives them.
pub const EVENTS: [&str; 5] = ["metrics", "weather", "activity", "services", "hosts"];

/// A feed envelope as JSON: the one serialisation behind both `/api/<feed>` and the
/// stream's `data:` lines, so the two can never differ.
pub fn envelope_json<T: Serialize>(snapshot: &Snapshot<T>) -> Bytes {
    match serde_json::to_vec(snapshot) {
        Ok(v) => Bytes::from(v),
        // Our own types always serialise; keep the envelope shape if one ever does not.
        Err(e) => Bytes::from(
            serde_json::json!({"status": "error", "updated_at": null, "age_seconds": null,
                "error": format!("cannot serialise: {e}"), "data": null})
            .to_string(),
        ),
    }
}

/// The current body of stream event `event` (the same bytes its endpoint serves), or
/// `None` when there is nothing yet (no metrics sample).
pub fn event_json(state: &AppState, event: &str) -> Option<Bytes> {
    let f = &state.feeds;
    match event {
        "metrics" => state.metrics.latest().map(|p| p.json.clone()),
        "weather" => Some(envelope_json(&f.weather.snapshot())),
        "activity" => Some(envelope_json(&f.activity.snapshot())),
        "services" => Some(envelope_json(&f.services.snapshot())),
        "hosts" => Some(envelope_json(&crate::routes::api::hosts_snapshot(state))),
        _ => None,
    }
}

/// Publishes the current state of `event` to every stream client.
pub fn publish(state: &AppState, event: &str) {
    if let Some(json) = event_json(state, event) {
        state.hub.publish(event, &json);
    }
}

/// Starts every feed on its own background thread: weather, activity (when Forgejo is
/// configured), service checks, and one task per peer. Each runs once at once, then on
/// its schedule; none runs inside a request.
pub fn start(state: &AppState, tasks: &mut Tasks) -> std::io::Result<()> {
    let st = state.clone();
    tasks.spawn("feed-weather", move |sd| {
        let cfg = &st.config.weather;
        let agent = http::agent(http::timeout_for(cfg.refresh));
        let feed = &st.feeds.weather;
        scheduler::run(
            "weather",
            sd,
            feed,
            cfg.refresh,
            || weather::fetch(&agent, cfg),
            || publish(&st, "weather"),
        );
    })?;

    if state.config.forgejo.url.is_some() {
        let st = state.clone();
        tasks.spawn("feed-activity", move |sd| {
            let cfg = &st.config.forgejo;
            let agent = http::agent(http::timeout_for(cfg.refresh));
            scheduler::run(
                "activity",
                sd,
                &st.feeds.activity,
                cfg.refresh,
                || forgejo::fetch(&agent, cfg),
                || publish(&st, "activity"),
            );
        })?;
    }

    let st = state.clone();
    tasks.spawn("feed-services", move |sd| {
        let every = st.config.services_interval;
        let agent = http::agent(services::PROBE_TIMEOUT.min(http::timeout_for(every)));
        scheduler::run(
            "services",
            sd,
            &st.feeds.services,
            every,
            || Ok(services::check_all(&agent, &st.config.services)),
            || publish(&st, "services"),
        );
    })?;

    for i in 0..state.config.peers.len() {
        let st = state.clone();
        tasks.spawn(&format!("feed-peer-{i}"), move |sd| {
            let (Some(peer), Some(cache)) = (st.config.peers.get(i), st.feeds.peers.get(i)) else {
                return;
            };
            let every = peers::refresh(st.config.metrics.interval);
            let agent = http::agent(http::timeout_for(every).min(peers::MIN_REFRESH));
            scheduler::run(
                &format!("peer {}", peer.name),
                sd,
                cache,
                every,
                || peers::fetch(&agent, peer),
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
