//! Configuration: the command line (every flag with its environment twin), the optional
//! TOML file, and the validated [`Config`] the rest of the program runs on.
//!
//! Two stages, as in DESIGN.md: raw inputs ([`Cli`] in `args`, [`FileConfig`] read by
//! `file`) are merged with the precedence *flag > environment > file > default* and then
//! validated into real types. One file a section holds its raw struct, its validated
//! struct and the function that builds the one from the other: `host`, `metrics`,
//! `weather`, `forgejo`, `uptime_kuma`, `services` (with `services_interval`), `peers`,
//! `containers`, `access` (with `trusted_proxies`), `limits` (`[stream]` and `[limits]`),
//! `notices`, `notify`. `build` is the top level: [`FileConfig`], [`Config`], the
//! top-level keys and [`build`], which calls each section's function. Shared by all:
//! `value_types` (URL, CIDR, secret, duration) and `field_checks` (checks of single
//! fields). Every validation error names the key and quotes the value. The built-in
//! services are `defaults.toml` (`defaults`), validated by the same code as a user's file.

mod access;
mod args;
mod build;
mod containers;
mod defaults;
mod field_checks;
mod file;
mod forgejo;
mod host;
mod limits;
mod metrics;
mod notices;
mod notify;
mod peers;
mod services;
mod uptime_kuma;
mod value_types;
mod weather;

pub use args::{Cli, Overrides};
pub use build::build;
pub use build::Config;
pub use build::FileConfig;
pub use file::parse_toml;
pub use host::HostConfig;
pub use metrics::MetricsConfig;

pub(crate) use access::{AccessConfig, RealIpHeader};
pub(crate) use args::Command;
pub(crate) use containers::ContainerRule;
pub(crate) use file::read_file;
pub(crate) use forgejo::ForgejoConfig;
pub(crate) use notices::{NoticeConfig, NoticeStyle, MAX_BODY, MAX_TITLE};
pub(crate) use notify::{NotifyFormat, NotifyTarget};
pub(crate) use peers::Peer;
pub(crate) use services::{Service, Visibility};
pub(crate) use uptime_kuma::UptimeKumaConfig;
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
