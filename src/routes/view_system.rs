//! The system panel's view: a sample and its history as the tiles show them (CPU with
//! per-core bars, memory, network, filesystems, disk I/O, temperatures, sparklines).

use chrono::{DateTime, Utc};

use super::format::*;
use crate::host::{HistoryPoint, Sample};
use crate::timezone::Zone;

/// Sparklines show at most this many of the newest history points (the JS keeps as many).
pub const SPARK_POINTS: usize = 150;

/// Sparkline viewBox width and height.
pub(crate) const SPARK_W: f64 = 120.0;

pub(crate) const SPARK_H: f64 = 32.0;

/// Per-core chart viewBox height; each core is a bar 3 units wide on a 4-unit pitch.
pub(crate) const CORES_H: f64 = 32.0;

/// The sparklines' x axis: each point sits at its sample's number since this instant
/// (times `SPARK_W / (SPARK_POINTS - 1)`), so a new sample appends a point and the
/// `viewBox` moves instead of every point shifting: a live update sends one point.
fn spark_epoch() -> DateTime<Utc> {
    static EPOCH: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Utc::now)
}

/// The x of a point sampled at `t` on a line sampled every `interval_secs`.
pub(crate) fn spark_x(t: DateTime<Utc>, interval_secs: f64) -> f64 {
    let step = SPARK_W / (SPARK_POINTS.max(2) - 1) as f64;
    let n = (t - spark_epoch()).num_milliseconds() as f64 / (interval_secs.max(0.001) * 1000.0);
    n.round() * step
}

/// The sparklines' `viewBox`: `SPARK_W` wide, ending at the newest point's x.
pub(crate) fn spark_box(newest_x: Option<f64>) -> String {
    format!(
        "{:.1} 0 {SPARK_W} {SPARK_H}",
        newest_x.map_or(0.0, |x| x - SPARK_W)
    )
}

/// Polyline points for `values` (each with its x) scaled to `max`. Unknown values are
/// skipped (the line bridges them).
pub fn spark_points(values: &[(f64, Option<f64>)], max: f64) -> String {
    if max <= 0.0 {
        return String::new();
    }
    let mut out = String::with_capacity(values.len() * 12);
    for (x, v) in values {
        let Some(v) = v.filter(|v| v.is_finite()) else {
            continue;
        };
        let y = SPARK_H - 1.0 - (v / max).clamp(0.0, 1.0) * (SPARK_H - 2.0);
        if !out.is_empty() {
            out.push(' ');
        }
        // y in whole units: a unit is about a pixel of the drawn line.
        out.push_str(&format!("{x:.1},{y:.0}"));
    }
    out
}

/// Pixel width of the per-core chart for `n` cores (CSS caps it at the tile width).
pub fn cores_px(n: usize) -> usize {
    n.clamp(1, 256) * 14
}

/// The largest value of several series (at least `floor`), for a shared scale.
pub(crate) fn series_max(series: &[&[(f64, Option<f64>)]], floor: f64) -> f64 {
    series
        .iter()
        .flat_map(|s| s.iter().filter_map(|p| p.1))
        .filter(|v| v.is_finite())
        .fold(floor, f64::max)
}

/// One core's bar in the per-core chart.
pub struct CoreBar {
    pub x: String,
    pub y: String,
    pub h: String,
    pub label: String,
    pub level: Level,
}

pub struct DiskView {
    pub mount: String,
    pub device: String,
    pub fs: String,
    pub used: String,
    pub total: String,
    pub pct: String,
    pub bar: String,
    pub level: Level,
}

pub struct IoView {
    pub device: String,
    pub read: String,
    pub write: String,
}

pub struct IfaceView {
    pub name: String,
    pub rx: String,
    pub tx: String,
}

pub struct TempView {
    pub label: String,
    pub value: String,
    pub level: Level,
}

