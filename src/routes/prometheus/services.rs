//! The services' families of `/metrics`: whether each is up (absent while unknown or in
//! maintenance, so an alert on `== 0` never fires for them), its latency, and the
//! checks this process ran, by result.

use super::Out;
use crate::feeds::{ServiceState, Services};

/// Writes the service families from the latest `/api/services` data.
pub(super) fn service_metrics(o: &mut Out, data: &Services) {
    o.labelled(
        "kiteportal_service_up",
        "gauge",
        "1 when the service is up, 0 when it is down (absent while unknown or in maintenance).",
        data.services.iter().map(|s| {
            let up = match s.status {
                ServiceState::Up => Some(1),
                ServiceState::Down => Some(0),
                ServiceState::Unknown | ServiceState::Maintenance => None,
            };
            (
                vec![("service", s.name.as_str()), ("group", s.group.as_str())],
                up,
            )
        }),
    );
    o.labelled(
        "kiteportal_service_latency_seconds",
        "gauge",
        "How long the service's last successful check took.",
        data.services.iter().map(|s| {
            (
                vec![("service", s.name.as_str())],
                s.latency_ms.map(|ms| ms as f64 / 1000.0),
            )
        }),
    );
    o.labelled(
        "kiteportal_service_checks_total",
        "counter",
        "Checks of the service since this process started, by result.",
        data.checks_total.iter().flat_map(|(name, up, down)| {
            [
                (
                    vec![("service", name.as_str()), ("result", "up")],
                    Some(*up),
                ),
                (
                    vec![("service", name.as_str()), ("result", "down")],
                    Some(*down),
                ),
            ]
        }),
    );
}
