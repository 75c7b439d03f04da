//! Host metrics: the `/api/metrics` sample types, the store the sampler publishes into,
//! and (in submodules) one module per metric source plus the sampler that owns counters.

pub mod cgroup;
pub mod cpu;
pub mod disk;
pub mod diskio;
pub mod memory;
pub mod mounts;
pub(crate) mod namespaces;
pub mod network;
pub(crate) mod sampler;
pub mod sensors;
pub(crate) mod store;
pub mod system;

pub use sampler::Sampler;
pub(crate) use store::MetricsStore;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::Path;

pub(crate) use crate::files::open_regular;

/// The largest procfs/sysfs file a source reads: `/proc/stat` on a 1024-core machine is
/// about 100 KiB, so this leaves room without letting a bad file grow without bound.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads at most [`MAX_FILE_BYTES`] of `r` into `buf` (cleared first) as UTF-8 text.
pub(crate) fn read_text(r: impl Read, buf: &mut String) -> io::Result<()> {
    if !crate::files::read_capped_text(r, MAX_FILE_BYTES, buf)? {
        return Err(invalid(format!("longer than {MAX_FILE_BYTES} bytes")));
    }
    Ok(())
}

/// Opens `path` (a regular file only, never blocking: [`open_regular`]) and reads it into
/// `buf` with [`read_text`]; the error names the file.
pub(crate) fn read_file(path: &Path, buf: &mut String) -> io::Result<()> {
    let f = open_regular(path)?;
    read_text(f, buf).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// An `InvalidData` error: the file was read but its content is not what the kernel writes.
pub(crate) fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// A per-second rate of a monotonic counter: `None` when the counter went backwards
/// (reset, wrap, device re-created) or no time passed, so a dashboard never shows a
/// negative value or a spike.
pub(crate) fn rate(prev: u64, cur: u64, elapsed_secs: f64) -> Option<f64> {
    if cur < prev || elapsed_secs.is_nan() || elapsed_secs < 1e-3 {
        return None;
    }
    Some((cur - prev) as f64 / elapsed_secs)
}

/// Rounds to 2 decimals: the JSON carries what a dashboard shows, not float noise.
pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

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
    /// Containers on the host from cgroup v2 (private data: the routes strip it for
    /// public requests). `None` with the reason in `errors["containers"]` when the section
    /// cannot be read; an empty list when the host runs none. `default` so a peer that
    /// does not send it still parses.
    #[serde(default, skip_serializing_if = "Containers::is_hidden")]
    pub containers: Containers,
    pub view: View,
    #[serde(default)]
    pub errors: BTreeMap<String, String>,
    /// The raw counters the rates above came from, for `/metrics` (PromQL `rate()`s a
    /// counter, not a per-interval gauge). Not part of the `/api/metrics` body.
    #[serde(skip)]
    pub counters: HostCounters,
}

/// The host's cumulative counters as the sampler last read them: `/metrics` exports them
/// as `*_total` families so that requests never read `/proc` themselves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostCounters {
    /// `<proc>/stat` ticks, the aggregate and each online CPU by the kernel's id.
    pub cpu: Option<cpu::Stat>,
    /// Bytes read and written per whole disk (the devices of `disk_io`).
    pub disk_io: Option<Vec<diskio::Counters>>,
}

/// The `cpu` section. In the JSON its cores are two parallel arrays, `cores` (busy
/// shares) and `core_ids` (the kernel's numbers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(into = "CpuJson", from = "CpuJson")]
pub struct Cpu {
    /// Busy share of all CPUs over the last interval; `None` until two samples exist.
    pub percent: Option<f64>,
    /// Each online CPU, in the kernel's order.
    pub cores: Vec<Core>,
    pub count: usize,
    pub iowait_percent: Option<f64>,
    pub steal_percent: Option<f64>,
    /// 1, 5 and 15 minute load averages.
    pub load: Option<[f64; 3]>,
}

/// One online CPU: the kernel's number (`cpu2` is 2) and its busy share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Core {
    pub id: u32,
    pub percent: Option<f64>,
}

/// [`Cpu`] as the API writes it: the cores as two parallel arrays, `cores` (busy
/// shares) and `core_ids` (the kernel's numbers: with a CPU offline, positions and ids
/// differ).
#[derive(Serialize, Deserialize)]
struct CpuJson {
    percent: Option<f64>,
    cores: Vec<Option<f64>>,
    /// A peer too old to send it has its CPUs numbered by position.
    #[serde(default)]
    core_ids: Vec<u32>,
    count: usize,
    iowait_percent: Option<f64>,
    steal_percent: Option<f64>,
    load: Option<[f64; 3]>,
}

impl From<Cpu> for CpuJson {
    fn from(c: Cpu) -> Self {
        CpuJson {
            percent: c.percent,
            cores: c.cores.iter().map(|k| k.percent).collect(),
            core_ids: c.cores.iter().map(|k| k.id).collect(),
            count: c.count,
            iowait_percent: c.iowait_percent,
            steal_percent: c.steal_percent,
            load: c.load,
        }
    }
}

