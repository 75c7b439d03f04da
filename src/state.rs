//! Shared application state handed to every request handler: the running configuration
//! (swapped whole on reload), the published metrics, the feeds' caches, the live-update
//! hub and request counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use bytes::Bytes;

use crate::access::Audience;

use crate::config::{Config, Peer};
use crate::feeds::check_history::History;
use crate::feeds::feed::{Event, Feed};
use crate::feeds::peers::PeerData;
use crate::feeds::uptime_kuma::Kuma;
use crate::feeds::{
    envelope_json, Activity, Cached, FeedStatus, HostEntry, Services, Snapshot, Weather,
};
use crate::host::MetricsStore;
use crate::hub::Hub;
use crate::timezone::Zone;

/// The feeds' cached values. Each cache is shared, so a reload that leaves a feed's
/// configuration alone keeps its last good value.
pub(crate) struct FeedCaches {
    pub(crate) weather: Arc<Cached<Weather>>,
    pub(crate) activity: Arc<Cached<Activity>>,
    pub(crate) services: Arc<Cached<Services>>,
    /// The Uptime Kuma status page, when configured.
    pub(crate) uptime_kuma: Arc<Cached<Kuma>>,
    /// The services' status history: read from `state_dir` by the first services task,
    /// then kept across reloads whatever changed (one value for the whole process).
    pub(crate) service_history: Arc<Mutex<HistorySlot>>,
    /// Each configured peer with its cache (its last `/api/metrics` body), in config
    /// order: a peer and its data travel together, never matched up by position.
    pub(crate) peers: Vec<(Peer, Arc<Cached<PeerData>>)>,
}

/// The process's one service history and where it came from.
#[derive(Default)]
pub(crate) struct HistorySlot {
    /// `None` until the first services task has read it.
    pub(crate) history: Option<History>,
    /// Whether this process may write the state file: only after it read it (or found
    /// none), never over a file it could not read.
    pub(crate) may_save: bool,
}

impl FeedCaches {
    pub(crate) fn new(config: &Config) -> Self {
        FeedCaches {
            weather: Arc::new(Feed::Weather.cache(config)),
            activity: Arc::new(Feed::Activity.cache(config)),
            services: Arc::new(Feed::Services.cache(config)),
            uptime_kuma: Arc::new(Feed::UptimeKuma.cache(config)),
            service_history: Arc::new(Mutex::new(HistorySlot::default())),
            peers: config
                .peers
                .iter()
                .map(|p| (p.clone(), Arc::new(Feed::Peer.cache(config))))
                .collect(),
        }
    }

    /// The caches for `new` after a reload from `old`: a feed whose configuration did
    /// not change keeps its cache (and so its last good value); the others start afresh.
    /// Peers are matched by name.
    pub(crate) fn carried_over(&self, old: &Config, new: &Config) -> Self {
        let fresh = FeedCaches::new(new);
        let same = |feed: Feed| feed.unchanged(old, new);
        let same_interval = same(Feed::Peer);
        FeedCaches {
            weather: keep(same(Feed::Weather), &self.weather, fresh.weather),
            activity: keep(same(Feed::Activity), &self.activity, fresh.activity),
            services: keep(same(Feed::Services), &self.services, fresh.services),
            uptime_kuma: keep(same(Feed::UptimeKuma), &self.uptime_kuma, fresh.uptime_kuma),
            service_history: self.service_history.clone(),
            peers: fresh
                .peers
                .into_iter()
                .map(|(peer, cache)| {
                    let kept = self
                        .peers
                        .iter()
                        .find(|(p, _)| *p == peer && same_interval)
                        .map(|(_, c)| c.clone());
                    (peer, kept.unwrap_or(cache))
                })
                .collect(),
        }
    }
}

/// `old` when `same`, else `fresh`.
fn keep<T>(same: bool, old: &Arc<T>, fresh: Arc<T>) -> Arc<T> {
    if same {
        old.clone()
    } else {
        fresh
    }
}

impl FeedCaches {
    /// The cache of the peer named `name`.
    pub(crate) fn peer(&self, name: &str) -> Option<&Arc<Cached<PeerData>>> {
        self.peers
            .iter()
            .find(|(p, _)| p.name == name)
            .map(|(_, c)| c)
    }
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
pub(crate) struct RequestStats {
    pub(crate) by_class: [AtomicU64; 5],
}

impl RequestStats {
    pub(crate) fn record(&self, status: u16) {
        let i = usize::from((status / 100).clamp(1, 5) - 1);
        self.by_class[i].fetch_add(1, Ordering::Relaxed);
    }

    /// (class label, count) for "1xx" … "5xx".
    pub(crate) fn counts(&self) -> [(&'static str, u64); 5] {
        let l = ["1xx", "2xx", "3xx", "4xx", "5xx"];
        std::array::from_fn(|i| (l[i], self.by_class[i].load(Ordering::Relaxed)))
    }
}

/// The running configuration and everything derived from it, swapped as one value: no
/// reader pairs an old configuration with new caches.
pub(crate) struct Running {
    pub(crate) config: Arc<Config>,
    pub(crate) feeds: Arc<FeedCaches>,
    /// The page's time zone (resolved from `timezone`, else the host's).
    pub(crate) zone: Arc<Zone>,
}

impl Running {
    fn new(config: Config, feeds: FeedCaches) -> Self {
        Running {
            zone: Arc::new(zone_of(&config)),
            feeds: Arc::new(feeds),
            config: Arc::new(config),
        }
    }
}

/// Everything a handler may read. Cheap to clone (all `Arc`s).
#[derive(Clone)]
pub struct AppState {
    running: Arc<ArcSwap<Running>>,
    pub metrics: Arc<MetricsStore>,
    pub hub: Arc<Hub>,
    pub(crate) requests: Arc<RequestStats>,
    /// Service status changes waiting to be sent to `[[notify]]` targets.
    pub(crate) notifications: Arc<crate::feeds::notify::Queue>,
}

impl AppState {
    pub fn new(config: Config) -> Self {
        let interval = config.metrics.interval.as_secs_f64();
        let capacity = (config.metrics.history.as_secs_f64() / interval).ceil() as usize;
        AppState {
            metrics: Arc::new(MetricsStore::new(capacity, interval)),
            hub: Arc::new(Hub::new(config.stream.max_clients)),
            requests: Arc::new(RequestStats::default()),
            notifications: Arc::default(),
            running: Arc::new(ArcSwap::from_pointee(Running::new(
                config.clone(),
                FeedCaches::new(&config),
            ))),
        }
    }

