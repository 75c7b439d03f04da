//! Shared application state handed to every request handler: the running configuration
//! (swapped whole on reload), the published metrics, the feeds' caches, the live-update
//! hub and request counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;

use crate::access::Audience;

use crate::config::Config;
use crate::feeds::history::History;
use crate::feeds::peers::PeerData;
use crate::feeds::uptime_kuma::{self, Kuma};
use crate::feeds::{
    envelope_json, Activity, Cached, FeedStatus, HostEntry, Services, Snapshot, Weather,
};
use crate::host::MetricsStore;
use crate::hub::Hub;
use crate::timezone::Zone;

/// The feeds' cached values. Each cache is shared, so a reload that leaves a feed's
/// configuration alone keeps its last good value.
pub struct FeedCaches {
    pub weather: Arc<Cached<Weather>>,
    pub activity: Arc<Cached<Activity>>,
    pub services: Arc<Cached<Services>>,
    /// The Uptime Kuma status page, when configured.
    pub uptime_kuma: Arc<Cached<Kuma>>,
    /// The services' status history: read from `state_dir` by the first services task
    /// (`None` until then), then kept across reloads whatever changed.
    pub service_history: Arc<Mutex<Option<History>>>,
    /// One cache per configured peer, in config order: its last `/api/metrics` body.
    pub peers: Vec<Arc<Cached<PeerData>>>,
}

/// Data counts as stale when two refreshes in a row did not land.
fn stale(refresh: Duration) -> Duration {
    refresh.saturating_mul(2) + Duration::from_secs(30)
}

impl FeedCaches {
    pub fn new(config: &Config) -> Self {
        FeedCaches {
            weather: Arc::new(Cached::new(stale(config.weather.refresh))),
            activity: Arc::new(if config.forgejo.url.is_some() {
                Cached::new(stale(config.forgejo.refresh))
            } else {
                Cached::disabled()
            }),
            services: Arc::new(Cached::new(stale(config.services_interval))),
            uptime_kuma: Arc::new(if config.uptime_kuma.is_some() {
                Cached::new(stale(uptime_kuma::REFRESH))
            } else {
                Cached::disabled()
            }),
            service_history: Arc::new(Mutex::new(None)),
            peers: config
                .peers
                .iter()
                .map(|_| Arc::new(peer_cache(config)))
                .collect(),
        }
    }

    /// The caches for `new` after a reload from `old`: a feed whose configuration did
    /// not change keeps its cache (and so its last good value); the others start afresh.
    pub fn carried_over(&self, old: &Config, new: &Config) -> Self {
        let fresh = FeedCaches::new(new);
        let keep_peer = |i: usize| {
            (old.peers.get(i) == new.peers.get(i) && old.metrics.interval == new.metrics.interval)
                .then(|| self.peers.get(i).cloned())
                .flatten()
        };
        FeedCaches {
            weather: if old.weather == new.weather {
                self.weather.clone()
            } else {
                fresh.weather
            },
            activity: if old.forgejo == new.forgejo {
                self.activity.clone()
            } else {
                fresh.activity
            },
            services: if old.services == new.services
                && old.services_interval == new.services_interval
            {
                self.services.clone()
            } else {
                fresh.services
            },
            uptime_kuma: if old.uptime_kuma == new.uptime_kuma {
                self.uptime_kuma.clone()
            } else {
                fresh.uptime_kuma
            },
            service_history: self.service_history.clone(),
            peers: fresh
                .peers
                .into_iter()
                .enumerate()
                .map(|(i, c)| keep_peer(i).unwrap_or(c))
                .collect(),
        }
    }
}

fn peer_cache(config: &Config) -> Cached<PeerData> {
    Cached::new(stale(crate::feeds::peers::refresh(config.metrics.interval)))
}

/// The zone `config` names (checked when it was built), else the host's.
fn zone_of(config: &Config) -> Zone {
    Zone::resolve(config.timezone.as_deref(), &config.host.root).unwrap_or_else(|why| {
        log::warn!("timezone: {why}; times are in UTC");
        Zone::utc()
    })
}

/// Requests answered, by status class (for `/metrics`).
#[derive(Default)]
pub struct RequestStats {
    pub by_class: [AtomicU64; 5],
}

impl RequestStats {
    pub fn record(&self, status: u16) {
        let i = usize::from((status / 100).clamp(1, 5) - 1);
        self.by_class[i].fetch_add(1, Ordering::Relaxed);
    }

