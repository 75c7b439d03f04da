//! The words and numbers the page shows, one set of rules for the first paint and the
//! live tiles: byte units, rates, percentages, uptimes, relative ages, safe links, and
//! the status levels of gauges and bar cells.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// "—" for a value that is not known (yet).
pub(crate) const NONE: &str = "—";

/// The byte units, each 1024 of the one before (the script formats no numbers).
pub const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/// Bytes in IEC units with one decimal ("3.2 GiB").
pub fn bytes(n: f64) -> String {
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

/// A gauge length in 0..=100 (for SVG `width`), whole units: finer than a pixel of
/// the drawn bar would be, and a live update sends it only when it moves.
pub(crate) fn bar(n: Option<f64>) -> String {
    let v = n.filter(|v| v.is_finite()).unwrap_or(0.0).clamp(0.0, 100.0);
    format!("{v:.0}")
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

/// `url` when it is an http(s) URL, else "#": upstream links never get a `javascript:`
/// or `data:` scheme into an `href`.
pub fn safe_url(url: &str) -> String {
    crate::config::HttpUrl::check(url).map_or_else(|_| "#".to_string(), str::to_string)
}

/// A status class the page's styles colour by: a gauge's `data-level`, a bar cell's
/// `data-share`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Bad,
    /// No value (yet); also what a panel shows before its first sample.
    #[default]
    Unknown,
    /// A stretch of time with no checks (a cell of a service's bars).
    #[serde(rename = "none")]
    NoChecks,
}

crate::names::display_by_name!(Level);

/// What a gauge measures, which sets its thresholds (the script judges no numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gauge {
    /// A CPU share: the host's, a core's or a container's.
    Cpu,
    Memory,
    Disk,
    /// A temperature in °C.
    Temperature,
    /// A container's memory against its own limit.
    Limit,
}

impl Gauge {
    /// Its warn and bad thresholds.
    fn thresholds(self) -> (f64, f64) {
        match self {
            Gauge::Cpu => (75.0, 90.0),
            Gauge::Memory => (80.0, 92.0),
            Gauge::Disk => (80.0, 90.0),
            Gauge::Temperature => (70.0, 85.0),
            Gauge::Limit => (80.0, 95.0),
        }
    }

    /// The status class of `v` on this gauge.
    pub(crate) fn level(self, v: Option<f64>) -> Level {
        let (warn, bad) = self.thresholds();
        match v {
            Some(v) if v >= bad => Level::Bad,
            Some(v) if v >= warn => Level::Warn,
            Some(_) => Level::Ok,
            None => Level::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The edges of the numbers the page shows: past the largest unit, negative, not a
    /// number.
    #[test]
    fn sizes_rates_and_shares_at_their_edges() {
        assert_eq!(bytes(1023.0), "1023 B");
        assert_eq!(bytes(1024.0), "1.0 KiB");
        assert_eq!(
            bytes(1024f64.powi(6)),
            "1024.0 PiB",
            "the largest unit stays"
        );
        assert_eq!(bytes(-1.0), NONE);
        assert_eq!(rate(Some(1536.0)), "1.5 KiB/s");
        assert_eq!(rate(Some(-1.0)), NONE);
        assert_eq!(rate(Some(f64::NAN)), NONE);
        assert_eq!(rate(None), NONE);
        assert_eq!(pct(Some(12.54)), "12.5%");
        assert_eq!(pct(Some(140.0)), "100.0%");
        assert_eq!(pct(Some(f64::NAN)), NONE);
        assert_eq!(pct(Some(f64::INFINITY)), NONE);
    }
}
