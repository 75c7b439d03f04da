//! `[stream]` and `[limits]`: the caps on event streams and open connections, and the
//! stream's keep-alive period.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::field_checks::duration;
use super::value_types::{humantime_serde_compat, RawDuration};
use crate::error::StartupError;

/// Default of `limits.max_connections`: with this many idle connections open and
/// `stream.max_clients` event streams, resident memory stays under 48 MiB, inside the
/// compose file's 64 MiB limit with a margin (measured by `bench/growth`, recorded in
/// docs/BENCHMARKS.md).
pub const DEFAULT_MAX_CONNECTIONS: usize = 2048;
/// Upper bound of `limits.max_connections`.
pub const MAX_MAX_CONNECTIONS: i64 = 65_536;

/// `[stream]` as written in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStream {
    pub max_clients: Option<i64>,
    pub heartbeat: Option<RawDuration>,
}

/// `[stream]`, validated.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StreamConfig {
    pub max_clients: usize,
    /// The keep-alive comment's period: under Cloudflare's 100 s idle limit, and the
    /// time within which a closed or stuck client's slot is found and freed.
    #[serde(with = "humantime_serde_compat")]
    pub heartbeat: Duration,
}

/// `[limits]` as written in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    pub max_connections: Option<i64>,
}

/// `[limits]`, validated.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LimitsConfig {
    /// Open connections across all workers; beyond it the server stops accepting (new
    /// connections wait in the kernel's backlog) until one closes.
    pub max_connections: usize,
}

/// Validates `[stream]`.
pub(super) fn stream(fs: FileStream) -> Result<StreamConfig, StartupError> {
    let max_clients = match fs.max_clients {
        None => 256,
        Some(n) if (0..=100_000).contains(&n) => n as usize,
        Some(n) => {
            return Err(StartupError::config(
                "stream.max_clients",
                &n.to_string(),
                "must be between 0 and 100000",
            ))
        }
    };
    let heartbeat = duration(
        "stream.heartbeat",
        fs.heartbeat,
        Duration::from_secs(20),
        Duration::from_secs(1),
    )?;
    if heartbeat > Duration::from_secs(90) {
        return Err(StartupError::config(
            "stream.heartbeat",
            &humantime::format_duration(heartbeat).to_string(),
            "is longer than 90s (proxies close idle responses after 100s)",
        ));
    }
    Ok(StreamConfig {
        max_clients,
        heartbeat,
    })
}

/// Validates `[limits]`.
pub(super) fn limits(fl: FileLimits) -> Result<LimitsConfig, StartupError> {
    let max_connections = match fl.max_connections {
        None => DEFAULT_MAX_CONNECTIONS,
        Some(n) if (1..=MAX_MAX_CONNECTIONS).contains(&n) => n as usize,
        Some(n) => {
            return Err(StartupError::config(
                "limits.max_connections",
                &n.to_string(),
                &format!("must be between 1 and {MAX_MAX_CONNECTIONS}"),
            ))
        }
    };
    Ok(LimitsConfig { max_connections })
}
