//! The command line: the clap [`Cli`], its subcommands and the [`Overrides`] (every flag
//! with its environment twin; the refused `--forgejo-token`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// One small binary that is the whole public front door of a self-hosted homelab.
#[derive(Debug, Parser)]
#[command(name = "kiteportal", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub overrides: Overrides,
}

/// What to do; `serve` when none is given.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Load and validate the configuration, print it with secrets masked, exit 0 or 2.
    CheckConfig,
    /// GET a URL (default: /api/health on the configured bind address); exit 0 only on 200.
    Healthcheck {
        /// URL to check.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

/// Flags that override the file; each one also reads its environment variable.
#[derive(Debug, Default, Clone, Args)]
pub struct Overrides {
    /// Configuration file (TOML). Optional: built-in defaults run a complete preview.
    #[arg(long, global = true, env = "KITEPORTAL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, global = true, env = "KITEPORTAL_BIND", value_name = "ADDR")]
    pub bind: Option<String>,
    /// Where the host's procfs is mounted [default: /proc].
    #[arg(long, global = true, env = "HOST_PROC", value_name = "DIR")]
    pub host_proc: Option<PathBuf>,
    /// Where the host's sysfs is mounted [default: /sys].
    #[arg(long, global = true, env = "HOST_SYS", value_name = "DIR")]
    pub host_sys: Option<PathBuf>,
    /// Where the host's root filesystem is mounted [default: /].
    #[arg(long, global = true, env = "HOST_ROOT", value_name = "DIR")]
    pub host_root: Option<PathBuf>,
    /// Where the host's cgroup v2 hierarchy is mounted [default: <host.sys>/fs/cgroup].
    #[arg(long, global = true, env = "HOST_CGROUP", value_name = "DIR")]
    pub host_cgroup: Option<PathBuf>,
    /// Name this replica reports (X-Served-By, /api/hosts) [default: the hostname].
    #[arg(long, global = true, env = "KITEPORTAL_HOSTNAME", value_name = "NAME")]
    pub hostname: Option<String>,
    /// Weather service base URL [default: `https://wttr.in`].
    #[arg(
        long,
        global = true,
        env = "KITEPORTAL_WEATHER_URL",
        value_name = "URL"
    )]
    pub weather_url: Option<String>,
    /// Weather location; empty means the server's own IP location.
    #[arg(
        long,
        global = true,
        env = "KITEPORTAL_WEATHER_LOCATION",
        value_name = "PLACE"
    )]
    pub weather_location: Option<String>,
    /// Forgejo base URL; unset disables the activity feed.
    #[arg(
        long,
        global = true,
        env = "KITEPORTAL_FORGEJO_URL",
        value_name = "URL"
    )]
    pub forgejo_url: Option<String>,
    /// File holding the Forgejo token (Docker secret). The token itself is read only from
    /// the environment (KITEPORTAL_FORGEJO_TOKEN) or the file, never from a flag, because
    /// flags are visible to every user in the process list.
    #[arg(
        long,
        global = true,
        env = "KITEPORTAL_FORGEJO_TOKEN_FILE",
        value_name = "FILE"
    )]
    pub forgejo_token_file: Option<PathBuf>,
    /// Refused: a token on the command line is visible to every user in `ps`. Parsed only
    /// so that using it gets an error that says where the token goes instead.
    #[arg(
        long = "forgejo-token",
        global = true,
        hide = true,
        num_args = 0..=1,
        default_missing_value = "",
        value_name = "TOKEN"
    )]
    pub forgejo_token_flag: Option<String>,
    /// The Forgejo token from the environment (`KITEPORTAL_FORGEJO_TOKEN`); there is no flag.
    #[arg(skip = std::env::var("KITEPORTAL_FORGEJO_TOKEN").ok())]
    pub forgejo_token: Option<String>,
    /// Directory for state kept across restarts (the service history); unset keeps it
    /// in memory only.
    #[arg(long, global = true, env = "KITEPORTAL_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Time zone of the times on the page (`Europe/Amsterdam`, `UTC`, a POSIX TZ rule)
    /// [default: the host's, from <host.root>/etc/localtime].
    #[arg(long, global = true, env = "TZ", value_name = "ZONE")]
    pub timezone: Option<String>,
}
