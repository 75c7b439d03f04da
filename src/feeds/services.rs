//! The service checks: every configured service probed at its `check_url` (else its
//! `url`) with HEAD, or GET when HEAD is refused, a bounded number at a time.
//! Redirects are not followed: a 3xx is an answer, so a service behind single sign-on
//! (which redirects to its login page) counts as up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::http;
use super::ServiceStatus;
use crate::config::Service;

/// Probes in flight at once.
pub const CONCURRENCY: usize = 8;
/// Longest one probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `status` means "up" for a service with these accepted codes.
pub fn is_up(status: u16, accept: &[u16]) -> bool {
    if accept.is_empty() {
        status < 400
    } else {
        accept.contains(&status)
    }
}

/// Probes one service: HEAD, then GET when HEAD is refused (405, 501).
pub fn probe(agent: &ureq::Agent, service: &Service) -> ServiceStatus {
    let url = service.check_url.as_ref().unwrap_or(&service.url).as_str();
    let started = Instant::now();
    let mut answer = http::request(agent, http::Method::Head, url, &[], false);
    if matches!(&answer, Ok(f) if f.status == 405 || f.status == 501) {
        answer = http::request(agent, http::Method::Get, url, &[], false);
    }
    let latency = started.elapsed();
    let (status, http_status, latency_ms) = match answer {
        Ok(f) => (
            if is_up(f.status, &service.accept_status) {
                "up"
            } else {
                "down"
            },
            Some(f.status),
            Some(u64::try_from(latency.as_millis()).unwrap_or(u64::MAX)),
        ),
        Err(why) => {
            log::debug!("service {}: {why}", service.name);
            ("down", None, None)
        }
    };
    ServiceStatus {
        status: status.to_string(),
        latency_ms,
        http_status,
        checked_at: Some(Utc::now()),
        ..unknown(service)
    }
}

/// Probes every service, [`CONCURRENCY`] at a time; results in config order.
pub fn check_all(agent: &ureq::Agent, services: &[Service]) -> Vec<ServiceStatus> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<ServiceStatus>>> = Mutex::new(vec![None; services.len()]);
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
    services
        .iter()
        .zip(results)
        .map(|(s, r)| r.unwrap_or_else(|| unknown(s)))
        .collect()
}

/// A service not checked (yet): shown with status "unknown".
pub fn unknown(service: &Service) -> ServiceStatus {
    ServiceStatus {
        name: service.name.clone(),
        url: service.url.as_str().to_string(),
        description: service.description.clone(),
        icon: service.icon.clone(),
        group: service.group.clone(),
        status: "unknown".into(),
        latency_ms: None,
        http_status: None,
        checked_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_rules() {
        assert!(is_up(200, &[]));
        assert!(is_up(302, &[]));
        assert!(!is_up(401, &[]));
        assert!(!is_up(502, &[]));
        assert!(is_up(401, &[401, 200]));
        assert!(!is_up(302, &[200]));
    }
}
