//! `GET /metrics`: Prometheus text exposition (format 0.0.4) of the latest sample, the
//! feeds and the process's own request counters. Rendered from memory, no I/O.

use std::fmt::{Display, Write as _};
use std::sync::atomic::Ordering;

use actix_web::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{web, HttpResponse};

use crate::feeds::{FeedStatus, Snapshot};
use crate::host::Sample;
use crate::state::AppState;
use crate::tasks::TASK_PANICS;

/// Escapes a label value: backslash, double quote and line feed (exposition format).
pub fn escape_label(v: &str) -> std::borrow::Cow<'_, str> {
    if !v.contains(['\\', '"', '\n']) {
        return v.into();
    }
    let mut s = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.into()
}

/// Writes one metric family at a time: `# HELP`, `# TYPE`, then its samples.
struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape_label(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    /// A family with one unlabelled sample; nothing when the value is unknown (a missing
    /// series, as Prometheus expects, rather than a made-up 0).
    fn gauge(&mut self, name: &str, help: &str, value: Option<impl Display>) {
        if let Some(v) = value {
            self.family(name, "gauge", help);
            self.sample(name, &[], v);
        }
    }

    /// A family of labelled samples; the `None` values are left out, and the family
    /// header too when nothing is left.
    fn labelled<'a, V: Display>(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        rows: impl IntoIterator<Item = (Vec<(&'a str, &'a str)>, Option<V>)>,
    ) {
        let mut header = false;
        for (labels, v) in rows {
            let Some(v) = v else { continue };
            if !header {
                self.family(name, kind, help);
                header = true;
            }
            self.sample(name, &labels, v);
        }
    }
}

/// Reads one number of a disk.
type DiskField = fn(&crate::host::Disk) -> f64;

fn host_metrics(o: &mut Out, s: &Sample) {
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
                ("pid_namespace", s.view.pid_namespace.as_str()),
                ("net_namespace", s.view.net_namespace.as_str()),
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
    if let Some(m) = &s.memory {
        memory_metrics(o, m);
    }
    if let Some(disks) = &s.disks {
        disk_metrics(o, disks);
    }
    if let Some(io) = &s.disk_io {
        disk_io_metrics(o, io);
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
        container_metrics(o, c);
    }
}

