//! The containers' families of `/metrics` (owner data: the public sample has none).

use super::Out;

/// Reads one number of a container.
type ContainerField = fn(&crate::host::Container) -> Option<f64>;

/// Per-container families, labelled by short id and name (private data: the whole
/// exposition is gated like `/metrics` itself).
pub(super) fn container_metrics(o: &mut Out, containers: &[crate::host::Container]) {
    let fams: [(&str, &str, &str, ContainerField); 9] = [
        (
            "kiteportal_container_cpu_percent",
            "gauge",
            "Container CPU use over the last interval, in percent of the whole host.",
            |c| c.cpu_percent,
        ),
        (
            "kiteportal_container_cpu_seconds_total",
            "counter",
            "CPU time the container used since it started (cpu.stat usage_usec), in seconds.",
            |c| c.cpu_usage_usec.map(|v| v as f64 / 1e6),
        ),
        (
            "kiteportal_container_memory_bytes",
            "gauge",
            "Container memory in use as docker stats shows it (memory.current less inactive_file).",
            |c| c.memory_bytes.map(|v| v as f64),
        ),
        (
            "kiteportal_container_memory_current_bytes",
            "gauge",
            "Container memory the kernel charges, page cache included (memory.current).",
            |c| c.memory_current_bytes.map(|v| v as f64),
        ),
        (
            "kiteportal_container_read_bytes_total",
            "counter",
            "Bytes the container read since it started (io.stat rbytes, all devices).",
            |c| c.io_bytes.map(|(r, _)| r as f64),
        ),
        (
            "kiteportal_container_written_bytes_total",
            "counter",
            "Bytes the container wrote since it started (io.stat wbytes, all devices).",
            |c| c.io_bytes.map(|(_, w)| w as f64),
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
