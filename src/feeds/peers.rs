//! The peers feed: each other replica's `/api/metrics` and `/api/metrics/history`,
//! fetched on a short schedule so `/api/hosts` and the page can show every host of the
//! homelab, sparklines included, from whichever replica answers.

use std::time::Duration;

use serde::Deserialize;

use super::error::FetchError;
use super::http;
use super::scheduler::Failure;
use crate::config::Peer;
use crate::host::{HistoryPoint, Sample};
use crate::text::{clean, finite_in, MAX_NAME, MAX_REASON};

/// Most history points kept of a peer (an hour at the default 2 s is 1,800; the page
/// draws 150).
pub(crate) const MAX_HISTORY: usize = 600;

/// What a peer replica last told us.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PeerData {
    pub(crate) metrics: Sample,
    /// Its history, oldest first, at most [`MAX_HISTORY`] points (empty when the peer
    /// did not give one: the sample still counts).
    pub(crate) history: Vec<HistoryPoint>,
    /// Its configured sampling interval (from its history), else its measured one.
    pub(crate) interval_seconds: f64,
}

#[derive(Deserialize)]
struct HistoryBody {
    interval_seconds: f64,
    samples: Vec<HistoryPoint>,
}

/// Shortest refresh of a peer (the peer samples every `metrics.interval` itself).
pub(crate) const MIN_REFRESH: Duration = Duration::from_secs(5);

/// How often peers are fetched for a local `metrics.interval`.
pub(crate) fn refresh(metrics_interval: Duration) -> Duration {
    metrics_interval.max(MIN_REFRESH)
}

/// Fetches one peer's latest sample, then its history (a peer whose history cannot be
/// had still gives its sample).
pub(crate) fn fetch(agent: &ureq::Agent, peer: &Peer) -> Result<PeerData, Failure> {
    let host = http::host_of(peer.url.as_str());
    let accept = [("Accept", "application/json")];
    let resp = http::get(agent, &peer.url.join("/api/metrics"), &accept)?;
    let metrics = parse(&resp.json::<serde_json::Value>(&host)?).map_err(FetchError::bad_data)?;
    let history = http::get(agent, &peer.url.join("/api/metrics/history"), &accept)
        .and_then(|r| r.json::<HistoryBody>(&host));
    let (history, interval_seconds) = match history {
        Ok(h) => {
            let iv = finite_in(h.interval_seconds, 0.05, 86_400.0);
            (bounded(h.samples), iv.unwrap_or(metrics.interval_seconds))
        }
        Err(e) => {
            log::debug!("peer {}: no history: {e}", peer.name);
            (Vec::new(), metrics.interval_seconds)
        }
    };
    Ok(PeerData {
        metrics,
        history,
        interval_seconds,
    })
}

/// The newest [`MAX_HISTORY`] points, in time order, without points from the future.
fn bounded(mut points: Vec<HistoryPoint>) -> Vec<HistoryPoint> {
    let now = chrono::Utc::now() + chrono::Duration::minutes(5);
    points.retain(|p| p.timestamp <= now);
    points.sort_by_key(|p| p.timestamp);
    let cut = points.len().saturating_sub(MAX_HISTORY);
    points.split_off(cut)
}

/// A peer's `/api/metrics` body as a [`Sample`], every text in it cleaned (a peer is
/// another process on another host: its strings are upstream text like any other);
/// the reason names what did not fit.
pub fn parse(doc: &serde_json::Value) -> Result<Sample, String> {
    let mut s = Sample::deserialize(doc).map_err(|e| format!("not a metrics sample: {e}"))?;
    clean_sample(&mut s);
    Ok(s)
}

fn clean_sample(s: &mut Sample) {
    let name = |t: &mut String| *t = clean(t, MAX_NAME);
    name(&mut s.host);
    for d in s.disks.iter_mut().flatten() {
        name(&mut d.mount);
        name(&mut d.device);
        name(&mut d.fs);
    }
    for d in s.disk_io.iter_mut().flatten() {
        name(&mut d.device);
    }
    for i in s.network.iter_mut().flat_map(|n| n.interfaces.iter_mut()) {
        name(&mut i.name);
    }
    for t in s.temperatures.iter_mut().flatten() {
        name(&mut t.label);
    }
    for p in [&mut s.view.proc, &mut s.view.sys, &mut s.view.root]
        .into_iter()
        .flatten()
    {
        name(p);
    }
    s.errors = std::mem::take(&mut s.errors)
        .into_iter()
        .take(32)
        .map(|(k, v)| (clean(&k, MAX_NAME), clean(&v, MAX_REASON)))
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_text_is_cleaned() {
        let mut s = Sample {
            host: "evil\nINFO forged\u{202e}".into(),
            ..Default::default()
        };
        s.errors.insert("memory".into(), "x".repeat(5000));
        let p = parse(&serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(p.host, "evil INFO forged");
        assert!(p.errors["memory"].chars().count() <= MAX_REASON + 1);
    }

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

    #[test]
    fn peer_history_keeps_the_newest_points_in_order_and_none_from_the_future() {
        let now = chrono::Utc::now();
        let at = |secs: i64| HistoryPoint {
            timestamp: now + chrono::Duration::seconds(secs),
            ..HistoryPoint::default()
        };
        // A peer's clock a little ahead is fine; ten minutes ahead is not believed.
        let kept = bounded(vec![at(60), at(-60), at(600), at(0), at(240)]);
        let secs: Vec<i64> = kept
            .iter()
            .map(|p| (p.timestamp - now).num_seconds())
            .collect();
        assert_eq!(secs, [-60, 0, 60, 240]);
        let many: Vec<HistoryPoint> = (0..MAX_HISTORY as i64 + 10).map(|i| at(-i)).collect();
        let kept = bounded(many);
        assert_eq!(kept.len(), MAX_HISTORY);
        assert_eq!(kept.last().map(|p| p.timestamp), Some(now));
    }
}
