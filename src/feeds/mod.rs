//! Upstream feeds (weather, Forgejo activity, service checks, peers): the shared
//! [`Cached`] value with its envelope states, the data types each feed serves, and
//! [`start`], which runs every feed on the one [`scheduler`].

pub mod cached;
pub mod error;
pub mod forgejo;
pub mod history;
pub mod http;
pub mod peers;
pub mod scheduler;
pub mod services;
pub mod state_file;
pub mod text;
pub mod uptime_kuma;
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

    if let Some(kuma) = config.uptime_kuma.clone() {
        let cache = caches.uptime_kuma.clone();
        tasks.spawn("feed-uptime-kuma", move |sd| {
            let agent = http::agent(http::timeout_for(uptime_kuma::REFRESH));
            let mut last: Option<std::time::Instant> = None;
            scheduler::run(
                "uptime_kuma",
                sd,
                &cache,
                uptime_kuma::REFRESH,
                || {
                    // Kuma caches the page 1-5 min itself: never ask more often than
                    // once a minute, not even when retrying after a failure.
                    let wait = last.map_or(std::time::Duration::ZERO, |t| {
                        uptime_kuma::REFRESH.saturating_sub(t.elapsed())
                    });
                    if !wait.is_zero() && !sd.sleep(wait) {
                        // Stopping: report the failure already recorded (no change).
                        let e = cache.snapshot().error;
                        let e =
                            e.unwrap_or_else(|| FetchError::new(Reason::Unreachable, "stopped"));
                        return Err(e.into());
                    }
                    last = Some(std::time::Instant::now());
                    uptime_kuma::fetch(&agent, &kuma)
                },
                || {},
            );
        })?;
    }

    let (st, cfg, cache) = (state.clone(), config.clone(), caches.services.clone());
    let (kuma, history) = (caches.uptime_kuma.clone(), caches.service_history.clone());
    tasks.spawn("feed-services", move |sd| {
        let every = cfg.services_interval;
        let agent = http::agent(services::PROBE_TIMEOUT.min(http::timeout_for(every)));
        let list = &cfg.services;
        let names = || list.iter().map(|s| s.name.as_str());
        {
            // Read once per process; a reload keeps the history and only drops the
            // services that are gone (and adds empty ones for new names).
            let mut h = history.lock().unwrap_or_else(|e| e.into_inner());
            match h.as_mut() {
                Some(h) => h.retain_names(names()),
                None => *h = Some(load_history(&cfg)),
            }
        }
        let mut saver = Saver::new(&cfg);
        scheduler::run(
            "services",
            sd,
            &cache,
            every,
            || {
                let probes = services::check_all(&agent, list);
                let now = Utc::now();
                let mut guard = history.lock().unwrap_or_else(|e| e.into_inner());
                let h = guard.get_or_insert_with(|| history::History::new(names()));
                services::record(h, list, &probes, now);
                let kuma = kuma.snapshot();
                let k = match (kuma.status, kuma.data.as_deref()) {
                    (FeedStatus::Disabled, _) => services::KumaState::Disabled,
                    (FeedStatus::Pending, _) => services::KumaState::Pending,
                    (FeedStatus::Ok, Some(k)) => services::KumaState::Ok(k),
                    _ => services::KumaState::Unreachable,
                };
                let data = services::assemble(list, &probes, h, k, now);
                saver.maybe_save(h, now, false);
                Ok(data)
            },
            || publish(&st, "services"),
        );
        // Stop (or reload): keep what was learnt.
        let guard = history.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = guard.as_ref() {
            saver.maybe_save(h, Utc::now(), true);
        }
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

/// How often the service history is written to `state_dir` (and once at shutdown).
pub const SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// The service history at start: read from `state_dir` when set (a bad file is a
/// warning and an empty start, never a failure), else empty.
fn load_history(config: &crate::config::Config) -> history::History {
    let names = config.services.iter().map(|s| s.name.as_str());
    match &config.state_dir {
        None => history::History::new(names),
        Some(dir) => {
            let path = state_file::path_in(dir);
            let (h, warning) = state_file::load(&path, names, Utc::now());
            match warning {
                Some(w) => log::warn!("{w}"),
                None => log::info!("service history read from '{}'", path.display()),
            }
            h
        }
    }
}

/// Writes the history every [`SAVE_EVERY`] and at shutdown; one log line when saving
/// starts failing and one when it works again.
struct Saver {
    path: Option<std::path::PathBuf>,
    last: std::time::Instant,
    failing: bool,
}

impl Saver {
    fn new(config: &crate::config::Config) -> Self {
        Saver {
            path: config.state_dir.as_deref().map(state_file::path_in),
            last: std::time::Instant::now(),
            failing: false,
        }
    }

    fn maybe_save(&mut self, h: &history::History, now: DateTime<Utc>, force: bool) {
        let Some(path) = &self.path else { return };
        if !force && self.last.elapsed() < SAVE_EVERY {
            return;
        }
        self.last = std::time::Instant::now();
        match state_file::save(path, h, now) {
            Ok(()) if self.failing => {
                self.failing = false;
                log::info!("service history '{}' saved again", path.display());
            }
            Ok(()) => log::debug!("service history saved to '{}'", path.display()),
            Err(e) if !self.failing || force => {
                self.failing = true;
                log::warn!(
                    "service history '{}' cannot be written ({e}); keeping it in memory \
                     and retrying every {} min",
                    path.display(),
                    SAVE_EVERY.as_secs() / 60
                );
            }
            Err(_) => {}
        }
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
    /// Uptime Kuma as a source: "disabled", "pending", "ok", or "unreachable" (our own
    /// probes stand in).
    pub uptime_kuma: String,
    pub services: Vec<ServiceStatus>,
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

/// Share of checks up (0..1), `null` until there is data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Uptime {
    #[serde(rename = "24h")]
    pub day: Option<f64>,
    #[serde(rename = "7d")]
    pub week: Option<f64>,
}

/// One entry of `/api/services` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub name: String,
    pub url: String,
    pub description: String,
    pub icon: String,
    pub group: String,
    /// "up", "down", "unknown" or "maintenance".
    pub status: String,
    pub latency_ms: Option<u64>,
    pub http_status: Option<u16>,
    /// Why it is not up, as a short class ("timeout", "HTTP 502"); `null` when up.
    pub reason: Option<String>,
    /// When the current status began.
    pub since: Option<DateTime<Utc>>,
    pub checked_at: Option<DateTime<Utc>>,
    /// "probe" (our own checks) or "uptime_kuma".
    pub source: String,
    pub uptime: Uptime,
    /// The last 24 h in 48 half-hour buckets, oldest first.
    pub history: Vec<history::BarCell>,
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
impl Redact for Services {}

impl Redact for HostEntry {
    fn redacted(&self) -> Option<Self> {
        let metrics = self.metrics.as_ref()?.redacted()?;
        Some(HostEntry {
            metrics: Some(metrics),
            ..self.clone()
        })
    }
}
