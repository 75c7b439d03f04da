//! From counters to the `containers` section: CPU as a share of the host, I/O rates, new
//! OOM kills between two samples, and the day of OOM kills this process remembers.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use super::{short_id, Counters, Named};
use crate::host::{rate, round2, Container};

/// How long an OOM kill keeps its mark on the page.
const OOM_WINDOW_HOURS: i64 = 24;

/// CPU use over an interval as a share of the whole host, like the host's own figure:
/// half a core busy on a 2-CPU host is 25 %. `None` when the counter went backwards or
/// no time passed.
fn cpu_percent(prev_usec: u64, cur_usec: u64, elapsed_secs: f64, cpus: usize) -> Option<f64> {
    if cpus == 0 {
        return None;
    }
    let per_sec = rate(prev_usec, cur_usec, elapsed_secs)?;
    Some(round2(per_sec / 1e6 / cpus as f64 * 100.0))
}

/// OOM kills the kernel made in one container since the previous sample (`None`: no
/// previous sample to compare, or the counter went backwards because the cgroup was
/// re-created).
pub(crate) fn new_oom_kills(prev: Option<&Counters>, cur: &Counters) -> Option<u64> {
    let (p, c) = (prev?.oom_kills?, cur.oom_kills?);
    c.checked_sub(p).filter(|n| *n > 0)
}

