//! `[access]` and `trusted_proxies`: who counts as the owner, whose forwarding headers
//! are believed, and which header names the client ("Who sees what" in DESIGN.md).

use serde::{Deserialize, Serialize};

use super::value_types::Cidr;
use crate::error::StartupError;

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

/// Loopback and the Tailscale (CGNAT) range: the owner's own machine and tailnet.
pub const DEFAULT_PRIVATE_NETWORKS: &[&str] = &["127.0.0.0/8", "::1/128", "100.64.0.0/10"];

/// `[access]` as written in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAccess {
    pub private_networks: Option<Vec<String>>,
    pub public_metrics: Option<bool>,
    pub real_ip_header: Option<String>,
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

/// `trusted_proxies`: the peers whose forwarding headers are believed.
pub(super) fn trusted_proxies(list: Option<Vec<String>>) -> Result<Vec<Cidr>, StartupError> {
    cidrs("trusted_proxies", list, DEFAULT_TRUSTED_PROXIES)
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

/// Validates `[access]`.
pub(super) fn access(fa: FileAccess) -> Result<AccessConfig, StartupError> {
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
