//! The wiring of the background work: starts the sampler, the stream heartbeat and the
//! feeds (`feeds.rs`) on the shared state, publishes what they produce to the live
//! stream, and restarts the feeds when a reload changes their configuration. Sources
//! (`host`, `feeds`) know nothing of this.

mod feeds;
mod notify;

use std::io;
use std::time::{Duration, Instant};

use crate::access::Audience;
use crate::feeds::feed::Event;
use crate::host::{namespaces, Sample, Sampler};
use crate::state::AppState;
use crate::tasks::{Shutdown, Tasks};

/// How long a reload waits for the old feed tasks (a fetch in flight) before it starts
/// the new ones anyway.
const FEED_RESTART_GRACE: Duration = Duration::from_secs(2);

/// The running background tasks: the long-lived core (sampler, heartbeat) and the
/// feeds, which a reload may replace.
pub struct Background {
    core: Tasks,
    feeds: Tasks,
}

/// Spawns the background tasks for `state`.
pub(crate) fn start(state: &AppState) -> io::Result<Background> {
    let mut core = Tasks::new(Shutdown::new());
    start_sampler(state, &mut core)?;
    let hub = state.hub.clone();
    let every = state.config().stream.heartbeat;
    core.spawn("heartbeat", move |sd| {
        while sd.sleep(every) {
            hub.heartbeat();
        }
    })?;
    notify::start(state, &mut core)?;
    let mut feed_tasks = Tasks::new(Shutdown::new());
    feeds::start(state, &mut feed_tasks)?;
    Ok(Background {
        core,
        feeds: feed_tasks,
    })
}

impl Background {
    /// Stops the feed tasks and starts them again on the state's (new) configuration.
    /// The service history is saved in between, so nothing learnt is lost.
    pub(crate) fn restart_feeds(&mut self, state: &AppState) -> io::Result<()> {
        let old = std::mem::replace(&mut self.feeds, Tasks::new(Shutdown::new()));
        old.stop(FEED_RESTART_GRACE);
        feeds::save_history(state);
        feeds::start(state, &mut self.feeds)
    }

    /// Stops everything, waiting at most `grace`, and saves the service history.
    pub(crate) fn stop(self, state: &AppState, grace: Duration) {
        self.feeds.shutdown().trigger();
        self.core.stop(grace);
        self.feeds.stop(Duration::from_millis(100));
        feeds::save_history(state);
    }
}

/// Publishes `sample` to the store (which serialises it once per audience) and the live
/// stream.
fn publish_sample(state: &AppState, sample: Sample) {
    let published = state.metrics.publish(sample);
    state.hub.publish(
        Event::Metrics,
        published.json(Audience::Private),
        published.json(Audience::Public),
    );
}

/// Publishes the current state of `event` to every stream client, each in its
/// audience's version.
pub(crate) fn publish(state: &AppState, event: Event) {
    let private = state.event_body(event, Audience::Private);
    let public = state.event_body(event, Audience::Public);
    let (Some(private), Some(public)) = (private, public) else {
        return;
    };
    state.hub.publish(event, &private, &public);
}

/// How long start-up waits for the first sample before listening without it. Every read
/// is non-blocking and statvfs has its own deadline, so the first sample takes well under
/// a second; this only bounds what cannot be foreseen (a stuck `open` on a hung mount).
pub const PRIME_DEADLINE: Duration = Duration::from_secs(3);

/// Warns when the host view is missing, then samples every `metrics.interval` on the
/// sampler thread. Start-up waits for the first sample (so `/api/metrics` has one before
/// the server listens) at most [`PRIME_DEADLINE`], then says so and goes on: the store's
/// watchdog reports a sampler that never publishes.
fn start_sampler(state: &AppState, tasks: &mut Tasks) -> io::Result<()> {
    let config = state.config();
    let mut sampler =
        Sampler::new(&config.host, &config.metrics).with_containers(config.containers.clone());
    match namespaces::warning(sampler.view()) {
        Some(w) => log::warn!("host view: {w}"),
        None => log::info!(
            "host view: host PID and network namespaces (proc={}, sys={}, root={})",
            config.host.proc.display(),
            config.host.sys.display(),
            config.host.root.display()
        ),
    }
    let interval = config.metrics.interval;
    let st = state.clone();
    let (primed_tx, primed_rx) = std::sync::mpsc::sync_channel::<()>(1);
    let mut next = Instant::now();
    let mut primed = false;
    let mut rules = config.containers.clone();
    tasks.spawn("sampler", move |sd| {
        // Ticks on a fixed schedule (no drift by the sample's own duration); after a
        // stall (suspend, overload) it samples at once and starts a fresh schedule.
        loop {
            let now = Instant::now();
            let wait = next.saturating_duration_since(now);
            if !sd.sleep(wait) {
                break;
            }
            // `[[containers]]` is applied by a reload: the rules of the running config.
            let running = st.config();
            if running.containers != rules {
                rules = running.containers.clone();
                sampler.set_container_rules(rules.clone());
            }
            let sample = sampler.sample();
            if !primed {
                primed = true;
                // The first sample: is the cgroup root this container's own?
                if let Some(hint) = sampler.own_cgroup_hint(&sample) {
                    log::warn!("{hint}");
                }
            }
            publish_sample(&st, sample);
            let _ = primed_tx.try_send(());
            next += interval;
            let now = Instant::now();
            if next + interval < now {
                next = now + interval;
            }
        }
    })?;
    if primed_rx.recv_timeout(PRIME_DEADLINE).is_err() {
        log::warn!(
            "the first host sample did not finish within {}s; listening without it \
             (/api/metrics answers 503 until it does, /api/health reports the sampler)",
            PRIME_DEADLINE.as_secs()
        );
    }
    Ok(())
}
