//! Shared application state handed to every request handler: configuration, the
//! published metrics, the feeds' caches, the live-update hub and request counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::feeds::uptime_kuma::{self, Kuma};
use crate::feeds::{Activity, Cached, Services, Weather};
use crate::host::MetricsStore;
use crate::host::Sample;
use crate::hub::Hub;

/// The feeds' cached values.
pub struct FeedCaches {
    pub weather: Cached<Weather>,
    pub activity: Cached<Activity>,
    pub services: Cached<Services>,
    /// The Uptime Kuma status page, when configured.
    pub uptime_kuma: Cached<Kuma>,
    /// One cache per configured peer, in config order: its last `/api/metrics` body.
    pub peers: Vec<Cached<Sample>>,
}

impl FeedCaches {
    pub fn new(config: &Config) -> Self {
        // Data counts as stale when two refreshes in a row did not land.
        let stale = |refresh: Duration| refresh.saturating_mul(2) + Duration::from_secs(30);
        FeedCaches {
            weather: Cached::new(stale(config.weather.refresh)),
            activity: if config.forgejo.url.is_some() {
                Cached::new(stale(config.forgejo.refresh))
            } else {
                Cached::disabled()
            },
            services: Cached::new(stale(config.services_interval)),
            uptime_kuma: if config.uptime_kuma.is_some() {
                Cached::new(stale(uptime_kuma::REFRESH))
            } else {
                Cached::disabled()
            },
            peers: config
                .peers
                .iter()
                .map(|_| Cached::new(stale(config.metrics.interval.max(Duration::from_secs(5)))))
                .collect(),
        }
    }
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
    pub config: Arc<Config>,
    pub metrics: Arc<MetricsStore>,
    pub feeds: Arc<FeedCaches>,
    pub hub: Arc<Hub>,
    pub requests: Arc<RequestStats>,
    /// The rendered portal page, reused until something on it changes.
    pub page: Arc<crate::routes::pages::PageCache>,
}

impl AppState {
    pub fn new(config: Config) -> Self {
        let interval = config.metrics.interval.as_secs_f64();
        let capacity = (config.metrics.history.as_secs_f64() / interval).ceil() as usize;
        AppState {
            metrics: Arc::new(MetricsStore::new(capacity, interval)),
            feeds: Arc::new(FeedCaches::new(&config)),
            hub: Arc::new(Hub::new(config.stream.max_clients)),
            requests: Arc::new(RequestStats::default()),
            page: Arc::new(crate::routes::pages::PageCache::default()),
            config: Arc::new(config),
        }
    }
}
