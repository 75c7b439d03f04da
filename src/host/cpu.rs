//! CPU time from `<proc>/stat`: the total and per-core tick counters, and the busy,
//! iowait and steal shares between two readings.

use std::io;
use std::path::Path;

use super::{invalid, read_file, round2, Core};

/// The tick counters of one `cpu` line. Columns a kernel does not write (older kernels
/// have 4, 7, 8 or 9 of them) are 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ticks {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
    pub guest: u64,
    pub guest_nice: u64,
}

impl Ticks {
    /// The ten counters in `/proc/stat` column order.
    pub fn from_array(v: [u64; 10]) -> Self {
        Ticks {
            user: v[0],
            nice: v[1],
            system: v[2],
            idle: v[3],
            iowait: v[4],
            irq: v[5],
            softirq: v[6],
            steal: v[7],
            guest: v[8],
            guest_nice: v[9],
        }
    }

    /// The counters node_exporter exports as `node_cpu_seconds_total` modes, by mode name
    /// (guest time is inside user and nice, so it is not a mode of its own).
    pub(crate) fn modes(&self) -> [(&'static str, u64); 8] {
        [
            ("user", self.user),
            ("nice", self.nice),
            ("system", self.system),
            ("idle", self.idle),
            ("iowait", self.iowait),
            ("irq", self.irq),
            ("softirq", self.softirq),
            ("steal", self.steal),
        ]
    }

    fn fields(&self) -> [u64; 10] {
        [
            self.user,
            self.nice,
            self.system,
            self.idle,
            self.iowait,
            self.irq,
            self.softirq,
            self.steal,
            self.guest,
            self.guest_nice,
        ]
    }
}

/// One reading of `<proc>/stat`: the aggregate line and each online core by number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stat {
    pub(crate) total: Ticks,
    pub(crate) cores: Vec<(u32, Ticks)>,
}

/// Shares of one interval, in percent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// Everything but idle and iowait.
    pub busy: f64,
    pub iowait: f64,
    pub steal: f64,
}

fn parse_ticks(cols: &mut std::str::SplitAsciiWhitespace<'_>) -> io::Result<Ticks> {
    let mut v = [0u64; 10];
    let mut n = 0;
    for (slot, col) in v.iter_mut().zip(cols) {
        *slot = col
            .parse()
            .map_err(|_| invalid(format!("stat: bad counter '{col}'")))?;
        n += 1;
    }
    if n < 4 {
        return Err(invalid("stat: a cpu line has fewer than 4 counters"));
    }
    Ok(Ticks::from_array(v))
}

/// Parses the `cpu` lines of `/proc/stat` text (other lines are skipped).
pub fn parse_str(text: &str) -> io::Result<Stat> {
    let mut total = None;
    let mut cores = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("cpu") else {
            // The cpu lines come first; stop at the first other line rather than scan
            // the (long) interrupt lines after them.
            if total.is_some() {
                break;
            }
            continue;
        };
        let mut cols = rest.split_ascii_whitespace();
        if rest.starts_with([' ', '\t']) {
            total = Some(parse_ticks(&mut cols)?);
        } else {
            let id = cols
                .next()
                .and_then(|n| n.parse::<u32>().ok())
                .ok_or_else(|| invalid(format!("stat: bad cpu line '{line}'")))?;
            cores.push((id, parse_ticks(&mut cols)?));
        }
    }
    let total = total.ok_or_else(|| invalid("stat: no aggregate cpu line"))?;
    Ok(Stat { total, cores })
}

/// The kernel's `USER_HZ`: `/proc/stat` counts time in ticks of 1/USER_HZ seconds. Taken
/// from the auxiliary vector the kernel hands every process (`AT_CLKTCK`, what
/// `sysconf(_SC_CLK_TCK)` answers); 100, the value on every Linux architecture in use,
/// should it be missing. A container reading the host's procfs runs on the same kernel.
pub(crate) fn ticks_per_second() -> u64 {
    match rustix::param::clock_ticks_per_second() {
        0 => 100,
        n => n,
    }
}

