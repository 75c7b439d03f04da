//! Live configuration: on SIGHUP the file is read and validated again; a valid one is
//! swapped in whole (connections and streams stay), an invalid one leaves the running
//! configuration as it is. Either way one log line says what happened.

use crate::background::Background;
use crate::config::{self, Config, Overrides};
use crate::state::AppState;

/// What a reload would change, by section.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Sections applied at once.
    pub applied: Vec<&'static str>,
    /// Sections that only a restart applies (the running values stay).
    pub need_restart: Vec<&'static str>,
    /// Whether the feed tasks must start again on the new configuration.
    pub restart_feeds: bool,
}

/// Compares the running configuration with a reloaded one.
pub fn changes(old: &Config, new: &Config) -> Changes {
    let mut c = Changes::default();
    let mut live = |name: &'static str, differs: bool, feeds: bool| {
        if differs {
            c.applied.push(name);
            c.restart_feeds |= feeds;
        }
    };
    live("weather", old.weather != new.weather, true);
    live("forgejo", old.forgejo != new.forgejo, true);
    live(
        "services_interval",
        old.services_interval != new.services_interval,
        true,
    );
    live("services", old.services != new.services, true);
    live("peers", old.peers != new.peers, true);
    live("stream", old.stream != new.stream, false);
    live(
        "trusted_proxies",
        old.trusted_proxies != new.trusted_proxies,
        false,
    );
    live("access", old.access != new.access, false);
    live("timezone", old.timezone != new.timezone, false);
    let restart = [
        ("bind", old.bind != new.bind),
        ("host", old.host != new.host),
        ("metrics", old.metrics != new.metrics),
        ("limits", old.limits != new.limits),
    ];
    c.need_restart = restart
        .into_iter()
        .filter(|(_, d)| *d)
        .map(|(n, _)| n)
        .collect();
    c
}

/// `new` with the sections that need a restart put back to the running values, so the
/// configuration the server reports is the one it runs.
pub fn keep_restart_only(old: &Config, mut new: Config) -> Config {
    new.bind = old.bind;
    new.host = old.host.clone();
    new.metrics = old.metrics.clone();
    new.limits = old.limits.clone();
    new
}

/// Reads the configuration again and applies it; logs one line either way.
pub fn reload(state: &AppState, overrides: &Overrides, background: &mut Background) {
    let new = match config::load(overrides) {
        Ok(c) => c,
        Err(e) => {
            log::error!("reload: {e}; keeping the running configuration");
            return;
        }
    };
    let old = state.config();
    let c = changes(&old, &new);
    state.swap(keep_restart_only(&old, new));
    if c.restart_feeds {
        if let Err(e) = background.restart_feeds(state) {
            log::error!("reload: cannot restart the feeds: {e}");
        }
    }
    let restart = if c.need_restart.is_empty() {
        String::new()
    } else {
        format!("; needs a restart: {}", c.need_restart.join(", "))
    };
    if c.applied.is_empty() {
        log::info!("reload: configuration unchanged{restart}");
    } else {
        log::info!("reload: applied {}{restart}", c.applied.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(toml: &str) -> Config {
        config::build(&Overrides::default(), config::parse_toml(toml).unwrap()).unwrap()
    }

    #[test]
    fn sections_are_told_apart() {
        let old = cfg("");
        let new = cfg("bind = \"127.0.0.1:9999\"\n[weather]\nlocation = \"Oslo\"\n");
        let c = changes(&old, &new);
        assert_eq!(c.applied, ["weather"]);
        assert_eq!(c.need_restart, ["bind"]);
        assert!(c.restart_feeds);
        let kept = keep_restart_only(&old, new);
        assert_eq!(kept.bind, old.bind);
        assert_eq!(kept.weather.location, "Oslo");
        let same = changes(&old, &cfg(""));
        assert_eq!(same, Changes::default());
        let access = changes(&old, &cfg("[access]\npublic_metrics = true\n"));
        assert_eq!(access.applied, ["access"]);
        assert!(!access.restart_feeds);
    }
}