/// Turns this sample's counters into the `containers` section, given the previous
/// sample's (by id), the measured interval and the host's CPU count (`None` if the cpu
/// section failed). Sorted by memory, largest first.
pub(crate) fn delta(
    prev: Option<&HashMap<String, Counters>>,
    cur: &[Named],
    elapsed: f64,
    cpus: Option<usize>,
    oom: &OomLog,
) -> Vec<Container> {
    let mut out: Vec<Container> = cur
        .iter()
        .map(|n| {
            let c = &n.counters;
            let p = prev.and_then(|m| m.get(&c.id));
            let both = |f: fn(&Counters) -> Option<u64>| Some((f(p?)?, f(c)?));
            let io_prev = p.and_then(|p| p.io);
            let (oom_24h, last_oom) = oom.of(&c.id);
            Container {
                id: short_id(&c.id).to_string(),
                name: n.name.clone(),
                engine: c.engine,
                command: n.command.clone(),
                service: n.service.clone(),
                cpu_percent: both(|c| c.usage_usec)
                    .and_then(|(a, b)| cpu_percent(a, b, elapsed, cpus?)),
                memory_bytes: c.memory_bytes,
                memory_current_bytes: c.memory_current,
                memory_limit_bytes: c.memory_limit,
                oom_kills: c.oom_kills,
                oom_kills_24h: oom_24h,
                last_oom_kill: last_oom,
                processes: c.processes,
                read_bytes_per_sec: io_prev
                    .zip(c.io)
                    .and_then(|(a, b)| rate(a.0, b.0, elapsed))
                    .map(round2),
                write_bytes_per_sec: io_prev
                    .zip(c.io)
                    .and_then(|(a, b)| rate(a.1, b.1, elapsed))
                    .map(round2),
                cpu_usage_usec: c.usage_usec,
                io_bytes: c.io,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.memory_bytes
            .cmp(&a.memory_bytes)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

/// OOM kills seen by this process in the last 24 hours, per container id (kept in memory:
/// a restart forgets them, while the kernel's own `oom_kills` total stays).
#[derive(Debug, Default)]
pub(crate) struct OomLog {
    events: HashMap<String, VecDeque<(DateTime<Utc>, u64)>>,
}

impl OomLog {
    /// Records `n` kills in container `id` at `at`.
    pub(crate) fn record(&mut self, id: &str, n: u64, at: DateTime<Utc>) {
        let q = self.events.entry(id.to_string()).or_default();
        q.push_back((at, n));
        // Bounded: a container killed every interval for a day still keeps one entry per
        // sample at most, and old ones go.
        while q.len() > 50_000 {
            q.pop_front();
        }
    }

    /// Drops events older than the window, and containers with none left.
    pub(crate) fn prune(&mut self, now: DateTime<Utc>) {
        let since = now - ChronoDuration::hours(OOM_WINDOW_HOURS);
        self.events.retain(|_, q| {
            while q.front().is_some_and(|(t, _)| *t < since) {
                q.pop_front();
            }
            !q.is_empty()
        });
    }

    /// (kills in the window, time of the last one) for container `id`.
    pub(crate) fn of(&self, id: &str) -> (u64, Option<DateTime<Utc>>) {
        match self.events.get(id) {
            Some(q) => (
                q.iter().map(|(_, n)| *n).fold(0u64, u64::saturating_add),
                q.back().map(|(t, _)| *t),
            ),
            None => (0, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::cgroup::discover::Engine;

    #[test]
    fn cgroup_cpu_is_a_share_of_the_whole_host() {
        // Half a core for one second on a 2-CPU host: 25 %.
        assert_eq!(cpu_percent(1_000_000, 1_500_000, 1.0, 2), Some(25.0));
        assert_eq!(cpu_percent(2, 1, 1.0, 2), None);
        assert_eq!(cpu_percent(1, 2, 0.0, 2), None);
        assert_eq!(cpu_percent(1, 2, 1.0, 0), None);
    }

    fn named(id: &str, usec: u64, mem: u64, oom: u64, io: (u64, u64)) -> Named {
        Named {
            counters: Counters {
                id: id.into(),
                engine: Engine::Docker,
                usage_usec: Some(usec),
                memory_bytes: Some(mem),
                memory_current: Some(mem),
                memory_limit: None,
                oom_kills: Some(oom),
                processes: Some(1),
                io: Some(io),
            },
            name: id.into(),
            ..Named::default()
        }
    }

    #[test]
    fn cgroup_delta_first_sample_backwards_and_new_containers() {
        let oom = OomLog::default();
        let a0 = named("a", 1_000_000, 10, 0, (0, 0));
        let first = delta(None, std::slice::from_ref(&a0), 0.0, Some(2), &oom);
        assert_eq!(first[0].cpu_percent, None);
        assert_eq!(first[0].read_bytes_per_sec, None);
        let prev: HashMap<String, Counters> = [("a".to_string(), a0.counters.clone())]
            .into_iter()
            .collect();
        let cur = [
            named("a", 1_500_000, 10, 1, (2048, 1024)),
            named("b", 9, 20, 0, (1, 1)),
        ];
        let d = delta(Some(&prev), &cur, 2.0, Some(2), &oom);
        // Sorted by memory: b first.
        assert_eq!(d[0].id, "b");
        assert_eq!(d[0].cpu_percent, None);
        assert_eq!(d[1].cpu_percent, Some(12.5));
        assert_eq!(d[1].read_bytes_per_sec, Some(1024.0));
        assert_eq!(d[1].write_bytes_per_sec, Some(512.0));
        assert_eq!(new_oom_kills(prev.get("a"), &cur[0].counters), Some(1));
        assert_eq!(new_oom_kills(None, &cur[0].counters), None);
        let back = [named("a", 1, 10, 0, (0, 0))];
        let d = delta(Some(&prev), &back, 2.0, Some(2), &oom);
        assert_eq!(d[0].cpu_percent, None);
        assert_eq!(new_oom_kills(prev.get("a"), &back[0].counters), None);
        // Without the cpu section, no share of the host.
        let d = delta(Some(&prev), &cur, 2.0, None, &oom);
        assert_eq!(d[1].cpu_percent, None);
    }

    #[test]
    fn cgroup_oom_log_keeps_a_day() {
        let mut log = OomLog::default();
        let now = Utc::now();
        log.record("a", 2, now - ChronoDuration::hours(25));
        log.record("a", 3, now - ChronoDuration::hours(1));
        log.prune(now);
        assert_eq!(log.of("a"), (3, Some(now - ChronoDuration::hours(1))));
        assert_eq!(log.of("b"), (0, None));
    }
}