    /// (class label, count) for "1xx" … "5xx".
    pub fn counts(&self) -> [(&'static str, u64); 5] {
        let l = ["1xx", "2xx", "3xx", "4xx", "5xx"];
        std::array::from_fn(|i| (l[i], self.by_class[i].load(Ordering::Relaxed)))
    }
}

/// Everything a handler may read. Cheap to clone (all `Arc`s).
#[derive(Clone)]
pub struct AppState {
    config: Arc<ArcSwap<Config>>,
    pub metrics: Arc<MetricsStore>,
    feeds: Arc<ArcSwap<FeedCaches>>,
    pub hub: Arc<Hub>,
    pub requests: Arc<RequestStats>,
    /// The page's time zone (resolved from `timezone`, else the host's).
    zone: Arc<ArcSwap<Zone>>,
}

impl AppState {
    pub fn new(config: Config) -> Self {
        let interval = config.metrics.interval.as_secs_f64();
        let capacity = (config.metrics.history.as_secs_f64() / interval).ceil() as usize;
        AppState {
            metrics: Arc::new(MetricsStore::new(capacity, interval)),
            feeds: Arc::new(ArcSwap::from_pointee(FeedCaches::new(&config))),
            hub: Arc::new(Hub::new(config.stream.max_clients)),
            requests: Arc::new(RequestStats::default()),
            zone: Arc::new(ArcSwap::from_pointee(zone_of(&config))),
            config: Arc::new(ArcSwap::from_pointee(config)),
        }
    }

    /// The running configuration (a consistent whole: a reload swaps it at once).
    pub fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    /// The page's time zone.
    pub fn zone(&self) -> Arc<Zone> {
        self.zone.load_full()
    }

    /// The feeds' caches of the running configuration.
    pub fn feeds(&self) -> Arc<FeedCaches> {
        self.feeds.load_full()
    }

    /// Swaps in a reloaded configuration and the caches that go with it.
    pub fn swap(&self, config: Config) {
        let old = self.config();
        let caches = self.feeds().carried_over(&old, &config);
        self.hub.set_max_clients(config.stream.max_clients);
        self.feeds.store(Arc::new(caches));
        self.zone.store(Arc::new(zone_of(&config)));
        self.config.store(Arc::new(config));
    }
}

/// The live-stream events, in the order a new client receives them.
pub const EVENTS: [&str; 5] = ["metrics", "weather", "activity", "services", "hosts"];

impl AppState {
    /// The current body of stream event `event` for `audience` (the same bytes its
    /// endpoint serves), or `None` when there is nothing yet (no metrics sample).
    pub fn event_json(&self, event: &str, audience: Audience) -> Option<Bytes> {
        let f = self.feeds();
        match event {
            "metrics" => self.metrics.latest().map(|p| p.json(audience).clone()),
            "weather" => Some(envelope_json(&f.weather.snapshot(), audience)),
            "activity" => Some(envelope_json(&f.activity.snapshot(), audience)),
            "services" => Some(envelope_json(&f.services.snapshot(), audience)),
            "hosts" => Some(envelope_json(&self.hosts_snapshot(), audience)),
            _ => None,
        }
    }

    /// The `/api/hosts` envelope: this host (live) first, then each peer from its cache.
    /// The envelope is `ok` when every host is, `stale` when some peer is not.
    pub fn hosts_snapshot(&self) -> Snapshot<Vec<HostEntry>> {
        let latest = self.metrics.latest();
        let config = self.config();
        let feeds = self.feeds();
        let at = latest.as_ref().map(|p| p.sample.timestamp);
        let age = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| (chrono::Utc::now() - t).num_seconds().max(0) as u64)
        };
        let mut entries = vec![HostEntry {
            name: config.host.name.clone(),
            is_self: true,
            status: if latest.is_some() {
                FeedStatus::Ok
            } else {
                FeedStatus::Pending
            },
            updated_at: at,
            age_seconds: age(at),
            error: None,
            reason: None,
            interval_seconds: Some(config.metrics.interval.as_secs_f64()),
            metrics: latest.as_ref().map(|p| p.sample.clone()),
        }];
        let mut worst = FeedStatus::Ok;
        for (peer, cache) in config.peers.iter().zip(feeds.peers.iter()) {
            let s = cache.snapshot();
            if s.status != FeedStatus::Ok {
                worst = FeedStatus::Stale;
            }
            let data = s.data.as_deref();
            entries.push(HostEntry {
                name: peer.name.clone(),
                is_self: false,
                status: s.status,
                updated_at: s.updated_at,
                age_seconds: s.age_seconds,
                error: s.error.as_ref().map(|e| e.detail.clone()),
                reason: s.error.as_ref().map(|e| e.reason),
                interval_seconds: data.map(|d| d.interval_seconds),
                metrics: data.map(|d| d.metrics.clone()),
            });
        }
        Snapshot {
            status: worst,
            updated_at: at,
            age_seconds: age(at),
            error: None,
            data: Some(Arc::new(entries)),
        }
    }
}

impl AppState {
    /// The `/api/metrics/history` body of host `name`: this host's from the store, a
    /// peer's from its last fetch; `None` for a name not configured or nothing yet.
    pub fn history_json(&self, name: &str) -> Option<Bytes> {
        let config = self.config();
        if name == config.host.name {
            return self.metrics.latest().map(|p| p.history_json.clone());
        }
        let i = config.peers.iter().position(|p| p.name == name)?;
        let peer = self.feeds().peers.get(i)?.snapshot().data?;
        let body = serde_json::json!({
            "interval_seconds": peer.interval_seconds,
            "samples": peer.history,
        });
        serde_json::to_vec(&body).ok().map(Bytes::from)
    }
}
