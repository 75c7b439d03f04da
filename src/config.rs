//! Configuration: the command line (every flag with its environment twin), the optional
//! TOML file, and the validated [`Config`] the rest of the program runs on.
//!
//! Two stages, as in DESIGN.md: raw inputs ([`Cli`], [`FileConfig`]) are merged with the
//! precedence *flag > environment > file > default* and then validated into real types.
//! Every validation error names the key and quotes the value.

use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::{Deserialize, Serialize};

use crate::error::StartupError;

/// Largest configuration file accepted (a config is a few KiB; anything bigger is a mistake).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// Largest token file accepted.
const MAX_TOKEN_BYTES: u64 = 64 << 10;
/// Shortest interval or refresh accepted anywhere.
pub const MIN_INTERVAL: Duration = Duration::from_millis(250);

/// One small binary that is the whole public front door of a self-hosted homelab.
#[derive(Debug, Parser)]
#[command(name = "kiteportal", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub overrides: Overrides,
}

/// What to do; `serve` when none is given.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Load and validate the configuration, print it with secrets masked, exit 0 or 2.
    CheckConfig,
    /// GET a URL (default: /api/health on the configured bind address); exit 0 only on 200.
    Healthcheck {
        /// URL to check.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

/// Flags that override the file; each one also reads its environment variable.
#[derive(Debug, Default, Clone, Args)]
pub struct Overrides {
    /// Configuration file (TOML). Optional: built-in defaults run a complete preview.
    #[arg(long, global = true, env = "KITEPORTAL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, global = true, env = "KITEPORTAL_BIND", value_name = "ADDR")]
    pub bind: Option<String>,
    /// Where the host's procfs is mounted [default: /proc].
    #[arg(long, global = true, env = "HOST_PROC", value_name = "DIR")]
    pub host_proc: Option<PathBuf>,
    /// Where the host's sysfs is mounted [default: /sys].
    #[arg(long, global = true, env = "HOST_SYS", value_name = "DIR")]
    pub host_sys: Option<PathBuf>,
    /// Where the host's root filesystem is mounted [default: /].
    #[arg(long, global = true, env = "HOST_ROOT", value_name = "DIR")]
    pub host_root: Option<PathBuf>,
    /// Where the host's cgroup v2 hierarchy is mounted [default: <host.sys>/fs/cgroup].
    #[arg(long, global = true, env = "HOST_CGROUP", value_name = "DIR")]
    pub host_cgroup: Option<PathBuf>,
    /// Name this replica reports (X-Served-By, /api/hosts) [default: the hostname].
    #[arg(long, global = true, env = "KITEPORTAL_HOSTNAME", value_name = "NAME")]
    pub hostname: Option<String>,
    /// Weather service base URL [default: https://wttr.in].
    #[arg(
        long,
        global = true,
        env = "KITEPORTAL_WEATHER_URL",
        value_name = "URL"
    )]
    pub weather_url: Option<String>,
    /// Weather location; empty means the server's own IP location.
    #[arg(
        long,
        global = true,
        env = "KITEPORTAL_WEATHER_LOCATION",
        value_name = "PLACE"
    )]
    pub weather_location: Option<String>,
    /// Forgejo base URL; unset disables the activity feed.
    #[arg(
        long,
        global = true,
        env = "KITEPORTAL_FORGEJO_URL",
        value_name = "URL"
    )]
    pub forgejo_url: Option<String>,
    /// File holding the Forgejo token (Docker secret). The token itself is read only from
    /// the environment (KITEPORTAL_FORGEJO_TOKEN) or the file, never from a flag, because
    /// flags are visible to every user in the process list.
    #[arg(
        long,
        global = true,
        env = "KITEPORTAL_FORGEJO_TOKEN_FILE",
        value_name = "FILE"
    )]
    pub forgejo_token_file: Option<PathBuf>,
    /// Refused: a token on the command line is visible to every user in `ps`. Parsed only
    /// so that using it gets an error that says where the token goes instead.
    #[arg(
        long = "forgejo-token",
        global = true,
        hide = true,
        num_args = 0..=1,
        default_missing_value = "",
        value_name = "TOKEN"
    )]
    pub forgejo_token_flag: Option<String>,
    /// The Forgejo token from the environment (`KITEPORTAL_FORGEJO_TOKEN`); there is no flag.
    #[arg(skip = std::env::var("KITEPORTAL_FORGEJO_TOKEN").ok())]
    pub forgejo_token: Option<String>,
    /// Directory for state kept across restarts (the service history); unset keeps it
    /// in memory only.
    #[arg(long, global = true, env = "KITEPORTAL_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

