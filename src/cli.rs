//! The subcommands: `serve` (default), `check-config` and `healthcheck`.

use std::process::ExitCode;
use std::time::Duration;

use crate::config::{self, Cli, Command};
use crate::error::StartupError;

/// Runs the command line; errors are startup errors (printed by `main`, exit 2).
pub fn run(cli: Cli) -> Result<ExitCode, StartupError> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let config = config::load(&cli.overrides)?;
            for w in crate::icons::warnings(&config) {
                log::warn!("{w}");
            }
            crate::server::run(config, cli.overrides)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig => {
            let config = config::load(&cli.overrides)?;
            // Warnings go to stderr: stdout stays the effective config, parseable JSON.
            for w in crate::icons::warnings(&config) {
                eprintln!("warning: {w}");
            }
            println!("{}", config.to_pretty_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Healthcheck { url } => {
            let url = match url {
                Some(u) => u,
                None => {
                    let config = config::load(&cli.overrides)?;
                    health_url(config.bind)
                }
            };
            Ok(healthcheck(&url))
        }
    }
}

/// `http://<bind>/api/health`, with an unspecified bind address replaced by loopback.
pub(crate) fn health_url(bind: std::net::SocketAddr) -> String {
    let ip = match bind.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    format!(
        "http://{}/api/health",
        std::net::SocketAddr::new(ip, bind.port())
    )
}

/// GETs `url`; exit 0 on a 200, 1 otherwise (the container HEALTHCHECK convention).
pub(crate) fn healthcheck(url: &str) -> ExitCode {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(3)))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    match agent.get(url).call() {
        Ok(resp) if resp.status() == 200 => {
            println!("ok: {url} answered 200");
            ExitCode::SUCCESS
        }
        Ok(resp) => {
            eprintln!("unhealthy: {url} answered {}", resp.status());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("unhealthy: {url}: {e}");
            ExitCode::from(1)
        }
    }
}