/// The system panel: one sample, formatted, with its sparklines.
#[derive(Default)]
pub struct SystemView {
    /// A sample exists.
    pub ready: bool,
    pub sampled_at: String,
    /// "00:23:38 UTC".
    pub sampled_label: String,
    pub cpu_pct: String,
    pub cpu_bar: String,
    pub cpu_level: Level,
    pub cpu_count: usize,
    pub cores: Vec<CoreBar>,
    pub cores_w: usize,
    /// Rendered width of the per-core chart: a few cores stay slim bars.
    pub cores_px: usize,
    pub load: String,
    pub iowait: String,
    pub steal: String,
    pub mem_pct: String,
    pub mem_bar: String,
    pub mem_level: Level,
    pub mem_used: String,
    pub mem_total: String,
    pub mem_avail: String,
    pub swap_pct: String,
    pub swap_bar: String,
    pub swap_used: String,
    pub swap_total: String,
    pub rx: String,
    pub tx: String,
    pub ifaces: Vec<IfaceView>,
    pub disks: Vec<DiskView>,
    pub io: Vec<IoView>,
    pub temps: Vec<TempView>,
    pub uptime: String,
    pub processes: String,
    pub view: String,
    pub errors: Vec<(String, String)>,
    pub spark_cpu: String,
    pub spark_mem: String,
    pub spark_rx: String,
    pub spark_tx: String,
    pub spark_span: String,
    /// The sparklines' `viewBox` (see [`spark_box`]).
    pub spark_box: String,
}

impl SystemView {
    /// The panel for `sample` (None: nothing sampled yet) and its `history`.
    pub fn new(
        sample: Option<&Sample>,
        history: &[HistoryPoint],
        interval_secs: f64,
        zone: &Zone,
    ) -> Self {
        let tail = &history[history.len().saturating_sub(SPARK_POINTS)..];
        let col = |f: fn(&HistoryPoint) -> Option<f64>| {
            tail.iter()
                .map(|p| (spark_x(p.timestamp, interval_secs), f(p)))
                .collect::<Vec<_>>()
        };
        let (cpu_h, mem_h) = (col(|p| p.cpu_percent), col(|p| p.memory_percent));
        let (rx_h, tx_h) = (col(|p| p.rx_bytes_per_sec), col(|p| p.tx_bytes_per_sec));
        let net_max = series_max(&[&rx_h, &tx_h], 1024.0);
        let span = (interval_secs * SPARK_POINTS as f64 / 60.0)
            .round()
            .max(1.0);
        let mut v = SystemView {
            spark_cpu: spark_points(&cpu_h, 100.0),
            spark_mem: spark_points(&mem_h, 100.0),
            spark_rx: spark_points(&rx_h, net_max),
            spark_tx: spark_points(&tx_h, net_max),
            spark_span: format!("last {span:.0} min"),
            spark_box: spark_box(tail.last().map(|p| spark_x(p.timestamp, interval_secs))),
            ..SystemView::placeholder()
        };
        let Some(s) = sample else {
            return v;
        };
        v.ready = true;
        // To the millisecond: which sample the page shows, exactly.
        v.sampled_at = s
            .timestamp
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        v.sampled_label = zone.format(s.timestamp, "%H:%M:%S");
        if let Some(c) = &s.cpu {
            v.set_cpu(c);
        }
        if let Some(m) = &s.memory {
            v.set_memory(m);
        }
        if let Some(n) = &s.network {
            v.set_network(n);
        }
        v.set_lists(s);
        v.uptime = s.uptime_seconds.map_or(NONE.to_string(), uptime);
        v.processes = s.processes.map_or(NONE.to_string(), |p| p.to_string());
        v.view = match &s.view.proc {
            Some(proc) => format!(
                "pid {} · net {} · {proc}",
                s.view.pid_namespace, s.view.net_namespace
            ),
            None => format!(
                "pid {} · net {}",
                s.view.pid_namespace, s.view.net_namespace
            ),
        };
        v.errors = s
            .errors
            .iter()
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect();
        v
    }

    fn set_cpu(&mut self, c: &crate::host::Cpu) {
        let v = self;
        v.cpu_pct = pct(c.percent);
        v.cpu_bar = bar(c.percent);
        v.cpu_level = Gauge::Cpu.level(c.percent);
        v.cpu_count = c.count;
        v.cores_w = c.cores.len().max(1) * 4;
        v.cores_px = cores_px(c.cores.len());
        v.cores = c
            .cores
            .iter()
            .enumerate()
            .map(|(i, core)| {
                let p = &core.percent;
                // Whole units (about a pixel each): a live update sends a bar when it moves.
                let h =
                    (p.unwrap_or(0.0).clamp(0.0, 100.0) / 100.0 * (CORES_H - 1.0) + 1.0).round();
                CoreBar {
                    x: format!("{}", i * 4),
                    y: format!("{:.0}", CORES_H - h),
                    h: format!("{h:.0}"),
                    label: format!("core {}: {}", core.id, pct(*p)),
                    level: Gauge::Cpu.level(*p),
                }
            })
            .collect();
        v.load = c.load.map_or(NONE.to_string(), |l| {
            format!("{:.2} {:.2} {:.2}", l[0], l[1], l[2])
        });
        v.iowait = pct(c.iowait_percent);
        v.steal = pct(c.steal_percent);
    }

