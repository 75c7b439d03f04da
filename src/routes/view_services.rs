//! The services tile's view: cards grouped as configured, each with its status,
//! reason, "down since", 24 h bar and its text equivalent, and the one-line summary.

use chrono::{DateTime, Utc};

use super::format::*;
use super::view_feeds::LastingView;
use crate::access::{Audience, Redact};
use crate::config::Config;
use crate::feeds::check_history::BarCell;
use crate::feeds::notices::{self, Notice, NoticeKind};
use crate::feeds::{ServiceState, ServiceStatus, Services, Snapshot};
use crate::timezone::Zone;

/// One cell of a service's 24 h bar.
pub struct CellView {
    pub x: usize,
    /// How many half hours it spans: a run of all-up (or of unchecked) half hours is one
    /// element, so a healthy card's bar is one `<path>`, not 48.
    pub len: usize,
    /// No checks, ok (all up), warn (at least 90 % up) or bad.
    pub level: Level,
    /// Its time and count ("02:30–03:00 UTC · 58/60 up"), the cell's SVG `<title>`.
    pub title: String,
}

/// One service card.
pub struct ServiceView {
    pub name: String,
    pub url: String,
    pub description: String,
    /// Inline SVG markup from our own embedded icons (never from config or upstream).
    pub icon_svg: std::borrow::Cow<'static, str>,
    pub status: ServiceState,
    pub latency: String,
    /// The short reason class when not up.
    pub reason: Option<String>,
    /// When the service entered its state and for how long ("since 14:02 UTC",
    /// "12 min"); every known state has one, and the page keeps the duration counting.
    pub since: LastingView,
    /// "24 h 98.6% · 7 d 99.1%".
    pub uptime: String,
    /// The bar's text equivalent ("last 24 h: 98.6% up; 7 days: 99.1% up; not all up:
    /// 02:30–03:00 UTC · 58/60 up").
    pub bar_label: String,
    pub cells: Vec<CellView>,
    pub source: crate::feeds::StatusSource,
    /// OOM kills of the containers linked to this service (owner view; empty if none).
    pub container_note: String,
    /// The 90-day strip behind the card's "90 days" disclosure.
    pub days: super::view_days::DaysView,
    /// The first notice naming this service: its style and card text ("maintenance
    /// until 18:00 CET"); empty if none.
    pub notice_style: &'static str,
    pub notice_note: String,
}

/// One notice above the services.
pub struct NoticeView {
    pub kind: &'static str,
    pub style: &'static str,
    pub title: String,
    pub body: String,
    pub when: String,
}

impl NoticeView {
    pub fn new(n: &Notice) -> Self {
        NoticeView {
            kind: match n.kind {
                NoticeKind::Notice => "notice",
                NoticeKind::Incident => "incident",
                NoticeKind::Maintenance => "maintenance",
            },
            style: crate::names::name_of(&n.style),
            title: n.title.clone(),
            body: n.body.clone(),
            when: n.when.clone(),
        }
    }
}

/// Each card named by a notice says so (the first such notice: the list is in order).
pub(crate) fn notice_cards(groups: &mut [ServiceGroup], list: &[Notice]) {
    for s in groups.iter_mut().flat_map(|g| g.services.iter_mut()) {
        if let Some(n) = list.iter().find(|n| n.services.contains(&s.name)) {
            s.notice_style = crate::names::name_of(&n.style);
            s.notice_note = n.card_note();
        }
    }
}

pub struct ServiceGroup {
    pub name: String,
    pub services: Vec<ServiceView>,
}

/// The one-line summary at the top of the page.
pub struct SummaryView {
    /// "8/9 up · Forgejo down", then [`SummaryView::down_for`].
    pub text: String,
    /// How long the one service down has been down ("12 min"), counting on the page.
    pub down_for: Option<LastingView>,
    /// "ok" (all up), "down" (any down), "unknown" (nothing known yet or some unknown).
    pub state: &'static str,
}

/// The colour of a bar cell by share of checks up.
pub fn share_level(checks: u32, up: u32) -> Level {
    if checks == 0 {
        Level::NoChecks
    } else if up >= checks {
        Level::Ok
    } else if u64::from(up) * 10 >= u64::from(checks) * 9 {
        Level::Warn
    } else {
        Level::Bad
    }
}

