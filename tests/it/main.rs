//! The integration test binary: the real `kiteportal` binary over real sockets.
//! One module per area.

#![allow(clippy::unwrap_used)]
// Scenario tests read top to bottom, one step after another; splitting them hides the story.
#![allow(clippy::too_many_lines)]

mod activity;
mod browser;
mod cli;
mod common;
mod containers;
mod deploy;
mod details;
mod docs;
mod edge;
mod engines;
mod exposure;
mod feeds;
mod fuzz;
mod hardening;
mod host;
mod http;
mod icons;
mod kuma;
mod looks;
mod notices;
mod openapi;
mod peers;
mod prometheus_real;
mod services;
mod state_dir;
mod status;
mod stub;
mod trust;
mod visitors;
