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
    /// Whether who counts as the owner changed: open private streams are closed (the
    /// page reconnects and is judged by the new rules).
    pub revoke_streams: bool,
}

/// How a reload treats one section of the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Read per request or per round from the running configuration.
    Live,
    /// Feeds it: the feed tasks start again on it.
    Feeds,
    /// Decides who is the owner: also closes open private streams.
    Audience,
    /// Set up once (the socket, the sampler's roots and ring, the state file): the
    /// running value stays until a restart, and the log says so.
    Restart,
}

/// Every section of [`Config`] with its rule, compared between `old` and `new`.
///
/// The destructuring names every field without `..`: a field added to `Config` does not
/// compile until it is given a rule here.
pub(crate) fn sections(old: &Config, new: &Config) -> Vec<(&'static str, Rule, bool)> {
    let Config {
        bind,
        host,
        metrics,
        weather,
        forgejo,
        services_interval,
        services,
        peers,
        stream,
        limits,
        trusted_proxies,
        state_dir,
        uptime_kuma,
        access,
        containers,
        timezone,
        notify,
        notices,
    } = new;
    vec![
        ("bind", Rule::Restart, *bind != old.bind),
        ("host", Rule::Restart, *host != old.host),
        ("metrics", Rule::Restart, *metrics != old.metrics),
        ("limits", Rule::Restart, *limits != old.limits),
        ("state_dir", Rule::Restart, *state_dir != old.state_dir),
        ("weather", Rule::Feeds, *weather != old.weather),
        ("forgejo", Rule::Feeds, *forgejo != old.forgejo),
        (
            "services_interval",
            Rule::Feeds,
            *services_interval != old.services_interval,
        ),
        ("services", Rule::Feeds, *services != old.services),
        ("peers", Rule::Feeds, *peers != old.peers),
        ("uptime_kuma", Rule::Feeds, *uptime_kuma != old.uptime_kuma),
        // Folded into the services data by the services task on each round.
        ("notices", Rule::Feeds, *notices != old.notices),
        ("stream", Rule::Live, *stream != old.stream),
        ("containers", Rule::Live, *containers != old.containers),
        ("timezone", Rule::Live, *timezone != old.timezone),
        ("notify", Rule::Live, *notify != old.notify),
        (
            "trusted_proxies",
            Rule::Audience,
            *trusted_proxies != old.trusted_proxies,
        ),
        ("access", Rule::Audience, *access != old.access),
    ]
}

/// Compares the running configuration with a reloaded one.
pub(crate) fn changes(old: &Config, new: &Config) -> Changes {
    let mut c = Changes::default();
    for (name, rule, differs) in sections(old, new) {
        if !differs {
            continue;
        }
        match rule {
            Rule::Restart => c.need_restart.push(name),
            Rule::Live => c.applied.push(name),
            Rule::Feeds => {
                c.applied.push(name);
                c.restart_feeds = true;
            }
            Rule::Audience => {
                c.applied.push(name);
                c.revoke_streams = true;
            }
        }
    }
    c
}

/// `new` with the sections that need a restart put back to the running values, so the
/// configuration the server reports is the one it runs (and a `state_dir` added by a
/// reload is never written by a process that did not read it).
pub(crate) fn keep_restart_only(old: &Config, mut new: Config) -> Config {
    new.bind = old.bind;
    new.host = old.host.clone();
    new.metrics = old.metrics.clone();
    new.limits = old.limits.clone();
    new.state_dir = old.state_dir.clone();
    new
}

