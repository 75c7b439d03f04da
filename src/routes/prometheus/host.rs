//! The host sample's families of `/metrics`: the per-interval gauges of each section and
//! the raw counters (`*_total`) the sampler read them from, named like node_exporter's.

use super::Out;
use crate::host::Sample;

/// Reads one number of a disk.
type DiskField = fn(&crate::host::Disk) -> f64;

pub(super) fn host_metrics(o: &mut Out, s: &Sample) {
    o.gauge(
        "kiteportal_sample_timestamp_seconds",
        "When the latest host sample was taken (Unix time).",
        Some(s.timestamp.timestamp_millis() as f64 / 1000.0),
    );
    o.gauge(
        "kiteportal_sample_interval_seconds",
        "Measured time between the latest two host samples.",
        Some(s.interval_seconds),
    );
    o.labelled(
        "kiteportal_sample_error",
        "gauge",
        "1 for each section of the latest sample that could not be read.",
        s.errors
            .keys()
            .map(|k| (vec![("section", k.as_str())], Some(1))),
    );
    o.labelled(
        "kiteportal_host_view_info",
        "gauge",
        "Whether the process sees the host's PID and network namespaces.",
        [(
            vec![
                (
                    "pid_namespace",
                    crate::names::name_of(&s.view.pid_namespace),
                ),
                (
                    "net_namespace",
                    crate::names::name_of(&s.view.net_namespace),
                ),
            ],
            Some(1),
        )],
    );
    o.gauge(
        "kiteportal_uptime_seconds",
        "Seconds since the host booted.",
        s.uptime_seconds,
    );
    o.gauge(
        "kiteportal_processes",
        "Processes on the host.",
        s.processes,
    );
    if let Some(c) = &s.cpu {
        cpu_metrics(o, c);
    }
    if let Some(stat) = &s.counters.cpu {
        cpu_counters(o, stat);
    }
    if let Some(m) = &s.memory {
        memory_metrics(o, m);
    }
    if let Some(disks) = &s.disks {
        disk_metrics(o, disks);
    }
    if let Some(io) = &s.disk_io {
        disk_io_metrics(o, io);
    }
    if let Some(io) = &s.counters.disk_io {
        disk_io_counters(o, io);
    }
    if let Some(n) = &s.network {
        network_metrics(o, n);
    }
    if let Some(t) = &s.temperatures {
        o.labelled(
            "kiteportal_temperature_celsius",
            "gauge",
            "Temperature sensor reading.",
            t.iter()
                .map(|t| (vec![("sensor", t.label.as_str())], Some(t.celsius))),
        );
    }
    if let Some(c) = s.containers.list() {
        super::containers::container_metrics(o, c);
    }
}

fn cpu_metrics(o: &mut Out, c: &crate::host::Cpu) {
    o.gauge("kiteportal_cpus", "Online CPUs.", Some(c.count));
    let cores: Vec<(String, Option<f64>)> = c
        .cores
        .iter()
        .map(|k| (k.id.to_string(), k.percent))
        .collect();
    let mut rows = vec![(vec![("cpu", "all")], c.percent)];
    rows.extend(cores.iter().map(|(id, v)| (vec![("cpu", id.as_str())], *v)));
    o.labelled(
        "kiteportal_cpu_busy_percent",
        "gauge",
        "CPU time not idle nor waiting for I/O over the last interval, in percent.",
        rows,
    );
    o.gauge(
        "kiteportal_cpu_iowait_percent",
        "CPU time idle waiting for I/O over the last interval, in percent.",
        c.iowait_percent,
    );
    o.gauge(
        "kiteportal_cpu_steal_percent",
        "CPU time taken by the hypervisor over the last interval, in percent.",
        c.steal_percent,
    );
    for (i, (name, window)) in [
        ("kiteportal_load1", "1"),
        ("kiteportal_load5", "5"),
        ("kiteportal_load15", "15"),
    ]
    .into_iter()
    .enumerate()
    {
        let help = format!("Load average over {window} minute(s).");
        o.gauge(name, &help, c.load.map(|l| l[i]));
    }
}