// ---------------------------------------------------------------------------------------
// The file, as written by a person: every key optional, unknown keys rejected.

/// A duration as written: seconds as a number, or a humantime string ("500ms", "2s", "30m").
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawDuration {
    Seconds(f64),
    Text(String),
}

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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUptimeKuma {
    pub url: Option<String>,
    pub slug: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAccess {
    pub private_networks: Option<Vec<String>>,
    pub public_metrics: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileHost {
    pub proc: Option<PathBuf>,
    pub sys: Option<PathBuf>,
    pub root: Option<PathBuf>,
    pub name: Option<String>,
    pub cgroup: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMetrics {
    pub interval: Option<RawDuration>,
    pub history: Option<RawDuration>,
    pub net_exclude: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWeather {
    pub url: Option<String>,
    pub location: Option<String>,
    pub refresh: Option<RawDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileForgejo {
    pub url: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    pub limit: Option<i64>,
    pub refresh: Option<RawDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileService {
    pub name: String,
    pub url: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub group: Option<String>,
    pub check_url: Option<String>,
    pub accept_status: Option<Vec<u16>>,
    pub uptime_kuma: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePeer {
    pub name: String,
    pub url: String,
}

/// `[[containers]]`: the owner's name for a container.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileContainer {
    #[serde(rename = "match")]
    pub matches: String,
    pub name: String,
    pub service: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStream {
    pub max_clients: Option<i64>,
    pub heartbeat: Option<RawDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    pub max_connections: Option<i64>,
}

// ---------------------------------------------------------------------------------------
// The validated configuration.

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
}

/// A published Uptime Kuma status page.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UptimeKumaConfig {
    pub url: HttpUrl,
    pub slug: String,
}

/// Who counts as the owner ("Who sees what" in DESIGN.md).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AccessConfig {
    /// Client networks that get the private view (detail, internals, `/metrics`).
    pub private_networks: Vec<Cidr>,
    /// Whether `/metrics` answers public clients too.
    pub public_metrics: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HostConfig {
    pub proc: PathBuf,
    pub sys: PathBuf,
    pub root: PathBuf,
    pub name: String,
    /// The cgroup v2 hierarchy containers are read from.
    pub cgroup: PathBuf,
}

/// The owner's name for the containers a rule matches (`[[containers]]`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ContainerRule {
    /// A prefix of the container id, or text that appears in its first process's
    /// command line.
    #[serde(rename = "match")]
    pub matches: String,
    pub name: String,
    /// The `[[services]]` entry (by name) whose card shows this container's OOM kills.
    pub service: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MetricsConfig {
    #[serde(with = "humantime_serde_compat")]
    pub interval: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub history: Duration,
    pub net_exclude: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WeatherConfig {
    pub url: HttpUrl,
    pub location: String,
    #[serde(with = "humantime_serde_compat")]
    pub refresh: Duration,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ForgejoConfig {
    /// `None` disables the activity feed.
    pub url: Option<HttpUrl>,
    pub token: Option<Secret>,
    pub limit: usize,
    #[serde(with = "humantime_serde_compat")]
    pub refresh: Duration,
}

/// One linked service on the portal, probed by the service checker.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Service {
    pub name: String,
    pub url: HttpUrl,
    pub description: String,
    pub icon: String,
    pub group: String,
    pub check_url: Option<HttpUrl>,
    /// Statuses that count as "up"; empty means any status below 400.
    pub accept_status: Vec<u16>,
    /// The Uptime Kuma monitor name to match; `None`: the service's name.
    pub uptime_kuma: Option<String>,
}

/// The other replica(s), reached over the private network.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Peer {
    pub name: String,
    pub url: HttpUrl,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StreamConfig {
    pub max_clients: usize,
    /// The keep-alive comment's period: under Cloudflare's 100 s idle limit, and the
    /// time within which a closed or stuck client's slot is found and freed.
    #[serde(with = "humantime_serde_compat")]
    pub heartbeat: Duration,
}

/// Default of `limits.max_connections`: with this many idle connections open and
/// `stream.max_clients` event streams, resident memory stays under 48 MiB, inside the
/// compose file's 64 MiB limit with a margin (measured by `bench/growth`, recorded in
/// docs/BENCHMARKS.md).
pub const DEFAULT_MAX_CONNECTIONS: usize = 2048;
/// Upper bound of `limits.max_connections`.
pub const MAX_MAX_CONNECTIONS: i64 = 65_536;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LimitsConfig {
    /// Open connections across all workers; beyond it the server stops accepting (new
    /// connections wait in the kernel's backlog) until one closes.
    pub max_connections: usize,
}

/// A secret that never prints: `Debug`, `Display` and `Serialize` all mask it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }
    /// The secret itself, for the one place that must send it (an HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"********\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("********")
    }
}

/// An absolute http(s) URL, checked at load time. Stored as text without a trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct HttpUrl(String);

impl HttpUrl {
    /// Parses `value` for the key `key`; the error names both.
    pub fn parse(key: &str, value: &str) -> Result<Self, StartupError> {
        let v = Self::check(value).map_err(|why| StartupError::config(key, value, why))?;
        Ok(HttpUrl(v.trim_end_matches('/').to_string()))
    }

    /// The one rule for a link we follow or put in an `href` (configured or from an
    /// upstream): absolute `http://` or `https://` with a host, no credentials, no white
    /// space or control characters, at most 2048 characters. Gives the trimmed text, or
    /// why not.
    pub fn check(value: &str) -> Result<&str, &'static str> {
        let v = value.trim();
        if v.len() > 2048 {
            return Err("is longer than 2048 characters");
        }
        if v.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("contains spaces or control characters");
        }
        let uri: ureq::http::Uri = v.parse().map_err(|_| "is not a URL")?;
        if !matches!(uri.scheme_str(), Some("http") | Some("https")) {
            return Err("is not an http:// or https:// URL");
        }
        let Some(authority) = uri.authority() else {
            return Err("has no host");
        };
        if authority.as_str().contains('@') {
            return Err("must not carry credentials (user:password@)");
        }
        if authority.host().is_empty() {
            return Err("has no host");
        }
        Ok(v)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// This URL with `path` appended (`path` starts with `/`).
    pub fn join(&self, path: &str) -> String {
        format!("{}{}", self.0, path)
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IP network in CIDR form (`10.0.0.0/8`, `::1/128`); a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(key: &str, value: &str) -> Result<Self, StartupError> {
        let bad = |why: &str| StartupError::config(key, value, why);
        let (a, p) = match value.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (value, None),
        };
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| bad("is not an IP address or CIDR"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| bad("has a prefix length out of range"))?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }

    /// Whether `ip` lies in this network (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Prints durations the way they are written in the file ("2s", "30m").
mod humantime_serde_compat {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*d))
    }
}

// ---------------------------------------------------------------------------------------
// Defaults.

/// The default trusted proxies: loopback and the private ranges (cloudflared on the
/// bridge network, Tailscale's CGNAT range, IPv6 unique-local).
pub const DEFAULT_TRUSTED_PROXIES: &[&str] = &[
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
];

pub const DEFAULT_NET_EXCLUDE: &[&str] = &["lo", "veth*", "docker*", "br-*", "virbr*"];

/// The nine public KiteStacks services: (name, url, description, icon, group, check_url).
/// (name, url, description, icon, group, check_url)
type ServiceRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);

