//! The published metrics: the sampler swaps in each new sample (with its JSON already
//! serialised) and the history ring; requests only clone `Bytes` out of it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

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
}

impl Published {
    /// The sample as `audience` may see it.
    pub fn sample(&self, audience: Audience) -> &Sample {
        match audience {
            Audience::Private => &self.sample,
            Audience::Public => &self.public_sample,
        }
    }

    /// The `/api/metrics` body for `audience`.
    pub fn json(&self, audience: Audience) -> &Bytes {
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
}

#[derive(Serialize)]
struct HistoryBody<'a> {
    interval_seconds: f64,
    samples: &'a VecDeque<HistoryPoint>,
}

impl MetricsStore {
    /// A store keeping `capacity` history points taken every `interval_seconds`.
    pub fn new(capacity: usize, interval_seconds: f64) -> Self {
        MetricsStore {
            latest: ArcSwapOption::empty(),
            history: Mutex::new(VecDeque::with_capacity(capacity.min(100_000))),
            capacity: capacity.max(1),
            interval_seconds,
        }
    }

    /// The last published sample, if any.
    pub fn latest(&self) -> Option<Arc<Published>> {
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
        });
        self.latest.store(Some(p.clone()));
        p
    }

    /// Copies of the history points, oldest first (for the page's server-side sparklines).
    pub fn history(&self) -> Vec<HistoryPoint> {
        let h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        h.iter().cloned().collect()
    }
}
