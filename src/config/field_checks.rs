//! Field-level checks shared by every section: durations with a floor, non-empty names
//! and the bind address.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use super::value_types::parse_duration;
use super::value_types::RawDuration;
use crate::error::StartupError;

/// Shortest interval or refresh accepted anywhere.
pub const MIN_INTERVAL: Duration = Duration::from_millis(250);

pub(super) fn duration(
    key: &str,
    raw: Option<RawDuration>,
    default: Duration,
    min: Duration,
) -> Result<Duration, StartupError> {
    let (d, shown) = match raw {
        None => return Ok(default),
        Some(RawDuration::Seconds(s)) => {
            if !s.is_finite() || !(0.0..=1e9).contains(&s) {
                return Err(StartupError::config(
                    key,
                    &s.to_string(),
                    "is not a duration in seconds",
                ));
            }
            (Duration::from_secs_f64(s), s.to_string())
        }
        Some(RawDuration::Text(t)) => (parse_duration(key, &t)?, t),
    };
    if d < min {
        return Err(StartupError::config(
            key,
            &shown,
            &format!(
                "is shorter than the minimum of {}",
                humantime::format_duration(min)
            ),
        ));
    }
    Ok(d)
}

pub(super) fn non_empty(key: &str, value: &str) -> Result<String, StartupError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(StartupError::config(key, value, "must not be empty"));
    }
    if v.len() > 200 || v.chars().any(char::is_control) {
        return Err(StartupError::config(
            key,
            value,
            "must be at most 200 printable characters",
        ));
    }
    Ok(v.to_string())
}

pub(super) fn parse_bind(key: &str, value: &str) -> Result<SocketAddr, StartupError> {
    if let Ok(addr) = value.trim().parse::<SocketAddr>() {
        return Ok(addr);
    }
    // "localhost:8080" and similar: resolve once, locally.
    if value.contains(':') && !value.contains('/') {
        if let Some(addr) = value
            .trim()
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
        {
            return Ok(addr);
        }
    }
    Err(StartupError::config(
        key,
        value,
        "is not an address:port (e.g. \"0.0.0.0:8080\")",
    ))
}
