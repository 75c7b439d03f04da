//! Entry point: parse the command line, set up logging, run; a startup error is
//! printed as one line and exits with status 2.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = kiteportal::config::Cli::parse();
    let logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
            // The HTTP client logs request headers at debug level; the Forgejo token travels
            // in one, so its logs are capped whatever RUST_LOG says.
            .filter_module("ureq", log::LevelFilter::Info)
            .filter_module("ureq_proto", log::LevelFilter::Info)
            .filter_module("rustls", log::LevelFilter::Info)
            .build();
    let max = logger.filter();
    // The guard also holds when RUST_LOG names a submodule (`ureq_proto::util=trace`).
    let guarded = kiteportal::feeds::http::ClientLogGuard(logger);
    if log::set_boxed_logger(Box::new(guarded)).is_ok() {
        log::set_max_level(max);
    }
    match kiteportal::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kiteportal: {e}");
            ExitCode::from(2)
        }
    }
}
