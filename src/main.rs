//! Entry point: parse the command line, set up logging, run; a startup error is
//! printed as one line and exits with status 2.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = kiteportal::config::Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        // The HTTP client logs request headers at debug level; the Forgejo token travels
        // in one, so its logs are capped whatever RUST_LOG says.
        .filter_module("ureq", log::LevelFilter::Info)
        .filter_module("ureq_proto", log::LevelFilter::Info)
        .filter_module("rustls", log::LevelFilter::Info)
        .init();
    match kiteportal::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kiteportal: {e}");
            ExitCode::from(2)
        }
    }
}
