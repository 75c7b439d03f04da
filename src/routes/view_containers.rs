//! The containers tile's view model (owner view): the sample's `containers` section
//! formatted for `templates/containers.html`, sorted by memory, with each container's
//! share of the host and of its limit and a mark for an OOM kill in the last 24 hours.
//! `assets/app.js` redraws it from the live samples with the same formatting rules.

use crate::host::{Container, Sample};
use crate::routes::format::{bytes, pct, Gauge, Level};

/// "—" for a value that is not known (yet).
const NONE: &str = "—";

/// One row of the containers table.
pub struct ContainerRow {
    pub name: String,
    /// The tooltip: engine, short id, command line, linked service.
    pub title: String,
    pub memory: String,
    /// Share of the host's memory ("12.5%").
    pub of_host: String,
    /// Share of its own limit, or "no limit".
    pub of_limit: String,
    pub limit_level: Level,
    pub cpu: String,
    pub cpu_level: Level,
    /// OOM kills seen in the last 24 hours (0: no mark).
    pub oom_24h: u64,
    /// "OOM-killed 3× in 24 h" (empty when none).
    pub oom_label: String,
}

/// The containers tile.
pub struct ContainersView {
    /// The section was read (false: the reason is in `reason`).
    pub ready: bool,
    pub reason: String,
    pub rows: Vec<ContainerRow>,
}

/// `part` as a percentage of `whole`, when both are known and `whole` is not 0.
fn share(part: Option<u64>, whole: Option<u64>) -> Option<f64> {
    let (p, w) = (part?, whole?);
    (w > 0).then(|| p as f64 / w as f64 * 100.0)
}

impl ContainerRow {
    /// The row of container `c` on a host with `host_total` bytes of memory.
    pub fn new(c: &Container, host_total: Option<u64>) -> Self {
        let of_limit = share(c.memory_bytes, c.memory_limit_bytes);
        let mut title = format!("{} {}", c.engine, c.id);
        if let Some(cmd) = &c.command {
            title.push_str(&format!(" · {cmd}"));
        }
        if let Some(s) = &c.service {
            title.push_str(&format!(" · service {s}"));
        }
        ContainerRow {
            name: c.name.clone(),
            title,
            memory: c.memory_bytes.map_or(NONE.to_string(), |m| bytes(m as f64)),
            of_host: pct(share(c.memory_bytes, host_total)),
            of_limit: match c.memory_limit_bytes {
                None => "no limit".to_string(),
                Some(_) => pct(of_limit),
            },
            limit_level: Gauge::Limit.level(of_limit),
            cpu: pct(c.cpu_percent),
            cpu_level: Gauge::Cpu.level(c.cpu_percent),
            oom_24h: c.oom_kills_24h,
            oom_label: if c.oom_kills_24h > 0 {
                format!("OOM-killed {}× in 24 h", c.oom_kills_24h)
            } else {
                String::new()
            },
        }
    }
}

impl ContainersView {
    /// The tile for `sample` (None: nothing sampled yet).
    pub fn new(sample: Option<&Sample>) -> Self {
        let Some(s) = sample else {
            return ContainersView {
                ready: false,
                reason: "waiting for the first sample".to_string(),
                rows: Vec::new(),
            };
        };
        let total = s.memory.as_ref().map(|m| m.total_bytes);
        match s.containers.list() {
            Some(list) => ContainersView {
                ready: true,
                reason: String::new(),
                rows: list.iter().map(|c| ContainerRow::new(c, total)).collect(),
            },
            None => ContainersView {
                ready: false,
                reason: s
                    .errors
                    .get("containers")
                    .cloned()
                    .unwrap_or_else(|| "not read".to_string()),
                rows: Vec::new(),
            },
        }
    }
}

/// The note a service card shows for the containers linked to it (`[[containers]]
/// service`) that were OOM-killed in the last 24 hours: "container OOM-killed 3× in 24 h".
pub fn service_note(sample: Option<&Sample>, service: &str) -> String {
    let kills: u64 = sample
        .and_then(|s| s.containers.list())
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|c| c.service.as_deref() == Some(service))
        .map(|c| c.oom_kills_24h)
        .fold(0, u64::saturating_add);
    if kills == 0 {
        String::new()
    } else {
        format!("container OOM-killed {kills}× in 24 h")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_show_shares_of_host_and_limit_and_the_oom_mark() {
        let c = Container {
            id: "3f2a1b2c3d4e".into(),
            name: "forgejo".into(),
            engine: crate::host::cgroup::Engine::Docker,
            memory_bytes: Some(256 << 20),
            memory_limit_bytes: Some(512 << 20),
            cpu_percent: Some(12.5),
            oom_kills_24h: 3,
            ..Container::default()
        };
        let r = ContainerRow::new(&c, Some(1 << 30));
        assert_eq!(r.memory, "256.0 MiB");
        assert_eq!(r.of_host, "25.0%");
        assert_eq!(r.of_limit, "50.0%");
        assert_eq!(r.cpu, "12.5%");
        assert_eq!(r.oom_label, "OOM-killed 3× in 24 h");
        let unlimited = Container {
            memory_limit_bytes: None,
            ..c
        };
        let r = ContainerRow::new(&unlimited, None);
        assert_eq!(r.of_limit, "no limit");
        assert_eq!(r.of_host, "—");
    }

    #[test]
    fn service_cards_hear_of_their_containers_oom_kills() {
        let c = |service: &str, kills| Container {
            service: Some(service.into()),
            oom_kills_24h: kills,
            ..Container::default()
        };
        let s = Sample {
            containers: Some(vec![c("Forgejo", 2), c("Forgejo", 1), c("Grafana", 0)]).into(),
            ..Sample::default()
        };
        assert_eq!(
            service_note(Some(&s), "Forgejo"),
            "container OOM-killed 3× in 24 h"
        );
        assert_eq!(service_note(Some(&s), "Grafana"), "");
        assert_eq!(service_note(None, "Forgejo"), "");
    }
}