    fn set_memory(&mut self, m: &crate::host::Memory) {
        let v = self;
        v.mem_pct = pct(Some(m.percent));
        v.mem_bar = bar(Some(m.percent));
        v.mem_level = Gauge::Memory.level(Some(m.percent));
        v.mem_used = bytes(m.used_bytes as f64);
        v.mem_total = bytes(m.total_bytes as f64);
        v.mem_avail = bytes(m.available_bytes as f64);
        let swap = (m.swap_total_bytes > 0)
            .then(|| m.swap_used_bytes as f64 / m.swap_total_bytes as f64 * 100.0);
        v.swap_pct = if m.swap_total_bytes == 0 {
            "none".to_string()
        } else {
            pct(swap)
        };
        v.swap_bar = bar(swap);
        v.swap_used = bytes(m.swap_used_bytes as f64);
        v.swap_total = bytes(m.swap_total_bytes as f64);
    }

    fn set_network(&mut self, n: &crate::host::Network) {
        let v = self;
        v.rx = rate(n.rx_bytes_per_sec);
        v.tx = rate(n.tx_bytes_per_sec);
        v.ifaces = n
            .interfaces
            .iter()
            .map(|i| IfaceView {
                name: i.name.clone(),
                rx: rate(i.rx_bytes_per_sec),
                tx: rate(i.tx_bytes_per_sec),
            })
            .collect();
    }

    /// Filesystems, disk I/O and temperatures.
    fn set_lists(&mut self, s: &Sample) {
        let v = self;
        v.disks = s
            .disks
            .iter()
            .flatten()
            .map(|d| DiskView {
                mount: d.mount.clone(),
                device: d.device.clone(),
                fs: d.fs.clone(),
                used: bytes(d.used_bytes as f64),
                total: bytes(d.total_bytes as f64),
                pct: pct(Some(d.percent)),
                bar: bar(Some(d.percent)),
                level: Gauge::Disk.level(Some(d.percent)),
            })
            .collect();
        v.io = s
            .disk_io
            .iter()
            .flatten()
            .map(|d| IoView {
                device: d.device.clone(),
                read: rate(d.read_bytes_per_sec),
                write: rate(d.write_bytes_per_sec),
            })
            .collect();
        v.temps = s
            .temperatures
            .iter()
            .flatten()
            .map(|t| TempView {
                label: t.label.clone(),
                value: format!("{:.0} °C", t.celsius),
                level: Gauge::Temperature.level(Some(t.celsius)),
            })
            .collect();
    }

    /// Every number unknown ("—"): what the panel shows before the first sample.
    fn placeholder() -> Self {
        let n = || NONE.to_string();
        SystemView {
            cpu_pct: n(),
            cpu_bar: "0".into(),
            cores_w: 4,
            cores_px: cores_px(0),
            load: n(),
            iowait: n(),
            steal: n(),
            mem_pct: n(),
            mem_bar: "0".into(),
            mem_used: n(),
            mem_total: n(),
            mem_avail: n(),
            swap_pct: n(),
            swap_bar: "0".into(),
            swap_used: n(),
            swap_total: n(),
            rx: n(),
            tx: n(),
            uptime: n(),
            processes: n(),
            ..SystemView::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_points_sit_at_their_x_and_skip_gaps() {
        let p = spark_points(&[(0.0, Some(0.0)), (1.0, None), (2.0, Some(100.0))], 100.0);
        assert_eq!(p, "0.0,31 2.0,1");
        assert_eq!(spark_points(&[], 100.0), "");
        assert_eq!(spark_box(Some(200.0)), "80.0 0 120 32");
        let t = spark_epoch() + chrono::Duration::seconds(4);
        assert_eq!(spark_x(t, 2.0), 2.0 * SPARK_W / (SPARK_POINTS - 1) as f64);
    }

    #[test]
    fn empty_state_shows_dashes_not_zeros() {
        let v = SystemView::new(None, &[], 2.0, &Zone::utc());
        assert!(!v.ready);
        assert_eq!(v.cpu_pct, "—");
        assert_eq!(v.spark_span, "last 5 min");
    }
}