/// `kiteportal_cpu_seconds_total{cpu,mode}` as node_exporter's `node_cpu_seconds_total`:
/// one series per online CPU (the kernel's number) and `/proc/stat` mode, in seconds.
/// No `cpu="all"` series: `sum()` over the CPUs is how PromQL gets the whole host.
fn cpu_counters(o: &mut Out, stat: &crate::host::cpu::Stat) {
    let ids: Vec<String> = stat.cores.iter().map(|(id, _)| id.to_string()).collect();
    o.labelled(
        "kiteportal_cpu_seconds_total",
        "counter",
        "CPU time spent in each mode since boot, per CPU (/proc/stat), in seconds.",
        ids.iter().zip(&stat.cores).flat_map(|(id, (_, t))| {
            t.modes().into_iter().map(move |(mode, ticks)| {
                (
                    vec![("cpu", id.as_str()), ("mode", mode)],
                    Some(crate::host::cpu::seconds(ticks)),
                )
            })
        }),
    );
}

/// The byte counters of the whole disks (`diskstats` sectors × 512).
fn disk_io_counters(o: &mut Out, io: &[crate::host::diskio::Counters]) {
    o.labelled(
        "kiteportal_disk_read_bytes_total",
        "counter",
        "Bytes read from the disk since boot (diskstats sectors read times 512).",
        io.iter()
            .map(|d| (vec![("device", d.device.as_str())], Some(d.read_bytes))),
    );
    o.labelled(
        "kiteportal_disk_written_bytes_total",
        "counter",
        "Bytes written to the disk since boot (diskstats sectors written times 512).",
        io.iter()
            .map(|d| (vec![("device", d.device.as_str())], Some(d.write_bytes))),
    );
}

fn memory_metrics(o: &mut Out, m: &crate::host::Memory) {
    o.gauge(
        "kiteportal_memory_total_bytes",
        "Memory installed.",
        Some(m.total_bytes),
    );
    o.gauge(
        "kiteportal_memory_used_bytes",
        "Memory in use (total minus available).",
        Some(m.used_bytes),
    );
    o.gauge(
        "kiteportal_memory_available_bytes",
        "Memory available for new work without swapping.",
        Some(m.available_bytes),
    );
    o.gauge(
        "kiteportal_memory_used_percent",
        "Memory in use, in percent of the total.",
        Some(m.percent),
    );
    o.gauge(
        "kiteportal_swap_total_bytes",
        "Swap space.",
        Some(m.swap_total_bytes),
    );
    o.gauge(
        "kiteportal_swap_used_bytes",
        "Swap in use.",
        Some(m.swap_used_bytes),
    );
}

fn disk_metrics(o: &mut Out, disks: &[crate::host::Disk]) {
    let fams: [(&str, &str, DiskField); 4] = [
        ("kiteportal_disk_total_bytes", "Filesystem size.", |d| {
            d.total_bytes as f64
        }),
        (
            "kiteportal_disk_used_bytes",
            "Filesystem space in use.",
            |d| d.used_bytes as f64,
        ),
        (
            "kiteportal_disk_free_bytes",
            "Filesystem space free for users.",
            |d| d.free_bytes as f64,
        ),
        (
            "kiteportal_disk_used_percent",
            "Filesystem space in use, in percent of used plus free (as df).",
            |d| d.percent,
        ),
    ];
    for (name, help, f) in fams {
        o.labelled(
            name,
            "gauge",
            help,
            disks.iter().map(|d| {
                (
                    vec![
                        ("mount", d.mount.as_str()),
                        ("device", d.device.as_str()),
                        ("fs", d.fs.as_str()),
                    ],
                    Some(f(d)),
                )
            }),
        );
    }
}

fn disk_io_metrics(o: &mut Out, io: &[crate::host::DiskIo]) {
    o.labelled(
        "kiteportal_disk_read_bytes_per_second",
        "gauge",
        "Bytes read from the disk per second over the last interval.",
        io.iter()
            .map(|d| (vec![("device", d.device.as_str())], d.read_bytes_per_sec)),
    );
    o.labelled(
        "kiteportal_disk_written_bytes_per_second",
        "gauge",
        "Bytes written to the disk per second over the last interval.",
        io.iter()
            .map(|d| (vec![("device", d.device.as_str())], d.write_bytes_per_sec)),
    );
}