/// Reads the configuration again and applies it; logs one line either way.
pub(crate) fn reload(state: &AppState, overrides: &Overrides, background: &mut Background) {
    let new = match config::load(overrides) {
        Ok(c) => c,
        Err(e) => {
            log::error!("reload: {e}; keeping the running configuration");
            return;
        }
    };
    // Not "reload: …": those lines are the reload's own verdict, one per reload.
    let icons = crate::icons::warnings(&new);
    let old = state.config();
    let c = changes(&old, &new);
    state.swap(keep_restart_only(&old, new));
    if c.revoke_streams {
        state.hub.revoke_views();
    }
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
    if c.applied.is_empty() && c.need_restart.is_empty() {
        log::info!("reload: configuration unchanged");
    } else if c.applied.is_empty() {
        log::info!("reload: nothing applied{restart}");
    } else {
        log::info!("reload: applied {}{restart}", c.applied.join(", "));
    }
    for w in icons {
        log::warn!("{w}");
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
        assert!(access.revoke_streams);
    }

    /// One change per section of `Config`, and how a reload must treat it.
    const ONE_SECTION: &[(&str, &str, &str, Rule)] = &[
        ("bind", "", "bind = \"127.0.0.1:9\"", Rule::Restart),
        ("host", "", "[host]\nname = \"other\"", Rule::Restart),
        ("metrics", "", "[metrics]\ninterval = \"5s\"", Rule::Restart),
        (
            "limits",
            "",
            "[limits]\nmax_connections = 100",
            Rule::Restart,
        ),
        (
            "state_dir",
            "",
            "state_dir = \"/var/lib/kp\"",
            Rule::Restart,
        ),
        ("weather", "", "[weather]\nlocation = \"Oslo\"", Rule::Feeds),
        (
            "forgejo",
            "",
            "[forgejo]\nurl = \"http://git.test\"",
            Rule::Feeds,
        ),
        (
            "services_interval",
            "",
            "services_interval = \"1m\"",
            Rule::Feeds,
        ),
        ("services", "", "services = []", Rule::Feeds),
        (
            "peers",
            "",
            "[[peers]]\nname = \"p\"\nurl = \"http://p.test\"",
            Rule::Feeds,
        ),
        (
            "uptime_kuma",
            "[uptime_kuma]\nurl = \"http://kuma.test\"\nslug = \"a\"",
            "[uptime_kuma]\nurl = \"http://kuma2.test\"\nslug = \"a\"",
            Rule::Feeds,
        ),
        (
            "notices",
            "",
            "[[notices]]\ntitle = \"Disk swap tonight\"",
            Rule::Feeds,
        ),
        ("stream", "", "[stream]\nmax_clients = 3", Rule::Live),
        (
            "containers",
            "",
            "[[containers]]\nmatch = \"x\"\nname = \"y\"",
            Rule::Live,
        ),
        (
            "timezone",
            "timezone = \"UTC\"",
            "timezone = \"UTC0\"",
            Rule::Live,
        ),
        (
            "notify",
            "",
            "[[notify]]\nurl = \"http://n.test/t\"",
            Rule::Live,
        ),
        (
            "trusted_proxies",
            "",
            "trusted_proxies = []",
            Rule::Audience,
        ),
        (
            "access",
            "",
            "[access]\nreal_ip_header = \"none\"",
            Rule::Audience,
        ),
    ];

    #[test]
    fn every_section_is_applied_or_named_as_needing_a_restart() {
        for (name, before, after, rule) in ONE_SECTION {
            let (old, new) = (cfg(before), cfg(after));
            let c = changes(&old, &new);
            let (applied, restart): (Vec<&str>, Vec<&str>) = match rule {
                Rule::Restart => (vec![], vec![name]),
                _ => (vec![name], vec![]),
            };
            assert_eq!((c.applied, c.need_restart), (applied, restart), "{name}");
            assert_eq!(c.restart_feeds, *rule == Rule::Feeds, "{name}");
            assert_eq!(c.revoke_streams, *rule == Rule::Audience, "{name}");
            if *rule == Rule::Restart {
                assert_eq!(keep_restart_only(&old, new), old, "{name} is kept");
            }
        }
    }

    /// A reload that gives a feed a fresh cache restarts the feed tasks; else that cache
    /// would stay empty until the next restart.
    #[test]
    fn a_feed_whose_cache_starts_afresh_is_restarted() {
        use crate::feeds::feed::Feed;
        for (name, before, after, _) in ONE_SECTION {
            let old = cfg(before);
            let new = keep_restart_only(&old, cfg(after));
            let c = changes(&old, &new);
            for feed in Feed::ALL {
                if !feed.unchanged(&old, &new) {
                    assert!(c.restart_feeds, "{name} changes {}", feed.name());
                }
            }
        }
    }

    /// A field added to `Config` must get a rule and a case above: the test compares the
    /// configuration's printed sections with both lists.
    #[test]
    fn no_section_is_forgotten() {
        let c = cfg("");
        let json = serde_json::to_value(&c).unwrap();
        let mut fields: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        let mut ruled: Vec<&str> = sections(&c, &c).iter().map(|s| s.0).collect();
        ruled.sort_unstable();
        let mut tested: Vec<&str> = ONE_SECTION.iter().map(|s| s.0).collect();
        tested.sort_unstable();
        assert_eq!(fields, ruled);
        assert_eq!(fields, tested);
    }
}
