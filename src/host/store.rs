//! The published metrics: the sampler swaps in each new sample (with its JSON already
//! serialised) and the history ring; requests only clone `Bytes` out of it. The store
//! also notices a sampler that stopped publishing (the watchdog behind `/api/health`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use bytes::Bytes;
use serde::Serialize;

use super::{HistoryPoint, Sample};
use crate::access::{Audience, Redact};

/// What one sample publishes: the sample and its ready-made JSON bodies, for the owner
/// and for the public.
#[derive(Debug)]
pub struct Published {
    pub sample: Sample,
    /// The public copy of `sample` (see [`Redact`]).
    pub public_sample: Sample,
    /// The `/api/metrics` body, private.
    json: Bytes,
    /// The `/api/metrics` body, public.
    public_json: Bytes,
    /// The `/api/metrics/history` body (nothing in it is private).
    pub history_json: Bytes,
    /// When it was published (monotonic clock, for the watchdog).
    pub at: Instant,
}

/// A sampler counts as stalled after this many intervals without a new sample.
pub const STALE_INTERVALS: u32 = 3;

/// The sampler has not published for longer than [`STALE_INTERVALS`] intervals: stuck
/// on a read that never returns, or its thread gone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stalled {
    /// Time since the last publish (or since the store was created, if none yet).
    pub silent_for: Duration,
    pub interval: Duration,
}

impl Stalled {
    /// The reason shown in `/api/health` and under `errors["sampler"]`.
    pub(crate) fn reason(&self) -> String {
        format!(
            "sampler has not published for {}s (interval {}s)",
            self.silent_for.as_secs(),
            super::round2(self.interval.as_secs_f64())
        )
    }
}

impl Published {
    /// The sample as `audience` may see it.
    pub(crate) fn sample(&self, audience: Audience) -> &Sample {
        match audience {
            Audience::Private => &self.sample,
            Audience::Public => &self.public_sample,
        }
    }

    /// The `/api/metrics` body for `audience`.
    pub(crate) fn json(&self, audience: Audience) -> &Bytes {
        match audience {
            Audience::Private => &self.json,
            Audience::Public => &self.public_json,
        }
    }
}

/// Latest sample and history; written by the sampler only.
pub struct MetricsStore {
    latest: ArcSwapOption<Published>,
    history: Mutex<VecDeque<HistoryPoint>>,
    capacity: usize,
    interval_seconds: f64,
    /// The baseline of the watchdog before the first publish.
    created: Instant,
}

#[derive(Serialize)]
struct HistoryBody<'a> {
    interval_seconds: f64,
    samples: &'a VecDeque<HistoryPoint>,
}

impl MetricsStore {
    /// A store keeping `capacity` history points taken every `interval_seconds`.
    pub(crate) fn new(capacity: usize, interval_seconds: f64) -> Self {
        MetricsStore {
            latest: ArcSwapOption::empty(),
            history: Mutex::new(VecDeque::with_capacity(capacity.min(100_000))),
            capacity: capacity.max(1),
            interval_seconds,
            created: Instant::now(),
        }
    }

    /// The last published sample, if any.
    pub(crate) fn latest(&self) -> Option<Arc<Published>> {
        self.latest.load_full()
    }

    /// Serialises `sample` once, appends it to the history and swaps both in.
    pub fn publish(&self, sample: Sample) -> Arc<Published> {
        let json = Bytes::from(serde_json::to_vec(&sample).unwrap_or_default());
        let public_sample = sample.redacted().unwrap_or_else(|| sample.clone());
        let public_json = Bytes::from(serde_json::to_vec(&public_sample).unwrap_or_default());
        let history_json = {
            let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
            if h.len() >= self.capacity {
                h.pop_front();
            }
            h.push_back(HistoryPoint::of(&sample));
            let body = HistoryBody {
                interval_seconds: self.interval_seconds,
                samples: &h,
            };
            Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
        };
        let p = Arc::new(Published {
            sample,
            public_sample,
            json,
            public_json,
            history_json,
            at: Instant::now(),
        });
        self.latest.store(Some(p.clone()));
        p
    }

    /// `Some` when the sampler has been silent for more than [`STALE_INTERVALS`]
    /// intervals at `now`.
    pub(crate) fn stalled_at(&self, now: Instant) -> Option<Stalled> {
        let last = self.latest.load().as_ref().map_or(self.created, |p| p.at);
        let interval = Duration::from_secs_f64(self.interval_seconds.max(0.0));
        let silent_for = now.saturating_duration_since(last);
        (silent_for > interval * STALE_INTERVALS).then_some(Stalled {
            silent_for,
            interval,
        })
    }

    /// [`Self::stalled_at`] now.
    pub(crate) fn stalled(&self) -> Option<Stalled> {
        self.stalled_at(Instant::now())
    }

    /// Copies of the history points, oldest first (for the page's server-side sparklines).
    pub(crate) fn history(&self) -> Vec<HistoryPoint> {
        let h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        h.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_fires_after_three_silent_intervals() {
        let store = MetricsStore::new(10, 2.0);
        let start = Instant::now();
        // Before the first sample the store's creation is the baseline.
        assert_eq!(store.stalled_at(start), None);
        assert!(store.stalled_at(start + Duration::from_secs(7)).is_some());

        let p = store.publish(Sample::default());
        assert_eq!(store.stalled_at(p.at + Duration::from_secs(6)), None);
        let s = store
            .stalled_at(p.at + Duration::from_millis(6_500))
            .expect("stalled after 3 intervals");
        assert_eq!(s.reason(), "sampler has not published for 6s (interval 2s)");

        // A new sample clears it.
        let q = store.publish(Sample::default());
        assert_eq!(store.stalled_at(q.at + Duration::from_secs(1)), None);
        let quarter = MetricsStore::new(10, 0.25);
        let r = quarter.publish(Sample::default());
        let s = quarter.stalled_at(r.at + Duration::from_secs(3)).unwrap();
        assert_eq!(
            s.reason(),
            "sampler has not published for 3s (interval 0.25s)"
        );
    }

    #[test]
    fn each_audience_gets_its_own_sample_and_body_and_history_is_a_bounded_ring() {
        let store = MetricsStore::new(2, 5.0);
        assert!(store.latest().is_none());
        for host in ["a", "b", "c"] {
            let mut s = Sample {
                host: host.into(),
                ..Sample::default()
            };
            s.view.proc = Some("/host/proc".into());
            store.publish(s);
        }
        let p = store.latest().expect("published");
        assert_eq!(
            p.sample(Audience::Private).view.proc.as_deref(),
            Some("/host/proc")
        );
        assert_eq!(p.sample(Audience::Public).view.proc, None);
        assert_eq!(p.sample(Audience::Public).host, "c");
        let body = |a| serde_json::from_slice::<serde_json::Value>(p.json(a)).unwrap();
        assert_eq!(body(Audience::Private)["view"]["proc"], "/host/proc");
        assert_eq!(
            body(Audience::Public)["view"]["proc"],
            serde_json::Value::Null
        );
        assert_eq!(store.history().len(), 2);
        let h: serde_json::Value = serde_json::from_slice(&p.history_json).unwrap();
        assert_eq!(h["interval_seconds"], 5.0);
        assert_eq!(h["samples"].as_array().map(Vec::len), Some(2));
    }
}