fn network_metrics(o: &mut Out, n: &crate::host::Network) {
    let rows = |f: fn(&crate::host::Interface) -> Option<f64>| {
        n.interfaces
            .iter()
            .map(move |i| (vec![("interface", i.name.as_str())], f(i)))
            .collect::<Vec<_>>()
    };
    o.labelled(
        "kiteportal_network_receive_bytes_per_second",
        "gauge",
        "Bytes received per second over the last interval.",
        rows(|i| i.rx_bytes_per_sec),
    );
    o.labelled(
        "kiteportal_network_transmit_bytes_per_second",
        "gauge",
        "Bytes sent per second over the last interval.",
        rows(|i| i.tx_bytes_per_sec),
    );
    o.labelled(
        "kiteportal_network_receive_bytes_total",
        "counter",
        "Bytes received since the interface came up.",
        rows(|i| Some(i.rx_bytes_total as f64)),
    );
    o.labelled(
        "kiteportal_network_transmit_bytes_total",
        "counter",
        "Bytes sent since the interface came up.",
        rows(|i| Some(i.tx_bytes_total as f64)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{Core, Cpu, Disk, Interface, Network, Temperature};

    fn sample() -> Sample {
        Sample {
            host: "h".into(),
            interval_seconds: 2.0,
            uptime_seconds: Some(100),
            cpu: Some(Cpu {
                percent: Some(12.5),
                // cpu1 is offline: the second entry is cpu2.
                cores: vec![
                    Core {
                        id: 0,
                        percent: Some(10.0),
                    },
                    Core {
                        id: 2,
                        percent: Some(30.0),
                    },
                ],
                count: 2,
                iowait_percent: Some(1.0),
                steal_percent: None,
                load: Some([0.5, 0.25, 0.0]),
            }),
            disks: Some(vec![Disk {
                mount: "/mnt/my \"disk\"".into(),
                device: "/dev/sdb1".into(),
                fs: "ext4".into(),
                total_bytes: 100,
                used_bytes: 40,
                free_bytes: 50,
                percent: 44.44,
            }]),
            network: Some(Network {
                rx_bytes_per_sec: None,
                tx_bytes_per_sec: None,
                interfaces: vec![Interface {
                    name: "eth0".into(),
                    rx_bytes_per_sec: Some(1.5),
                    tx_bytes_per_sec: None,
                    rx_bytes_total: 10,
                    tx_bytes_total: 20,
                }],
            }),
            temperatures: Some(vec![Temperature {
                label: "coretemp Package id 0".into(),
                celsius: 45.0,
            }]),
            errors: [("memory".to_string(), "gone".to_string())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn host_gauges_leave_unknowns_out() {
        let mut o = Out(String::new());
        host_metrics(&mut o, &sample());
        let t = o.0;
        for line in [
            "kiteportal_cpu_busy_percent{cpu=\"all\"} 12.5",
            "kiteportal_cpu_busy_percent{cpu=\"0\"} 10",
            "kiteportal_load5 0.25",
            "kiteportal_disk_used_bytes{mount=\"/mnt/my \\\"disk\\\"\",device=\"/dev/sdb1\",fs=\"ext4\"} 40",
            "kiteportal_network_receive_bytes_per_second{interface=\"eth0\"} 1.5",
            "kiteportal_network_transmit_bytes_total{interface=\"eth0\"} 20",
            "kiteportal_temperature_celsius{sensor=\"coretemp Package id 0\"} 45",
            "kiteportal_sample_error{section=\"memory\"} 1",
            "kiteportal_uptime_seconds 100",
        ] {
            assert!(t.lines().any(|l| l == line), "missing {line:?} in\n{t}");
        }
        assert!(!t.contains("cpu=\"1\""), "{t}");
        assert!(
            t.contains("kiteportal_cpu_busy_percent{cpu=\"2\"} 30"),
            "{t}"
        );
        assert!(!t.contains("kiteportal_cpu_steal_percent"), "{t}");
        assert!(
            !t.contains("kiteportal_network_transmit_bytes_per_second"),
            "{t}"
        );
        assert!(!t.contains("kiteportal_memory_"), "{t}");
    }
}

#[cfg(test)]
mod counter_tests {
    use super::*;
    use crate::config::{HostConfig, MetricsConfig};
    use crate::host::Sampler;
    use std::path::Path;

    /// A sample of the committed fake host (`tests/fixtures/host`), as the sampler takes it.
    fn fixture_sample() -> Sample {
        let host = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/host");
        let cfg = HostConfig {
            proc: host.join("proc"),
            sys: host.join("sys"),
            root: host.join("root"),
            name: "fake".into(),
            cgroup: host.join("sys/fs/cgroup"),
        };
        let metrics = MetricsConfig {
            interval: std::time::Duration::from_secs(2),
            history: std::time::Duration::from_secs(60),
            net_exclude: Vec::new(),
        };
        Sampler::new(&cfg, &metrics).sample()
    }

    fn render(s: &Sample) -> String {
        let mut o = Out(String::new());
        host_metrics(&mut o, s);
        o.0
    }

    #[test]
    fn user_hz_is_the_kernels() {
        // 100 on every Linux architecture this runs on; a wrong value would scale every
        // CPU counter.
        assert_eq!(crate::host::cpu::ticks_per_second(), 100);
    }

    #[test]
    fn cpu_counters_are_the_fixture_ticks_in_seconds_per_cpu_and_mode() {
        let s = fixture_sample();
        let t = render(&s);
        // tests/fixtures/host/proc/stat: cpu0 5000 250 1500 40000 500 50 100 150 200 0.
        for cpu in ["0", "1"] {
            for (mode, secs) in [
                ("user", "50"),
                ("nice", "2.5"),
                ("system", "15"),
                ("idle", "400"),
                ("iowait", "5"),
                ("irq", "0.5"),
                ("softirq", "1"),
                ("steal", "1.5"),
            ] {
                let line =
                    format!("kiteportal_cpu_seconds_total{{cpu=\"{cpu}\",mode=\"{mode}\"}} {secs}");
                assert!(t.lines().any(|l| l == line), "missing {line:?} in\n{t}");
            }
        }
        let series = t
            .lines()
            .filter(|l| l.starts_with("kiteportal_cpu_seconds_total{"))
            .count();
        assert_eq!(
            series, 16,
            "two CPUs, eight modes, no aggregate, no guest\n{t}"
        );
        assert!(
            t.contains("# TYPE kiteportal_cpu_seconds_total counter\n"),
            "{t}"
        );
        assert!(t.contains("# HELP kiteportal_cpu_seconds_total "), "{t}");
        // The gauges stay beside the counters (the first sample has no rates yet).
        assert!(t.contains("kiteportal_cpus 2\n"), "{t}");
    }

    #[test]
    fn disk_counters_are_the_fixture_sectors_in_bytes_for_whole_disks() {
        let t = render(&fixture_sample());
        // tests/fixtures/host/proc/diskstats, sectors × 512; partitions, loop, dm and zram
        // are left out as for the rates.
        for line in [
            "kiteportal_disk_read_bytes_total{device=\"sda\"} 10240000",
            "kiteportal_disk_written_bytes_total{device=\"sda\"} 20480000",
            "kiteportal_disk_read_bytes_total{device=\"sdb\"} 512000",
            "kiteportal_disk_written_bytes_total{device=\"sdb\"} 512000",
            "kiteportal_disk_read_bytes_total{device=\"nvme0n1\"} 51200",
            "kiteportal_disk_written_bytes_total{device=\"nvme0n1\"} 102400",
            "# TYPE kiteportal_disk_read_bytes_total counter",
            "# TYPE kiteportal_disk_written_bytes_total counter",
        ] {
            assert!(t.lines().any(|l| l == line), "missing {line:?} in\n{t}");
        }
        for dev in ["sda1", "loop0", "dm-0", "zram0", "nvme0n1p1"] {
            assert!(!t.contains(&format!("device=\"{dev}\"}}")), "{dev} in\n{t}");
        }
    }

    #[test]
    fn counters_are_left_out_of_the_api_body() {
        let s = fixture_sample();
        assert!(s.counters.cpu.is_some() && s.counters.disk_io.is_some());
        let json = serde_json::to_value(&s).unwrap();
        assert!(json.get("counters").is_none(), "{json:#}");
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "containers",
                "cpu",
                "disk_io",
                "disks",
                "errors",
                "host",
                "interval_seconds",
                "memory",
                "network",
                "processes",
                "temperatures",
                "timestamp",
                "uptime_seconds",
                "view"
            ]
        );
        // A peer's body reads back (the counters are not expected from it).
        let back: Sample = serde_json::from_value(json).unwrap();
        assert_eq!(back.counters, crate::host::HostCounters::default());
    }
}