/// CPU time of `ticks` in seconds.
pub(crate) fn seconds(ticks: u64) -> f64 {
    ticks as f64 / ticks_per_second() as f64
}

/// Reads `<proc>/stat` (using `buf` as scratch).
pub fn read(proc: &Path, buf: &mut String) -> io::Result<Stat> {
    read_file(&proc.join("stat"), buf)?;
    parse_str(buf)
}

/// The shares of one interval: `None` when any counter went backwards (a CPU came back
/// online with fresh counters, a hypervisor reset) or no tick passed.
pub fn delta(prev: &Ticks, cur: &Ticks) -> Option<Usage> {
    if prev.fields().iter().zip(cur.fields()).any(|(p, c)| c < *p) {
        return None;
    }
    // Per-field deltas summed in u128: counters near u64::MAX (a corrupt or hostile
    // procfs) can neither overflow nor push a share past 100 %.
    let d = |c: u64, p: u64| u128::from(c - p);
    let total = d(cur.user, prev.user)
        + d(cur.nice, prev.nice)
        + d(cur.system, prev.system)
        + d(cur.idle, prev.idle)
        + d(cur.iowait, prev.iowait)
        + d(cur.irq, prev.irq)
        + d(cur.softirq, prev.softirq)
        + d(cur.steal, prev.steal);
    if total == 0 {
        return None;
    }
    let idle = d(cur.idle, prev.idle) + d(cur.iowait, prev.iowait);
    let pct = |n: u128| round2(n as f64 * 100.0 / total as f64);
    Some(Usage {
        busy: pct(total - idle),
        iowait: pct(d(cur.iowait, prev.iowait)),
        steal: pct(d(cur.steal, prev.steal)),
    })
}

