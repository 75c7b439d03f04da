//! The sampler: reads every source once per `metrics.interval`, owns the previous
//! counters and their instant to turn them into rates, and publishes each sample to the
//! store and the live stream. Primed once before the server accepts connections.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::PathBuf;
use std::time::Instant;

use chrono::Utc;

use super::{cgroup, cpu, disk, diskio, memory, network, sensors, system, view, Cpu, Sample, View};
use crate::config::{ContainerRule, HostConfig, MetricsConfig};
use crate::state::AppState;
use crate::tasks::Tasks;

/// Counters of the last sample, kept to compute the next sample's rates.
#[derive(Default)]
struct Previous {
    at: Option<Instant>,
    cpu: Option<cpu::Stat>,
    disk_io: Option<Vec<diskio::Counters>>,
    network: Option<Vec<network::Counters>>,
    containers: Option<HashMap<String, cgroup::Counters>>,
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
    cgroups: cgroup::Cgroups,
    oom: cgroup::OomLog,
    /// The containers section's last failure, logged once rather than every interval.
    containers_reason: Option<String>,
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
            cgroups: cgroup::Cgroups::new(host.cgroup.clone(), host.proc.clone(), Vec::new()),
            oom: cgroup::OomLog::default(),
            containers_reason: None,
            buf: String::with_capacity(16 * 1024),
        }
    }

    /// Waits up to `deadline` for statvfs answers instead of [`disk::PROBE_DEADLINE`]
    /// (tests on a loaded machine; a deployment has no reason to change it).
    pub fn with_probe_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.disks = disk::Disks::new(self.root.clone(), disk::statvfs, deadline);
        self
    }

    /// Names containers by the owner's `[[containers]]` rules.
    pub fn with_containers(mut self, rules: Vec<ContainerRule>) -> Self {
        let (root, proc) = (self.cgroups.root().to_path_buf(), self.proc.clone());
        self.cgroups = cgroup::Cgroups::new(root, proc, rules);
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
        let cpus = stat.as_ref().map(|s| s.cores.len());
        let named = self.read_containers(e);
        let containers = named.as_ref().map(|n| {
            self.note_oom_kills(n, timestamp);
            cgroup::delta(self.prev.containers.as_ref(), n, elapsed, cpus, &self.oom)
        });

        self.prev = Previous {
            at: Some(now),
            cpu: stat,
            disk_io: io,
            network: net,
            containers: named.map(|n| {
                n.into_iter()
                    .map(|n| (n.counters.id.clone(), n.counters))
                    .collect()
            }),
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
            containers,
            view: self.view.clone(),
            errors,
        }
    }
}

impl Sampler {
    /// Reads the containers section; its failure goes to `errors` every time but to the
    /// log only when the reason changes (a v1 host would otherwise log every interval).
    fn read_containers(
        &mut self,
        errors: &mut BTreeMap<String, String>,
    ) -> Option<Vec<cgroup::Named>> {
        match self.cgroups.read() {
            Ok(n) => {
                if self.containers_reason.take().is_some() {
                    log::info!("containers: readable again ({} found)", n.len());
                }
                Some(n)
            }
            Err(e) => {
                let why = e.to_string();
                if self.containers_reason.as_deref() != Some(why.as_str()) {
                    log::warn!("containers: {why}");
                }
                errors.insert("containers".to_string(), why.clone());
                self.containers_reason = Some(why);
                None
            }
        }
    }

    /// Logs each OOM kill since the previous sample (the owner's first clue when the
    /// host slows down) and remembers it for the page's 24-hour mark.
    fn note_oom_kills(&mut self, named: &[cgroup::Named], at: chrono::DateTime<Utc>) {
        self.oom.prune(at);
        for n in named {
            let prev = self
                .prev
                .containers
                .as_ref()
                .and_then(|p| p.get(&n.counters.id));
            if let Some(k) = cgroup::new_oom_kills(prev, &n.counters) {
                self.oom.record(&n.counters.id, k, at);
                log::warn!(
                    "container {} ({}) OOM-killed: {k} process(es) since the last sample,                      {} in all",
                    n.name,
                    cgroup::short_id(&n.counters.id),
                    n.counters.oom_kills.unwrap_or(k)
                );
            }
        }
    }
}

/// Publishes `sample` to the store (which serialises it once) and the live stream.
fn publish(state: &AppState, sample: Sample) {
    let published = state.metrics.publish(sample);
    state.hub.publish("metrics", &published.json);
}

/// Takes the first sample now (so `/api/metrics` has one before the server listens),
/// warns when the host view is missing, then samples every `metrics.interval`.
pub fn start(state: &AppState, tasks: &mut Tasks) -> io::Result<()> {
    let mut sampler = Sampler::new(&state.config.host, &state.config.metrics)
        .with_containers(state.config.containers.clone());
    match view::warning(sampler.view()) {
        Some(w) => log::warn!("host view: {w}"),
        None => log::info!(
            "host view: host PID and network namespaces (proc={}, sys={}, root={})",
            sampler.view.proc,
            sampler.view.sys,
            sampler.view.root
        ),
    }
    let first = sampler.sample();
    if first.containers.as_ref().is_some_and(Vec::is_empty)
        && sampler.cgroups.looks_like_own_cgroup()
    {
        log::warn!(
            "containers: {} holds no system.slice, docker or machine.slice; if this runs \
             in a container, it is probably its own cgroup: set HOST_CGROUP to the host's \
             hierarchy (e.g. /host/sys/fs/cgroup)",
            sampler.cgroups.root().display()
        );
    }
    publish(state, first);
    let interval = state.config.metrics.interval;
    let st = state.clone();
    let mut next = Instant::now() + interval;
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
            next += interval;
            let now = Instant::now();
            if next + interval < now {
                next = now + interval;
            }
        }
    })
}
