//! Built-in defaults: the networks trusted or counted as the owner's, the interfaces
//! left out of the network totals, and the nine KiteStacks services.

use super::types::Service;
use super::values::HttpUrl;

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

/// Loopback and the Tailscale (CGNAT) range: the owner's own machine and tailnet.
pub const DEFAULT_PRIVATE_NETWORKS: &[&str] = &["127.0.0.0/8", "::1/128", "100.64.0.0/10"];

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

/// The nine KiteStacks services, as the portal lists them with no config file.
pub fn default_services() -> Vec<Service> {
    DEFAULT_SERVICES
        .iter()
        .map(|(name, url, description, icon, group, check)| Service {
            name: name.to_string(),
            url: HttpUrl::trusted(url),
            description: description.to_string(),
            icon: icon.to_string(),
            group: group.to_string(),
            check_url: check.map(HttpUrl::trusted),
            accept_status: Vec::new(),
            uptime_kuma: None,
        })
        .collect()
}