pub const DEFAULT_SERVICES: &[ServiceRow] = &[
    (
        "Portal",
        "https://kitestacks.com",
        "This page: live state of the homelab",
        "portal",
        "Core",
        Some("https://kitestacks.com/api/health"),
    ),
    (
        "Authentik",
        "https://auth.kitestacks.com",
        "Single sign-on for every service",
        "authentik",
        "Core",
        Some("https://auth.kitestacks.com/-/health/live/"),
    ),
    (
        "Forgejo",
        "https://git.kitestacks.com",
        "Git hosting for the homelab's code",
        "forgejo",
        "Core",
        Some("https://git.kitestacks.com/api/healthz"),
    ),
    (
        "OpenProject",
        "https://projects.kitestacks.com",
        "Tasks and project planning",
        "openproject",
        "Work",
        Some("https://projects.kitestacks.com/health_checks/default"),
    ),
    (
        "Open WebUI",
        "https://chat.kitestacks.com",
        "Chat with AI models",
        "openwebui",
        "Work",
        Some("https://chat.kitestacks.com/health"),
    ),
    (
        "Karakeep",
        "https://bookmarks.kitestacks.com",
        "Bookmarks and read-it-later",
        "karakeep",
        "Library",
        Some("https://bookmarks.kitestacks.com/api/health"),
    ),
    (
        "Kavita",
        "https://books.kitestacks.com",
        "eBooks and manga library",
        "kavita",
        "Library",
        Some("https://books.kitestacks.com/api/health"),
    ),
    (
        "Grafana",
        "https://grafana.kitestacks.com",
        "Dashboards for both hosts",
        "grafana",
        "Ops",
        Some("https://grafana.kitestacks.com/api/health"),
    ),
    (
        "Uptime Kuma",
        "https://status.kitestacks.com",
        "Status page and alerts",
        "uptimekuma",
        "Ops",
        None,
    ),
];