fn cpu_metrics(o: &mut Out, c: &crate::host::Cpu) {
    o.gauge("kiteportal_cpus", "Online CPUs.", Some(c.count));
    let ids: Vec<String> = (0..c.cores.len())
        .map(|i| c.core_ids.get(i).copied().unwrap_or(i as u32).to_string())
        .collect();
    let mut rows = vec![(vec![("cpu", "all")], c.percent)];
    rows.extend(
        ids.iter()
            .zip(&c.cores)
            .map(|(id, v)| (vec![("cpu", id.as_str())], *v)),
    );
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

/// Reads one number of a container.
type ContainerField = fn(&crate::host::Container) -> Option<f64>;

/// Per-container families, labelled by short id and name (private data: the whole
/// exposition is gated like `/metrics` itself).
fn container_metrics(o: &mut Out, containers: &[crate::host::Container]) {
    let fams: [(&str, &str, &str, ContainerField); 5] = [
        (
            "kiteportal_container_cpu_percent",
            "gauge",
            "Container CPU use over the last interval, in percent of the whole host.",
            |c| c.cpu_percent,
        ),
        (
            "kiteportal_container_memory_bytes",
            "gauge",
            "Container memory in use (memory.current).",
            |c| c.memory_bytes.map(|v| v as f64),
        ),
        (
            "kiteportal_container_memory_limit_bytes",
            "gauge",
            "Container memory limit (memory.max); absent when unlimited.",
            |c| c.memory_limit_bytes.map(|v| v as f64),
        ),
        (
            "kiteportal_container_oom_kills_total",
            "counter",
            "Processes the OOM killer killed in the container (memory.events oom_kill).",
            |c| c.oom_kills.map(|v| v as f64),
        ),
        (
            "kiteportal_container_processes",
            "gauge",
            "Processes in the container (pids.current).",
            |c| c.processes.map(|v| v as f64),
        ),
    ];
    for (name, kind, help, f) in fams {
        o.labelled(
            name,
            kind,
            help,
            containers
                .iter()
                .map(|c| (vec![("id", c.id.as_str()), ("name", c.name.as_str())], f(c))),
        );
    }
}

/// (feed name, status, age) of every feed.
fn feed_rows(state: &AppState) -> Vec<(String, FeedStatus, Option<u64>)> {
    fn row<T>(name: String, s: Snapshot<T>) -> (String, FeedStatus, Option<u64>) {
        (name, s.status, s.age_seconds)
    }
    let f = state.feeds();
    let mut rows = vec![
        row("weather".into(), f.weather.snapshot()),
        row("activity".into(), f.activity.snapshot()),
        row("services".into(), f.services.snapshot()),
    ];
    for (peer, cache) in &f.peers {
        rows.push(row(format!("peer:{}", peer.name), cache.snapshot()));
    }
    rows
}

const STATUSES: [FeedStatus; 5] = [
    FeedStatus::Ok,
    FeedStatus::Stale,
    FeedStatus::Pending,
    FeedStatus::Error,
    FeedStatus::Disabled,
];

/// Renders the exposition text for `audience` (a public scrape, when allowed at all,
/// gets the public sample: no containers).
pub fn render(state: &AppState, audience: crate::access::Audience) -> String {
    let mut o = Out(String::with_capacity(8192));
    let stalled = state.metrics.stalled();
    if let Some(p) = state.metrics.latest() {
        host_metrics(&mut o, p.sample(audience));
        o.gauge(
            "kiteportal_sampler_last_success_timestamp_seconds",
            "When the sampler last published a sample (Unix time).",
            Some(p.sample.timestamp.timestamp_millis() as f64 / 1000.0),
        );
    }
    o.gauge(
        "kiteportal_sampler_stale",
        "1 when the sampler has not published for 3 intervals (see /api/health), else 0.",
        Some(u8::from(stalled.is_some())),
    );

    let feeds = feed_rows(state);
    o.labelled(
        "kiteportal_feed_status",
        "gauge",
        "1 for the feed's current status (ok, stale, pending, error, disabled), else 0.",
        feeds.iter().flat_map(|(name, status, _)| {
            STATUSES.iter().map(move |s| {
                (
                    vec![("feed", name.as_str()), ("status", s.as_str())],
                    Some(u8::from(s == status)),
                )
            })
        }),
    );
    o.labelled(
        "kiteportal_feed_age_seconds",
        "gauge",
        "Seconds since the feed's data was last fetched.",
        feeds
            .iter()
            .map(|(name, _, age)| (vec![("feed", name.as_str())], *age)),
    );

    o.family(
        "kiteportal_http_requests_total",
        "counter",
        "Requests answered, by status class.",
    );
    for (class, n) in state.requests.counts() {
        o.sample("kiteportal_http_requests_total", &[("code", class)], n);
    }
    o.family(
        "kiteportal_task_panics_total",
        "counter",
        "Background task restarts after a panic.",
    );
    o.sample(
        "kiteportal_task_panics_total",
        &[],
        TASK_PANICS.load(Ordering::Relaxed),
    );
    o.family(
        "kiteportal_page_renders_total",
        "counter",
        "Times the page was rendered (this host's, or a peer's for /?host=).",
    );
    for (page, n) in crate::routes::pages::renders() {
        o.sample("kiteportal_page_renders_total", &[("page", page)], n);
    }
    o.0
}

/// `GET /metrics`: private by default (it names devices, mounts and sensors); the public
/// get the same 404 as any unknown path unless `access.public_metrics` is on.
pub async fn metrics(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    audience: crate::access::Audience,
) -> HttpResponse {
    if audience.is_public() && !state.config().access.public_metrics {
        return crate::routes::errors::not_found(&req);
    }
    HttpResponse::Ok()
        .insert_header((
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        ))
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(render(&state, audience))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{Cpu, Disk, Interface, Network, Temperature};

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("plain"), "plain");
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    fn sample() -> Sample {
        Sample {
            host: "h".into(),
            interval_seconds: 2.0,
            uptime_seconds: Some(100),
            cpu: Some(Cpu {
                percent: Some(12.5),
                cores: vec![Some(10.0), Some(30.0)],
                // cpu1 is offline: the second entry is cpu2.
                core_ids: vec![0, 2],
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
