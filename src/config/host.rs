//! `[host]`: where the host's `/proc`, `/sys`, root and cgroup tree are read, and the
//! name it is shown under; flag > environment > file > default.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::args::Overrides;
use super::field_checks::non_empty;
use crate::error::StartupError;

/// `[host]` as written in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileHost {
    pub proc: Option<PathBuf>,
    pub sys: Option<PathBuf>,
    pub root: Option<PathBuf>,
    pub name: Option<String>,
    pub cgroup: Option<PathBuf>,
}

/// `[host]`, validated: the paths the host is read from and its name.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HostConfig {
    pub proc: PathBuf,
    pub sys: PathBuf,
    pub root: PathBuf,
    pub name: String,
    /// The cgroup v2 hierarchy containers are read from.
    pub cgroup: PathBuf,
}

#[cfg(test)]
impl HostConfig {
    /// Host `monk` reading `proc` and the cgroup tree `cgroup`, `/sys` and `/` otherwise.
    pub(crate) fn for_test(proc: impl Into<PathBuf>, cgroup: impl Into<PathBuf>) -> Self {
        HostConfig {
            proc: proc.into(),
            sys: "/sys".into(),
            root: "/".into(),
            name: "monk".into(),
            cgroup: cgroup.into(),
        }
    }
}

/// Validates `[host]`.
pub(super) fn host(o: &Overrides, fh: FileHost) -> Result<HostConfig, StartupError> {
    let sys = path("host.sys", &o.host_sys, fh.sys, "/sys")?;
    // The default follows host.sys, so HOST_SYS=/host/sys alone also finds the host's
    // cgroups.
    let default_cgroup = sys.join("fs/cgroup");
    Ok(HostConfig {
        proc: path("host.proc", &o.host_proc, fh.proc, "/proc")?,
        root: path("host.root", &o.host_root, fh.root, "/")?,
        name: match o.hostname.clone().or(fh.name) {
            Some(n) => non_empty("host.name", &n)?,
            None => system_hostname(),
        },
        cgroup: path(
            "host.cgroup",
            &o.host_cgroup,
            fh.cgroup,
            &default_cgroup.to_string_lossy(),
        )?,
        sys,
    })
}

/// A path key: flag, else file, else `default`; never empty.
fn path(
    key: &str,
    flag: &Option<PathBuf>,
    file: Option<PathBuf>,
    default: &str,
) -> Result<PathBuf, StartupError> {
    let p = flag
        .clone()
        .or(file)
        .unwrap_or_else(|| PathBuf::from(default));
    if p.as_os_str().is_empty() {
        return Err(StartupError::config(key, "", "must not be empty"));
    }
    Ok(p)
}

/// The machine's hostname (`/proc/sys/kernel/hostname` via uname), or "kiteportal".
fn system_hostname() -> String {
    let uts = rustix::system::uname();
    let name = uts.nodename().to_string_lossy().trim().to_string();
    if name.is_empty() {
        "kiteportal".to_string()
    } else {
        name
    }
}
