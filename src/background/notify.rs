//! The notification sender: one thread takes the status changes the services task
//! queued and hands each to a thread per `[[notify]]` target of the running
//! configuration that wants it, which POSTs it a few times with backoff; a target that
//! hangs or fails costs one log line (its URL masked) and delays no check and no other
//! target.

use std::collections::HashMap;
use std::sync::mpsc::{RecvTimeoutError, SyncSender};
use std::time::Duration;

use crate::config::NotifyTarget;
use crate::feeds::notify::{self, Outgoing};
use crate::feeds::{http, ServiceState};
use crate::state::AppState;
use crate::tasks::{Shutdown, Tasks};

/// Tries per target and notification.
pub const TRIES: u32 = 3;
/// The pause after the first failed try; doubled after each.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);

/// Notifications waiting for one target; beyond this that target's newest are dropped.
const PER_TARGET: usize = 16;

/// Starts the sender (once per process: it owns the queue's receiving end). It hands
/// each change to one thread per target, so a target that hangs delays only itself and
/// each target receives its changes in order.
pub(crate) fn start(state: &AppState, tasks: &mut Tasks) -> std::io::Result<()> {
    let Some(rx) = state.notifications.take_receiver() else {
        return Ok(());
    };
    let st = state.clone();
    let mut rx = Some(rx);
    tasks.spawn("notify", move |sd| {
        let Some(queue) = rx.take() else {
            // A restart after a panic finds the receiver gone: nothing more is sent.
            while sd.sleep(Duration::from_secs(3600)) {}
            return;
        };
        let mut workers: HashMap<String, SyncSender<Outgoing>> = HashMap::new();
        loop {
            match queue.recv_timeout(Duration::from_millis(250)) {
                Ok(o) => fan_out(&st, sd, &mut workers, &o),
                Err(RecvTimeoutError::Timeout) if !sd.is_triggered() => {}
                Err(_) => break,
            }
        }
    })
}

/// Hands `o` to the worker of each target of the running configuration that wants it.
fn fan_out(
    state: &AppState,
    sd: &Shutdown,
    workers: &mut HashMap<String, SyncSender<Outgoing>>,
    o: &Outgoing,
) {
    let config = state.config();
    for target in config.notify.iter().filter(|t| notify::wants(t, o)) {
        let key = format!("{:?} {}", target.format, target.url.expose());
        let tx = match workers.get(&key) {
            Some(tx) => tx.clone(),
            None => match worker(target.clone(), sd.clone()) {
                Some(tx) => workers.entry(key).or_insert(tx).clone(),
                None => continue,
            },
        };
        if tx.try_send(o.clone()).is_err() {
            log::warn!(
                "notify {}: too many changes waiting; the change of {} is not sent",
                target.url.masked(),
                o.change.service
            );
        }
    }
}

/// A thread that sends one target's changes in order.
fn worker(target: NotifyTarget, sd: Shutdown) -> Option<SyncSender<Outgoing>> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Outgoing>(PER_TARGET);
    let masked = target.url.masked();
    let spawned = std::thread::Builder::new()
        .name("notify-target".into())
        .spawn(move || {
            let agent = http::agent(notify::TIMEOUT);
            while let Ok(o) = rx.recv() {
                if sd.is_triggered() {
                    break;
                }
                deliver(&agent, &sd, &target, &o);
            }
        });
    match spawned {
        Ok(_) => Some(tx),
        Err(e) => {
            log::warn!("notify {masked}: cannot start a sender: {e}");
            None
        }
    }
}

/// Sends `o` to `target`, a few tries with backoff; one log line either way.
fn deliver(agent: &ureq::Agent, sd: &Shutdown, target: &NotifyTarget, o: &Outgoing) {
    let mut pause = FIRST_RETRY;
    let mut failure = None;
    for attempt in 1..=TRIES {
        match notify::send(agent, target, o) {
            Ok(()) => {
                failure = None;
                break;
            }
            Err(e) => failure = Some(e),
        }
        if attempt < TRIES && !sd.sleep(pause) {
            break;
        }
        pause *= 2;
    }
    let (url, who, what) = (target.url.masked(), &o.change.service, o.change.to);
    match failure {
        Some(e) => log::warn!("notify {url}: {who} {what} not sent after {TRIES} tries: {e}"),
        None => log::info!("notify {url}: {who} {what} sent"),
    }
}

/// Queues the changes of one round (never waits; a full queue is one warning).
pub(crate) fn queue(
    state: &AppState,
    changes: Vec<crate::feeds::changes::Transition>,
    url_of: impl Fn(&str) -> String,
) {
    if state.config().notify.is_empty() {
        return;
    }
    for change in changes {
        if change.to == ServiceState::Unknown {
            continue;
        }
        let url = url_of(&change.service);
        let service = change.service.clone();
        if !state.notifications.push(Outgoing { change, url }) {
            log::warn!("notify: the queue is full; the change of {service} is not sent");
        }
    }
}
