//! File + overrides → validated [`Config`]: [`build`] merges each section with the
//! precedence flag > environment > file > default and validates it, one function a section.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::args::Overrides;
use super::defaults::{DEFAULT_PRIVATE_NETWORKS, DEFAULT_TRUSTED_PROXIES};
use super::field_checks::{duration, parse_bind};
use super::file::{FileAccess, FileConfig, FileLimits, FileStream};
use super::host::host;
use super::metrics::metrics;
use super::validated::{
    AccessConfig, Config, LimitsConfig, RealIpHeader, StreamConfig, DEFAULT_MAX_CONNECTIONS,
    MAX_MAX_CONNECTIONS,
};
use super::value_types::Cidr;
use super::{containers, forgejo, notices, peers, services, uptime_kuma, weather};
use crate::error::StartupError;

/// Merges flags/environment over the file and validates everything.
pub fn build(o: &Overrides, file: FileConfig) -> Result<Config, StartupError> {
    let bind = bind(o, file.bind)?;
    let host = host(o, file.host.unwrap_or_default())?;
    let metrics = metrics(file.metrics.unwrap_or_default())?;
    let weather = weather::weather(o, file.weather.unwrap_or_default())?;
    let forgejo = forgejo::forgejo(o, file.forgejo.unwrap_or_default())?;
    let services_interval = services::services_interval(file.services_interval)?;
    let services = services::services(file.services)?;
    let peers = peers::peers(file.peers)?;
    let stream = stream(file.stream.unwrap_or_default())?;
    let limits = limits(file.limits.unwrap_or_default())?;
    let trusted_proxies = cidrs(
        "trusted_proxies",
        file.trusted_proxies,
        DEFAULT_TRUSTED_PROXIES,
    )?;
    let access = access(file.access.unwrap_or_default())?;
    let state_dir = state_dir(o, file.state_dir)?;
    let uptime_kuma = uptime_kuma::uptime_kuma(file.uptime_kuma)?;
    let containers = containers::containers(file.containers, &services)?;
    let timezone = timezone(o, file.timezone, &host.root)?;
    let notify = super::notify::targets(file.notify)?;
    let zone = crate::timezone::Zone::resolve(timezone.as_deref(), &host.root)
        .unwrap_or_else(|_| crate::timezone::Zone::utc());
    let notices = notices::notices(file.notices, &services, &zone)?;
    Ok(Config {
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
    })
}

/// `timezone`: must name a zone the host has (or a POSIX rule); empty means the host's.
fn timezone(
    o: &Overrides,
    file: Option<String>,
    root: &std::path::Path,
) -> Result<Option<String>, StartupError> {
    let spec = o.timezone.clone().or(file).filter(|s| !s.trim().is_empty());
    if let Some(s) = &spec {
        crate::timezone::Zone::resolve(Some(s), root)
            .map_err(|why| StartupError::config("timezone", s, &why))?;
    }
    Ok(spec)
}

fn bind(o: &Overrides, file: Option<String>) -> Result<SocketAddr, StartupError> {
    let raw = o
        .bind
        .clone()
        .or(file)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    parse_bind("bind", &raw)
}

fn stream(fs: FileStream) -> Result<StreamConfig, StartupError> {
    let max_clients = match fs.max_clients {
        None => 256,
        Some(n) if (0..=100_000).contains(&n) => n as usize,
        Some(n) => {
            return Err(StartupError::config(
                "stream.max_clients",
                &n.to_string(),
                "must be between 0 and 100000",
            ))
        }
    };
    let heartbeat = duration(
        "stream.heartbeat",
        fs.heartbeat,
        Duration::from_secs(20),
        Duration::from_secs(1),
    )?;
    if heartbeat > Duration::from_secs(90) {
        return Err(StartupError::config(
            "stream.heartbeat",
            &humantime::format_duration(heartbeat).to_string(),
            "is longer than 90s (proxies close idle responses after 100s)",
        ));
    }
    Ok(StreamConfig {
        max_clients,
        heartbeat,
    })
}