/// Every configuration key, as documented in the README's table (a test keeps them equal).
pub const KEYS: &[&str] = &[
    "bind",
    "host.proc",
    "host.sys",
    "host.root",
    "host.name",
    "host.cgroup",
    "metrics.interval",
    "metrics.history",
    "metrics.net_exclude",
    "weather.url",
    "weather.location",
    "weather.refresh",
    "forgejo.url",
    "forgejo.token",
    "forgejo.token_file",
    "forgejo.limit",
    "forgejo.refresh",
    "services_interval",
    "services",
    "peers",
    "stream.max_clients",
    "stream.heartbeat",
    "limits.max_connections",
    "trusted_proxies",
    "state_dir",
    "uptime_kuma.url",
    "uptime_kuma.slug",
    "access.private_networks",
    "access.public_metrics",
    "containers",
];

// ---------------------------------------------------------------------------------------
// Loading.

/// Reads the TOML file (if any), merges flags and environment over it, validates.
pub fn load(overrides: &Overrides) -> Result<Config, StartupError> {
    let file = match &overrides.config {
        Some(path) => read_file(path)?,
        None => FileConfig::default(),
    };
    build(overrides, file)
}

/// Reads and parses one config file; the error names the file and the key.
pub fn read_file(path: &Path) -> Result<FileConfig, StartupError> {
    let text = read_bounded(path, MAX_CONFIG_BYTES)
        .map_err(|why| StartupError::new(format!("config file '{}': {why}", path.display())))?;
    parse_toml(&text)
        .map_err(|why| StartupError::new(format!("config file '{}': {why}", path.display())))
}

/// Parses the TOML text of a config file.
pub fn parse_toml(text: &str) -> Result<FileConfig, String> {
    toml::from_str(text).map_err(|e| {
        // toml's message already names the key ("unknown field `x`", "invalid type").
        e.to_string().trim().replace('\n', "\n  ")
    })
}

fn read_bounded(path: &Path, max: u64) -> Result<String, String> {
    read_bounded_from(std::fs::File::open(path), max)
}

/// Like [`read_bounded`] for a file that must be a regular file (the token file): a FIFO
/// there would block start-up until something writes to it.
fn read_regular_bounded(path: &Path, max: u64) -> Result<String, String> {
    read_bounded_from(
        crate::files::open_regular(path).map_err(|e| {
            // open_regular names the path; the key and value are named by the caller.
            let msg = e.to_string();
            let why = msg
                .strip_prefix(&format!("{}: ", path.display()))
                .unwrap_or(&msg)
                .to_string();
            std::io::Error::new(e.kind(), why)
        }),
        max,
    )
}

fn read_bounded_from(f: std::io::Result<std::fs::File>, max: u64) -> Result<String, String> {
    use std::io::Read;
    let f = f.map_err(|e| format!("cannot be read: {e}"))?;
    let mut text = String::new();
    f.take(max + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot be read: {e}"))?;
    if text.len() as u64 > max {
        return Err(format!("is larger than {} KiB", max >> 10));
    }
    Ok(text)
}

fn duration(
    key: &str,
    raw: Option<RawDuration>,
    default: Duration,
    min: Duration,
) -> Result<Duration, StartupError> {
    let (d, shown) = match raw {
        None => return Ok(default),
        Some(RawDuration::Seconds(s)) => {
            if !s.is_finite() || !(0.0..=1e9).contains(&s) {
                return Err(StartupError::config(
                    key,
                    &s.to_string(),
                    "is not a duration in seconds",
                ));
            }
            (Duration::from_secs_f64(s), s.to_string())
        }
        Some(RawDuration::Text(t)) => (parse_duration(key, &t)?, t),
    };
    if d < min {
        return Err(StartupError::config(
            key,
            &shown,
            &format!(
                "is shorter than the minimum of {}",
                humantime::format_duration(min)
            ),
        ));
    }
    Ok(d)
}

/// Parses "500ms", "2s", "30m", "1h 30m" or a bare number of seconds ("2", "0.5").
pub fn parse_duration(key: &str, text: &str) -> Result<Duration, StartupError> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && (0.0..=1e9).contains(&secs) {
            return Ok(Duration::from_secs_f64(secs));
        }
    }
    humantime::parse_duration(t).map_err(|_| {
        StartupError::config(
            key,
            text,
            "is not a duration (use e.g. \"500ms\", \"2s\", \"30m\")",
        )
    })
}

