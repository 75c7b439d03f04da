//! The validated configuration: [`Config`] and its sections, in real types, as the rest
//! of the program reads them (and `check-config` prints them).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::notices::NoticeConfig;
use super::value_types::{humantime_serde_compat, Cidr};

/// The effective, validated configuration. `Serialize` prints it for `check-config`
/// (the token serialises masked).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Config {
    pub bind: SocketAddr,
    pub host: super::host::HostConfig,
    pub metrics: super::metrics::MetricsConfig,
    pub weather: super::weather::WeatherConfig,
    pub forgejo: super::forgejo::ForgejoConfig,
    #[serde(with = "humantime_serde_compat")]
    pub services_interval: Duration,
    pub services: Vec<super::services::Service>,
    pub peers: Vec<super::peers::Peer>,
    pub stream: StreamConfig,
    pub limits: LimitsConfig,
    pub trusted_proxies: Vec<Cidr>,
    /// Where the service history is kept across restarts; `None`: memory only.
    pub state_dir: Option<PathBuf>,
    /// The Uptime Kuma status page read for service status; `None`: own probes only.
    pub uptime_kuma: Option<super::uptime_kuma::UptimeKumaConfig>,
    pub access: AccessConfig,
    pub containers: Vec<super::containers::ContainerRule>,
    /// The page's time zone as configured (`None`: the host's); resolved and checked
    /// against the host's zoneinfo when the configuration is built.
    pub timezone: Option<String>,
    /// Where service status changes are sent.
    pub notify: Vec<super::notify::NotifyTarget>,
    /// The owner's `[[notices]]`, times in UTC.
    pub notices: Vec<NoticeConfig>,
}

/// Who counts as the owner ("Who sees what" in DESIGN.md).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AccessConfig {
    /// Client networks that get the private view (detail, internals, `/metrics`).
    pub private_networks: Vec<Cidr>,
    /// Whether `/metrics` answers public clients too.
    pub public_metrics: bool,
    /// The one forwarding header that names the client, believed only from a peer in
    /// `trusted_proxies`.
    pub real_ip_header: RealIpHeader,
}

/// `access.real_ip_header`: which forwarding header names the client (like nginx's
/// `real_ip_header`). Only this one is read; the others are ignored.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub enum RealIpHeader {
    /// `CF-Connecting-IP`: one address, set by cloudflared (the default).
    #[serde(rename = "CF-Connecting-IP")]
    CfConnectingIp,
    /// `X-Forwarded-For`: every line joined in order; the client is the rightmost
    /// address not in `trusted_proxies`.
    #[serde(rename = "X-Forwarded-For")]
    XForwardedFor,
    /// No header: the connecting peer is the client.
    #[serde(rename = "none")]
    None,
}

impl RealIpHeader {
    const ALL: [RealIpHeader; 3] = [
        RealIpHeader::CfConnectingIp,
        RealIpHeader::XForwardedFor,
        RealIpHeader::None,
    ];

    /// The value as written in the configuration file (its serde name).
    pub(crate) fn name(self) -> &'static str {
        crate::names::name_of(&self)
    }

    /// Parses a configured value (case-insensitive, as header names are).
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|h| h.name().eq_ignore_ascii_case(s.trim()))
    }
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