fn limits(fl: FileLimits) -> Result<LimitsConfig, StartupError> {
    let max_connections = match fl.max_connections {
        None => DEFAULT_MAX_CONNECTIONS,
        Some(n) if (1..=MAX_MAX_CONNECTIONS).contains(&n) => n as usize,
        Some(n) => {
            return Err(StartupError::config(
                "limits.max_connections",
                &n.to_string(),
                &format!("must be between 1 and {MAX_MAX_CONNECTIONS}"),
            ))
        }
    };
    Ok(LimitsConfig { max_connections })
}

/// A list of networks under `key`, or `default` when the file has none.
fn cidrs(
    key: &str,
    list: Option<Vec<String>>,
    default: &[&str],
) -> Result<Vec<Cidr>, StartupError> {
    match list {
        None => default.iter().map(|c| Cidr::parse(key, c)).collect(),
        Some(list) => list.iter().map(|c| Cidr::parse(key, c)).collect(),
    }
}

fn access(fa: FileAccess) -> Result<AccessConfig, StartupError> {
    let key = "access.private_networks";
    if let Some(list) = fa.private_networks.as_ref().filter(|l| l.len() > 256) {
        return Err(StartupError::config(
            key,
            &list.len().to_string(),
            "lists more than 256 networks",
        ));
    }
    let real_ip_header = match fa.real_ip_header {
        None => RealIpHeader::CfConnectingIp,
        Some(raw) => RealIpHeader::parse(&raw).ok_or_else(|| {
            StartupError::config(
                "access.real_ip_header",
                &raw,
                "must be \"CF-Connecting-IP\", \"X-Forwarded-For\" or \"none\"",
            )
        })?,
    };
    Ok(AccessConfig {
        private_networks: cidrs(key, fa.private_networks, DEFAULT_PRIVATE_NETWORKS)?,
        public_metrics: fa.public_metrics.unwrap_or(false),
        real_ip_header,
    })
}