fn non_empty(key: &str, value: &str) -> Result<String, StartupError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(StartupError::config(key, value, "must not be empty"));
    }
    if v.len() > 200 || v.chars().any(char::is_control) {
        return Err(StartupError::config(
            key,
            value,
            "must be at most 200 printable characters",
        ));
    }
    Ok(v.to_string())
}

fn parse_bind(key: &str, value: &str) -> Result<SocketAddr, StartupError> {
    if let Ok(addr) = value.trim().parse::<SocketAddr>() {
        return Ok(addr);
    }
    // "localhost:8080" and similar: resolve once, locally.
    if value.contains(':') && !value.contains('/') {
        if let Some(addr) = value
            .trim()
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
        {
            return Ok(addr);
        }
    }
    Err(StartupError::config(
        key,
        value,
        "is not an address:port (e.g. \"0.0.0.0:8080\")",
    ))
}

/// The machine's hostname (`/proc/sys/kernel/hostname` via uname), or "kiteportal".
fn system_hostname() -> String {
    let uts = rustix::system::uname();
    let name = uts.nodename().to_string_lossy().trim().to_string();
    if name.is_empty() {
        "kiteportal".to_string()
    } else {
        name
    }
}

/// Merges flags/environment over the file and validates everything.
pub fn build(o: &Overrides, file: FileConfig) -> Result<Config, StartupError> {
    let fh = file.host.unwrap_or_default();
    let fm = file.metrics.unwrap_or_default();
    let fw = file.weather.unwrap_or_default();
    let ff = file.forgejo.unwrap_or_default();
    let fs = file.stream.unwrap_or_default();
    let fl = file.limits.unwrap_or_default();

    let bind_raw = o
        .bind
        .clone()
        .or(file.bind)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let bind = parse_bind("bind", &bind_raw)?;

    let path = |key: &str,
                flag: &Option<PathBuf>,
                f: Option<PathBuf>,
                def: &str|
     -> Result<PathBuf, StartupError> {
        let p = flag.clone().or(f).unwrap_or_else(|| PathBuf::from(def));
        if p.as_os_str().is_empty() {
            return Err(StartupError::config(key, "", "must not be empty"));
        }
        Ok(p)
    };
    let sys = path("host.sys", &o.host_sys, fh.sys, "/sys")?;
    // The default follows host.sys, so HOST_SYS=/host/sys alone also finds the host's
    // cgroups.
    let default_cgroup = sys.join("fs/cgroup");
    let host = HostConfig {
        proc: path("host.proc", &o.host_proc, fh.proc, "/proc")?,
        root: path("host.root", &o.host_root, fh.root, "/")?,
        name: match o.hostname.clone().or(fh.name) {
            Some(n) => non_empty("host.name", &n)?,
            None => system_hostname(),
        },
        cgroup: path(
            "host.cgroup",
            &o.host_cgroup,
            fh.cgroup,
            &default_cgroup.to_string_lossy(),
        )?,
        sys,
    };

    let interval = duration(
        "metrics.interval",
        fm.interval,
        Duration::from_secs(2),
        MIN_INTERVAL,
    )?;
    let history = duration(
        "metrics.history",
        fm.history,
        Duration::from_secs(600),
        MIN_INTERVAL,
    )?;
    if history < interval {
        return Err(StartupError::config(
            "metrics.history",
            &humantime::format_duration(history).to_string(),
            "is shorter than metrics.interval",
        ));
    }
    if history.as_secs_f64() / interval.as_secs_f64() > 100_000.0 {
        return Err(StartupError::config(
            "metrics.history",
            &humantime::format_duration(history).to_string(),
            "holds more than 100000 samples at this metrics.interval",
        ));
    }
    let net_exclude = match fm.net_exclude {
        Some(list) => {
            for g in &list {
                if g.is_empty() || g.len() > 64 {
                    return Err(StartupError::config(
                        "metrics.net_exclude",
                        g,
                        "is not an interface name pattern",
                    ));
                }
            }
            list
        }
        None => DEFAULT_NET_EXCLUDE.iter().map(|s| s.to_string()).collect(),
    };

    let weather_url_raw = o
        .weather_url
        .clone()
        .or(fw.url)
        .unwrap_or_else(|| "https://wttr.in".into());
    let weather = WeatherConfig {
        url: HttpUrl::parse("weather.url", &weather_url_raw)?,
        location: {
            let l = o
                .weather_location
                .clone()
                .or(fw.location)
                .unwrap_or_default();
            if l.len() > 200 || l.chars().any(char::is_control) {
                return Err(StartupError::config(
                    "weather.location",
                    &l,
                    "must be at most 200 printable characters",
                ));
            }
            l.trim().to_string()
        },
        refresh: duration(
            "weather.refresh",
            fw.refresh,
            Duration::from_secs(1800),
            MIN_INTERVAL,
        )?,
    };

    let forgejo_url = match o.forgejo_url.clone().or(ff.url) {
        Some(u) if u.trim().is_empty() => None,
        Some(u) => Some(HttpUrl::parse("forgejo.url", &u)?),
        None => None,
    };
    if o.forgejo_token_flag.is_some() {
        return Err(StartupError::new(
            "--forgejo-token is not accepted: a token on the command line shows in `ps`; \
set KITEPORTAL_FORGEJO_TOKEN or forgejo.token_file (--forgejo-token-file)",
        ));
    }
    if ff.token.is_some() && ff.token_file.is_some() {
        return Err(StartupError::config(
            "forgejo.token",
            "********",
            "is set together with forgejo.token_file; use one",
        ));
    }
    let token = if let Some(t) = o.forgejo_token.clone().filter(|t| !t.is_empty()) {
        Some(check_token("KITEPORTAL_FORGEJO_TOKEN", t)?)
    } else if let Some(p) = o.forgejo_token_file.clone().or(ff.token_file) {
        let text = read_regular_bounded(&p, MAX_TOKEN_BYTES).map_err(|why| {
            StartupError::config("forgejo.token_file", &p.display().to_string(), &why)
        })?;
        Some(check_token("forgejo.token_file", text.trim().to_string())?)
    } else if let Some(t) = ff.token {
        Some(check_token("forgejo.token", t)?)
    } else {
        None
    };
    let limit = match ff.limit {
        None => 10,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(n) => {
            return Err(StartupError::config(
                "forgejo.limit",
                &n.to_string(),
                "must be between 1 and 100",
            ))
        }
    };
    let forgejo = ForgejoConfig {
        url: forgejo_url,
        token,
        limit,
        refresh: duration(
            "forgejo.refresh",
            ff.refresh,
            Duration::from_secs(300),
            MIN_INTERVAL,
        )?,
    };

    let services_interval = duration(
        "services_interval",
        file.services_interval,
        Duration::from_secs(30),
        MIN_INTERVAL,
    )?;
    let services = match file.services {
        None => default_services(),
        Some(list) => list
            .into_iter()
            .enumerate()
            .map(|(i, s)| service(i, s))
            .collect::<Result<Vec<_>, _>>()?,
    };
    if services.len() > 200 {
        return Err(StartupError::config(
            "services",
            &services.len().to_string(),
            "lists more than 200 services",
        ));
    }
    let peers = file
        .peers
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            Ok(Peer {
                name: non_empty(&format!("peers[{i}].name"), &p.name)?,
                url: HttpUrl::parse(&format!("peers[{i}].url"), &p.url)?,
            })
        })
        .collect::<Result<Vec<_>, StartupError>>()?;
    if peers.len() > 16 {
        return Err(StartupError::config(
            "peers",
            &peers.len().to_string(),
            "lists more than 16 peers",
        ));
    }

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

    let trusted_proxies = match file.trusted_proxies {
        None => DEFAULT_TRUSTED_PROXIES
            .iter()
            .map(|c| Cidr::parse("trusted_proxies", c))
            .collect::<Result<_, _>>()?,
        Some(list) => list
            .iter()
            .map(|c| Cidr::parse("trusted_proxies", c))
            .collect::<Result<_, _>>()?,
    };
    let access = access(file.access.unwrap_or_default())?;

    let state_dir = match o.state_dir.clone().or(file.state_dir) {
        Some(p) if p.as_os_str().is_empty() => None,
        Some(p) if p.to_string_lossy().chars().any(char::is_control) => {
            return Err(StartupError::config(
                "state_dir",
                &p.to_string_lossy(),
                "contains control characters",
            ))
        }
        other => other,
    };
    let uptime_kuma = match file.uptime_kuma {
        None => None,
        Some(FileUptimeKuma {
            url: None,
            slug: None,
        }) => None,
        Some(FileUptimeKuma { url: None, .. }) => {
            return Err(StartupError::config(
                "uptime_kuma.url",
                "",
                "is required when uptime_kuma.slug is set",
            ))
        }
        Some(FileUptimeKuma { slug: None, .. }) => {
            return Err(StartupError::config(
                "uptime_kuma.slug",
                "",
                "is required when uptime_kuma.url is set",
            ))
        }
        Some(FileUptimeKuma {
            url: Some(url),
            slug: Some(slug),
        }) => {
            let ok = (1..=64).contains(&slug.len())
                && slug
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                return Err(StartupError::config(
                    "uptime_kuma.slug",
                    &slug,
                    "must be 1-64 letters, digits, '-' or '_'",
                ));
            }
            Some(UptimeKumaConfig {
                url: HttpUrl::parse("uptime_kuma.url", &url)?,
                slug,
            })
        }
    };

    let containers = file
        .containers
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, c)| container_rule(i, c, &services))
        .collect::<Result<Vec<_>, _>>()?;
    if containers.len() > 500 {
        return Err(StartupError::config(
            "containers",
            &containers.len().to_string(),
            "lists more than 500 containers",
        ));
    }

    Ok(Config {
        bind,
        host,
        metrics: MetricsConfig {
            interval,
            history,
            net_exclude,
        },
        weather,
        forgejo,
        services_interval,
        services,
        peers,
        stream: StreamConfig {
            max_clients,
            heartbeat,
        },
        limits: LimitsConfig { max_connections },
        trusted_proxies,
        state_dir,
        uptime_kuma,
        access,
        containers,
    })
}

