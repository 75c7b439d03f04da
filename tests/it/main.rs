//! The integration test binary: the real `kiteportal` binary over real sockets.
//! One module per area.

mod cli;
mod common;
mod http;
