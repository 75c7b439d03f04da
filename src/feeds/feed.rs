//! Every feed declared once: its name (logs, thread, the `feed` label of `/metrics`),
//! the stream event its changes go out as, its schedule and staleness under a
//! configuration, and what a reload keeps of it. The stream's events are declared here
//! too, in the order a new client receives them.
//!
//! Adding a feed: its module, a variant here (the matches below do not compile until it
//! is given a schedule and a reload rule), its cache in `state`, its task in `background`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Config;

/// One upstream the portal fetches on a schedule into a cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feed {
    Weather,
    Activity,
    Services,
    UptimeKuma,
    /// Each configured peer's `/api/metrics` (one task and one cache per peer).
    Peer,
}

impl Feed {
    /// Every feed, in the order of the `kiteportal_feed_*` rows of `/metrics`.
    pub(crate) const ALL: [Feed; 5] = [
        Feed::Weather,
        Feed::Activity,
        Feed::Services,
        Feed::UptimeKuma,
        Feed::Peer,
    ];

    /// Its name in the logs, its task's thread and `/metrics` (a peer's row adds its
    /// name: `peer:<name>`).
    pub(crate) fn name(self) -> &'static str {
        crate::names::name_of(&self)
    }

    /// The stream event a change of its envelope goes out as. Uptime Kuma has none of
    /// its own: the services task folds its page into the services' next round.
    pub(crate) fn event(self) -> Option<Event> {
        match self {
            Feed::Weather => Some(Event::Weather),
            Feed::Activity => Some(Event::Activity),
            Feed::Services => Some(Event::Services),
            Feed::UptimeKuma => None,
            Feed::Peer => Some(Event::Hosts),
        }
    }

    /// How often it fetches under `config`; `None` when it is not configured (its cache
    /// is `disabled` and no task runs).
    pub(crate) fn refresh(self, config: &Config) -> Option<Duration> {
        match self {
            Feed::Weather => Some(config.weather.refresh),
            Feed::Activity => config.forgejo.url.as_ref().map(|_| config.forgejo.refresh),
            Feed::Services => Some(config.services_interval),
            Feed::UptimeKuma => config
                .uptime_kuma
                .as_ref()
                .map(|_| super::uptime_kuma::REFRESH),
            Feed::Peer => Some(super::peers::refresh(config.metrics.interval)),
        }
    }

    /// When its data counts as stale under `config`: two refreshes in a row did not land.
    pub(crate) fn stale_after(self, config: &Config) -> Option<Duration> {
        self.refresh(config)
            .map(|r| r.saturating_mul(2) + Duration::from_secs(30))
    }

    /// Its empty cache under `config`.
    pub(crate) fn cache<T>(self, config: &Config) -> super::Cached<T> {
        match self.stale_after(config) {
            Some(stale) => super::Cached::new(stale),
            None => super::Cached::disabled(),
        }
    }

    /// Whether a reload from `old` to `new` leaves what it fetches alone, so its cache
    /// (and its last good value) carries over. For a peer, what the peer itself is
    /// (name and URL) is compared by the caller.
    pub(crate) fn unchanged(self, old: &Config, new: &Config) -> bool {
        match self {
            Feed::Weather => old.weather == new.weather,
            Feed::Activity => old.forgejo == new.forgejo,
            Feed::Services => {
                old.services == new.services && old.services_interval == new.services_interval
            }
            Feed::UptimeKuma => old.uptime_kuma == new.uptime_kuma,
            Feed::Peer => old.metrics.interval == new.metrics.interval,
        }
    }
}

/// A live-stream event: its name is the SSE `event:` line and the page's section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Metrics,
    Weather,
    Activity,
    Services,
    Hosts,
}

impl Event {
    /// Every event, in the order a new client receives them.
    pub(crate) const ALL: [Event; 5] = [
        Event::Metrics,
        Event::Weather,
        Event::Activity,
        Event::Services,
        Event::Hosts,
    ];

    /// Its name (the SSE `event:` line), as serde spells it.
    pub(crate) fn name(self) -> &'static str {
        crate::names::name_of(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_named_as_the_stream_spells_them() {
        let names: Vec<&str> = Event::ALL.iter().map(|e| e.name()).collect();
        assert_eq!(
            names,
            ["metrics", "weather", "activity", "services", "hosts"]
        );
        let feeds: Vec<Option<&str>> = Feed::ALL
            .iter()
            .map(|f| f.event().map(Event::name))
            .collect();
        assert_eq!(
            feeds,
            [
                Some("weather"),
                Some("activity"),
                Some("services"),
                None,
                Some("hosts")
            ]
        );
    }

    #[test]
    fn a_feed_not_configured_has_no_schedule() {
        let config = crate::config::build(
            &crate::config::Overrides::default(),
            crate::config::FileConfig::default(),
        )
        .unwrap();
        assert_eq!(Feed::UptimeKuma.name(), "uptime_kuma");
        assert_eq!(Feed::Activity.refresh(&config), None);
        assert_eq!(Feed::UptimeKuma.stale_after(&config), None);
        let weather = config.weather.refresh;
        assert_eq!(
            Feed::Weather.stale_after(&config),
            Some(weather * 2 + Duration::from_secs(30))
        );
        assert!(Feed::Peer.unchanged(&config, &config));
    }
}
