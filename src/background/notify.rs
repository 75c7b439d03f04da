//! The notification sender: one thread takes the status changes the services task
//! queued and POSTs each to every `[[notify]]` target of the running configuration that
//! wants it, a few times with backoff; a target that hangs or fails costs one log line
//! (its URL masked) and delays no check.

use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use crate::feeds::notify::{self, Outgoing};
use crate::feeds::{http, ServiceState};
use crate::state::AppState;
use crate::tasks::{Shutdown, Tasks};

/// Tries per target and notification.
pub const TRIES: u32 = 3;
/// The pause after the first failed try; doubled after each.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);

/// Starts the sender (once per process: it owns the queue's receiving end).
pub fn start(state: &AppState, tasks: &mut Tasks) -> std::io::Result<()> {
    let Some(rx) = state.notifications.take_receiver() else {
        return Ok(());
    };
    let st = state.clone();
    let mut rx = Some(rx);
    tasks.spawn("notify", move |sd| {
        let Some(queue) = rx.take() else { return };
        let agent = http::agent(notify::TIMEOUT);
        loop {
            match queue.recv_timeout(Duration::from_millis(250)) {
                Ok(o) => deliver(&st, &agent, sd, &o),
                Err(RecvTimeoutError::Timeout) if !sd.is_triggered() => {}
                Err(_) => break,
            }
        }
        // A restart after a panic finds the receiver gone: nothing more is sent.
        while sd.sleep(Duration::from_secs(3600)) {}
    })
}

/// Sends `o` to each target that wants it.
fn deliver(state: &AppState, agent: &ureq::Agent, sd: &Shutdown, o: &Outgoing) {
    let config = state.config();
    for target in config.notify.iter().filter(|t| notify::wants(t, o)) {
        let mut pause = FIRST_RETRY;
        let mut last = String::new();
        for attempt in 1..=TRIES {
            match notify::send(agent, target, o) {
                Ok(()) => {
                    last.clear();
                    break;
                }
                Err(e) => last = e,
            }
            if attempt < TRIES && !sd.sleep(pause) {
                break;
            }
            pause *= 2;
        }
        if !last.is_empty() {
            log::warn!(
                "notify {}: {} {} not sent after {TRIES} tries: {last}",
                target.url.masked(),
                o.change.service,
                o.change.to.as_str()
            );
        } else {
            log::info!(
                "notify {}: {} {} sent",
                target.url.masked(),
                o.change.service,
                o.change.to.as_str()
            );
        }
    }
}

/// Queues the changes of one round (never waits; a full queue is one warning).
pub fn queue(
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
