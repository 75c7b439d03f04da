//! The portal page's view model: everything `templates/index.html` prints, built from
//! [`AppState`] and already formatted for humans (units, relative times, gauge geometry),
//! so the first paint is complete without JavaScript. `assets/app.js` formats the live
//! updates the same way.

use chrono::{DateTime, Utc};

use crate::access::Audience;
use crate::config::Config;
use crate::feeds::history::BarCell;
use crate::feeds::{Activity, FeedStatus, ServiceStatus, Services, Snapshot, Weather};
use crate::host::{HistoryPoint, Sample};
use crate::routes::asset_store::AssetStore;
use crate::routes::negotiation::Encoding;
use crate::state::AppState;
use crate::timezone::Zone;

pub use super::view_hosts::HostTab;

/// Sparklines show at most this many of the newest history points (the JS keeps as many).
pub const SPARK_POINTS: usize = 150;
/// Sparkline viewBox width and height.
const SPARK_W: f64 = 120.0;
const SPARK_H: f64 = 32.0;
/// Per-core chart viewBox height; each core is a bar 3 units wide on a 4-unit pitch.
const CORES_H: f64 = 32.0;

/// "—" for a value that is not known (yet).
const NONE: &str = "—";

/// Bytes in IEC units with one decimal ("3.2 GiB").
pub fn bytes(n: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if !n.is_finite() || n < 0.0 {
        return NONE.to_string();
    }
    let mut v = n;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} {}", UNITS[0])
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// A per-second rate ("1.2 MiB/s"), or "—" when unknown.
pub fn rate(n: Option<f64>) -> String {
    match n {
        Some(v) if v.is_finite() && v >= 0.0 => format!("{}/s", bytes(v)),
        _ => NONE.to_string(),
    }
}

/// A percentage with one decimal ("12.5%"), or "—".
pub fn pct(n: Option<f64>) -> String {
    match n {
        Some(v) if v.is_finite() => format!("{:.1}%", v.clamp(0.0, 100.0)),
        _ => NONE.to_string(),
    }
}

/// A gauge length in 0..=100 (for SVG `width`).
fn bar(n: Option<f64>) -> String {
    let v = n.filter(|v| v.is_finite()).unwrap_or(0.0).clamp(0.0, 100.0);
    format!("{v:.1}")
}

/// Uptime as "3d 4h 12m" (or "4h 12m", "12m").
pub fn uptime(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h {m}m"),
    }
}

/// How long ago `t` was, from `now` ("just now", "5 min ago", "3 h ago", "2 d ago").
pub fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    age((now - t).num_seconds().max(0) as u64)
}

