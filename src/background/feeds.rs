//! The feed tasks: each feed (weather, activity, Uptime Kuma, service checks, peers)
//! runs on its own thread on the one scheduler loop, spawned by one function, and
//! publishes its event when the envelope changed. The service history is loaded from
//! `state_dir` once per process and saved every few minutes and when the tasks stop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::feeds::feed::{Event, Feed};
use crate::feeds::scheduler::{self, Failure};
use crate::feeds::{
    check_history, forgejo, http, notices, peers, persist, services, uptime_kuma, weather, Cached,
    FeedStatus, FetchError, Reason,
};
use crate::state::AppState;
use crate::tasks::{Shutdown, Tasks};

/// One feed task: its thread name, log name, stream event, refresh and request timeout.
struct Task {
    task: String,
    name: String,
    event: Option<Event>,
    refresh: Duration,
    timeout: Duration,
}

impl Task {
    /// The task of `feed` under `config`; `None` when the feed is not configured.
    fn of(feed: Feed, config: &Config) -> Option<Self> {
        let refresh = feed.refresh(config)?;
        Some(Task {
            task: format!("feed-{}", feed.name()),
            name: feed.name().to_string(),
            event: feed.event(),
            refresh,
            timeout: http::timeout_for(refresh),
        })
    }
}

/// Spawns `feed`: `fetch` runs at once and then on the feed's schedule, into `cache`;
/// each change of the envelope is published as the feed's event.
fn spawn<T, F>(
    tasks: &mut Tasks,
    state: &AppState,
    feed: Task,
    cache: Arc<Cached<T>>,
    mut fetch: F,
) -> std::io::Result<()>
where
    T: PartialEq + Send + Sync + 'static,
    F: FnMut(&ureq::Agent, &Shutdown) -> Result<T, Failure> + Send + 'static,
{
    let st = state.clone();
    let task = feed.task.clone();
    tasks.spawn(&task, move |sd| {
        let agent = http::agent(feed.timeout);
        scheduler::run(
            &feed.name,
            sd,
            &cache,
            feed.refresh,
            || fetch(&agent, sd),
            || {
                if let Some(event) = feed.event {
                    super::publish(&st, event);
                }
            },
        );
    })
}

/// Starts every feed for the running configuration and its caches. A reload stops
/// these tasks and calls this again.
pub(crate) fn start(state: &AppState, tasks: &mut Tasks) -> std::io::Result<()> {
    let config = state.config();
    let caches = state.feeds();

    if let Some(task) = Task::of(Feed::Weather, &config) {
        let cfg = config.clone();
        spawn(tasks, state, task, caches.weather.clone(), move |a, _| {
            weather::fetch(a, &cfg.weather)
        })?;
    }

    if let Some(activity) = Task::of(Feed::Activity, &config) {
        let cfg = config.clone();
        spawn(
            tasks,
            state,
            activity,
            caches.activity.clone(),
            move |a, _| forgejo::fetch(a, &cfg.forgejo),
        )?;
    }

    if let (Some(kuma), Some(feed)) = (
        config.uptime_kuma.clone(),
        Task::of(Feed::UptimeKuma, &config),
    ) {
        let cache = caches.uptime_kuma.clone();
        let mut last: Option<Instant> = None;
        spawn(
            tasks,
            state,
            feed,
            caches.uptime_kuma.clone(),
            move |a, sd| {
                // Kuma caches the page 1-5 min itself: never ask more often than once a
                // minute, not even when retrying after a failure.
                let wait = last.map_or(Duration::ZERO, |t| {
                    uptime_kuma::REFRESH.saturating_sub(t.elapsed())
                });
                if !wait.is_zero() && !sd.sleep(wait) {
                    // Stopping: report the failure already recorded (no change).
                    let e = cache.snapshot().error;
                    return Err(e
                        .unwrap_or_else(|| FetchError::new(Reason::Unreachable, "stopped"))
                        .into());
                }
                last = Some(Instant::now());
                uptime_kuma::fetch(a, &kuma)
            },
        )?;
    }

    start_services(state, tasks, &config)?;

    for (i, (peer, cache)) in caches.peers.iter().enumerate() {
        let Some(mut feed) = Task::of(Feed::Peer, &config) else {
            break;
        };
        let peer = peer.clone();
        feed.name = format!("{} {}", feed.name, peer.name);
        feed.task = format!("{}-{i}", feed.task);
        feed.timeout = feed.timeout.min(peers::MIN_REFRESH);
        spawn(tasks, state, feed, cache.clone(), move |a, _| {
            peers::fetch(a, &peer)
        })?;
    }
    Ok(())
}

