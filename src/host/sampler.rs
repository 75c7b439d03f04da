//! The sampler: reads every source once per `metrics.interval`, owns the previous
//! counters and their instant to turn them into rates, and publishes each sample to the
//! store and the live stream. Primed once before the server accepts connections (waiting
//! for that first sample at most [`PRIME_DEADLINE`]).

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::{cpu, disk, diskio, memory, network, sensors, system, view, Cpu, Sample, View};
use crate::config::{HostConfig, MetricsConfig};
use crate::state::AppState;
use crate::tasks::Tasks;

/// Counters of the last sample, kept to compute the next sample's rates.
#[derive(Default)]
struct Previous {
    at: Option<Instant>,
    cpu: Option<cpu::Stat>,
    disk_io: Option<Vec<diskio::Counters>>,
    network: Option<Vec<network::Counters>>,
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
        let io = section(e, "disk_io", self.block.read(proc, &mut self.buf));
        let disk_io = io
            .as_ref()
            .map(|c| diskio::delta(self.prev.disk_io.as_deref(), c, elapsed));
        let net = section(
            e,
            "network",
            network::read(proc, &self.net_exclude, &mut self.buf),
        );
        let network = net
            .as_ref()
            .map(|c| network::delta(self.prev.network.as_deref(), c, elapsed));
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

/// Publishes `sample` to the store (which serialises it once) and the live stream.
fn publish(state: &AppState, sample: Sample) {
    let published = state.metrics.publish(sample);
    state.hub.publish("metrics", &published.json);
}

/// How long start-up waits for the first sample before listening without it. Every read
/// is non-blocking and statvfs has its own deadline, so the first sample takes well under
/// a second; this only bounds what cannot be foreseen (a stuck `open` on a hung mount).
pub const PRIME_DEADLINE: Duration = Duration::from_secs(3);

/// Takes the first sample now (so `/api/metrics` has one before the server listens),
/// warns when the host view is missing, then samples every `metrics.interval`.
///
/// The sampling runs on its own thread from the first sample on: start-up waits for that
/// first sample at most [`PRIME_DEADLINE`], then says so and goes on (the watchdog in
/// [`super::MetricsStore::stalled`] reports a sampler that never publishes).
pub fn start(state: &AppState, tasks: &mut Tasks) -> io::Result<()> {
    let mut sampler = Sampler::new(&state.config.host, &state.config.metrics);
    match view::warning(sampler.view()) {
        Some(w) => log::warn!("host view: {w}"),
        None => log::info!(
            "host view: host PID and network namespaces (proc={}, sys={}, root={})",
            sampler.view.proc,
            sampler.view.sys,
            sampler.view.root
        ),
    }
    let interval = state.config.metrics.interval;
    let st = state.clone();
    let (primed_tx, primed_rx) = mpsc::sync_channel::<()>(1);
    let mut next = Instant::now();
    tasks.spawn("sampler", move |sd| {
        // Ticks on a fixed schedule (no drift by the sample's own duration); after a
        // stall (suspend, overload) it samples at once and starts a fresh schedule.
        loop {
            let now = Instant::now();
            let wait = next.saturating_duration_since(now);
            if !sd.sleep(wait) {
                break;
            }
            publish(&st, sampler.sample());
            let _ = primed_tx.try_send(());
            next += interval;
            let now = Instant::now();
            if next + interval < now {
                next = now + interval;
            }
        }
    })?;
    if primed_rx.recv_timeout(PRIME_DEADLINE).is_err() {
        log::warn!(
            "the first host sample did not finish within {}s; listening without it \
(/api/metrics answers 503 until it does, /api/health reports the sampler)",
            PRIME_DEADLINE.as_secs()
        );
    }
    Ok(())
}