/// An age in seconds as text ("just now", "5 min ago").
pub fn age(s: u64) -> String {
    match s {
        0..=44 => "just now".to_string(),
        45..=3599 => format!("{} min ago", (s + 30) / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// `url` when it is an http(s) URL, else "#": upstream links never get a `javascript:`
/// or `data:` scheme into an `href`.
pub fn safe_url(url: &str) -> String {
    crate::config::HttpUrl::check(url).map_or_else(|_| "#".to_string(), str::to_string)
}

/// Status class for a value against warn/bad thresholds ("ok", "warn", "bad").
pub fn level(v: Option<f64>, warn: f64, bad: f64) -> &'static str {
    match v {
        Some(v) if v >= bad => "bad",
        Some(v) if v >= warn => "warn",
        Some(_) => "ok",
        None => "unknown",
    }
}

/// Polyline points for `values` scaled to `max`, newest at the right edge. Unknown
/// values are skipped (the line bridges them).
pub fn spark_points(values: &[Option<f64>], max: f64) -> String {
    let n = values.len();
    if n == 0 || max <= 0.0 {
        return String::new();
    }
    let step = SPARK_W / (SPARK_POINTS.max(2) - 1) as f64;
    let x0 = SPARK_W - step * (n.saturating_sub(1)) as f64;
    let mut out = String::with_capacity(n * 10);
    for (i, v) in values.iter().enumerate() {
        let Some(v) = v.filter(|v| v.is_finite()) else {
            continue;
        };
        let y = SPARK_H - 1.0 - (v / max).clamp(0.0, 1.0) * (SPARK_H - 2.0);
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&format!("{:.1},{:.1}", x0 + step * i as f64, y));
    }
    out
}

/// Pixel width of the per-core chart for `n` cores (CSS caps it at the tile width).
pub fn cores_px(n: usize) -> usize {
    n.clamp(1, 256) * 14
}

/// The largest value of several series (at least `floor`), for a shared scale.
fn series_max(series: &[&[Option<f64>]], floor: f64) -> f64 {
    series
        .iter()
        .flat_map(|s| s.iter().flatten())
        .copied()
        .filter(|v| v.is_finite())
        .fold(floor, f64::max)
}

/// One core's bar in the per-core chart.
pub struct CoreBar {
    pub x: String,
    pub y: String,
    pub h: String,
    pub label: String,
    pub level: &'static str,
}

pub struct DiskView {
    pub mount: String,
    pub device: String,
    pub fs: String,
    pub used: String,
    pub total: String,
    pub pct: String,
    pub bar: String,
    pub level: &'static str,
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
    pub level: &'static str,
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
    pub cpu_level: &'static str,
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
    pub mem_level: &'static str,
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
    /// The network sparkline's full scale in bytes/s (the script rescales from it).
    pub spark_net_max: String,
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
        let col = |f: fn(&HistoryPoint) -> Option<f64>| tail.iter().map(f).collect::<Vec<_>>();
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
            spark_net_max: format!("{net_max:.0}"),
            ..SystemView::placeholder()
        };
        let Some(s) = sample else {
            return v;
        };
        v.ready = true;
        v.sampled_at = s
            .timestamp
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
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
        v.cpu_level = level(c.percent, 75.0, 90.0);
        v.cpu_count = c.count;
        v.cores_w = c.cores.len().max(1) * 4;
        v.cores_px = cores_px(c.cores.len());
        v.cores = c
            .cores
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let h = p.unwrap_or(0.0).clamp(0.0, 100.0) / 100.0 * (CORES_H - 1.0) + 1.0;
                CoreBar {
                    x: format!("{}", i * 4),
                    y: format!("{:.1}", CORES_H - h),
                    h: format!("{h:.1}"),
                    label: format!(
                        "core {}: {}",
                        c.core_ids.get(i).copied().unwrap_or(i as u32),
                        pct(*p)
                    ),
                    level: level(*p, 75.0, 90.0),
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
        v.mem_level = level(Some(m.percent), 80.0, 92.0);
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
                level: level(Some(d.percent), 80.0, 90.0),
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
                level: level(Some(t.celsius), 70.0, 85.0),
            })
            .collect();
    }

    /// Every number unknown ("—"): what the panel shows before the first sample.
    fn placeholder() -> Self {
        let n = || NONE.to_string();
        SystemView {
            cpu_pct: n(),
            cpu_bar: "0".into(),
            cpu_level: "unknown",
            cores_w: 4,
            cores_px: cores_px(0),
            load: n(),
            iowait: n(),
            steal: n(),
            mem_pct: n(),
            mem_bar: "0".into(),
            mem_level: "unknown",
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

/// A feed's state line: what the card says about its data's freshness.
pub struct FeedState {
    /// The envelope status ("ok", "stale", "pending", "error", "disabled").
    pub status: &'static str,
    /// Short human text ("updated 3 min ago", "stale · 2 h old").
    pub label: String,
    /// The last error, shown for stale and error.
    pub error: Option<String>,
    /// What the card says when it has nothing to list.
    pub empty: String,
}

impl FeedState {
    /// The state line of `s` as `audience` may read it: the owner gets the error's
    /// detail, the public its short class.
    pub fn of<T>(s: &Snapshot<T>, what: &str, audience: Audience) -> Self {
        let age_text = s.age_seconds.map(age);
        let label = match s.status {
            FeedStatus::Ok => format!("updated {}", age_text.as_deref().unwrap_or("just now")),
            FeedStatus::Stale => format!(
                "stale · last good {}",
                age_text.as_deref().unwrap_or("a while ago")
            ),
            FeedStatus::Pending => format!("pending · fetching {what}…"),
            FeedStatus::Error => format!("error · no {what} yet"),
            FeedStatus::Disabled => format!("disabled · {what} is not configured"),
        };
        FeedState {
            status: s.status.as_str(),
            label,
            error: s.error.as_ref().map(|e| match audience {
                Audience::Private => e.detail.clone(),
                Audience::Public => e.reason.label().into_owned(),
            }),
            empty: empty_text(s.status, what),
        }
    }
}

/// The body of a card with nothing to show, by feed status (mirrored in app.js).
pub fn empty_text(status: FeedStatus, what: &str) -> String {
    match status {
        FeedStatus::Pending => format!("Fetching {what}…"),
        FeedStatus::Error => format!("No {what} yet; retrying in the background."),
        FeedStatus::Disabled if what == "activity" => {
            "Set forgejo.url (and a token) to list recent commits here.".to_string()
        }
        FeedStatus::Disabled => format!("{what} is turned off."),
        FeedStatus::Ok | FeedStatus::Stale => format!("No {what} to show."),
    }
}

pub struct ForecastView {
    pub day: String,
    pub max: String,
    pub min: String,
    pub description: String,
}

pub struct WeatherView {
    /// Glyph for the current conditions (`#wx-<kind>` in the page's sprite).
    pub kind: &'static str,
    pub location: String,
    pub temp: String,
    pub feels: String,
    pub humidity: String,
    pub wind: String,
    pub description: String,
    pub forecast: Vec<ForecastView>,
}

impl WeatherView {
    pub fn new(w: &Weather) -> Self {
        WeatherView {
            kind: weather_kind(w.code),
            location: w.location.clone(),
            temp: format!("{:.0}°C", w.temp_c),
            feels: format!("{:.0}°C", w.feels_like_c),
            humidity: format!("{:.0}%", w.humidity),
            wind: format!("{:.0} km/h {}", w.wind_kmph, w.wind_dir),
            description: w.description.clone(),
            forecast: w
                .forecast
                .iter()
                .take(3)
                .map(|f| ForecastView {
                    day: day_label(&f.date),
                    max: format!("{:.0}°", f.max_c),
                    min: format!("{:.0}°", f.min_c),
                    description: f.description.clone(),
                })
                .collect(),
        }
    }
}

/// The glyph for a wttr.in (WWO) weather code: sun, part, cloud, fog, rain, snow, storm.
pub fn weather_kind(code: u32) -> &'static str {
    match code {
        113 => "sun",
        116 => "part",
        119 | 122 => "cloud",
        143 | 248 | 260 => "fog",
        200 | 386 | 389 | 392 | 395 => "storm",
        179 | 182 | 185 | 227 | 230 | 317 | 320 | 323..=338 | 350 | 362..=377 => "snow",
        176 | 263..=314 | 353..=359 => "rain",
        _ => "cloud",
    }
}

/// "2026-11-27" → "Fri 27" (the date itself when it does not parse).
pub fn day_label(date: &str) -> String {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map(|d| d.format("%a %d").to_string())
        .unwrap_or_else(|_| date.chars().take(16).collect())
}

pub struct CommitView {
    pub repo: String,
    pub repo_url: String,
    pub short_sha: String,
    pub message: String,
    pub author: String,
    pub when: String,
    pub date: String,
    pub url: String,
}

/// One cell of a service's 24 h bar.
pub struct CellView {
    pub x: usize,
    /// "none" (no checks), "ok" (all up), "warn" (at least 90 % up) or "bad".
    pub level: &'static str,
}

/// One service card.
pub struct ServiceView {
    pub name: String,
    pub url: String,
    pub description: String,
    pub group: String,
    /// Inline SVG markup from our own embedded icons (never from config or upstream).
    pub icon_svg: &'static str,
    pub status: String,
    pub latency: String,
    /// The short reason class when not up.
    pub reason: Option<String>,
    /// "down since 14:02 UTC (12 min)", when down.
    pub since: Option<String>,
    pub since_iso: String,
    /// "24 h 98.6%".
    pub uptime: String,
    /// The bar's text equivalent ("last 24 h: 98.6% up; 7 days: 99.1% up").
    pub bar_label: String,
    pub cells: Vec<CellView>,
    /// "probe" or "uptime_kuma".
    pub source: String,
    /// OOM kills of the containers linked to this service (owner view; empty if none).
    pub container_note: String,
}

pub struct ServiceGroup {
    pub name: String,
    pub services: Vec<ServiceView>,
}

/// The one-line summary at the top of the page.
pub struct SummaryView {
    /// "8/9 up · Forgejo down 12 min".
    pub text: String,
    /// "ok" (all up), "down" (any down), "unknown" (nothing known yet or some unknown).
    pub state: &'static str,
}

/// The whole page.
pub struct PageView {
    pub host: String,
    pub version: &'static str,
    pub interval: String,
    pub interval_ms: u64,
    pub now_iso: String,
    pub now_label: String,
    /// The page's time zone ("Europe/Amsterdam"), its abbreviation now ("CET") and its
    /// offset from UTC in minutes: the script writes live times the same way.
    pub tz_name: String,
    pub tz_abbr: String,
    pub tz_offset_min: i32,
    /// The host switcher (empty for a single host).
    pub hosts: Vec<HostTab>,
    /// The system panel's host, interval, numbers and state.
    pub sys_host: String,
    pub sys_interval: String,
    pub sys_note: Option<String>,
    pub sys_stale: bool,
    pub sys: SystemView,
    pub services_state: FeedState,
    /// The services feed badge's health: the same as [`SummaryView::state`].
    pub services_health: &'static str,
    pub summary: SummaryView,
    pub groups: Vec<ServiceGroup>,
    pub weather_state: FeedState,
    pub weather: Option<WeatherView>,
    pub activity_state: FeedState,
    pub commits: Vec<CommitView>,
    /// Whether the page shows the containers tile (owner view only; containers are
    /// private data).
    pub show_containers: bool,
    pub containers: crate::routes::view_containers::ContainersView,
}

/// The inline SVG of icon `name` (`assets/icons/<name>.svg`), or the generic glyph.
pub fn icon_svg(name: &str) -> &'static str {
    let store = AssetStore::get();
    let clean = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let found = clean
        .then(|| store.by_logical(&format!("icons/{name}.svg")))
        .flatten()
        .or_else(|| store.by_logical("icons/generic.svg"));
    found
        .and_then(|a| a.body(Encoding::Identity))
        .and_then(|b| std::str::from_utf8(b.as_ref()).ok())
        .unwrap_or("")
}

