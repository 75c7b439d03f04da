//! The services' status changes as visitors saw them: each service's last known served
//! status (up, down or maintenance; unknown is no status) and the most recent changes
//! between them, newest last, for the Atom feed and the notifications. The first status
//! a service is seen with is its baseline, not a change: a restart notifies nobody.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ServiceState, Services};

/// Changes kept (the Atom feed shows at most this many entries).
pub const KEPT: usize = 50;

/// One change of a service's served status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub service: String,
    pub from: ServiceState,
    pub to: ServiceState,
    /// The public reason class when it is not up ("timeout", "HTTP 502").
    pub reason: Option<String>,
    /// The detail (upstream text, host and port): for the owner only, never public.
    #[serde(default)]
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
}

/// The last known status of each service and the recent changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub last_known: BTreeMap<String, ServiceState>,
    /// Oldest first, at most [`KEPT`].
    pub recent: VecDeque<Transition>,
}

impl Changes {
    /// Compares what is served now with the last known statuses and records each real
    /// change; returns the new ones. `detail` gives the owner's detail of a service.
    pub(crate) fn observe(
        &mut self,
        served: &Services,
        now: DateTime<Utc>,
        detail: impl Fn(&str) -> Option<String>,
    ) -> Vec<Transition> {
        let mut new = Vec::new();
        for s in &served.services {
            if s.status == ServiceState::Unknown {
                continue;
            }
            let before = self.last_known.insert(s.name.clone(), s.status);
            match before {
                Some(from) if from != s.status => new.push(Transition {
                    service: s.name.clone(),
                    from,
                    to: s.status,
                    reason: s.reason.clone(),
                    detail: (s.status == ServiceState::Down)
                        .then(|| detail(&s.name))
                        .flatten(),
                    at: s.since.unwrap_or(now),
                }),
                _ => {}
            }
        }
        for t in &new {
            self.push(t.clone());
        }
        new
    }

    /// Keeps `t`, dropping the oldest beyond [`KEPT`].
    pub(crate) fn push(&mut self, t: Transition) {
        self.recent.push_back(t);
        while self.recent.len() > KEPT {
            self.recent.pop_front();
        }
    }

    /// Forgets the services not in `names` (removed or renamed).
    pub(crate) fn retain_names<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        let keep: std::collections::BTreeSet<&str> = names.into_iter().collect();
        self.last_known.retain(|n, _| keep.contains(n.as_str()));
        self.recent.retain(|t| keep.contains(t.service.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::{ServiceStatus, Summary};

    fn served(states: &[(&str, ServiceState)]) -> Services {
        Services {
            summary: Summary::default(),
            uptime_kuma: crate::feeds::KumaLink::Disabled,
            services: states
                .iter()
                .map(|(name, status)| ServiceStatus {
                    reason: (*status == ServiceState::Down).then(|| "timeout".into()),
                    ..ServiceStatus::for_test(name, *status)
                })
                .collect(),
            notices: Vec::new(),
            checks_total: Vec::new(),
            changes: Vec::new(),
        }
    }

    #[test]
    fn only_real_changes_between_known_states_count() {
        use ServiceState::*;
        let now = Utc::now();
        let mut c = Changes::default();
        let detail = |_: &str| Some("connect to 10.0.0.5:3000 refused".to_string());
        // The first sight is a baseline; unknown is no status at all.
        assert!(c
            .observe(&served(&[("a", Up), ("b", Unknown)]), now, detail)
            .is_empty());
        assert!(c
            .observe(&served(&[("a", Unknown), ("b", Down)]), now, detail)
            .is_empty());
        let t = c.observe(&served(&[("a", Down), ("b", Down)]), now, detail);
        assert_eq!(t.len(), 1);
        assert_eq!((t[0].from, t[0].to), (Up, Down));
        assert_eq!(t[0].reason.as_deref(), Some("timeout"));
        assert!(t[0].detail.as_deref().unwrap().contains("refused"));
        let t = c.observe(&served(&[("a", Up), ("b", Maintenance)]), now, detail);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].detail, None, "no detail when it comes back");
        assert_eq!(c.recent.len(), 3);
        c.retain_names(["a"]);
        assert_eq!(c.recent.len(), 2);
        assert!(!c.last_known.contains_key("b"));
        for _ in 0..KEPT {
            c.push(t[0].clone());
        }
        assert_eq!(c.recent.len(), KEPT);
    }
}
