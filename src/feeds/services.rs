//! The service checks: every configured service probed at its `check_url` (else its
//! `url`) with HEAD, or GET when HEAD is refused, a bounded number at a time; and the
//! `/api/services` data built from the probes, their [`History`] and, when configured,
//! Uptime Kuma's view of the same services.
//! Redirects are not followed: a 3xx is an answer, so a service behind single sign-on
//! (which redirects to its login page) counts as up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::check_history::{bar_from, History, Status, Track, DAY_BUCKETS, WEEK_BUCKETS};
use super::days::{self, DayNumber};
use super::http;
use super::uptime_kuma::{Beat, Kuma};
use super::{KumaLink, ServiceState, ServiceStatus, Services, StatusSource, Summary, Uptime};
use crate::config::Service;

/// Probes in flight at once.
pub const CONCURRENCY: usize = 8;
/// Longest one probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// One probe's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub up: bool,
    pub latency_ms: Option<u64>,
    pub http_status: Option<u16>,
    /// The short reason class when not up ("timeout", "HTTP 502"): safe for anyone.
    pub reason: Option<String>,
    /// The detailed reason, for the log only (may name internal hosts).
    pub detail: Option<String>,
    pub checked_at: DateTime<Utc>,
}

/// Whether `status` means "up" for a service with these accepted codes.
pub(crate) fn is_up(status: u16, accept: &[u16]) -> bool {
    if accept.is_empty() {
        status < 400
    } else {
        accept.contains(&status)
    }
}

/// Probes one service: HEAD, then GET when HEAD is refused (405, 501).
pub(crate) fn probe(agent: &ureq::Agent, service: &Service) -> Probe {
    let url = service.check_url.as_ref().unwrap_or(&service.url).as_str();
    let started = Instant::now();
    let mut answer = http::request(agent, http::Method::Head, url, &[], false);
    if matches!(&answer, Ok(f) if f.status == 405 || f.status == 501) {
        answer = http::request(agent, http::Method::Get, url, &[], false);
    }
    let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let checked_at = Utc::now();
    match answer {
        Ok(f) if is_up(f.status, &service.accept_status) => Probe {
            up: true,
            latency_ms: Some(latency),
            http_status: Some(f.status),
            reason: None,
            detail: None,
            checked_at,
        },
        Ok(f) => Probe {
            up: false,
            latency_ms: Some(latency),
            http_status: Some(f.status),
            reason: Some(format!("HTTP {}", f.status)),
            detail: Some(format!("HTTP {} from {}", f.status, http::host_of(url))),
            checked_at,
        },
        Err(why) => Probe {
            up: false,
            latency_ms: None,
            http_status: None,
            reason: Some(why.reason.label().into_owned()),
            detail: Some(format!("{why} ({})", http::host_of(url))),
            checked_at,
        },
    }
}

/// Probes every service, [`CONCURRENCY`] at a time; results in config order.
pub(crate) fn check_all(agent: &ureq::Agent, services: &[Service]) -> Vec<Probe> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Probe>>> = Mutex::new(vec![None; services.len()]);
    std::thread::scope(|s| {
        for _ in 0..CONCURRENCY.min(services.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(service) = services.get(i) else {
                    break;
                };
                let r = probe(agent, service);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| Probe {
                up: false,
                latency_ms: None,
                http_status: None,
                reason: Some("unreachable".into()),
                detail: Some("probe did not finish".into()),
                checked_at: Utc::now(),
            })
        })
        .collect()
}

/// Records `probes` (config order) in `history` at `now`, logging one line per status
/// change with the detailed reason.
pub(crate) fn record(
    history: &mut History,
    services: &[Service],
    probes: &[Probe],
    now: DateTime<Utc>,
    today: DayNumber,
) {
    for (s, p) in services.iter().zip(probes) {
        let track = history.track_mut(&s.name);
        let change = track.record(p.up, now);
        days::add(&mut track.days, today, 1, u32::from(p.up));
        if let Some(c) = change {
            let (level, line) = change_line(&s.name, c, p);
            log::log!(level, "{line}");
        }
        let n = history.checks_total.entry(s.name.clone()).or_default();
        if p.up {
            n.0 += 1;
        } else {
            n.1 += 1;
        }
    }
}