/// An uptime ratio as a percentage, rounded down so 99.96 % never reads "100%"
/// ("98.6%", "100%", "—").
pub fn ratio_pct(r: Option<f64>) -> String {
    match r {
        Some(v) if v.is_finite() && v >= 1.0 => "100%".to_string(),
        Some(v) if v.is_finite() => format!("{:.1}%", (v.max(0.0) * 1000.0).floor() / 10.0),
        _ => NONE.to_string(),
    }
}

/// The bar's text equivalent for screen readers.
pub fn bar_label(s: &ServiceStatus) -> String {
    match (s.uptime.day, s.uptime.week) {
        (None, _) => "last 24 h: no checks yet".to_string(),
        (Some(d), None) => format!("last 24 h: {} up", ratio_pct(Some(d))),
        (Some(d), Some(w)) => format!(
            "last 24 h: {} up; 7 days: {} up",
            ratio_pct(Some(d)),
            ratio_pct(Some(w))
        ),
    }
}

/// How many of the half hours that were not all up the bar's text equivalent names (the
/// newest ones).
pub const LABEL_CELLS: usize = 3;

/// The bar's text equivalent with the half hours that were not all up (the newest
/// [`LABEL_CELLS`], then how many more), mirrored in app.js.
pub fn bar_label_with_cells(s: &ServiceStatus, cells: &[CellView]) -> String {
    let bad: Vec<&str> = cells
        .iter()
        .filter(|c| matches!(c.level, Level::Warn | Level::Bad))
        .map(|c| c.title.as_str())
        .collect();
    let mut label = bar_label(s);
    if bad.is_empty() {
        return label;
    }
    let newest = &bad[bad.len().saturating_sub(LABEL_CELLS)..];
    label.push_str("; not all up: ");
    label.push_str(&newest.iter().rev().copied().collect::<Vec<_>>().join(", "));
    if bad.len() > newest.len() {
        label.push_str(&format!(" and {} more", bad.len() - newest.len()));
    }
    label
}

/// A 24 h cell's (or run's) time and count: "02:30–03:00 UTC · 58/60 up" ("· no checks").
pub fn cell_title(run: &[BarCell], zone: &Zone) -> String {
    let (Some(first), Some(last)) = (run.first(), run.last()) else {
        return String::new();
    };
    let end = last.start + chrono::Duration::minutes(30);
    let (off, _) = zone.at(first.start);
    let (checks, up) = run
        .iter()
        .fold((0, 0), |(n, u), c| (n + c.checks, u + c.up));
    let count = if checks == 0 {
        "no checks".to_string()
    } else {
        format!("{up}/{checks} up")
    };
    format!(
        "{}–{} · {count}",
        first.start.with_timezone(&off).format("%H:%M"),
        zone.format(end, "%H:%M")
    )
}

/// "since 14:02 UTC" (a day or more ago: "since 30 Nov 14:02 UTC") and how long, for
/// a service in a known state.
pub fn since_view(s: &ServiceStatus, now: DateTime<Utc>, zone: &Zone) -> Option<LastingView> {
    let t = s.since.filter(|_| s.status != ServiceState::Unknown)?;
    let at = if now - t < chrono::Duration::days(1) {
        zone.format(t, "%H:%M")
    } else {
        zone.format(t, "%-d %b %H:%M")
    };
    Some(LastingView::of(format!("since {at}"), t, now))
}

/// The one-line summary ("8/9 up · Forgejo down" and for how long).
pub fn summary(d: &Services, now: DateTime<Utc>) -> SummaryView {
    let s = &d.summary;
    if s.total == 0 {
        return SummaryView {
            text: "no services configured".into(),
            down_for: None,
            state: "unknown",
        };
    }
    if s.unknown == s.total {
        return SummaryView {
            text: format!("checking {} services…", s.total),
            down_for: None,
            state: "unknown",
        };
    }
    let mut parts = vec![format!("{}/{} up", s.up, s.total)];
    let mut down_for = None;
    let down: Vec<&ServiceStatus> = d
        .services
        .iter()
        .filter(|x| x.status == ServiceState::Down)
        .collect();
    match down.as_slice() {
        [] => {}
        [one] => {
            parts.push(format!("{} down", one.name));
            down_for = one.since.map(|t| LastingView::of(String::new(), t, now));
        }
        [a, b] => parts.push(format!("{}, {} down", a.name, b.name)),
        many => parts.push(format!("{} down", many.len())),
    }
    if s.maintenance > 0 {
        parts.push(format!("{} in maintenance", s.maintenance));
    }
    if s.unknown > 0 {
        parts.push(format!("{} unknown", s.unknown));
    }
    SummaryView {
        text: parts.join(" · "),
        down_for,
        state: if s.down > 0 {
            "down"
        } else if s.up == s.total {
            "ok"
        } else {
            "unknown"
        },
    }
}

