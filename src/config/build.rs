//! The top level of the file: [`FileConfig`] as written, the validated [`Config`] the
//! rest of the program reads (and `check-config` prints), the top-level keys (`bind`,
//! `state_dir`, `timezone`), and [`build`], which merges each section with the precedence
//! flag > environment > file > default and validates it by that section's function.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::access::{AccessConfig, FileAccess};
use super::args::Overrides;
use super::containers::{ContainerRule, FileContainer};
use super::field_checks::parse_bind;
use super::forgejo::{FileForgejo, ForgejoConfig};
use super::host::{FileHost, HostConfig};
use super::limits::{FileLimits, FileStream, LimitsConfig, StreamConfig};
use super::metrics::{FileMetrics, MetricsConfig};
use super::notices::{FileNotice, NoticeConfig};
use super::notify::{FileNotify, NotifyTarget};
use super::peers::{FilePeer, Peer};
use super::services::{FileService, Service};
use super::uptime_kuma::{FileUptimeKuma, UptimeKumaConfig};
use super::value_types::{humantime_serde_compat, Cidr, RawDuration};
use super::weather::{FileWeather, WeatherConfig};
use super::{
    access, containers, forgejo, host, limits, metrics, notices, notify, peers, services,
    uptime_kuma, weather,
};
use crate::error::StartupError;

/// The configuration file as a person writes it: every key optional, unknown keys
/// rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub bind: Option<String>,
    pub host: Option<FileHost>,
    pub metrics: Option<FileMetrics>,
    pub weather: Option<FileWeather>,
    pub forgejo: Option<FileForgejo>,
    pub services_interval: Option<RawDuration>,
    pub services: Option<Vec<FileService>>,
    pub peers: Option<Vec<FilePeer>>,
    pub stream: Option<FileStream>,
    pub limits: Option<FileLimits>,
    pub trusted_proxies: Option<Vec<String>>,
    pub state_dir: Option<PathBuf>,
    pub uptime_kuma: Option<FileUptimeKuma>,
    pub access: Option<FileAccess>,
    pub containers: Option<Vec<FileContainer>>,
    pub timezone: Option<String>,
    pub notify: Option<Vec<FileNotify>>,
    pub notices: Option<Vec<FileNotice>>,
}

/// The effective, validated configuration. `Serialize` prints it for `check-config`
/// (the token serialises masked).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Config {
    pub bind: SocketAddr,
    pub host: HostConfig,
    pub metrics: MetricsConfig,
    pub weather: WeatherConfig,
    pub forgejo: ForgejoConfig,
    #[serde(with = "humantime_serde_compat")]
    pub services_interval: Duration,
    pub services: Vec<Service>,
    pub peers: Vec<Peer>,
    pub stream: StreamConfig,
    pub limits: LimitsConfig,
    pub trusted_proxies: Vec<Cidr>,
    /// Where the service history is kept across restarts; `None`: memory only.
    pub state_dir: Option<PathBuf>,
    /// The Uptime Kuma status page read for service status; `None`: own probes only.
    pub uptime_kuma: Option<UptimeKumaConfig>,
    pub access: AccessConfig,
    pub containers: Vec<ContainerRule>,
    /// The page's time zone as configured (`None`: the host's); resolved and checked
    /// against the host's zoneinfo when the configuration is built.
    pub timezone: Option<String>,
    /// Where service status changes are sent.
    pub notify: Vec<NotifyTarget>,
    /// The owner's `[[notices]]`, times in UTC.
    pub notices: Vec<NoticeConfig>,
}

impl Config {
    /// The effective configuration as pretty JSON, secrets masked (for `check-config`).
    pub(crate) fn to_pretty_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("(cannot print: {e})"))
    }

    /// Whether a peer address is one whose forwarding headers we believe.
    pub(crate) fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|c| c.contains(ip))
    }
}

/// Merges flags/environment over the file and validates everything.
pub fn build(o: &Overrides, file: FileConfig) -> Result<Config, StartupError> {
    let bind = bind(o, file.bind)?;
    let host = host::host(o, file.host.unwrap_or_default())?;
    let metrics = metrics::metrics(file.metrics.unwrap_or_default())?;
    let weather = weather::weather(o, file.weather.unwrap_or_default())?;
    let forgejo = forgejo::forgejo(o, file.forgejo.unwrap_or_default())?;
    let services_interval = services::services_interval(file.services_interval)?;
    let services = services::services(file.services)?;
    let peers = peers::peers(file.peers)?;
    let stream = limits::stream(file.stream.unwrap_or_default())?;
    let limits = limits::limits(file.limits.unwrap_or_default())?;
    let trusted_proxies = access::trusted_proxies(file.trusted_proxies)?;
    let access = access::access(file.access.unwrap_or_default())?;
    let state_dir = state_dir(o, file.state_dir)?;
    let uptime_kuma = uptime_kuma::uptime_kuma(file.uptime_kuma)?;
    let containers = containers::containers(file.containers, &services)?;
    let timezone = timezone(o, file.timezone, &host.root)?;
    let notify = notify::targets(file.notify)?;
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
    use crate::config::limits::DEFAULT_MAX_CONNECTIONS;
    use crate::config::parse_toml;

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
