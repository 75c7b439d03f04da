//! The one refresh loop every feed runs on: fetch at start, then every refresh; after a
//! failure retry sooner with exponential backoff and jitter (never later than the refresh,
//! never sooner than the refresh while healthy); write the result into the feed's
//! [`Cached`]; log once per status change; tell the caller when the envelope changed so it
//! can publish it on the live stream.

use std::time::Duration;

use super::error::FetchError;
use super::{Cached, FeedStatus};
use crate::tasks::Shutdown;

/// First retry delay after a failure; doubled per failure up to the refresh.
pub const BACKOFF_START: Duration = Duration::from_secs(5);

/// Why a fetch failed, and how long the upstream asked us to wait (`Retry-After`).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub error: FetchError,
    pub retry_after: Option<Duration>,
}

impl From<FetchError> for Failure {
    fn from(error: FetchError) -> Self {
        Failure {
            error,
            retry_after: None,
        }
    }
}

/// The wait before the next attempt.
#[derive(Debug, Clone)]
pub struct Backoff {
    refresh: Duration,
    start: Duration,
    failures: u32,
}

impl Backoff {
    pub(crate) fn new(refresh: Duration) -> Self {
        Backoff {
            refresh,
            start: BACKOFF_START.min(refresh),
            failures: 0,
        }
    }

    /// After a success: the refresh itself.
    pub(crate) fn success(&mut self) -> Duration {
        self.failures = 0;
        self.refresh
    }

    /// After a failure: `start · 2^(n-1)` capped at the refresh, then a random share of
    /// 50–100 % of it (`jitter` in 0..1) so replicas and feeds do not retry in lockstep.
    /// An upstream's `Retry-After` is honoured up to the refresh.
    pub(crate) fn failure(&mut self, retry_after: Option<Duration>, jitter: f64) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let exp = self.failures.saturating_sub(1).min(30);
        let full = self
            .start
            .saturating_mul(1u32 << exp.min(20))
            .min(self.refresh);
        let jittered = full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0));
        match retry_after {
            Some(r) => jittered.max(r).min(self.refresh),
            None => jittered,
        }
    }
}

/// Runs one feed until shutdown: `fetch` produces the data, `cache` keeps it, `changed`
/// is called after each attempt that changed the envelope's status, error or data.
pub(crate) fn run<T, F, C>(
    name: &str,
    shutdown: &Shutdown,
    cache: &Cached<T>,
    refresh: Duration,
    mut fetch: F,
    mut changed: C,
) where
    T: PartialEq,
    F: FnMut() -> Result<T, Failure>,
    C: FnMut(),
{
    let mut backoff = Backoff::new(refresh);
    loop {
        let before = cache.snapshot();
        let result = fetch();
        if shutdown.is_triggered() {
            // Stopped while fetching (a reload replaced this task): what it fetched is
            // for a configuration that no longer runs; the new task owns the cache.
            return;
        }
        let (delay, after) = match result {
            Ok(data) => {
                let same_data = before.data.as_deref() == Some(&data);
                cache.set_ok(data);
                let after = cache.snapshot();
                if !same_data || after.status != before.status || before.error.is_some() {
                    changed();
                }
                (backoff.success(), after)
            }
            Err(f) => {
                cache.set_error(f.error);
                let after = cache.snapshot();
                if after.status != before.status || after.error != before.error {
                    changed();
                }
                (backoff.failure(f.retry_after, fastrand::f64()), after)
            }
        };
        log_transition(
            name,
            before.status,
            after.status,
            after.error.as_ref().map(|e| e.detail.as_str()),
        );
        if !shutdown.sleep(delay) {
            return;
        }
    }
}

/// One line per status change; nothing while the status holds (a feed failing every
/// minute for a day logs once, when it failed).
fn log_transition(name: &str, from: FeedStatus, to: FeedStatus, error: Option<&str>) {
    if let Some((level, line)) = transition_line(name, from, to, error) {
        log::log!(level, "{line}");
    }
}

