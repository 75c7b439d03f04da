//! `[metrics]`: how often the host is sampled, how much history is kept, and which
//! network interfaces are left out of the totals.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::field_checks::{duration, MIN_INTERVAL};
use super::value_types::{humantime_serde_compat, RawDuration};
use crate::error::StartupError;

/// The interfaces left out of the network totals when `metrics.net_exclude` is not set.
pub const DEFAULT_NET_EXCLUDE: &[&str] = &["lo", "veth*", "docker*", "br-*", "virbr*"];

/// `[metrics]` as written in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMetrics {
    pub interval: Option<RawDuration>,
    pub history: Option<RawDuration>,
    pub net_exclude: Option<Vec<String>>,
}

/// `[metrics]`, validated.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MetricsConfig {
    #[serde(with = "humantime_serde_compat")]
    pub interval: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub history: Duration,
    pub net_exclude: Vec<String>,
}

/// Validates `[metrics]`: the history holds at least one sample and at most 100000.
pub(super) fn metrics(fm: FileMetrics) -> Result<MetricsConfig, StartupError> {
    let interval = duration(
        "metrics.interval",
        fm.interval,
        Duration::from_secs(2),
        MIN_INTERVAL,
    )?;
    let history = duration(
        "metrics.history",
        fm.history,
        Duration::from_secs(600),
        MIN_INTERVAL,
    )?;
    if history < interval {
        return Err(StartupError::config(
            "metrics.history",
            &humantime::format_duration(history).to_string(),
            "is shorter than metrics.interval",
        ));
    }
    if history.as_secs_f64() / interval.as_secs_f64() > 100_000.0 {
        return Err(StartupError::config(
            "metrics.history",
            &humantime::format_duration(history).to_string(),
            "holds more than 100000 samples at this metrics.interval",
        ));
    }
    Ok(MetricsConfig {
        interval,
        history,
        net_exclude: net_exclude(fm.net_exclude)?,
    })
}

fn net_exclude(list: Option<Vec<String>>) -> Result<Vec<String>, StartupError> {
    let Some(list) = list else {
        return Ok(DEFAULT_NET_EXCLUDE.iter().map(|s| s.to_string()).collect());
    };
    if let Some(g) = list.iter().find(|g| g.is_empty() || g.len() > 64) {
        return Err(StartupError::config(
            "metrics.net_exclude",
            g,
            "is not an interface name pattern",
        ));
    }
    Ok(list)
}
