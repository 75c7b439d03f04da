//! kiteportal: one small binary that is the whole public front door of a self-hosted
//! homelab — the portal page, live host metrics read from procfs, and cached upstream
//! feeds (weather, Forgejo activity, service checks, peer replicas).
//!
//! Flow: sources (`host`, `feeds`) → background tasks (`background`, `tasks`) →
//! shared state (`state`, `hub`) → routes (`routes`), served by `server`.

pub mod access;
pub(crate) mod access_log;
pub(crate) mod background;
pub mod cli;
pub mod config;
pub(crate) mod error;
pub mod feeds;
pub(crate) mod files;
pub mod host;
pub(crate) mod hub;
pub(crate) mod icons;
pub(crate) mod names;
pub(crate) mod reload;
pub mod routes;
pub mod server;
pub mod state;
pub(crate) mod tasks;
pub(crate) mod text;
pub(crate) mod timezone;
