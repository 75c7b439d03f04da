//! The host switcher and the system panel's subject: this host, or a peer replica chosen
//! with `/?host=<name>` (links that work without JavaScript), with the peer's own
//! interval and history, and an honest state when it cannot be reached.

use chrono::{DateTime, Utc};

use super::view_feeds::AgeView;
use super::view_system::SystemView;
use crate::access::Audience;
use crate::feeds::FeedStatus;
use crate::state::AppState;

/// One entry of the host switcher: a link to the page showing that host.
pub struct HostTab {
    pub name: String,
    pub is_self: bool,
    /// The feed status of its metrics (`ok`, `stale`, `error`, `pending`).
    pub status: FeedStatus,
    /// `/?host=<name>` (`/` for this host).
    pub href: String,
    /// The panel shows this host.
    pub current: bool,
}

/// The system panel: whose it is, how often it samples, and what is known of it.
pub struct SystemPanel {
    pub host: String,
    /// "2s".
    pub interval: String,
    pub sys: SystemView,
    /// For a peer that did not answer: "unreachable (timeout) · last seen" and then
    /// `seen` ("3 min ago"), or the whole note ("unreachable (timeout) · never seen").
    pub note: Option<String>,
    pub seen: Option<AgeView>,
    /// The numbers shown are a peer's last good ones, not current.
    pub stale: bool,
}

/// The switcher's tabs; empty for a single host (nothing to switch).
pub fn tabs(state: &AppState, selected: &str) -> Vec<HostTab> {
    let config = state.config();
    let feeds = state.feeds();
    if config.peers.is_empty() {
        return Vec::new();
    }
    let own = state.metrics.latest().is_some();
    let mut tabs = vec![HostTab {
        name: config.host.name.clone(),
        is_self: true,
        status: if own {
            FeedStatus::Ok
        } else {
            FeedStatus::Pending
        },
        href: "/".to_string(),
        current: selected == config.host.name,
    }];
    for (peer, cache) in &feeds.peers {
        tabs.push(HostTab {
            name: peer.name.clone(),
            is_self: false,
            status: cache.snapshot().status,
            href: format!("/?host={}", crate::feeds::http::encode_segment(&peer.name)),
            current: selected == peer.name,
        });
    }
    tabs
}

/// The panel for host `selected` (this host when it names no peer) as `audience` sees it.
pub fn panel(
    state: &AppState,
    selected: &str,
    audience: Audience,
    now: DateTime<Utc>,
) -> SystemPanel {
    let running = state.running();
    let config = &running.config;
    let Some(cache) = running.feeds.peer(selected).cloned() else {
        let latest = state.metrics.latest();
        let interval = config.metrics.interval;
        return SystemPanel {
            host: config.host.name.clone(),
            interval: humantime::format_duration(interval).to_string(),
            sys: SystemView::new(
                latest.as_ref().map(|p| p.sample(audience)),
                &state.metrics.history(),
                interval.as_secs_f64(),
                &state.zone(),
            ),
            note: None,
            seen: None,
            stale: false,
        };
    };
    let snap = cache.snapshot();
    let data = snap.data.as_deref();
    let public = data.and_then(|d| {
        use crate::access::Redact;
        (audience == Audience::Public)
            .then(|| d.metrics.redacted())
            .flatten()
    });
    let sample = public.as_ref().or(data.map(|d| &d.metrics));
    let iv = data.map_or(config.metrics.interval.as_secs_f64(), |d| {
        d.interval_seconds
    });
    let history = data.map(|d| d.history.as_slice()).unwrap_or_default();
    let why = snap.error.as_ref().map(|e| match audience {
        Audience::Private => e.detail.clone(),
        Audience::Public => e.reason.label().into_owned(),
    });
    let seen = snap.updated_at.map(|t| AgeView::of(t, now));
    let note = match (snap.status, why, &seen) {
        (FeedStatus::Ok, _, _) => None,
        (FeedStatus::Pending, _, _) => Some("waiting for the first answer".to_string()),
        (_, Some(w), Some(_)) => Some(format!("unreachable ({w}) · last seen")),
        (_, Some(w), None) => Some(format!("unreachable ({w}) · never seen")),
        (_, None, Some(_)) => Some("no fresh sample · last seen".to_string()),
        (_, None, None) => Some("no sample yet".to_string()),
    };
    let seen = seen.filter(|_| !matches!(snap.status, FeedStatus::Ok | FeedStatus::Pending));
    SystemPanel {
        host: selected.to_string(),
        interval: humantime::format_duration(std::time::Duration::from_secs_f64(iv.max(0.0)))
            .to_string(),
        sys: SystemView::new(sample, history, iv, &state.zone()),
        stale: note.is_some() && sample.is_some(),
        note,
        seen,
    }
}