/// The log line of a status change: a warning with the probe's detail when it failed.
fn change_line(name: &str, c: super::check_history::Change, p: &Probe) -> (log::Level, String) {
    let (from, to) = (ServiceState::from(c.from), ServiceState::from(c.to));
    match &p.detail {
        Some(d) if !p.up => (
            log::Level::Warn,
            format!("service {name}: {from} -> {to}: {d}"),
        ),
        _ => (log::Level::Info, format!("service {name}: {from} -> {to}")),
    }
}

/// What Uptime Kuma contributes right now.
#[derive(Debug, Clone, Copy)]
pub enum KumaState<'a> {
    /// Not configured.
    Disabled,
    /// Configured, not read yet.
    Pending,
    /// Configured, but the last read failed or is too old: our own probes stand in.
    Unreachable,
    Ok(&'a Kuma),
}

impl KumaState<'_> {
    /// What it is as a source, without its data.
    pub(crate) fn link(&self) -> KumaLink {
        match self {
            KumaState::Disabled => KumaLink::Disabled,
            KumaState::Pending => KumaLink::Pending,
            KumaState::Unreachable => KumaLink::Unreachable,
            KumaState::Ok(_) => KumaLink::Ok,
        }
    }
}

/// The `/api/services` data at `now`: each service from Uptime Kuma when it has a
/// monitor with heartbeats for it, else from our own probes and history.
pub(crate) fn assemble(
    services: &[Service],
    probes: &[Probe],
    history: &History,
    kuma: KumaState<'_>,
    now: DateTime<Utc>,
    today: DayNumber,
) -> Services {
    let empty = Track::default();
    let list: Vec<ServiceStatus> = services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let track = history.get(&s.name).unwrap_or(&empty);
            let probe = probes.get(i);
            let own = from_probe(s, probe, track, now, today);
            let KumaState::Ok(k) = kuma else {
                return own;
            };
            let key = s.uptime_kuma.as_deref().unwrap_or(&s.name);
            let Some(m) = k.monitor(key) else {
                return own;
            };
            let Some(last) = m.last else {
                return own;
            };
            let (status, reason) = match last {
                Beat::Up => (ServiceState::Up, None),
                Beat::Maintenance => (ServiceState::Maintenance, None),
                Beat::Pending => (ServiceState::Unknown, Some("pending".to_string())),
                Beat::Down => (
                    ServiceState::Down,
                    Some(
                        probe
                            .and_then(|p| p.reason.clone())
                            .unwrap_or_else(|| "down in Uptime Kuma".to_string()),
                    ),
                ),
            };
            ServiceStatus {
                status,
                reason,
                since: m.since,
                latency_ms: m.ping_ms,
                source: StatusSource::UptimeKuma,
                uptime: Uptime {
                    day: m.uptime_24h,
                    ..own.uptime.clone()
                },
                history: bar_from(&m.buckets, now),
                ..own
            }
        })
        .collect();
    Services {
        summary: Summary::of(&list),
        uptime_kuma: kuma.link(),
        services: list,
        checks_total: history
            .checks_total
            .iter()
            .map(|(n, (up, down))| (n.clone(), *up, *down))
            .collect(),
        changes: history.changes.recent.iter().cloned().collect(),
        notices: Vec::new(),
    }
}

fn from_probe(
    s: &Service,
    probe: Option<&Probe>,
    track: &Track,
    now: DateTime<Utc>,
    today: DayNumber,
) -> ServiceStatus {
    let status = track.status;
    ServiceStatus {
        status: status.into(),
        latency_ms: probe.filter(|p| p.up).and_then(|p| p.latency_ms),
        http_status: probe.and_then(|p| p.http_status),
        // Up: no reason, even after one failed check (it is not down yet).
        reason: match status {
            Status::Up => None,
            _ => probe.filter(|p| !p.up).and_then(|p| p.reason.clone()),
        },
        since: track.since,
        checked_at: probe.map(|p| p.checked_at),
        uptime: Uptime {
            day: track.uptime(now, DAY_BUCKETS),
            week: track.uptime(now, WEEK_BUCKETS),
            quarter: days::uptime(&track.days, today),
        },
        history: track.bar(now),
        days: days::cells(&track.days, today),
        ..unknown(s, now)
    }
}