impl From<CpuJson> for Cpu {
    fn from(c: CpuJson) -> Self {
        let ids = &c.core_ids;
        Cpu {
            percent: c.percent,
            cores: (c.cores.iter().enumerate())
                .map(|(i, percent)| Core {
                    id: ids.get(i).copied().unwrap_or(i as u32),
                    percent: *percent,
                })
                .collect(),
            count: c.count,
            iowait_percent: c.iowait_percent,
            steal_percent: c.steal_percent,
            load: c.load,
        }
    }
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

/// Whose namespace the portal sees: the host's, or only its own container's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Namespace {
    Host,
    #[default]
    Container,
}

crate::names::display_by_name!(Namespace);

/// The `containers` section: owner data, so it has three states. `List` and
/// `Unavailable` (serialised as `null`, its reason under `errors`) are what the owner
/// sees; `Hidden` is the public copy's, and leaves the key out of the JSON.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Containers {
    #[default]
    Hidden,
    Unavailable,
    List(Vec<Container>),
}

impl Containers {
    /// The containers, when the section was read.
    pub(crate) fn list(&self) -> Option<&Vec<Container>> {
        match self {
            Containers::List(l) => Some(l),
            Containers::Hidden | Containers::Unavailable => None,
        }
    }

    pub(crate) fn is_hidden(&self) -> bool {
        *self == Containers::Hidden
    }
}

impl From<Option<Vec<Container>>> for Containers {
    fn from(o: Option<Vec<Container>>) -> Self {
        o.map_or(Containers::Unavailable, Containers::List)
    }
}

impl Serialize for Containers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.list().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Containers {
    /// `null` is unavailable, a list is a list; a missing key (a public body, or a peer
    /// without containers) is `Hidden` through `#[serde(default)]`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<Vec<Container>>::deserialize(d).map(Containers::from)
    }
}

/// One container, from its cgroup v2 files (see [`cgroup`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Container {
    /// The short (12-digit) id.
    pub id: String,
    /// The owner's name from `[[containers]]`, else the first process's command line,
    /// else the short id.
    pub name: String,
    pub engine: cgroup::Engine,
    /// The first process's command line (cleaned, at most 80 characters), if readable.
    pub command: Option<String>,
    /// The `[[services]]` entry the owner linked this container to.
    pub service: Option<String>,
    /// Share of the whole host's CPU over the last interval (like `cpu.percent`).
    pub cpu_percent: Option<f64>,
    /// Memory in use as `docker stats` shows it: `memory.current` less the page cache the
    /// kernel can drop at once (`inactive_file` of `memory.stat`).
    pub memory_bytes: Option<u64>,
    /// `memory.current` as the kernel counts it, page cache included.
    #[serde(default)]
    pub memory_current_bytes: Option<u64>,
    /// `memory.max`; `None` when unlimited.
    pub memory_limit_bytes: Option<u64>,
    /// OOM kills in this container since it started (the kernel's count).
    pub oom_kills: Option<u64>,
    /// OOM kills this process saw happen in the last 24 hours.
    pub oom_kills_24h: u64,
    /// When this process last saw an OOM kill in the container (within 24 hours).
    pub last_oom_kill: Option<DateTime<Utc>>,
    pub processes: Option<u64>,
    pub read_bytes_per_sec: Option<f64>,
    pub write_bytes_per_sec: Option<f64>,
    /// `cpu.stat` `usage_usec`, for `/metrics` only (not in the JSON).
    #[serde(skip)]
    pub cpu_usage_usec: Option<u64>,
    /// `io.stat` bytes read and written since the container started, for `/metrics`
    /// only (not in the JSON).
    #[serde(skip)]
    pub io_bytes: Option<(u64, u64)>,
}

/// What this process can see of the host, and where it reads it from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct View {
    pub pid_namespace: Namespace,
    pub net_namespace: Namespace,
    /// Where the host is read from: the owner's only (left out for the public).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sys: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
}

/// What a public `errors` entry says: the section is missing, not why (the reason names
/// files and paths).
pub const PUBLIC_SECTION_ERROR: &str = "unavailable";