/// The card of `s`; `sprite` is the page's icon sprite ([`crate::icons::sprite_url`]).
pub(crate) fn service_view(
    s: &ServiceStatus,
    now: DateTime<Utc>,
    zone: &Zone,
    sprite: Option<&str>,
) -> ServiceView {
    let cells = cells(&s.history, zone);
    ServiceView {
        name: s.name.clone(),
        url: safe_url(&s.url),
        description: s.description.clone(),
        icon_svg: crate::icons::markup(&s.icon, sprite),
        status: s.status,
        latency: s.latency_ms.map_or(NONE.to_string(), |l| format!("{l} ms")),
        reason: s.reason.clone().filter(|_| s.status != ServiceState::Up),
        since: since_view(s, now, zone).unwrap_or_default(),
        uptime: format!(
            "24 h {} · 7 d {}",
            ratio_pct(s.uptime.day),
            ratio_pct(s.uptime.week)
        ),
        bar_label: bar_label_with_cells(s, &cells),
        cells,
        source: s.source,
        container_note: String::new(),
        days: super::view_days::days_view(s),
        notice_style: "",
        notice_note: String::new(),
    }
}

/// The 24 h bar: one cell per half hour with any check down, and one per run of
/// half hours that are all up or all unchecked.
pub(crate) fn cells(history: &[BarCell], zone: &Zone) -> Vec<CellView> {
    let mergeable = |c: &BarCell| c.checks == c.up;
    let mut out = Vec::new();
    let mut x = 0;
    while x < history.len() {
        let level = share_level(history[x].checks, history[x].up);
        let mut len = 1;
        if mergeable(&history[x]) {
            while history
                .get(x + len)
                .is_some_and(|c| mergeable(c) && share_level(c.checks, c.up) == level)
            {
                len += 1;
            }
        }
        out.push(CellView {
            x,
            len,
            level,
            title: cell_title(&history[x..x + len], zone),
        });
        x += len;
    }
    out
}

/// The services `audience` may see: the feed's data, or the configured list as
/// "unknown". The public gets the public copy (no owner-only services, see `Redact`).
pub(crate) fn services_data(
    config: &Config,
    snap: &Snapshot<Services>,
    now: DateTime<Utc>,
    zone: &Zone,
    audience: Audience,
) -> Services {
    let all = all_services(config, snap, now, zone);
    match audience {
        Audience::Public => all.redacted().unwrap_or(all),
        Audience::Private => all,
    }
}

/// The feed's data, or the configured list as "unknown". Before the first round, the
/// owner's notices are placed in time here.
fn all_services(
    config: &Config,
    snap: &Snapshot<Services>,
    now: DateTime<Utc>,
    zone: &Zone,
) -> Services {
    match snap.data.as_deref() {
        Some(d) => d.clone(),
        None => {
            let list: Vec<ServiceStatus> = config
                .services
                .iter()
                .map(|s| crate::feeds::services::unknown(s, now))
                .collect();
            Services {
                summary: crate::feeds::Summary {
                    unknown: list.len(),
                    total: list.len(),
                    ..Default::default()
                },
                uptime_kuma: crate::feeds::KumaLink::Pending,
                services: list,
                checks_total: Vec::new(),
                changes: Vec::new(),
                notices: notices::current(
                    config.notices.iter().map(notices::Draft::from),
                    &mut notices::FirstSeen::default(),
                    now,
                    zone,
                ),
            }
        }
    }
}

