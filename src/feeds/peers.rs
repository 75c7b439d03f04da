//! The peers feed: each other replica's `/api/metrics`, fetched on a short schedule so
//! `/api/hosts` can show every host of the homelab from whichever replica answers.

use std::time::Duration;

use serde::Deserialize;

use super::http;
use super::scheduler::Failure;
use crate::config::Peer;
use crate::host::Sample;

/// Shortest refresh of a peer (the peer samples every `metrics.interval` itself).
pub const MIN_REFRESH: Duration = Duration::from_secs(5);

/// How often peers are fetched for a local `metrics.interval`.
pub fn refresh(metrics_interval: Duration) -> Duration {
    metrics_interval.max(MIN_REFRESH)
}

/// Fetches one peer's latest sample.
pub fn fetch(agent: &ureq::Agent, peer: &Peer) -> Result<Sample, Failure> {
    let host = http::host_of(peer.url.as_str());
    let resp = http::get(
        agent,
        &peer.url.join("/api/metrics"),
        &[("Accept", "application/json")],
    )?;
    Ok(parse(&resp.json::<serde_json::Value>(&host)?)?)
}

/// A peer's `/api/metrics` body as a [`Sample`]; the reason names what did not fit.
pub fn parse(doc: &serde_json::Value) -> Result<Sample, String> {
    Sample::deserialize(doc).map_err(|e| format!("not a metrics sample: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_round_trips_and_junk_is_refused() {
        let s = Sample {
            host: "kscloud1".into(),
            ..Default::default()
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(parse(&v).unwrap(), s);
        assert!(parse(&serde_json::json!({"ok": true}))
            .unwrap_err()
            .starts_with("not a metrics sample"));
        assert_eq!(refresh(Duration::from_secs(2)), MIN_REFRESH);
    }
}
