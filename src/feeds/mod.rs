//! Upstream feeds (weather, Forgejo activity, service checks, peers): the shared
//! [`Cached`] value with its envelope states, and the data types each feed serves.

pub mod cached;

pub use cached::{Cached, FeedStatus, Snapshot};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::host::Sample;

/// `/api/weather` data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Weather {
    pub location: String,
    pub temp_c: f64,
    pub feels_like_c: f64,
    pub humidity: f64,
    pub description: String,
    pub wind_kmph: f64,
    pub wind_dir: String,
    pub code: u32,
    pub forecast: Vec<Forecast>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// `YYYY-MM-DD`, the location's local date.
    pub date: String,
    pub max_c: f64,
    pub min_c: f64,
    pub description: String,
}

/// `/api/activity` data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub items: Vec<Commit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    pub repo: String,
    pub repo_url: String,
    pub sha: String,
    pub short_sha: String,
    /// First line of the commit message, as text (never HTML).
    pub message: String,
    pub author: String,
    pub date: DateTime<Utc>,
    pub url: String,
}

/// One entry of `/api/services` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub name: String,
    pub url: String,
    pub description: String,
    pub icon: String,
    pub group: String,
    /// "up", "down" or "unknown".
    pub status: String,
    pub latency_ms: Option<u64>,
    pub http_status: Option<u16>,
    pub checked_at: Option<DateTime<Utc>>,
}

/// One entry of `/api/hosts` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostEntry {
    pub name: String,
    #[serde(rename = "self")]
    pub is_self: bool,
    /// The feed status of this host's metrics ("ok", "stale", "error", "pending").
    pub status: String,
    pub metrics: Option<Sample>,
}
