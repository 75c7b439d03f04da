//! The integration test binary: the real `kiteportal` binary over real sockets.
//! One module per area.

#![allow(clippy::unwrap_used)]

mod browser;
mod cli;
mod common;
mod feeds;
mod host;
mod http;
mod stub;