/// Loopback and the Tailscale (CGNAT) range: the owner's own machine and tailnet.
pub const DEFAULT_PRIVATE_NETWORKS: &[&str] = &["127.0.0.0/8", "::1/128", "100.64.0.0/10"];

fn access(fa: FileAccess) -> Result<AccessConfig, StartupError> {
    let key = "access.private_networks";
    let private_networks = match fa.private_networks {
        None => DEFAULT_PRIVATE_NETWORKS
            .iter()
            .map(|c| Cidr::parse(key, c))
            .collect::<Result<_, _>>()?,
        Some(list) if list.len() > 256 => {
            return Err(StartupError::config(
                key,
                &list.len().to_string(),
                "lists more than 256 networks",
            ))
        }
        Some(list) => list
            .iter()
            .map(|c| Cidr::parse(key, c))
            .collect::<Result<_, _>>()?,
    };
    Ok(AccessConfig {
        private_networks,
        public_metrics: fa.public_metrics.unwrap_or(false),
    })
}

fn container_rule(
    i: usize,
    c: FileContainer,
    services: &[Service],
) -> Result<ContainerRule, StartupError> {
    let k = |f: &str| format!("containers[{i}].{f}");
    let service = match c.service {
        Some(s) if !services.iter().any(|x| x.name == s.trim()) => {
            return Err(StartupError::config(
                &k("service"),
                &s,
                "names no [[services]] entry",
            ))
        }
        Some(s) => Some(s.trim().to_string()),
        None => None,
    };
    Ok(ContainerRule {
        matches: non_empty(&k("match"), &c.matches)?,
        name: non_empty(&k("name"), &c.name)?,
        service,
    })
}

