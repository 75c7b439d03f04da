//! Configuration: the command line (every flag with its environment twin), the optional
//! TOML file, and the validated [`Config`] the rest of the program runs on.
//!
//! Two stages, as in DESIGN.md: raw inputs ([`Cli`] in `args`, [`FileConfig`] in `file`)
//! are merged with the precedence *flag > environment > file > default* and then
//! validated into real types (`validated`, `value_types`) by `build`, one function per
//! section (`upstreams`, `list_sections`, `notices`, `notify` hold the larger ones;
//! `field_checks` the checks of single fields they share).
//! Every validation error names the key and quotes the value. The built-in services are
//! `defaults.toml`, validated by the same code as a user's file.

mod args;
mod build;
mod containers;
mod defaults;
mod field_checks;
mod file;
mod forgejo;
mod host;
mod metrics;
mod notices;
mod notify;
mod peers;
mod services;
mod uptime_kuma;
mod validated;
mod value_types;
mod weather;

pub use args::{Cli, Overrides};
pub use build::build;
pub use file::{parse_toml, FileConfig};
pub use host::HostConfig;
pub use metrics::MetricsConfig;
pub use validated::Config;

pub(crate) use args::Command;
pub(crate) use containers::ContainerRule;
pub(crate) use file::read_file;
pub(crate) use forgejo::ForgejoConfig;
pub(crate) use notices::{NoticeConfig, NoticeStyle, MAX_BODY, MAX_TITLE};
pub(crate) use notify::{NotifyFormat, NotifyTarget};
pub(crate) use peers::Peer;
pub(crate) use services::{Service, Visibility};
pub(crate) use uptime_kuma::UptimeKumaConfig;
pub(crate) use validated::{AccessConfig, RealIpHeader};
pub(crate) use value_types::HttpUrl;
pub(crate) use weather::WeatherConfig;

#[cfg(test)]
pub(crate) use defaults::default_services;
#[cfg(test)]
pub(crate) use value_types::{Cidr, Secret};

use crate::error::StartupError;

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
    "timezone",
    "uptime_kuma.url",
    "uptime_kuma.slug",
    "access.private_networks",
    "access.public_metrics",
    "access.real_ip_header",
    "containers",
    "notify",
    "notices",
];

/// Reads the TOML file (if any), merges flags and environment over it, validates.
pub(crate) fn load(overrides: &Overrides) -> Result<Config, StartupError> {
    let file = match &overrides.config {
        Some(path) => read_file(path)?,
        None => FileConfig::default(),
    };
    build(overrides, file)
}