/// The line [`log_transition`] writes, and at which level: `None` when nothing changed.
fn transition_line(
    name: &str,
    from: FeedStatus,
    to: FeedStatus,
    error: Option<&str>,
) -> Option<(log::Level, String)> {
    if from == to {
        return None;
    }
    Some(match (to, error) {
        (FeedStatus::Ok, _) => (log::Level::Info, format!("feed {name}: {from} -> {to}")),
        (_, Some(e)) => (
            log::Level::Warn,
            format!("feed {name}: {from} -> {to}: {e}"),
        ),
        (_, None) => (log::Level::Warn, format!("feed {name}: {from} -> {to}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::feed::Feed;
    use std::cell::RefCell;

    #[test]
    fn backoff_grows_and_is_capped_at_the_refresh() {
        let mut b = Backoff::new(Duration::from_secs(1800));
        let full: Vec<u64> = (0..12).map(|_| b.failure(None, 1.0).as_secs()).collect();
        assert_eq!(
            full,
            [5, 10, 20, 40, 80, 160, 320, 640, 1280, 1800, 1800, 1800]
        );
        assert_eq!(b.success(), Duration::from_secs(1800));
        assert_eq!(b.failure(None, 0.0), Duration::from_millis(2500));
        // A fast feed never waits longer than its refresh.
        let mut fast = Backoff::new(Duration::from_millis(250));
        for _ in 0..5 {
            assert!(fast.failure(None, 1.0) <= Duration::from_millis(250));
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_refresh() {
        let mut b = Backoff::new(Duration::from_secs(300));
        assert_eq!(
            b.failure(Some(Duration::from_secs(60)), 0.0),
            Duration::from_secs(60)
        );
        assert_eq!(
            b.failure(Some(Duration::from_secs(3600)), 0.0),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn changes_are_reported_once() {
        let cache: Cached<u32> = Cached::new(Duration::from_secs(60));
        let script = RefCell::new(vec![
            Ok(1),
            Ok(1),
            Err(FetchError::new(crate::feeds::Reason::Refused, "down")),
            Err(FetchError::new(crate::feeds::Reason::Refused, "down")),
            Ok(1),
            Ok(2),
        ]);
        let shutdown = Shutdown::new();
        let mut calls = 0;
        let mut seen = Vec::new();
        run(
            "t",
            &shutdown,
            &cache,
            Duration::from_millis(1),
            || {
                let mut s = script.borrow_mut();
                if s.is_empty() {
                    // Stopped mid-fetch (a reload replaced the task): this result is
                    // for a configuration that no longer runs and is not written.
                    shutdown.trigger();
                    return Err(FetchError::new(crate::feeds::Reason::Refused, "late").into());
                }
                s.remove(0).map_err(Failure::from)
            },
            || {
                calls += 1;
                seen.push(cache.snapshot().status);
            },
        );
        // pending→ok, ok→stale, stale→ok, data 1→2; the repeats change nothing.
        assert_eq!(calls, 4);
        assert_eq!(
            seen,
            [
                FeedStatus::Ok,
                FeedStatus::Stale,
                FeedStatus::Ok,
                FeedStatus::Ok
            ]
        );
        assert_eq!(cache.snapshot().data.as_deref(), Some(&2));
    }

    #[test]
    fn a_feed_logs_once_per_change_of_status() {
        use FeedStatus as F;
        assert_eq!(
            transition_line(Feed::Weather.name(), F::Error, F::Error, Some("timeout")),
            None
        );
        assert_eq!(
            transition_line(
                Feed::Weather.name(),
                F::Ok,
                F::Stale,
                Some("timed out after 10s")
            ),
            Some((
                log::Level::Warn,
                "feed weather: ok -> stale: timed out after 10s".into()
            ))
        );
        assert_eq!(
            transition_line(Feed::Weather.name(), F::Stale, F::Ok, None),
            Some((log::Level::Info, "feed weather: stale -> ok".into()))
        );
        assert_eq!(
            transition_line("peer", F::Ok, F::Error, None),
            Some((log::Level::Warn, "feed peer: ok -> error".into()))
        );
    }
}