fn check_token(key: &str, t: String) -> Result<Secret, StartupError> {
    if t.is_empty() {
        return Err(StartupError::config(key, "", "is empty"));
    }
    // The token goes into an HTTP header: it must be visible ASCII, no spaces.
    if t.len() > 4096 || !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(StartupError::config(
            key,
            "********",
            "must be printable ASCII without spaces",
        ));
    }
    Ok(Secret(t))
}

fn service(i: usize, s: FileService) -> Result<Service, StartupError> {
    let k = |f: &str| format!("services[{i}].{f}");
    let opt = |f: &str, v: Option<String>| -> Result<String, StartupError> {
        match v {
            Some(v) if v.len() > 300 || v.chars().any(char::is_control) => Err(
                StartupError::config(&k(f), &v, "must be at most 300 printable characters"),
            ),
            Some(v) => Ok(v.trim().to_string()),
            None => Ok(String::new()),
        }
    };
    let accept_status = s.accept_status.unwrap_or_default();
    if let Some(bad) = accept_status.iter().find(|c| !(100..=599).contains(*c)) {
        return Err(StartupError::config(
            &k("accept_status"),
            &bad.to_string(),
            "is not an HTTP status",
        ));
    }
    Ok(Service {
        name: non_empty(&k("name"), &s.name)?,
        url: HttpUrl::parse(&k("url"), &s.url)?,
        description: opt("description", s.description)?,
        icon: opt("icon", s.icon)?,
        group: opt("group", s.group)?,
        check_url: s
            .check_url
            .map(|u| HttpUrl::parse(&k("check_url"), &u))
            .transpose()?,
        accept_status,
        uptime_kuma: s
            .uptime_kuma
            .map(|n| non_empty(&k("uptime_kuma"), &n))
            .transpose()?,
    })
}

