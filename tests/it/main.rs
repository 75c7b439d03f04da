//! The integration test binary: the real `kiteportal` binary over real sockets.
//! One module per area.

#![allow(clippy::unwrap_used)]

mod cli;
mod common;
mod deploy;
mod host;
mod http;
