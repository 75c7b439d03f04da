//! Host metrics: the `/api/metrics` sample types, the store the sampler publishes into,
//! and (in submodules) one module per metric source plus the sampler that owns counters.

pub mod store;

pub use store::MetricsStore;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One sample of the host: the `/api/metrics` body (DESIGN.md). A section that could not
/// be read is `None` and its reason is in `errors`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub host: String,
    pub timestamp: DateTime<Utc>,
    pub interval_seconds: f64,
    pub uptime_seconds: Option<u64>,
    pub cpu: Option<Cpu>,
    pub memory: Option<Memory>,
    pub disks: Option<Vec<Disk>>,
    pub disk_io: Option<Vec<DiskIo>>,
    pub network: Option<Network>,
    pub temperatures: Option<Vec<Temperature>>,
    pub processes: Option<u64>,
    pub view: View,
    #[serde(default)]
    pub errors: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    /// Busy share of all CPUs over the last interval; `None` until two samples exist.
    pub percent: Option<f64>,
    pub cores: Vec<Option<f64>>,
    pub count: usize,
    pub iowait_percent: Option<f64>,
    pub steal_percent: Option<f64>,
    /// 1, 5 and 15 minute load averages.
    pub load: Option<[f64; 3]>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
    pub percent: f64,
    pub swap_total_bytes: u64,
    pub swap_used_bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Disk {
    pub mount: String,
    pub device: String,
    pub fs: String,
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub free_bytes: u64,
    pub percent: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskIo {
    pub device: String,
    pub read_bytes_per_sec: Option<f64>,
    pub write_bytes_per_sec: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Network {
    pub rx_bytes_per_sec: Option<f64>,
    pub tx_bytes_per_sec: Option<f64>,
    pub interfaces: Vec<Interface>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    pub rx_bytes_per_sec: Option<f64>,
    pub tx_bytes_per_sec: Option<f64>,
    pub rx_bytes_total: u64,
    pub tx_bytes_total: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Temperature {
    pub label: String,
    pub celsius: f64,
}

/// What this process can see of the host, and where it reads it from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct View {
    /// "host" or "container".
    pub pid_namespace: String,
    /// "host" or "container".
    pub net_namespace: String,
    pub proc: String,
    pub sys: String,
    pub root: String,
}

/// One compact point of `/api/metrics/history`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryPoint {
    pub timestamp: DateTime<Utc>,
    pub cpu_percent: Option<f64>,
    pub memory_percent: Option<f64>,
    pub rx_bytes_per_sec: Option<f64>,
    pub tx_bytes_per_sec: Option<f64>,
}

impl HistoryPoint {
    pub fn of(s: &Sample) -> Self {
        HistoryPoint {
            timestamp: s.timestamp,
            cpu_percent: s.cpu.as_ref().and_then(|c| c.percent),
            memory_percent: s.memory.as_ref().map(|m| m.percent),
            rx_bytes_per_sec: s.network.as_ref().and_then(|n| n.rx_bytes_per_sec),
            tx_bytes_per_sec: s.network.as_ref().and_then(|n| n.tx_bytes_per_sec),
        }
    }
}