/// The nine KiteStacks services, as the portal lists them with no config file.
pub fn default_services() -> Vec<Service> {
    DEFAULT_SERVICES
        .iter()
        .map(|(name, url, description, icon, group, check)| Service {
            name: name.to_string(),
            url: HttpUrl(url.to_string()),
            description: description.to_string(),
            icon: icon.to_string(),
            group: group.to_string(),
            check_url: check.map(|c| HttpUrl(c.to_string())),
            accept_status: Vec::new(),
            uptime_kuma: None,
        })
        .collect()
}

impl Config {
    /// The effective configuration as pretty JSON, secrets masked (for `check-config`).
    pub fn to_pretty_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("(cannot print: {e})"))
    }

    /// Whether a peer address is one whose forwarding headers we believe.
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|c| c.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn unknown_keys_fail_and_are_named() {
        for (toml, key) in [
            ("colour = 1", "colour"),
            ("[metrics]\nintervall = \"2s\"", "intervall"),
            (
                "[[services]]\nname = \"a\"\nurl = \"https://a\"\nlink = \"x\"",
                "link",
            ),
            (
                "[[containers]]\nmatch = \"a\"\nname = \"b\"\nlabel = \"x\"",
                "label",
            ),
        ] {
            let err = parse_toml(toml).unwrap_err();
            assert!(err.contains(key), "{err}");
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
    fn token_file_is_read_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        std::fs::write(&p, "s3cr3t-token\n").unwrap();
        let f = parse_toml(&format!(
            "[forgejo]\nurl = \"https://git.example\"\ntoken_file = {:?}",
            p
        ))
        .unwrap();
        let c = build(&Overrides::default(), f).unwrap();
        assert_eq!(c.forgejo.token.as_ref().unwrap().expose(), "s3cr3t-token");
        let shown = format!("{} {:?}", c.to_pretty_json(), c);
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("********"));
    }

    /// The field names serde expects in a table, read from its "unknown field" message.
    fn fields_of(section: Option<&str>) -> Vec<String> {
        let toml = match section {
            Some(s) => format!("[{s}]\nzz_unknown = 1"),
            None => "zz_unknown = 1".into(),
        };
        let err = parse_toml(&toml).unwrap_err();
        let expected = err.split("expected").nth(1).unwrap_or("");
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn keys_list_matches_the_file_format() {
        let mut keys = Vec::new();
        for top in fields_of(None) {
            if [
                "host",
                "metrics",
                "weather",
                "forgejo",
                "stream",
                "limits",
                "uptime_kuma",
                "access",
            ]
            .contains(&top.as_str())
            {
                for f in fields_of(Some(&top)) {
                    keys.push(format!("{top}.{f}"));
                }
            } else {
                keys.push(top);
            }
        }
        keys.sort();
        let mut documented: Vec<String> = KEYS.iter().map(|k| k.to_string()).collect();
        documented.sort();
        assert_eq!(keys, documented);
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

    #[test]
    fn cidr_contains() {
        let c = Cidr::parse("k", "10.0.0.0/8").unwrap();
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(c.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        let all = Cidr::parse("k", "0.0.0.0/0").unwrap();
        assert!(all.contains("1.2.3.4".parse().unwrap()));
        let v6 = Cidr::parse("k", "fc00::/7").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
    }
}
