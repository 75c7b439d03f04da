//! The portal page's view model: everything `templates/index.html` prints, built from
//! [`AppState`] and already formatted for humans (units, relative times, gauge geometry),
//! so the first paint is complete without JavaScript. The live updates are the same
//! templates rendered again (`view_tiles`); `assets/app.js` formats nothing.

use chrono::{DateTime, Utc};

use crate::access::Audience;

use crate::feeds::feed::Feed;
use crate::feeds::{Activity, Snapshot};

use crate::state::AppState;

use super::format::{ago, safe_url};
use super::view_feeds::*;
use super::view_hosts::HostTab;
use super::view_services::*;
use super::view_system::*;

/// The whole page.
pub struct PageView {
    pub host: String,
    /// The tab's title: "(2 down) KiteStacks — host" during an outage.
    pub title: String,
    pub version: &'static str,
    pub interval: String,
    pub interval_ms: u64,
    pub now_iso: String,
    pub now_label: String,
    /// The page's time zone ("Europe/Amsterdam"), its abbreviation now ("CET") and its
    /// offset from UTC in minutes: the script writes live times the same way.
    pub tz_name: String,
    pub tz_abbr: String,
    pub tz_offset_min: i32,
    /// The host switcher (empty for a single host).
    pub hosts: Vec<HostTab>,
    /// The system panel's host, interval, numbers and state.
    pub sys_host: String,
    pub sys_interval: String,
    pub sys_note: Option<String>,
    pub sys_seen: Option<AgeView>,
    pub sys_stale: bool,
    pub sys: SystemView,
    pub services_state: FeedState,
    /// The services feed badge's health: the same as [`SummaryView::state`].
    pub services_health: &'static str,
    pub summary: SummaryView,
    /// The notices in effect, above the services.
    pub notices: Vec<NoticeView>,
    pub groups: Vec<ServiceGroup>,
    /// Whether only the services that are not up are shown (`/?status=down`).
    pub down_only: bool,
    pub weather_state: FeedState,
    pub weather: Option<WeatherView>,
    pub activity_state: FeedState,
    pub commits: Vec<CommitView>,
    /// Whether the page shows the containers tile (owner view only; containers are
    /// private data).
    pub show_containers: bool,
    pub containers: crate::routes::view_containers::ContainersView,
}

impl PageView {
    /// Builds the page from the shared state at `now`.
    /// `selected` names the host the system panel shows (this host unless it names a peer).
    /// `down_only` keeps only the services that are not up (`/?status=down`).
    pub fn build(
        state: &AppState,
        now: DateTime<Utc>,
        audience: Audience,
        selected: &str,
        down_only: bool,
    ) -> Self {
        let config = state.config();
        let feeds = state.feeds();
        let latest = state.metrics.latest();
        let interval = config.metrics.interval;
        // Containers are owner data: the tile and the cards' notes are private.
        let show_containers = audience == Audience::Private;
        let owner_sample = latest
            .as_ref()
            .filter(|_| show_containers)
            .map(|p| &p.sample);
        let containers = crate::routes::view_containers::ContainersView::new(owner_sample);
        let panel = super::view_hosts::panel(state, selected, audience, now);
        let hosts = super::view_hosts::tabs(state, &panel.host);
        let svc = feeds.services.snapshot();
        let zone = state.zone();
        let svc_data = services_data(&config, &svc, now, &zone, audience);
        let summary = summary(&svc_data, now);
        let mut services_state = FeedState::of(&svc, Feed::Services, audience);
        if svc.data.is_some() {
            // The badge never contradicts the cards: it leads with the count.
            services_state.label = format!(
                "{}/{} up · {}",
                svc_data.summary.up, svc_data.summary.total, services_state.label
            );
        }
        let weather = feeds.weather.snapshot();
        let activity: Snapshot<Activity> = feeds.activity.snapshot();
        let zone_now = zone.at(now);
        let mut groups = groups(&svc_data, now, &zone);
        if down_only {
            keep_not_up(&mut groups);
        }
        notice_cards(&mut groups, &svc_data.notices);
        if let Some(sample) = owner_sample {
            for s in groups.iter_mut().flat_map(|g| g.services.iter_mut()) {
                s.container_note =
                    crate::routes::view_containers::service_note(Some(sample), &s.name);
            }
        }
        PageView {
            title: page_title(svc_data.summary.down, &config.host.name),
            host: config.host.name.clone(),
            version: env!("CARGO_PKG_VERSION"),
            interval: humantime::format_duration(interval).to_string(),
            interval_ms: interval.as_millis().min(u128::from(u64::MAX)) as u64,
            now_iso: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            now_label: zone.format(now, "%H:%M"),
            tz_name: zone.name().to_string(),
            tz_abbr: zone_now.1,
            tz_offset_min: zone_now.0.local_minus_utc() / 60,
            hosts,
            sys_host: panel.host,
            sys_interval: panel.interval,
            sys_note: panel.note,
            sys_seen: panel.seen,
            sys_stale: panel.stale,
            sys: panel.sys,
            services_state,
            services_health: summary.state,
            groups,
            down_only,
            notices: svc_data.notices.iter().map(NoticeView::new).collect(),
            summary,
            weather_state: FeedState::of(&weather, Feed::Weather, audience),
            weather: weather.data.as_deref().map(WeatherView::new),
            activity_state: FeedState::of(&activity, Feed::Activity, audience),
            commits: commit_views(&activity, now),
            show_containers,
            containers,
        }
    }
}