fn state_dir(o: &Overrides, file: Option<PathBuf>) -> Result<Option<PathBuf>, StartupError> {
    match o.state_dir.clone().or(file) {
        Some(p) if p.as_os_str().is_empty() => Ok(None),
        Some(p) if p.to_string_lossy().chars().any(char::is_control) => Err(StartupError::config(
            "state_dir",
            &p.to_string_lossy(),
            "contains control characters",
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_toml, ContainerRule};

    fn cfg(toml: &str) -> Result<Config, StartupError> {
        let f = parse_toml(toml).map_err(StartupError::new)?;
        build(&Overrides::default(), f)
    }

    #[test]
    fn defaults_are_a_complete_preview() {
        let c = cfg("").unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.services.len(), 9);
        assert_eq!(c.metrics.interval, Duration::from_secs(2));
        assert_eq!(c.metrics.history, Duration::from_secs(600));
        assert_eq!(c.weather.url.as_str(), "https://wttr.in");
        assert!(c.forgejo.url.is_none());
        assert_eq!(c.forgejo.limit, 10);
        assert_eq!(c.stream.max_clients, 256);
        assert_eq!(c.limits.max_connections, DEFAULT_MAX_CONNECTIONS);
        assert!(c.is_trusted_proxy("127.0.0.1".parse().unwrap()));
        assert!(c.is_trusted_proxy("172.18.0.5".parse().unwrap()));
        assert!(!c.is_trusted_proxy("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn durations_in_every_form() {
        for (text, want) in [
            ("\"500ms\"", 500),
            ("\"2s\"", 2000),
            ("\"30m\"", 1_800_000),
            ("3", 3000),
            ("0.5", 500),
            ("\"1.5\"", 1500),
        ] {
            let c = cfg(&format!("[metrics]\ninterval = {text}\nhistory = \"1h\"")).unwrap();
            assert_eq!(c.metrics.interval, Duration::from_millis(want), "{text}");
        }
    }

    #[test]
    fn bad_values_name_the_key_and_quote_the_value() {
        let table = [
            ("bind = \"nowhere\"", "bind: 'nowhere'"),
            (
                "[metrics]\ninterval = \"100ms\"",
                "metrics.interval: '100ms'",
            ),
            ("[metrics]\ninterval = \"fast\"", "metrics.interval: 'fast'"),
            ("[metrics]\ninterval = -1", "metrics.interval: '-1'"),
            ("[weather]\nurl = \"ftp://x\"", "weather.url: 'ftp://x'"),
            ("[weather]\nrefresh = \"0s\"", "weather.refresh: '0s'"),
            ("[forgejo]\nurl = \"abc\"", "forgejo.url: 'abc'"),
            ("[forgejo]\nlimit = 0", "forgejo.limit: '0'"),
            (
                "[forgejo]\ntoken_file = \"/nonexistent/token\"",
                "forgejo.token_file: '/nonexistent/token'",
            ),
            ("[stream]\nmax_clients = -3", "stream.max_clients: '-3'"),
            (
                "[limits]\nmax_connections = 0",
                "limits.max_connections: '0' must be between 1 and 65536",
            ),
            (
                "[limits]\nmax_connections = 70000",
                "limits.max_connections: '70000'",
            ),
            (
                "trusted_proxies = [\"10.0.0.0/99\"]",
                "trusted_proxies: '10.0.0.0/99'",
            ),
            ("services_interval = \"1ms\"", "services_interval: '1ms'"),
            (
                "[uptime_kuma]\nurl = \"https://k\"\nslug = \"../x\"",
                "uptime_kuma.slug: '../x'",
            ),
            (
                "[uptime_kuma]\nurl = \"k\"\nslug = \"x\"",
                "uptime_kuma.url: 'k'",
            ),
            ("[uptime_kuma]\nslug = \"x\"", "uptime_kuma.url: ''"),
            (
                "[[services]]\nname = \"a\"\nurl = \"https://a\"\nuptime_kuma = \" \"",
                "services[0].uptime_kuma: ' '",
            ),
            (
                "[[services]]\nname = \"\"\nurl = \"https://a\"",
                "services[0].name: ''",
            ),
            (
                "[[services]]\nname = \"a\"\nurl = \"nope\"",
                "services[0].url: 'nope'",
            ),
            (
                "[[peers]]\nname = \"b\"\nurl = \"http://u:p@h\"",
                "peers[0].url: 'http://u:p@h'",
            ),
            ("[host]\ncgroup = \"\"", "host.cgroup: ''"),
            (
                "[[containers]]\nmatch = \"\"\nname = \"a\"",
                "containers[0].match: ''",
            ),
            (
                "[[containers]]\nmatch = \"abc\"\nname = \" \"",
                "containers[0].name: ' '",
            ),
            (
                "[[containers]]\nmatch = \"abc\"\nname = \"a\"\nservice = \"Nope\"",
                "containers[0].service: 'Nope'",
            ),
        ];
        for (toml, want) in table {
            let err = cfg(toml).unwrap_err().to_string();
            assert!(err.contains(want), "{toml:?} gave {err:?}, wanted {want:?}");
        }
    }

    #[test]
    fn flags_and_environment_win_over_the_file() {
        let f = parse_toml(
            "bind = \"127.0.0.1:1\"\n[host]\nname = \"file\"\n[weather]\nlocation = \"Oslo\"",
        )
        .unwrap();
        let o = Overrides {
            bind: Some("127.0.0.1:2".into()),
            hostname: Some("flag".into()),
            ..Default::default()
        };
        let c = build(&o, f).unwrap();
        assert_eq!(c.bind.port(), 2);
        assert_eq!(c.host.name, "flag");
        assert_eq!(c.weather.location, "Oslo");
    }

    #[test]
    fn cgroup_root_follows_sys_and_containers_name_services() {
        let c = cfg("[host]\nsys = \"/host/sys\"").unwrap();
        assert_eq!(c.host.cgroup, PathBuf::from("/host/sys/fs/cgroup"));
        assert!(c.containers.is_empty());
        let c = cfg(
            "[host]\ncgroup = \"/cg\"\n[[containers]]\nmatch = \"3f2a\"\n\
                     name = \"git\"\nservice = \"Forgejo\"",
        )
        .unwrap();
        assert_eq!(c.host.cgroup, PathBuf::from("/cg"));
        assert_eq!(
            c.containers,
            vec![ContainerRule {
                matches: "3f2a".into(),
                name: "git".into(),
                service: Some("Forgejo".into()),
            }]
        );
        let o = Overrides {
            host_cgroup: Some("/flag".into()),
            ..Default::default()
        };
        let f = parse_toml("[host]\ncgroup = \"/file\"").unwrap();
        assert_eq!(build(&o, f).unwrap().host.cgroup, PathBuf::from("/flag"));
    }
}