pub(crate) fn groups(d: &Services, now: DateTime<Utc>, zone: &Zone) -> Vec<ServiceGroup> {
    let mut groups: Vec<ServiceGroup> = Vec::new();
    // One sprite for every card this audience sees, on the full page and the filtered one.
    let sprite = crate::icons::sprite_url(d.services.iter().map(|s| s.icon.as_str()));
    for s in &d.services {
        let row = service_view(s, now, zone, sprite.as_deref());
        match groups.iter_mut().find(|x| x.name == s.group) {
            Some(x) => x.services.push(row),
            None => groups.push(ServiceGroup {
                name: s.group.clone(),
                services: vec![row],
            }),
        }
    }
    groups
}

/// Keeps only the services that are not up (down, unknown, maintenance) and the groups
/// that still have one: the page a visitor reaches from the summary (`/?status=down`).
///
/// The full page keeps the configured order within each group, broken or not: a card
/// stays where the visitor's eye learned to find it, and no card jumps when a service
/// flips (the live update never moves cards). What is broken is one tap away instead.
pub(crate) fn keep_not_up(groups: &mut Vec<ServiceGroup>) {
    for g in groups.iter_mut() {
        g.services.retain(|s| s.status != ServiceState::Up);
    }
    groups.retain(|g| !g.services.is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_texts_read_like_a_human_wrote_them() {
        assert_eq!(span(0), "<1 min");
        assert_eq!(span(12 * 60 + 5), "12 min");
        assert_eq!(span(3 * 3600), "3 h");
        assert_eq!(span(3 * 3600 + 5 * 60), "3 h 5 min");
        assert_eq!(span(2 * 86_400 + 4 * 3600), "2 d 4 h");
        assert_eq!(ratio_pct(Some(0.9996)), "99.9%");
        assert_eq!(ratio_pct(Some(1.0)), "100%");
        assert_eq!(ratio_pct(Some(0.0)), "0.0%");
        assert_eq!(ratio_pct(None), "—");
        assert_eq!(share_level(0, 0).to_string(), "none");
        assert_eq!(share_level(60, 60), Level::Ok);
        assert_eq!(share_level(60, 54), Level::Warn);
        assert_eq!(share_level(60, 53), Level::Bad);
        let start = DateTime::parse_from_rfc3339("2026-11-30T02:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let cell = |checks, up| BarCell { start, checks, up };
        assert_eq!(
            cell_title(&[cell(60, 58)], &Zone::utc()),
            "02:30–03:00 UTC · 58/60 up"
        );
        assert_eq!(
            cell_title(&[cell(0, 0)], &Zone::utc()),
            "02:30–03:00 UTC · no checks"
        );
    }

    #[test]
    fn the_bar_is_one_element_per_run_of_all_up_or_unchecked_half_hours() {
        let start = DateTime::parse_from_rfc3339("2026-11-30T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let half = |i: i64| start + chrono::Duration::minutes(30 * i);
        // Unchecked, unchecked, up, up, up, one down of 60, up, a down half hour, unchecked.
        let counts = [
            (0, 0),
            (0, 0),
            (60, 60),
            (60, 60),
            (60, 60),
            (60, 59),
            (60, 60),
            (60, 0),
            (0, 0),
        ];
        let history: Vec<BarCell> = counts
            .iter()
            .enumerate()
            .map(|(i, &(checks, up))| BarCell {
                start: half(i as i64),
                checks,
                up,
            })
            .collect();
        let got: Vec<(usize, usize, String, String)> = cells(&history, &Zone::utc())
            .into_iter()
            .map(|c| (c.x, c.len, c.level.to_string(), c.title))
            .collect();
        let want = [
            (0, 2, "none", "00:00–01:00 UTC · no checks"),
            (2, 3, "ok", "01:00–02:30 UTC · 180/180 up"),
            (5, 1, "warn", "02:30–03:00 UTC · 59/60 up"),
            (6, 1, "ok", "03:00–03:30 UTC · 60/60 up"),
            (7, 1, "bad", "03:30–04:00 UTC · 0/60 up"),
            (8, 1, "none", "04:00–04:30 UTC · no checks"),
        ];
        let want: Vec<(usize, usize, String, String)> = want
            .iter()
            .map(|&(x, len, level, title)| (x, len, level.to_string(), title.to_string()))
            .collect();
        assert_eq!(got, want);
        // Two bad half hours side by side stay two: each tells its own count.
        let bad = [
            BarCell {
                start,
                checks: 60,
                up: 0,
            },
            BarCell {
                start: half(1),
                checks: 60,
                up: 0,
            },
        ];
        assert_eq!(cells(&bad, &Zone::utc()).len(), 2);
    }

    #[test]
    fn the_filtered_page_keeps_every_service_not_up_and_drops_empty_groups() {
        let card = |name: &str, status: ServiceState| {
            let mut s = service_view(
                &crate::feeds::services::unknown(
                    &crate::config::Service::for_test(name),
                    Utc::now(),
                ),
                Utc::now(),
                &Zone::utc(),
                None,
            );
            s.status = status;
            s
        };
        let mut groups = vec![
            ServiceGroup {
                name: "A".into(),
                services: vec![
                    card("up", ServiceState::Up),
                    card("down", ServiceState::Down),
                    card("unknown", ServiceState::Unknown),
                    card("maintenance", ServiceState::Maintenance),
                ],
            },
            ServiceGroup {
                name: "B".into(),
                services: vec![card("fine", ServiceState::Up)],
            },
        ];
        keep_not_up(&mut groups);
        assert_eq!(groups.len(), 1);
        let names: Vec<&str> = groups[0].services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["down", "unknown", "maintenance"]);
    }

    #[test]
    fn the_summary_line_names_what_is_down() {
        use crate::feeds::Summary;
        let now = DateTime::parse_from_rfc3339("2026-11-30T14:14:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let svc = |name: &str, status: &str, since_min: i64| ServiceStatus {
            since: Some(now - chrono::Duration::minutes(since_min)),
            ..ServiceStatus::for_test(name, ServiceState::parse(status).unwrap())
        };
        let data = |list: Vec<ServiceStatus>| {
            let mut s = Summary {
                total: list.len(),
                ..Summary::default()
            };
            for x in &list {
                match x.status {
                    ServiceState::Up => s.up += 1,
                    ServiceState::Down => s.down += 1,
                    ServiceState::Maintenance => s.maintenance += 1,
                    ServiceState::Unknown => s.unknown += 1,
                }
            }
            Services {
                summary: s,
                uptime_kuma: crate::feeds::KumaLink::Disabled,
                services: list,
                checks_total: Vec::new(),
                changes: Vec::new(),
                notices: Vec::new(),
            }
        };
        let one = data(vec![svc("Grafana", "up", 90), svc("Forgejo", "down", 12)]);
        let v = summary(&one, now);
        assert_eq!(
            (v.text.as_str(), v.state),
            ("1/2 up · Forgejo down", "down")
        );
        let d = v.down_for.expect("one down with a start: how long");
        assert_eq!(
            (d.iso.as_str(), d.text.as_str()),
            ("2026-11-30T14:02:00Z", "12 min")
        );
        let since = |s: &ServiceStatus| {
            let v = since_view(s, now, &Zone::utc()).unwrap_or_default();
            format!("{} ({})", v.at, v.text)
        };
        assert_eq!(since(&one.services[1]), "since 14:02 UTC (12 min)");
        assert_eq!(since(&one.services[0]), "since 12:44 UTC (1 h 30 min)");
        let old = svc("old", "up", 2 * 24 * 60 + 65);
        assert_eq!(since(&old), "since 28 Nov 13:09 UTC (2 d 1 h)");
        let never = ServiceStatus {
            since: None,
            ..svc("new", "unknown", 0)
        };
        assert_eq!(since(&never), " ()", "nothing known: an empty line");
        let all = summary(&data(vec![svc("a", "up", 1), svc("b", "up", 1)]), now);
        assert_eq!((all.text.as_str(), all.state), ("2/2 up", "ok"));
        let many = data(vec![
            svc("a", "down", 1),
            svc("b", "down", 1),
            svc("c", "down", 1),
            svc("d", "maintenance", 1),
            svc("e", "unknown", 1),
        ]);
        assert_eq!(
            summary(&many, now).text,
            "0/5 up · 3 down · 1 in maintenance · 1 unknown"
        );
        let fresh = summary(&data(vec![svc("a", "unknown", 0)]), now);
        assert_eq!(
            (fresh.text.as_str(), fresh.state),
            ("checking 1 services…", "unknown")
        );
    }
}
