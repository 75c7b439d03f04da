//! [`Cached<T>`]: a feed's last good value, when it was fetched, the last error, and the
//! envelope (`status`, `updated_at`, `age_seconds`, `error`, `data`) every feed endpoint
//! serves.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::FetchError;

/// The envelope's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedStatus {
    /// Fresh data from the last attempt.
    Ok,
    /// Data is there but old: the last attempt failed, or no attempt finished in time.
    Stale,
    /// Not fetched yet.
    Pending,
    /// The last attempt failed and there is no data.
    Error,
    /// Not configured.
    Disabled,
}

crate::names::display_by_name!(FeedStatus);

#[derive(Debug)]
struct State<T> {
    data: Option<Arc<T>>,
    updated_at: Option<DateTime<Utc>>,
    error: Option<FetchError>,
    attempted: bool,
}

/// A feed's cached value. Written by its background task, read by requests.
#[derive(Debug)]
pub struct Cached<T> {
    state: RwLock<State<T>>,
    disabled: bool,
    /// Data older than this is `stale` even without a failed attempt.
    stale_after: Duration,
}

/// A consistent copy of a feed's state at one instant: the envelope's contents. It is
/// serialised for one audience by `feeds::envelope_json`.
#[derive(Debug, Clone)]
pub struct Snapshot<T> {
    pub status: FeedStatus,
    pub updated_at: Option<DateTime<Utc>>,
    pub age_seconds: Option<u64>,
    pub error: Option<FetchError>,
    pub data: Option<Arc<T>>,
}

impl<T> Cached<T> {
    /// A feed that will run; data counts as stale after `stale_after` without a refresh.
    pub(crate) fn new(stale_after: Duration) -> Self {
        Cached {
            state: RwLock::new(State {
                data: None,
                updated_at: None,
                error: None,
                attempted: false,
            }),
            disabled: false,
            stale_after,
        }
    }

    /// A feed that is not configured: always `disabled`.
    pub(crate) fn disabled() -> Self {
        Cached {
            disabled: true,
            ..Cached::new(Duration::MAX)
        }
    }

    /// Records a successful fetch (the scheduler compares snapshots to spot changes).
    pub(crate) fn set_ok(&self, data: T) {
        self.set_ok_at(data, Utc::now());
    }

    /// As [`Cached::set_ok`], with the time given (for tests).
    pub(crate) fn set_ok_at(&self, data: T, at: DateTime<Utc>) {
        let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
        s.data = Some(Arc::new(data));
        s.updated_at = Some(at);
        s.error = None;
        s.attempted = true;
    }

    /// Records a failed fetch; the last good data is kept.
    pub(crate) fn set_error(&self, error: FetchError) {
        let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
        s.error = Some(error);
        s.attempted = true;
    }

    pub(crate) fn snapshot(&self) -> Snapshot<T> {
        self.snapshot_at(Utc::now())
    }

    /// The envelope as it stands at `now`.
    pub(crate) fn snapshot_at(&self, now: DateTime<Utc>) -> Snapshot<T> {
        if self.disabled {
            return Snapshot {
                status: FeedStatus::Disabled,
                updated_at: None,
                age_seconds: None,
                error: None,
                data: None,
            };
        }
        let s = self.state.read().unwrap_or_else(|e| e.into_inner());
        let age = s.updated_at.map(|t| (now - t).num_seconds().max(0) as u64);
        let too_old = age.is_some_and(|a| Duration::from_secs(a) > self.stale_after);
        let status = match (&s.data, &s.error, s.attempted) {
            (_, _, false) => FeedStatus::Pending,
            (Some(_), None, true) if !too_old => FeedStatus::Ok,
            (Some(_), _, true) => FeedStatus::Stale,
            (None, _, true) => FeedStatus::Error,
        };
        Snapshot {
            status,
            updated_at: s.updated_at,
            age_seconds: age,
            error: s.error.clone(),
            data: s.data.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::error::Reason;

    fn err(detail: &str) -> FetchError {
        FetchError::new(Reason::Unreachable, detail)
    }

    #[test]
    fn states_follow_the_fetches() {
        let c: Cached<u32> = Cached::new(Duration::from_secs(60));
        assert_eq!(c.snapshot().status, FeedStatus::Pending);
        c.set_error(err("boom"));
        assert_eq!(c.snapshot().status, FeedStatus::Error);
        assert!(c.snapshot().data.is_none());
        c.set_ok(7);
        let s = c.snapshot();
        assert_eq!(s.status, FeedStatus::Ok);
        assert!(s.error.is_none());
        c.set_error(err("down"));
        let s = c.snapshot();
        assert_eq!(s.status, FeedStatus::Stale);
        assert_eq!(s.data.as_deref(), Some(&7));
        assert_eq!(s.error.map(|e| e.detail).as_deref(), Some("down"));
        c.set_ok(8);
        assert_eq!(c.snapshot().status, FeedStatus::Ok);
    }

    #[test]
    fn old_data_is_stale_without_an_error() {
        let c: Cached<u32> = Cached::new(Duration::from_secs(60));
        let t = Utc::now() - chrono::Duration::seconds(120);
        c.set_ok_at(1, t);
        let s = c.snapshot();
        assert_eq!(s.status, FeedStatus::Stale);
        assert!(s.age_seconds.unwrap() >= 120);
    }

    #[test]
    fn disabled_is_disabled() {
        let c: Cached<u32> = Cached::disabled();
        let s = c.snapshot();
        assert_eq!(s.status, FeedStatus::Disabled);
        assert!(s.data.is_none() && s.updated_at.is_none());
    }
}
