//! kiteportal: one small binary that is the whole public front door of a self-hosted
//! homelab — the portal page, live host metrics read from procfs, and cached upstream
//! feeds (weather, Forgejo activity, service checks, peer replicas).
//!
//! Flow: sources (`host`, `feeds`) → background tasks (`background`, `tasks`) →
//! shared state (`state`, `hub`) → routes (`routes`), served by `server`.

pub mod access;
pub mod access_log;
pub mod background;
pub mod cli;
pub mod config;
pub mod error;
pub mod feeds;
pub mod files;
pub mod host;
pub mod hub;
pub mod icons;
pub mod reload;
pub mod routes;
pub mod server;
pub mod state;
pub mod tasks;
pub mod text;
pub mod timezone;