/// A service not checked (yet): shown with status "unknown" and an empty bar.
pub(crate) fn unknown(service: &Service, now: DateTime<Utc>) -> ServiceStatus {
    ServiceStatus {
        name: service.name.clone(),
        url: service.url.as_str().to_string(),
        description: service.description.clone(),
        icon: service.icon.clone(),
        group: service.group.clone(),
        status: ServiceState::Unknown,
        latency_ms: None,
        http_status: None,
        reason: None,
        since: None,
        checked_at: None,
        source: StatusSource::Probe,
        uptime: Uptime::default(),
        history: bar_from(&[], now),
        days: days::cells(&[], days::day_of(now, 0)),
        private: service.visibility == crate::config::Visibility::Private,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HttpUrl;

    #[test]
    fn up_rules() {
        assert!(is_up(200, &[]));
        assert!(is_up(302, &[]));
        assert!(!is_up(401, &[]));
        assert!(!is_up(502, &[]));
        assert!(is_up(401, &[401, 200]));
        assert!(!is_up(302, &[200]));
    }

    fn svc(name: &str) -> Service {
        Service::for_test(name)
    }

    fn probe_at(up: bool, now: DateTime<Utc>) -> Probe {
        Probe {
            up,
            latency_ms: Some(12),
            http_status: Some(if up { 200 } else { 502 }),
            reason: (!up).then(|| "HTTP 502".to_string()),
            detail: (!up).then(|| "HTTP 502 from internal:8080".to_string()),
            checked_at: now,
        }
    }

    #[test]
    fn assembled_from_probes_with_summary() {
        let now = Utc::now();
        let services = [svc("a"), svc("b"), svc("c")];
        let mut h = History::new(["a", "b", "c"]);
        let mut last = Vec::new();
        for round in 0..2 {
            last = vec![
                probe_at(true, now),
                probe_at(false, now),
                probe_at(round == 0, now),
            ];
            record(&mut h, &services, &last, now, days::day_of(now, 0));
        }
        let d = assemble(
            &services,
            &last,
            &h,
            KumaState::Disabled,
            now,
            days::day_of(now, 0),
        );
        assert_eq!(
            (
                d.summary.up,
                d.summary.down,
                d.summary.unknown,
                d.summary.total
            ),
            (2, 1, 0, 3)
        );
        let b = &d.services[1];
        assert_eq!(
            (b.status, b.reason.as_deref()),
            (ServiceState::Down, Some("HTTP 502"))
        );
        // c failed once after being up: still up, no reason, and no latency to show.
        let c = &d.services[2];
        assert_eq!((c.status, c.reason.as_deref()), (ServiceState::Up, None));
        assert_eq!(c.uptime.day, Some(0.5));
        assert_eq!(c.history.len(), 48);
        assert_eq!(d.uptime_kuma, KumaLink::Disabled);
        let json = serde_json::to_value(&d).unwrap();
        assert!(json["services"][0]["uptime"]["24h"].is_number());
        assert!(!json.to_string().contains("internal:8080"));
    }

    #[test]
    fn own_probes_show_latency_and_when_they_were_checked() {
        let now = Utc::now();
        let services = [svc("a")];
        let mut h = History::new(["a"]);
        let probes = [probe_at(true, now)];
        let today = days::day_of(now, 0);
        record(&mut h, &services, &probes, now, today);
        let a = &assemble(&services, &probes, &h, KumaState::Pending, now, today).services[0];
        assert_eq!(
            (a.latency_ms, a.http_status, a.checked_at),
            (Some(12), Some(200), Some(now))
        );
        assert_eq!((a.source, a.since), (StatusSource::Probe, Some(now)));
        let newest = a.history.last().expect("a 24 h bar");
        assert_eq!((newest.checks, newest.up), (1, 1));
    }

    #[test]
    fn uptime_kuma_monitors_win_where_they_have_beats() {
        use super::super::check_history::{slot_of, Bucket};
        use super::super::uptime_kuma::Monitor;
        let now = Utc::now();
        let since = now - chrono::Duration::hours(3);
        let monitor = |name: &str, last| Monitor {
            name: name.into(),
            last: Some(last),
            since: Some(since),
            ping_ms: Some(34),
            uptime_24h: Some(0.99),
            buckets: vec![Bucket {
                slot: slot_of(now),
                checks: 4,
                up: 3,
            }],
        };
        let kuma = Kuma {
            monitors: vec![
                monitor("A", Beat::Up),
                monitor("m", Beat::Maintenance),
                monitor("d", Beat::Down),
                monitor("p", Beat::Pending),
            ],
            notices: Vec::new(),
        };
        let services = [svc("a"), svc("m"), svc("d"), svc("p"), svc("own")];
        let h = History::new(["a", "m", "d", "p", "own"]);
        let d = assemble(
            &services,
            &[],
            &h,
            KumaState::Ok(&kuma),
            now,
            days::day_of(now, 0),
        );
        let a = &d.services[0];
        assert_eq!(
            (a.status, a.since, a.latency_ms),
            (ServiceState::Up, Some(since), Some(34))
        );
        assert_eq!(
            (a.source, a.uptime.day),
            (StatusSource::UptimeKuma, Some(0.99))
        );
        let newest = a.history.last().expect("a 24 h bar");
        assert_eq!((newest.checks, newest.up), (4, 3));
        assert_eq!(d.services[2].reason.as_deref(), Some("down in Uptime Kuma"));
        assert_eq!(d.services[3].reason.as_deref(), Some("pending"));
        assert_eq!(d.services[4].source, StatusSource::Probe);
        let s = &d.summary;
        assert_eq!(
            (s.up, s.maintenance, s.down, s.unknown, s.total),
            (1, 1, 1, 2, 5)
        );
        assert_eq!(d.uptime_kuma, KumaLink::Ok);
    }

    #[test]
    fn a_probe_reads_the_status_the_service_answers_over_http() {
        use super::super::stub::{Reply, Stub};
        let stub = Stub::start();
        stub.set("/ok", Reply::json(200, "{}"));
        stub.set("/busy", Reply::json(503, "{}"));
        let at = |path: &str, accept: Vec<u16>| Service {
            url: HttpUrl::parse("u", &format!("{}{path}", stub.url())).unwrap(),
            accept_status: accept,
            ..svc("x")
        };
        let agent = http::agent(Duration::from_secs(3));
        let ok = probe(&agent, &at("/ok", vec![]));
        assert_eq!((ok.up, ok.http_status, ok.reason), (true, Some(200), None));
        assert!(ok.latency_ms.is_some());
        let busy = probe(&agent, &at("/busy", vec![]));
        assert_eq!((busy.up, busy.reason.as_deref()), (false, Some("HTTP 503")));
        assert!(busy
            .detail
            .is_some_and(|d| d.starts_with("HTTP 503 from 127.0.0.1:")));
        assert!(probe(&agent, &at("/busy", vec![503])).up);
        assert!(stub.seen().iter().all(|h| h.method == "HEAD"));
    }

    #[test]
    fn a_change_is_logged_with_the_failure_detail_only_when_down() {
        use super::super::check_history::Change;
        let now = Utc::now();
        let down = Change {
            from: Status::Up,
            to: Status::Down,
        };
        assert_eq!(
            change_line("git", down, &probe_at(false, now)),
            (
                log::Level::Warn,
                "service git: up -> down: HTTP 502 from internal:8080".into()
            )
        );
        let up = Change {
            from: Status::Down,
            to: Status::Up,
        };
        let mut recovered = probe_at(true, now);
        recovered.detail = Some("stale detail".into());
        assert_eq!(
            change_line("git", up, &recovered),
            (log::Level::Info, "service git: down -> up".into())
        );
    }
}
