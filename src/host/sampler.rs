//! The sampler: reads every source once per `metrics.interval`, owns the previous
//! counters and their instant to turn them into rates, and publishes each sample to the
//! store and the live stream (see `background`).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::PathBuf;
use std::time::Instant;

use chrono::Utc;

use super::{
    cgroup, cpu, disk, diskio, memory, mounts, namespaces, network, sensors, system, Cpu, Sample,
    View,
};
use crate::config::{ContainerRule, HostConfig, MetricsConfig};

/// Counters of the last sample, each with the instant it was read, kept to compute the
/// next sample's rates. Each counter has its own instant: a slow mount probe between two
/// reads must not stretch one counter's interval.
#[derive(Default)]
struct Previous {
    at: Option<Instant>,
    cpu: Option<cpu::Stat>,
    disk_io: Option<Read<Vec<diskio::Counters>>>,
    network: Option<Read<Vec<network::Counters>>>,
    containers: Option<ContainerCounters>,
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
    mounts: mounts::MountTable,
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
            view: namespaces::detect(host),
            prev: Previous::default(),
            mounts: mounts::MountTable::default(),
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
    pub(crate) fn with_containers(mut self, rules: Vec<ContainerRule>) -> Self {
        self.set_container_rules(rules);
        self
    }

    /// Changes the `[[containers]]` rules (a reload): names apply from the next sample.
    pub(crate) fn set_container_rules(&mut self, rules: Vec<ContainerRule>) {
        let (root, proc) = (self.cgroups.root().to_path_buf(), self.proc.clone());
        self.cgroups = cgroup::Cgroups::new(root, proc, rules);
    }

    /// What this process sees of the host (detected once at construction).
    pub(crate) fn view(&self) -> &View {
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
        let cpu = stat
            .as_ref()
            .map(|s| cpu_section(self.prev.cpu.as_ref(), s, load));
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
        let cpus = stat.as_ref().map(|s| s.cores.len());
        let (containers, kept) = self.containers(e, timestamp, cpus);

        let counters = super::HostCounters {
            cpu: stat.clone(),
            disk_io: io.as_ref().map(|r| r.value.clone()),
        };
        self.prev = Previous {
            at: Some(now),
            cpu: stat,
            disk_io: io,
            network: net,
            containers: kept,
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
            containers: containers.into(),
            view: self.view.clone(),
            errors,
            counters,
        }
    }
}

/// The `cpu` section: shares of the interval since `prev`, per core by the kernel's id.
fn cpu_section(prev: Option<&cpu::Stat>, s: &cpu::Stat, load: Option<[f64; 3]>) -> Cpu {
    let usage = prev.and_then(|p| cpu::delta(&p.total, &s.total));
    Cpu {
        percent: usage.map(|u| u.busy),
        cores: cpu::core_deltas(prev, s),
        count: s.cores.len(),
        iowait_percent: usage.map(|u| u.iowait),
        steal_percent: usage.map(|u| u.steal),
        load,
    }
}

/// The containers' counters kept for the next sample's rates, by full id.
type ContainerCounters = Read<HashMap<String, cgroup::Counters>>;

impl Sampler {
    /// The containers section (timed where it is read) and the counters to keep.
    fn containers(
        &mut self,
        e: &mut BTreeMap<String, String>,
        timestamp: chrono::DateTime<Utc>,
        cpus: Option<usize>,
    ) -> (Option<Vec<super::Container>>, Option<ContainerCounters>) {
        let at = Instant::now();
        let named = self.read_containers(e);
        let list = named.as_ref().map(|n| {
            self.note_oom_kills(n, timestamp);
            let prev = self.prev.containers.as_ref();
            let secs = prev.map_or(0.0, |p| at.duration_since(p.at).as_secs_f64());
            cgroup::delta(prev.map(|p| &p.value), n, secs, cpus, &self.oom)
        });
        let counters = named.map(|n| Read {
            at,
            value: n
                .into_iter()
                .map(|n| (n.counters.id.clone(), n.counters))
                .collect(),
        });
        (list, counters)
    }

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
                .and_then(|p| p.value.get(&n.counters.id));
            if let Some(k) = cgroup::new_oom_kills(prev, &n.counters) {
                self.oom.record(&n.counters.id, k, at);
                log::warn!(
                    "container {} ({}) OOM-killed: {k} process(es) since the last sample, {} in all",
                    n.name,
                    cgroup::short_id(&n.counters.id),
                    n.counters.oom_kills.unwrap_or(k)
                );
            }
        }
    }
}

impl Sampler {
    /// The start-up hint when the first sample found no containers because the cgroup
    /// root is this container's own (`HOST_CGROUP` not pointed at the host's).
    pub(crate) fn own_cgroup_hint(&self, first: &Sample) -> Option<String> {
        (first.containers.list().is_some_and(Vec::is_empty) && self.cgroups.looks_like_own_cgroup())
            .then(|| {
                format!(
                    "containers: {} holds no system.slice, docker or machine.slice; if this runs \
                 in a container, it is probably its own cgroup: set HOST_CGROUP to the host's \
                 hierarchy (e.g. /host/sys/fs/cgroup)",
                    self.cgroups.root().display()
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Containers;

    #[test]
    fn the_own_cgroup_hint_is_given_only_for_an_empty_root_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let cgroup = dir.path().to_path_buf();
        std::fs::write(cgroup.join("cgroup.controllers"), "cpu memory\n").unwrap();
        let host = HostConfig::for_test("/proc", cgroup.clone());
        let metrics = MetricsConfig {
            interval: std::time::Duration::from_secs(2),
            history: std::time::Duration::from_secs(600),
            net_exclude: Vec::new(),
        };
        let s = Sampler::new(&host, &metrics);
        let none_found = Sample {
            containers: Containers::List(Vec::new()),
            ..Sample::default()
        };
        let hint = s.own_cgroup_hint(&none_found).expect("a hint");
        assert!(
            hint.contains("set HOST_CGROUP") && hint.contains(&cgroup.display().to_string()),
            "{hint}"
        );
        // Not when the section could not be read, nor when the root is the host's.
        let unread = Sample {
            containers: Containers::Unavailable,
            ..Sample::default()
        };
        assert_eq!(s.own_cgroup_hint(&unread), None);
        std::fs::create_dir(cgroup.join("system.slice")).unwrap();
        assert_eq!(s.own_cgroup_hint(&none_found), None);
    }
}