    /// The running configuration with its caches and zone, one consistent whole.
    pub(crate) fn running(&self) -> Arc<Running> {
        self.running.load_full()
    }

    /// The running configuration (a reload swaps it at once).
    pub fn config(&self) -> Arc<Config> {
        self.running.load().config.clone()
    }

    /// The page's time zone.
    pub(crate) fn zone(&self) -> Arc<Zone> {
        self.running.load().zone.clone()
    }

    /// The feeds' caches of the running configuration.
    pub(crate) fn feeds(&self) -> Arc<FeedCaches> {
        self.running.load().feeds.clone()
    }

    /// Swaps in a reloaded configuration and the caches that go with it, as one value.
    pub(crate) fn swap(&self, config: Config) {
        let old = self.running();
        let caches = old.feeds.carried_over(&old.config, &config);
        self.hub.set_max_clients(config.stream.max_clients);
        self.running.store(Arc::new(Running::new(config, caches)));
    }
}

impl AppState {
    /// The current body of stream event `event` for `audience` (the same bytes its
    /// endpoint serves), or `None` when there is nothing yet (no metrics sample).
    pub(crate) fn event_body(&self, event: Event, audience: Audience) -> Option<Bytes> {
        let f = self.feeds();
        match event {
            Event::Metrics => self.metrics.latest().map(|p| p.json(audience).clone()),
            Event::Weather => Some(envelope_json(&f.weather.snapshot(), audience)),
            Event::Activity => Some(envelope_json(&f.activity.snapshot(), audience)),
            Event::Services => Some(envelope_json(&f.services.snapshot(), audience)),
            Event::Hosts => Some(envelope_json(&self.hosts_snapshot(), audience)),
        }
    }

    /// The body of event `event` as `/api/services?view=page` answers it: the services
    /// without their 90 days. Other events as [`AppState::event_body`].
    pub(crate) fn page_event_body(&self, event: Event, audience: Audience) -> Option<Bytes> {
        if event != Event::Services {
            return self.event_body(event, audience);
        }
        let mut snap = self.feeds().services.snapshot();
        if let Some(d) = snap.data.take() {
            let mut page = (*d).clone();
            for s in &mut page.services {
                s.days = Vec::new();
            }
            snap.data = Some(Arc::new(page));
        }
        Some(envelope_json(&snap, audience))
    }

    /// The `/api/hosts` envelope: this host (live) first, then each peer from its cache.
    /// The envelope is `ok` when every host is, `stale` when some peer is not.
    pub(crate) fn hosts_snapshot(&self) -> Snapshot<Vec<HostEntry>> {
        let latest = self.metrics.latest();
        let running = self.running();
        let (config, feeds) = (&running.config, &running.feeds);
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
        for (peer, cache) in &feeds.peers {
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
    pub(crate) fn history_json(&self, name: &str) -> Option<Bytes> {
        let running = self.running();
        if name == running.config.host.name {
            return self.metrics.latest().map(|p| p.history_json.clone());
        }
        let peer = running.feeds.peer(name)?.snapshot().data?;
        let body = serde_json::json!({
            "interval_seconds": peer.interval_seconds,
            "samples": peer.history,
        });
        serde_json::to_vec(&body).ok().map(Bytes::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, Overrides};

    fn cfg(toml: &str) -> Config {
        config::build(&Overrides::default(), config::parse_toml(toml).unwrap()).unwrap()
    }

    const A: &str = "[[peers]]\nname = \"a\"\nurl = \"http://a.test\"\n";
    const B: &str = "[[peers]]\nname = \"b\"\nurl = \"http://b.test\"\n";

    #[test]
    fn a_reload_matches_peers_by_name_and_swaps_one_value() {
        let state = AppState::new(cfg(&format!("{A}{B}")));
        let before = state.running();
        // Reordered, and `a` dropped then back: each keeps its own cache.
        state.swap(cfg(&format!("{B}{A}")));
        let after = state.running();
        for name in ["a", "b"] {
            let (old, new) = (before.feeds.peer(name), after.feeds.peer(name));
            assert!(Arc::ptr_eq(old.unwrap(), new.unwrap()), "{name}");
        }
        let names: Vec<&str> = after
            .feeds
            .peers
            .iter()
            .map(|(p, _)| p.name.as_str())
            .collect();
        assert_eq!(names, ["b", "a"]);
        // Configuration, caches and zone are one value: what a reader took stays whole.
        assert!(Arc::ptr_eq(&after.config, &state.config()));
        assert!(Arc::ptr_eq(&after.feeds, &state.feeds()));
        state.swap(cfg(B));
        assert!(after.feeds.peer("a").is_some() && state.feeds().peer("a").is_none());
        // A peer whose URL changed starts afresh.
        let moved = B.replace("b.test", "b2.test");
        let kept = state.feeds().peer("b").cloned().unwrap();
        state.swap(cfg(&moved));
        assert!(!Arc::ptr_eq(&kept, state.feeds().peer("b").unwrap()));
    }
}
