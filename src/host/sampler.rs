//! The sampler: reads every source once per `metrics.interval`, owns the previous
//! counters and their instant to turn them into rates, and publishes each sample to the
//! store and the live stream (see `background`).

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::time::Instant;

use chrono::Utc;

use super::{cpu, disk, diskio, memory, network, sensors, system, view, Cpu, Sample, View};
use crate::config::{HostConfig, MetricsConfig};

/// Counters of the last sample, each with the instant it was read, kept to compute the
/// next sample's rates. Each counter has its own instant: a slow mount probe between two
/// reads must not stretch one counter's interval.
#[derive(Default)]
struct Previous {
    at: Option<Instant>,
    cpu: Option<cpu::Stat>,
    disk_io: Option<Read<Vec<diskio::Counters>>>,
    network: Option<Read<Vec<network::Counters>>>,
}

/// A counter reading and when it was taken.
struct Read<T> {
    at: Instant,
    value: T,
}

impl<T> Read<T> {
    /// Reads now: the instant is taken right before the file is.
    fn now(read: impl FnOnce() -> io::Result<T>) -> io::Result<Read<T>> {
        let at = Instant::now();
        read().map(|value| Read { at, value })
    }

    /// Seconds from `prev` to this reading (0 without one: rates are then `None`).
    fn secs_since(&self, prev: Option<&Read<T>>) -> f64 {
        prev.map_or(0.0, |p| self.at.duration_since(p.at).as_secs_f64())
    }
}

/// Reads the host (procfs, sysfs, statvfs) into [`Sample`]s.
pub struct Sampler {
    name: String,
    proc: PathBuf,
    root: PathBuf,
    net_exclude: Vec<String>,
    view: View,
    prev: Previous,
    mounts: disk::MountTable,
    disks: disk::Disks,
    block: diskio::BlockDevices,
    sensors: sensors::Sensors,
    /// Scratch for file contents, reused so a sample allocates little.
    buf: String,
}

/// Records a section's failure under `errors` and gives `None`.
fn section<T>(errors: &mut BTreeMap<String, String>, key: &str, r: io::Result<T>) -> Option<T> {
    r.map_err(|e| {
        errors.insert(key.to_string(), e.to_string());
    })
    .ok()
}

impl Sampler {
    /// A sampler reading the roots in `host`; checks the host view once.
    pub fn new(host: &HostConfig, metrics: &MetricsConfig) -> Self {
        Sampler {
            name: host.name.clone(),
            proc: host.proc.clone(),
            root: host.root.clone(),
            net_exclude: metrics.net_exclude.clone(),
            view: view::detect(host),
            prev: Previous::default(),
            mounts: disk::MountTable::default(),
            block: diskio::BlockDevices::new(host.sys.clone()),
            disks: disk::Disks::new(host.root.clone(), disk::statvfs, disk::PROBE_DEADLINE),
            sensors: sensors::Sensors::new(host.sys.clone()),
            buf: String::with_capacity(16 * 1024),
        }
    }

    /// Waits up to `deadline` for statvfs answers instead of [`disk::PROBE_DEADLINE`]
    /// (tests on a loaded machine; a deployment has no reason to change it).
    pub fn with_probe_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.disks = disk::Disks::new(self.root.clone(), disk::statvfs, deadline);
        self
    }

    /// What this process sees of the host (detected once at construction).
    pub fn view(&self) -> &View {
        &self.view
    }

    /// Reads every source once. Rates cover the time since the previous call (measured,
    /// not assumed); on the first call they are `None`.
    pub fn sample(&mut self) -> Sample {
        let now = Instant::now();
        let timestamp = Utc::now();
        let elapsed = self
            .prev
            .at
            .map(|t| now.duration_since(t).as_secs_f64())
            .unwrap_or(0.0);
        let mut errors = BTreeMap::new();
        let e = &mut errors;
        let proc = self.proc.as_path();

        let stat = section(e, "cpu", cpu::read(proc, &mut self.buf));
        let load = section(e, "load", system::read_loadavg(proc, &mut self.buf));
        let cpu = stat.as_ref().map(|s| {
            let usage = self
                .prev
                .cpu
                .as_ref()
                .and_then(|p| cpu::delta(&p.total, &s.total));
            Cpu {
                percent: usage.map(|u| u.busy),
                cores: cpu::core_deltas(self.prev.cpu.as_ref(), s),
                core_ids: s.cores.iter().map(|(id, _)| *id).collect(),
                count: s.cores.len(),
                iowait_percent: usage.map(|u| u.iowait),
                steal_percent: usage.map(|u| u.steal),
                load,
            }
        });
        let uptime = section(e, "uptime", system::read_uptime(proc, &mut self.buf));
        let memory =
            section(e, "memory", memory::read(proc, &mut self.buf)).map(|m| memory::summarize(&m));
        let disks = section(e, "disks", self.mounts.read(proc, &mut self.buf))
            .map(|mounts| self.disks.sample(mounts, e));
        let (block, buf) = (&mut self.block, &mut self.buf);
        let io = section(e, "disk_io", Read::now(|| block.read(proc, buf)));
        let disk_io = io.as_ref().map(|c| {
            let prev = self.prev.disk_io.as_ref();
            diskio::delta(prev.map(|p| &p.value[..]), &c.value, c.secs_since(prev))
        });
        let exclude = &self.net_exclude;
        let net = section(
            e,
            "network",
            Read::now(|| network::read(proc, exclude, &mut self.buf)),
        );
        let network = net.as_ref().map(|c| {
            let prev = self.prev.network.as_ref();
            network::delta(prev.map(|p| &p.value[..]), &c.value, c.secs_since(prev))
        });
        let temperatures = section(e, "temperatures", self.sensors.read(&mut self.buf));
        let processes = section(e, "processes", system::read_processes(proc));

        self.prev = Previous {
            at: Some(now),
            cpu: stat,
            disk_io: io,
            network: net,
        };
        Sample {
            host: self.name.clone(),
            timestamp,
            interval_seconds: elapsed,
            uptime_seconds: uptime,
            cpu,
            memory,
            disks,
            disk_io,
            network,
            temperatures,
            processes,
            view: self.view.clone(),
            errors,
        }
    }
}