/// Each core of `cur` with its busy percent, matched to `prev` by number.
pub(crate) fn core_deltas(prev: Option<&Stat>, cur: &Stat) -> Vec<Core> {
    cur.cores
        .iter()
        .map(|(id, t)| Core {
            id: *id,
            percent: prev
                .and_then(|prev| prev.cores.iter().find(|(pid, _)| pid == id))
                .and_then(|p| delta(&p.1, t))
                .map(|u| u.busy),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Linux 2.6.9 (7 counters + label = 8 columns), 2.6.32 (9 + label = 10) and 5.15
    // (10 + label = 11).
    const K2_6_9: &str = "cpu  2255 34 2290 22625563 6290 127 456\n\
cpu0 1132 34 1441 11311718 3675 127 438\n\
cpu1 1123 0 849 11313845 2614 0 18\n\
intr 114930548 113199788 3 0 5 263 0 4 [... 1 5]\n\
ctxt 1990473\n";
    const K2_6_32: &str = "cpu  79242 0 74306 842486413 756859 6140 67701 0 0\n\
cpu0 38125 0 35420 421244050 378502 3201 33850 0 0\n\
cpu1 41117 0 38886 421242363 378357 2939 33851 0 0\n\
intr 1 2 3\nbtime 1269945321\n";
    const K5_15: &str = "cpu  56248 12 8765 91418 1087 0 101 14 300 7\n\
cpu0 27746 6 4081 46622 331 0 17 5 150 3\n\
cpu1 28502 6 4684 44796 756 0 83 9 150 4\n\
intr 4242 0 9\nctxt 4\nprocesses 3\nprocs_running 1\n";

    #[test]
    fn parses_every_kernel_layout() {
        let s = parse_str(K2_6_9).unwrap();
        assert_eq!(s.total.user, 2255);
        assert_eq!(s.total.softirq, 456);
        assert_eq!(
            (s.total.steal, s.total.guest, s.total.guest_nice),
            (0, 0, 0)
        );
        assert_eq!(s.cores.len(), 2);
        assert_eq!(s.cores[1].0, 1);
        assert_eq!(s.cores[1].1.idle, 11313845);

        let s = parse_str(K2_6_32).unwrap();
        assert_eq!(s.total.idle, 842486413);
        assert_eq!(s.total.guest, 0);
        assert_eq!(s.cores.len(), 2);

        let s = parse_str(K5_15).unwrap();
        assert_eq!(s.total.guest, 300);
        assert_eq!(s.total.guest_nice, 7);
        assert_eq!(s.cores[0].1.steal, 5);
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "",
            "intr 1 2\n",
            "cpu  1 2 x 4\n",
            "cpu  1 2 3\n",
            "cpuX 1 2 3 4\ncpu  1 2 3 4\n",
        ] {
            assert!(parse_str(bad).is_err(), "{bad:?}");
        }
    }

    fn t(v: [u64; 10]) -> Ticks {
        Ticks::from_array(v)
    }

    #[test]
    fn shares_of_an_interval() {
        let cases = [
            // (prev, cur, busy, iowait, steal)
            // 1000 ticks: 200 user, 100 system, 600 idle, 50 iowait, 50 steal.
            (
                [100, 0, 100, 1000, 10, 0, 0, 5, 0, 0],
                [300, 0, 200, 1600, 60, 0, 0, 55, 0, 0],
                Some((35.0, 5.0, 5.0)),
            ),
            // guest grows with user: counted once.
            (
                [0; 10],
                [500, 0, 0, 500, 0, 0, 0, 0, 400, 0],
                Some((50.0, 0.0, 0.0)),
            ),
            // all idle
            (
                [0; 10],
                [0, 0, 0, 300, 0, 0, 0, 0, 0, 0],
                Some((0.0, 0.0, 0.0)),
            ),
            // all busy incl. irq and softirq
            (
                [0; 10],
                [1, 1, 1, 0, 0, 1, 1, 0, 0, 0],
                Some((100.0, 0.0, 0.0)),
            ),
            // irq and softirq each count as busy time, beside idle
            (
                [0; 10],
                [0, 0, 0, 3, 0, 1, 0, 0, 0, 0],
                Some((25.0, 0.0, 0.0)),
            ),
            (
                [0; 10],
                [0, 0, 0, 3, 0, 0, 1, 0, 0, 0],
                Some((25.0, 0.0, 0.0)),
            ),
            (
                [0; 10],
                [0, 1, 0, 3, 0, 0, 0, 0, 0, 0],
                Some((25.0, 0.0, 0.0)),
            ),
            // one third
            (
                [0; 10],
                [1, 0, 0, 2, 0, 0, 0, 0, 0, 0],
                Some((33.33, 0.0, 0.0)),
            ),
            // no tick passed
            ([5; 10], [5; 10], None),
            // counter reset (CPU hot-plugged, VM restored)
            (
                [100, 0, 100, 1000, 10, 0, 0, 0, 0, 0],
                [50, 0, 200, 2000, 20, 0, 0, 0, 0, 0],
                None,
            ),
            // iowait going backwards (seen on some kernels) is a reset too
            (
                [100, 0, 100, 1000, 10, 0, 0, 0, 0, 0],
                [200, 0, 200, 2000, 9, 0, 0, 0, 0, 0],
                None,
            ),
        ];
        for (p, c, want) in cases {
            let got = delta(&t(p), &t(c)).map(|u| (u.busy, u.iowait, u.steal));
            assert_eq!(got, want, "{p:?} -> {c:?}");
        }
    }

    #[test]
    fn cores_match_by_number() {
        let a = parse_str("cpu  0 0 0 0\ncpu0 0 0 0 0\ncpu2 0 0 0 0\n").unwrap();
        let b = parse_str("cpu  0 0 0 0\ncpu0 1 0 0 3\ncpu1 5 0 0 5\ncpu2 0 0 0 4\n").unwrap();
        let shares = |prev| -> Vec<(u32, Option<f64>)> {
            core_deltas(prev, &b)
                .iter()
                .map(|c| (c.id, c.percent))
                .collect()
        };
        assert_eq!(
            shares(Some(&a)),
            [(0, Some(25.0)), (1, None), (2, Some(0.0))]
        );
        assert_eq!(shares(None), [(0, None), (1, None), (2, None)]);
    }
}
