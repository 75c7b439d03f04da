//! Notifications of service status changes: the bounded queue between the services task
//! and the sender (a check never waits for a receiver), the bodies each format sends
//! (a JSON webhook, or ntfy's plain text with `Title`, `Tags` and `Priority`), and one
//! POST to one target.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;

use serde::Serialize;

use super::changes::Transition;
use super::ServiceState;
use crate::config::{NotifyFormat, NotifyTarget};

/// Longest one POST may take.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Notifications waiting to be sent; beyond this the newest are dropped (and said so).
pub const QUEUE: usize = 64;

/// One change to send, with the service's public URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub change: Transition,
    pub url: String,
}

/// The queue: the services task pushes without waiting, the sender takes.
pub struct Queue {
    tx: SyncSender<Outgoing>,
    rx: Mutex<Option<Receiver<Outgoing>>>,
}

impl Default for Queue {
    fn default() -> Self {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        Queue {
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }
}

impl Queue {
    /// Queues `o` without waiting; `false` when the queue is full (the sender is stuck
    /// on targets that do not answer) and `o` was dropped.
    pub(crate) fn push(&self, o: Outgoing) -> bool {
        match self.tx.try_send(o) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }

    /// The receiving end, for the one sender (`None` once taken).
    pub(crate) fn take_receiver(&self) -> Option<Receiver<Outgoing>> {
        self.rx.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// The JSON body: `{"service", "status", "previous", "reason", "detail", "since", "url"}`.
#[derive(Serialize)]
struct JsonBody<'a> {
    service: &'a str,
    status: ServiceState,
    previous: ServiceState,
    reason: Option<&'a str>,
    detail: Option<&'a str>,
    since: chrono::DateTime<chrono::Utc>,
    url: &'a str,
}

/// The request for `o` in `format`: body and extra headers.
pub(crate) fn request(
    format: NotifyFormat,
    o: &Outgoing,
) -> (Vec<u8>, Vec<(&'static str, String)>) {
    let c = &o.change;
    match format {
        NotifyFormat::Json => {
            let body = JsonBody {
                service: &c.service,
                status: c.to,
                previous: c.from,
                reason: c.reason.as_deref(),
                detail: c.detail.as_deref(),
                since: c.at,
                url: &o.url,
            };
            let json = serde_json::to_vec(&body).unwrap_or_default();
            (json, vec![("Content-Type", "application/json".into())])
        }
        NotifyFormat::Ntfy => {
            let (tag, priority) = match c.to {
                ServiceState::Down => ("rotating_light", "high"),
                ServiceState::Maintenance => ("construction", "default"),
                _ => ("white_check_mark", "default"),
            };
            let why = c
                .detail
                .as_deref()
                .or(c.reason.as_deref())
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            let text = format!("{} is {} (was {}){why}\n{}", c.service, c.to, c.from, o.url);
            // Header values must be ASCII and single-line: the title is cleaned to that.
            let title: String = format!("{} {}", c.service, c.to)
                .chars()
                .map(|ch| if ch.is_ascii_graphic() { ch } else { ' ' })
                .take(120)
                .collect();
            let headers = vec![
                ("Content-Type", "text/plain; charset=utf-8".into()),
                ("Title", title),
                ("Tags", tag.into()),
                ("Priority", priority.into()),
            ];
            (text.into_bytes(), headers)
        }
    }
}

/// Whether `target` wants `o`.
pub(crate) fn wants(target: &NotifyTarget, o: &Outgoing) -> bool {
    target.events.contains(&o.change.to)
}

/// POSTs `o` to `target` once; the error says why (never the URL: it is a secret).
pub(crate) fn send(agent: &ureq::Agent, target: &NotifyTarget, o: &Outgoing) -> Result<(), String> {
    let (body, headers) = request(target.format, o);
    let mut req = agent.post(target.url.expose());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    match req.send(&body[..]) {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
        Err(e) => Err(super::http::reason(&e, TIMEOUT.as_secs_f64())
            .reason
            .label()
            .into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing(to: ServiceState) -> Outgoing {
        Outgoing {
            change: Transition {
                service: "Photos\u{202e}".into(),
                from: ServiceState::Up,
                to,
                reason: Some("timeout".into()),
                detail: Some("connect to 10.0.0.5:2342 timed out".into()),
                at: chrono::DateTime::from_timestamp(1_764_700_000, 0).unwrap(),
            },
            url: "https://photos.kitestacks.com".into(),
        }
    }

    #[test]
    fn each_format_says_what_changed() {
        let (body, headers) = request(NotifyFormat::Json, &outgoing(ServiceState::Down));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["status"], "down");
        assert_eq!(v["previous"], "up");
        assert_eq!(v["reason"], "timeout");
        assert_eq!(v["url"], "https://photos.kitestacks.com");
        assert_eq!(headers, [("Content-Type", "application/json".to_string())]);
        let (body, headers) = request(NotifyFormat::Ntfy, &outgoing(ServiceState::Down));
        let text = String::from_utf8(body).unwrap();
        assert!(
            text.starts_with("Photos\u{202e} is down (was up): connect to"),
            "{text}"
        );
        let h = |k: &str| headers.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(h("Title"), "Photos  down");
        assert_eq!(h("Priority"), "high");
        let (_, headers) = request(NotifyFormat::Ntfy, &outgoing(ServiceState::Up));
        assert!(headers.contains(&("Priority", "default".to_string())));
    }

    #[test]
    fn the_queue_is_bounded_and_never_waits() {
        let q = Queue::default();
        for _ in 0..QUEUE {
            assert!(q.push(outgoing(ServiceState::Down)));
        }
        assert!(
            !q.push(outgoing(ServiceState::Down)),
            "full: dropped at once"
        );
        let rx = q.take_receiver().unwrap();
        assert!(q.take_receiver().is_none());
        assert_eq!(rx.try_iter().count(), QUEUE);
    }
}