impl crate::access::Redact for Sample {
    /// The public copy: no containers (owner data), no read paths, and each section
    /// error reduced to "unavailable".
    fn redacted(&self) -> Option<Self> {
        let mut s = self.clone();
        s.containers = Containers::Hidden;
        s.errors.remove("containers");
        s.view.proc = None;
        s.view.sys = None;
        s.view.root = None;
        for why in s.errors.values_mut() {
            *why = PUBLIC_SECTION_ERROR.to_string();
        }
        Some(s)
    }
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
    pub(crate) fn of(s: &Sample) -> Self {
        HistoryPoint {
            timestamp: s.timestamp,
            cpu_percent: s.cpu.as_ref().and_then(|c| c.percent),
            memory_percent: s.memory.as_ref().map(|m| m.percent),
            rx_bytes_per_sec: s.network.as_ref().and_then(|n| n.rx_bytes_per_sec),
            tx_bytes_per_sec: s.network.as_ref().and_then(|n| n.tx_bytes_per_sec),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_text_takes_a_file_of_exactly_the_cap_and_refuses_one_byte_more() {
        let mut buf = String::new();
        let cap = MAX_FILE_BYTES as usize;
        read_text(&vec![b'x'; cap][..], &mut buf).expect("a file of exactly the cap");
        assert_eq!(buf.len(), cap);
        let err = read_text(&vec![b'x'; cap + 1][..], &mut buf).expect_err("one byte over");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        // The buffer is cleared before each read, not appended to.
        read_text(&b"short"[..], &mut buf).expect("small");
        assert_eq!(buf, "short");
    }

    #[test]
    fn rates_refuse_counters_that_went_back_and_intervals_too_short_to_divide_by() {
        assert_eq!(rate(100, 300, 2.0), Some(100.0));
        assert_eq!(rate(300, 300, 2.0), Some(0.0));
        assert_eq!(rate(300, 100, 2.0), None);
        assert_eq!(rate(0, 10, 0.0), None);
        assert_eq!(rate(0, 10, 0.000_9), None);
        assert_eq!(rate(0, 10, 0.001), Some(10_000.0));
        assert_eq!(rate(0, 10, f64::NAN), None);
        assert_eq!(round2(1.234_9), 1.23);
        assert_eq!(round2(1.235_1), 1.24);
    }

    #[test]
    fn the_public_sample_has_no_containers_no_paths_and_only_unavailable_errors() {
        let mut s = Sample {
            containers: Containers::Unavailable,
            ..Sample::default()
        };
        s.view.proc = Some("/host/proc".into());
        s.view.sys = Some("/host/sys".into());
        s.view.root = Some("/host".into());
        s.errors
            .insert("disks".into(), "/host/data: permission denied".into());
        s.errors
            .insert("containers".into(), "no cgroup at /host/sys".into());
        let public = crate::access::Redact::redacted(&s).expect("a public copy");
        assert_eq!(public.containers, Containers::Hidden);
        assert_eq!(
            (public.view.proc, public.view.sys, public.view.root),
            (None, None, None)
        );
        assert_eq!(public.errors.len(), 1);
        assert_eq!(public.errors["disks"], PUBLIC_SECTION_ERROR);
    }

    #[test]
    fn cores_are_two_arrays_in_the_json() {
        let core = |id, percent| Core { id, percent };
        let cpu = Cpu {
            cores: vec![core(0, Some(10.0)), core(2, None)],
            count: 2,
            ..Cpu::default()
        };
        let json = serde_json::to_string(&cpu).expect("json");
        assert_eq!(
            json,
            r#"{"percent":null,"cores":[10.0,null],"core_ids":[0,2],"count":2,"iowait_percent":null,"steal_percent":null,"load":null}"#
        );
        assert_eq!(serde_json::from_str::<Cpu>(&json).expect("read back"), cpu);
        // Without `core_ids` (an older peer) the cores are numbered by position.
        let old = json.replace(r#""core_ids":[0,2],"#, "");
        let read: Cpu = serde_json::from_str(&old).expect("old shape");
        assert_eq!(read.cores, [core(0, Some(10.0)), core(1, None)]);
    }

    #[test]
    fn a_history_point_carries_the_sample_it_came_from() {
        let s = Sample {
            cpu: Some(Cpu {
                percent: Some(12.5),
                ..Cpu::default()
            }),
            memory: Some(Memory {
                percent: 40.0,
                ..Memory::default()
            }),
            network: Some(Network {
                rx_bytes_per_sec: Some(1.0),
                tx_bytes_per_sec: Some(2.0),
                ..Network::default()
            }),
            ..Sample::default()
        };
        let p = HistoryPoint::of(&s);
        assert_eq!(p.timestamp, s.timestamp);
        assert_eq!(p.cpu_percent, Some(12.5));
        assert_eq!(p.memory_percent, Some(40.0));
        assert_eq!(
            (p.rx_bytes_per_sec, p.tx_bytes_per_sec),
            (Some(1.0), Some(2.0))
        );
        assert_eq!(HistoryPoint::of(&Sample::default()).cpu_percent, None);
    }

    #[test]
    fn containers_read_back_in_all_three_states() {
        let mut v = serde_json::to_value(Sample::default()).unwrap();
        assert!(v.get("containers").is_none(), "hidden leaves the key out");
        let back = |v: &serde_json::Value| serde_json::from_value::<Sample>(v.clone()).unwrap();
        assert_eq!(back(&v).containers, Containers::Hidden);
        v["containers"] = serde_json::Value::Null;
        assert_eq!(back(&v).containers, Containers::Unavailable);
        v["containers"] = serde_json::json!([]);
        assert_eq!(back(&v).containers, Containers::List(Vec::new()));
        let one = Sample {
            containers: Containers::List(vec![Container {
                id: "3f2a1b2c3d4e".into(),
                name: "forgejo".into(),
                ..Container::default()
            }]),
            ..Sample::default()
        };
        let again = back(&serde_json::to_value(&one).unwrap());
        assert_eq!(again.containers, one.containers);
        assert_eq!(again.containers.list().map(Vec::len), Some(1));
    }
}