/// The tab's title, telling of an outage ("(2 down) KiteStacks — nas"); the script
/// keeps the prefix current from the services' `summary.down`.
pub fn page_title(down: usize, host: &str) -> String {
    match down {
        0 => format!("KiteStacks — {host}"),
        n => format!("({n} down) KiteStacks — {host}"),
    }
}

/// The activity tile's rows.
fn commit_views(activity: &Snapshot<Activity>, now: DateTime<Utc>) -> Vec<CommitView> {
    activity
        .data
        .as_deref()
        .map(|a| {
            a.items
                .iter()
                .map(|c| CommitView {
                    repo: c.repo.clone(),
                    repo_url: safe_url(&c.repo_url),
                    short_sha: c.short_sha.clone(),
                    message: c.message.clone(),
                    author: c.author.clone(),
                    when: ago(c.date, now),
                    date: c.date.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    url: safe_url(&c.url),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::format::*;

    /// The server is the page's only formatter: the script spells no unit, threshold or
    /// number format (only the clock and the relative ages it keeps counting).
    #[test]
    fn the_script_formats_no_numbers() {
        let js = include_str!("../../assets/app.js");
        for unit in &UNITS[1..] {
            assert!(!js.contains(unit), "assets/app.js spells the unit {unit}");
        }
        for f in [
            "toFixed",
            "°",
            "/s`",
            "%`",
            "km/h",
            "dataset.levels",
            "dataset.units",
        ] {
            assert!(!js.contains(f), "assets/app.js formats numbers ({f})");
        }
    }

    #[test]
    fn units_read_like_a_human_wrote_them() {
        assert_eq!(bytes(0.0), "0 B");
        assert_eq!(bytes(1023.0), "1023 B");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(3.5 * 1024.0 * 1024.0 * 1024.0), "3.5 GiB");
        assert_eq!(bytes(f64::NAN), "—");
        assert_eq!(rate(None), "—");
        assert_eq!(rate(Some(2048.0)), "2.0 KiB/s");
        assert_eq!(pct(Some(12.345)), "12.3%");
        assert_eq!(pct(Some(140.0)), "100.0%");
        assert_eq!(uptime(59), "0m");
        assert_eq!(uptime(3 * 86_400 + 4 * 3600 + 12 * 60), "3d 4h 12m");
        assert_eq!(age(10), "just now");
        assert_eq!(age(300), "5 min ago");
        assert_eq!(age(7200), "2 h ago");
        assert_eq!(age(3 * 86_400), "3 d ago");
        assert_eq!(day_label("2026-11-27"), "Fri 27");
        assert_eq!(day_label("garbage"), "garbage");
        assert_eq!(weather_kind(113), "sun");
        assert_eq!(weather_kind(296), "rain");
        assert_eq!(weather_kind(389), "storm");
        assert_eq!(weather_kind(9999), "cloud");
        assert_eq!(safe_url("javascript:alert(1)"), "#");
        assert_eq!(safe_url("HTTPS://x.y/z"), "HTTPS://x.y/z");
        assert_eq!(safe_url("http:"), "#");
    }

    #[test]
    fn gauges_judge_by_their_own_thresholds() {
        assert_eq!(Gauge::Cpu.level(Some(74.9)), Level::Ok);
        assert_eq!(Gauge::Cpu.level(Some(75.0)), Level::Warn);
        assert_eq!(Gauge::Memory.level(Some(91.0)), Level::Warn);
        assert_eq!(Gauge::Limit.level(Some(95.0)), Level::Bad);
        assert_eq!(Gauge::Temperature.level(None), Level::Unknown);
        let names: Vec<String> = [Level::Ok, Level::Warn, Level::Bad, Level::Unknown]
            .iter()
            .map(Level::to_string)
            .collect();
        assert_eq!(names, ["ok", "warn", "bad", "unknown"]);
    }

    #[test]
    fn unknown_icons_fall_back_to_the_generic_glyph() {
        assert!(crate::icons::svg("forgejo").contains("<svg"));
        assert_eq!(
            crate::icons::svg("no-such-icon"),
            crate::icons::svg("generic")
        );
        assert_eq!(
            crate::icons::svg("../../etc/passwd"),
            crate::icons::svg("generic")
        );
    }
}