/// The service checks: probes, the history they land in (loaded once per process; a
/// reload keeps it and only drops services that are gone), Uptime Kuma's view merged
/// in, and the history saved every [`SAVE_EVERY`].
///
/// Only the running task writes the history: a task of an older configuration (a probe
/// that outlived the reload's grace period) finds its shutdown triggered under the
/// history's lock and leaves without a trace.
fn start_services(
    state: &AppState,
    tasks: &mut Tasks,
    config: &Arc<Config>,
) -> std::io::Result<()> {
    let caches = state.feeds();
    let (kuma, history) = (caches.uptime_kuma.clone(), caches.service_history.clone());
    let cfg = config.clone();
    let st = state.clone();
    let mut seen = notices::FirstSeen::default();
    let mut saver = Saver::new(config);
    // A reload starts these tasks again: the kept history drops the services that are
    // gone, once, on the first round of the new configuration.
    let mut fitted = false;
    let Some(mut feed) = Task::of(Feed::Services, config) else {
        return Ok(());
    };
    feed.timeout = services::PROBE_TIMEOUT.min(feed.timeout);
    spawn(
        tasks,
        state,
        feed,
        caches.services.clone(),
        move |agent, sd| {
            let list = &cfg.services;
            let probes = services::check_all(agent, list);
            let now = Utc::now();
            let zone = st.zone();
            let mut slot = history.lock().unwrap_or_else(|e| e.into_inner());
            if sd.is_triggered() {
                return Err(FetchError::new(Reason::Unreachable, "stopped").into());
            }
            if slot.history.is_none() {
                let loaded = load_history(&cfg);
                slot.may_save = loaded.writable;
                slot.history = Some(loaded.history);
                fitted = true;
            }
            let may_save = slot.may_save;
            let Some(h) = slot.history.as_mut() else {
                return Err(FetchError::new(Reason::Unreachable, "no history").into());
            };
            if !fitted {
                h.retain_names(list.iter().map(|s| s.name.as_str()));
                fitted = true;
            }
            let offset = zone.at(now).0.local_minus_utc();
            let today = crate::feeds::days::day_of(now, offset);
            services::record(h, list, &probes, now, today);
            let kuma = kuma.snapshot();
            let k = match (kuma.status, kuma.data.as_deref()) {
                (FeedStatus::Disabled, _) => services::KumaState::Disabled,
                (FeedStatus::Pending, _) => services::KumaState::Pending,
                (FeedStatus::Ok, Some(k)) => services::KumaState::Ok(k),
                _ => services::KumaState::Unreachable,
            };
            let mut data = services::assemble(list, &probes, h, k, now, today);
            // Notices ride with the services: the owner's and Kuma's (its last good page).
            let kuma_notices = kuma.data.as_deref().map(|k| k.notices.clone());
            let owner = cfg.notices.iter().map(notices::Draft::from);
            let drafts = owner.chain(kuma_notices.into_iter().flatten());
            data.notices = notices::current(drafts, &mut seen, now, &zone);
            let detail = |name: &str| {
                let i = list.iter().position(|s| s.name == name)?;
                probes.get(i).and_then(|p| p.detail.clone())
            };
            let changes = h.changes.observe(&data, now, detail);
            data.changes = h.changes.recent.iter().cloned().collect();
            let url_of = |name: &str| {
                let s = list.iter().find(|s| s.name == name);
                s.map(|s| s.url.as_str().to_string()).unwrap_or_default()
            };
            super::notify::queue(&st, changes, url_of);
            if may_save {
                saver.maybe_save(h, now, false);
            }
            Ok(data)
        },
    )
}

/// Saves the service history now (the feed tasks stopped: shutdown or reload), when this
/// process read the file it would write.
pub(crate) fn save_history(state: &AppState) {
    let config = state.config();
    let history = state.feeds().service_history.clone();
    let slot = history.lock().unwrap_or_else(|e| e.into_inner());
    if let (Some(h), true) = (slot.history.as_ref(), slot.may_save) {
        Saver::new(&config).maybe_save(h, Utc::now(), true);
    }
}

/// How often the service history is written to `state_dir` (and once at shutdown).
pub const SAVE_EVERY: Duration = Duration::from_secs(300);

/// The service history at start: read from `state_dir` when set (a bad file is a
/// warning and an empty start, never a failure), else empty.
fn load_history(config: &Config) -> persist::Loaded {
    let names = config.services.iter().map(|s| s.name.as_str());
    match &config.state_dir {
        None => persist::Loaded {
            history: check_history::History::new(names),
            warning: None,
            writable: false,
        },
        Some(dir) => {
            let path = persist::path_in(dir);
            let loaded = persist::load(&path, names, Utc::now());
            match &loaded.warning {
                Some(w) => log::warn!("{w}"),
                None => log::info!("service history read from '{}'", path.display()),
            }
            loaded
        }
    }
}

/// Writes the history every [`SAVE_EVERY`] and at shutdown; one log line when saving
/// starts failing and one when it works again.
struct Saver {
    path: Option<std::path::PathBuf>,
    last: Instant,
    failing: bool,
}

impl Saver {
    fn new(config: &Config) -> Self {
        Saver {
            path: config.state_dir.as_deref().map(persist::path_in),
            last: Instant::now(),
            failing: false,
        }
    }

    fn maybe_save(&mut self, h: &check_history::History, now: DateTime<Utc>, force: bool) {
        let Some(path) = &self.path else { return };
        if !force && self.last.elapsed() < SAVE_EVERY {
            return;
        }
        self.last = Instant::now();
        match persist::save(path, h, now) {
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