/// The colour of a bar cell by share of checks up (mirrored in app.js).
pub fn share_level(checks: u32, up: u32) -> &'static str {
    if checks == 0 {
        "none"
    } else if up >= checks {
        "ok"
    } else if u64::from(up) * 10 >= u64::from(checks) * 9 {
        "warn"
    } else {
        "bad"
    }
}

/// An uptime ratio as a percentage, rounded down so 99.96 % never reads "100%"
/// ("98.6%", "100%", "—").
pub fn ratio_pct(r: Option<f64>) -> String {
    match r {
        Some(v) if v.is_finite() && v >= 1.0 => "100%".to_string(),
        Some(v) if v.is_finite() => format!("{:.1}%", (v.max(0.0) * 1000.0).floor() / 10.0),
        _ => NONE.to_string(),
    }
}

/// A span of time, short ("<1 min", "12 min", "3 h 5 min", "2 d 4 h").
pub fn span(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    match (d, h, m) {
        (0, 0, 0) => "<1 min".to_string(),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// The bar's text equivalent for screen readers.
pub fn bar_label(s: &ServiceStatus) -> String {
    match (s.uptime.day, s.uptime.week) {
        (None, _) => "last 24 h: no checks yet".to_string(),
        (Some(d), None) => format!("last 24 h: {} up", ratio_pct(Some(d))),
        (Some(d), Some(w)) => format!(
            "last 24 h: {} up; 7 days: {} up",
            ratio_pct(Some(d)),
            ratio_pct(Some(w))
        ),
    }
}

/// "down since 14:02 UTC (12 min)" for a service that is down with a known start.
pub fn since_text(s: &ServiceStatus, now: DateTime<Utc>, zone: &Zone) -> Option<String> {
    let t = s.since.filter(|_| s.status == "down")?;
    Some(format!(
        "down since {} ({})",
        zone.format(t, "%H:%M"),
        span((now - t).num_seconds().max(0) as u64)
    ))
}

/// The one-line summary ("8/9 up · Forgejo down 12 min"), mirrored in app.js.
pub fn summary(d: &Services, now: DateTime<Utc>) -> SummaryView {
    let s = &d.summary;
    if s.total == 0 {
        return SummaryView {
            text: "no services configured".into(),
            state: "unknown",
        };
    }
    if s.unknown == s.total {
        return SummaryView {
            text: format!("checking {} services…", s.total),
            state: "unknown",
        };
    }
    let mut parts = vec![format!("{}/{} up", s.up, s.total)];
    let down: Vec<&ServiceStatus> = d.services.iter().filter(|x| x.status == "down").collect();
    match down.as_slice() {
        [] => {}
        [one] => parts.push(match one.since {
            Some(t) => format!(
                "{} down {}",
                one.name,
                span((now - t).num_seconds().max(0) as u64)
            ),
            None => format!("{} down", one.name),
        }),
        [a, b] => parts.push(format!("{}, {} down", a.name, b.name)),
        many => parts.push(format!("{} down", many.len())),
    }
    if s.maintenance > 0 {
        parts.push(format!("{} in maintenance", s.maintenance));
    }
    if s.unknown > 0 {
        parts.push(format!("{} unknown", s.unknown));
    }
    SummaryView {
        text: parts.join(" · "),
        state: if s.down > 0 {
            "down"
        } else if s.up == s.total {
            "ok"
        } else {
            "unknown"
        },
    }
}

fn service_view(s: &ServiceStatus, now: DateTime<Utc>, zone: &Zone) -> ServiceView {
    ServiceView {
        name: s.name.clone(),
        url: safe_url(&s.url),
        description: s.description.clone(),
        group: s.group.clone(),
        icon_svg: icon_svg(&s.icon),
        status: s.status.clone(),
        latency: s.latency_ms.map_or(NONE.to_string(), |l| format!("{l} ms")),
        reason: s.reason.clone().filter(|_| s.status != "up"),
        since: since_text(s, now, zone),
        since_iso: s
            .since
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default(),
        uptime: format!("24 h {}", ratio_pct(s.uptime.day)),
        bar_label: bar_label(s),
        cells: cells(&s.history),
        source: s.source.clone(),
        container_note: String::new(),
    }
}

fn cells(history: &[BarCell]) -> Vec<CellView> {
    history
        .iter()
        .enumerate()
        .map(|(x, c)| CellView {
            x,
            level: share_level(c.checks, c.up),
        })
        .collect()
}

/// The services to show: the feed's data, or the configured list as "unknown".
fn services_data(config: &Config, snap: &Snapshot<Services>, now: DateTime<Utc>) -> Services {
    match snap.data.as_deref() {
        Some(d) => d.clone(),
        None => {
            let list: Vec<ServiceStatus> = config
                .services
                .iter()
                .map(|s| crate::feeds::services::unknown(s, now))
                .collect();
            Services {
                summary: crate::feeds::Summary {
                    unknown: list.len(),
                    total: list.len(),
                    ..Default::default()
                },
                uptime_kuma: String::new(),
                services: list,
            }
        }
    }
}

fn groups(d: &Services, now: DateTime<Utc>, zone: &Zone) -> Vec<ServiceGroup> {
    let mut groups: Vec<ServiceGroup> = Vec::new();
    for s in &d.services {
        let row = service_view(s, now, zone);
        match groups.iter_mut().find(|x| x.name == s.group) {
            Some(x) => x.services.push(row),
            None => groups.push(ServiceGroup {
                name: s.group.clone(),
                services: vec![row],
            }),
        }
    }
    groups
}

impl PageView {
    /// Builds the page from the shared state at `now`.
    /// `selected` names the host the system panel shows (this host unless it names a peer).
    pub fn build(state: &AppState, now: DateTime<Utc>, audience: Audience, selected: &str) -> Self {
        let config = state.config();
        let feeds = state.feeds();
        let latest = state.metrics.latest();
        let interval = config.metrics.interval;
        // Containers are owner data: the tile and the cards' notes are private.
        let show_containers = audience == Audience::Private;
        let owner_sample = latest
            .as_ref()
            .filter(|_| show_containers)
            .map(|p| &p.sample);
        let containers = crate::routes::view_containers::ContainersView::new(owner_sample);
        let panel = super::view_hosts::panel(state, selected, audience, now);
        let hosts = super::view_hosts::tabs(state, &panel.host);
        let svc = feeds.services.snapshot();
        let svc_data = services_data(&config, &svc, now);
        let summary = summary(&svc_data, now);
        let mut services_state = FeedState::of(&svc, "service checks", audience);
        if svc.data.is_some() {
            // The badge never contradicts the cards: it leads with the count.
            services_state.label = format!(
                "{}/{} up · {}",
                svc_data.summary.up, svc_data.summary.total, services_state.label
            );
        }
        let weather = feeds.weather.snapshot();
        let activity: Snapshot<Activity> = feeds.activity.snapshot();
        let zone = state.zone();
        let mut groups = groups(&svc_data, now, &zone);
        if let Some(sample) = owner_sample {
            for s in groups.iter_mut().flat_map(|g| g.services.iter_mut()) {
                s.container_note =
                    crate::routes::view_containers::service_note(Some(sample), &s.name);
            }
        }
        PageView {
            host: config.host.name.clone(),
            version: env!("CARGO_PKG_VERSION"),
            interval: humantime::format_duration(interval).to_string(),
            interval_ms: interval.as_millis().min(u128::from(u64::MAX)) as u64,
            now_iso: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            now_label: zone.format(now, "%H:%M"),
            tz_name: zone.name().to_string(),
            tz_abbr: zone.at(now).1,
            tz_offset_min: zone.at(now).0.local_minus_utc() / 60,
            hosts,
            sys_host: panel.host,
            sys_interval: panel.interval,
            sys_note: panel.note,
            sys_stale: panel.stale,
            sys: panel.sys,
            services_state,
            services_health: summary.state,
            groups,
            summary,
            weather_state: FeedState::of(&weather, "weather", audience),
            weather: weather.data.as_deref().map(WeatherView::new),
            activity_state: FeedState::of(&activity, "activity", audience),
            commits: activity
                .data
                .as_deref()
                .map(|a| {
                    a.items
                        .iter()
                        .map(|c| CommitView {
                            repo: c.repo.clone(),
                            repo_url: safe_url(&c.repo_url),
                            short_sha: c.short_sha.clone(),
                            message: c.message.clone(),
                            author: c.author.clone(),
                            when: ago(c.date, now),
                            date: c.date.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                            url: safe_url(&c.url),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            show_containers,
            containers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_like_a_human_wrote_them() {
        assert_eq!(bytes(0.0), "0 B");
        assert_eq!(bytes(1023.0), "1023 B");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(3.5 * 1024.0 * 1024.0 * 1024.0), "3.5 GiB");
        assert_eq!(bytes(f64::NAN), "—");
        assert_eq!(rate(None), "—");
        assert_eq!(rate(Some(2048.0)), "2.0 KiB/s");
        assert_eq!(pct(Some(12.345)), "12.3%");
        assert_eq!(pct(Some(140.0)), "100.0%");
        assert_eq!(uptime(59), "0m");
        assert_eq!(uptime(3 * 86_400 + 4 * 3600 + 12 * 60), "3d 4h 12m");
        assert_eq!(age(10), "just now");
        assert_eq!(age(300), "5 min ago");
        assert_eq!(age(7200), "2 h ago");
        assert_eq!(age(3 * 86_400), "3 d ago");
        assert_eq!(day_label("2026-11-27"), "Fri 27");
        assert_eq!(day_label("garbage"), "garbage");
        assert_eq!(weather_kind(113), "sun");
        assert_eq!(weather_kind(296), "rain");
        assert_eq!(weather_kind(389), "storm");
        assert_eq!(weather_kind(9999), "cloud");
        assert_eq!(safe_url("javascript:alert(1)"), "#");
        assert_eq!(safe_url("HTTPS://x.y/z"), "HTTPS://x.y/z");
        assert_eq!(safe_url("http:"), "#");
    }

    #[test]
    fn sparkline_is_right_aligned_and_skips_gaps() {
        let p = spark_points(&[Some(0.0), None, Some(100.0)], 100.0);
        let pts: Vec<&str> = p.split(' ').collect();
        assert_eq!(pts.len(), 2);
        assert!(pts[1].starts_with("120.0,1.0"), "{p}");
        assert!(pts[0].ends_with(",31.0"), "{p}");
        assert_eq!(spark_points(&[], 100.0), "");
    }

    #[test]
    fn empty_state_shows_dashes_not_zeros() {
        let v = SystemView::new(None, &[], 2.0, &Zone::utc());
        assert!(!v.ready);
        assert_eq!(v.cpu_pct, "—");
        assert_eq!(v.spark_span, "last 5 min");
    }

    #[test]
    fn feed_states_say_what_is_going_on() {
        use crate::feeds::{Cached, FetchError, Reason};
        let private = Audience::Private;
        let c: Cached<u32> = Cached::new(std::time::Duration::from_secs(60));
        assert!(FeedState::of(&c.snapshot(), "weather", private)
            .label
            .starts_with("pending"));
        c.set_error(FetchError::new(
            Reason::Refused,
            "connection refused by 10.0.0.5:8080",
        ));
        let s = FeedState::of(&c.snapshot(), "weather", private);
        assert_eq!(
            (s.status, s.error.as_deref()),
            ("error", Some("connection refused by 10.0.0.5:8080"))
        );
        let public = FeedState::of(&c.snapshot(), "weather", Audience::Public);
        assert_eq!(public.error.as_deref(), Some("connection refused"));
        c.set_ok(1);
        c.set_error(FetchError::new(Reason::Http(503), "HTTP 503 from x: busy"));
        let s = FeedState::of(&c.snapshot(), "weather", private);
        assert_eq!(s.status, "stale");
        assert!(s.label.contains("just now"), "{}", s.label);
        let d: Cached<u32> = Cached::disabled();
        assert!(FeedState::of(&d.snapshot(), "activity", private)
            .label
            .contains("not configured"));
    }

    #[test]
    fn service_texts_read_like_a_human_wrote_them() {
        assert_eq!(span(0), "<1 min");
        assert_eq!(span(12 * 60 + 5), "12 min");
        assert_eq!(span(3 * 3600), "3 h");
        assert_eq!(span(3 * 3600 + 5 * 60), "3 h 5 min");
        assert_eq!(span(2 * 86_400 + 4 * 3600), "2 d 4 h");
        assert_eq!(ratio_pct(Some(0.9996)), "99.9%");
        assert_eq!(ratio_pct(Some(1.0)), "100%");
        assert_eq!(ratio_pct(Some(0.0)), "0.0%");
        assert_eq!(ratio_pct(None), "—");
        assert_eq!(share_level(0, 0), "none");
        assert_eq!(share_level(60, 60), "ok");
        assert_eq!(share_level(60, 54), "warn");
        assert_eq!(share_level(60, 53), "bad");
    }

    #[test]
    fn the_summary_line_names_what_is_down() {
        use crate::feeds::{Summary, Uptime};
        let now = DateTime::parse_from_rfc3339("2026-11-30T14:14:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let svc = |name: &str, status: &str, since_min: i64| ServiceStatus {
            name: name.into(),
            url: String::new(),
            description: String::new(),
            icon: String::new(),
            group: String::new(),
            status: status.into(),
            latency_ms: None,
            http_status: None,
            reason: None,
            since: Some(now - chrono::Duration::minutes(since_min)),
            checked_at: None,
            source: "probe".into(),
            uptime: Uptime::default(),
            history: Vec::new(),
        };
        let data = |list: Vec<ServiceStatus>| {
            let mut s = Summary {
                total: list.len(),
                ..Summary::default()
            };
            for x in &list {
                match x.status.as_str() {
                    "up" => s.up += 1,
                    "down" => s.down += 1,
                    "maintenance" => s.maintenance += 1,
                    _ => s.unknown += 1,
                }
            }
            Services {
                summary: s,
                uptime_kuma: "disabled".into(),
                services: list,
            }
        };
        let one = data(vec![svc("Grafana", "up", 90), svc("Forgejo", "down", 12)]);
        let v = summary(&one, now);
        assert_eq!(
            (v.text.as_str(), v.state),
            ("1/2 up · Forgejo down 12 min", "down")
        );
        assert_eq!(
            since_text(&one.services[1], now, &Zone::utc()).as_deref(),
            Some("down since 14:02 UTC (12 min)")
        );
        assert_eq!(since_text(&one.services[0], now, &Zone::utc()), None);
        let all = summary(&data(vec![svc("a", "up", 1), svc("b", "up", 1)]), now);
        assert_eq!((all.text.as_str(), all.state), ("2/2 up", "ok"));
        let many = data(vec![
            svc("a", "down", 1),
            svc("b", "down", 1),
            svc("c", "down", 1),
            svc("d", "maintenance", 1),
            svc("e", "unknown", 1),
        ]);
        assert_eq!(
            summary(&many, now).text,
            "0/5 up · 3 down · 1 in maintenance · 1 unknown"
        );
        let fresh = summary(&data(vec![svc("a", "unknown", 0)]), now);
        assert_eq!(
            (fresh.text.as_str(), fresh.state),
            ("checking 1 services…", "unknown")
        );
    }

    #[test]
    fn unknown_icons_fall_back_to_the_generic_glyph() {
        assert!(icon_svg("forgejo").contains("<svg"));
        assert_eq!(icon_svg("no-such-icon"), icon_svg("generic"));
        assert_eq!(icon_svg("../../etc/passwd"), icon_svg("generic"));
    }
}
