//! Finding containers: the engines, the cgroup directory layouts they use, the check that
//! the root is a cgroup v2 hierarchy, discovery of every container's directory, and ids.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::parse::cut;
use crate::host::invalid;
use serde::{Deserialize, Serialize};

/// More containers than this and the section is off (null with the reason) rather than
/// slow: a sample must stay cheap, and a host with hundreds of thousands of cgroup
/// directories is a fault worth reporting, not a list worth drawing.
const MAX_CONTAINERS: usize = 500;
/// Directory entries looked at under one parent (`system.slice`, `docker`,
/// `machine.slice`) before giving up, so a flooded directory never stalls a sample.
const MAX_ENTRIES: usize = 4096;

/// The container engine that made a cgroup, as told by its directory's name; "docker" or
/// "podman" in the JSON and on the page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Also the value of a `Container::default()` (tests' partial values).
    #[default]
    Docker,
    Podman,
}

crate::names::display_by_name!(Engine);

/// One container's cgroup directory found under the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    /// The full 64-hex-digit id.
    pub id: String,
    pub engine: Engine,
    pub dir: PathBuf,
    /// The directory's inode: a container restarted under the same id gets a new cgroup.
    pub ino: u64,
}

/// (parent directory, name prefix, name suffix, engine): the three layouts we know.
/// Docker with the systemd cgroup driver (the default on systemd hosts), Docker with the
/// cgroupfs driver, and rootful Podman (whose `libpod-conmon-<id>.scope` siblings hold the
/// monitor process, not the container, and fail the id check).
pub(super) const LAYOUTS: &[(&str, &str, &str, Engine)] = &[
    ("system.slice", "docker-", ".scope", Engine::Docker),
    ("docker", "", "", Engine::Docker),
    ("machine.slice", "libpod-", ".scope", Engine::Podman),
];

/// Directories a cgroup v1 mount has at its root (one per controller, some combined).
const V1_CONTROLLERS: &[&str] = &["memory", "cpu,cpuacct", "cpuacct", "pids", "blkio"];

/// Whether `s` is a container id as the engines write it: 64 lowercase hex digits.
fn is_container_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The id inside a directory name of a layout, if the name is a container's.
fn id_in(name: &str, prefix: &str, suffix: &str) -> Option<String> {
    let id = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    is_container_id(id).then(|| id.to_string())
}

/// Checks that `root` is a cgroup v2 hierarchy; the error says what it is instead and
/// how to fix it.
fn check_root(root: &Path) -> io::Result<()> {
    let md = fs::metadata(root).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            io::Error::new(
                e.kind(),
                format!(
                    "cgroup root {} does not exist; set host.cgroup (HOST_CGROUP) to the \
                     host's cgroup2 mount, e.g. /host/sys/fs/cgroup",
                    root.display()
                ),
            )
        } else {
            io::Error::new(e.kind(), format!("cgroup root {}: {e}", root.display()))
        }
    })?;
    if !md.is_dir() {
        return Err(invalid(format!(
            "cgroup root {} is not a directory",
            root.display()
        )));
    }
    if root.join("cgroup.controllers").exists() {
        return Ok(());
    }
    if V1_CONTROLLERS.iter().any(|c| root.join(c).is_dir()) {
        return Err(invalid(format!(
            "cgroup v1 is not supported: {} holds one hierarchy per controller; boot the \
             host with the unified hierarchy (systemd.unified_cgroup_hierarchy=1, the \
             default on current distributions) and restart the container engine",
            root.display()
        )));
    }
    Err(invalid(format!(
        "{} is not a cgroup v2 hierarchy (no cgroup.controllers)",
        root.display()
    )))
}

/// Finds every container cgroup under `root` in the three known layouts, sorted by id.
pub(super) fn discover(root: &Path) -> io::Result<Vec<Found>> {
    check_root(root)?;
    let mut found = Vec::new();
    for &(parent, prefix, suffix, engine) in LAYOUTS {
        let dir = root.join(parent);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", dir.display()))),
        };
        for (n, entry) in entries.enumerate() {
            if n >= MAX_ENTRIES {
                return Err(invalid(format!(
                    "{} has more than {MAX_ENTRIES} entries; containers not read",
                    dir.display()
                )));
            }
            let Ok(entry) = entry else { continue };
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| id_in(n, prefix, suffix)) else {
                continue;
            };
            // The type and inode come with the directory listing (no stat per entry);
            // `file_type` does not follow symlinks: a cgroup is a real directory.
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            found.push(Found {
                id,
                engine,
                dir: entry.path(),
                ino: std::os::unix::fs::DirEntryExt::ino(&entry),
            });
            if found.len() > MAX_CONTAINERS {
                return Err(invalid(format!(
                    "more than {MAX_CONTAINERS} containers under {}; containers not read",
                    root.display()
                )));
            }
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found.dedup_by(|a, b| a.id == b.id);
    Ok(found)
}

/// The 12-digit short id the engines print.
pub(crate) fn short_id(id: &str) -> &str {
    cut(id, 12)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f2a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcd";

    #[test]
    fn cgroup_ids_in_each_layout() {
        assert_eq!(
            id_in(&format!("docker-{ID}.scope"), "docker-", ".scope"),
            Some(ID.into())
        );
        assert_eq!(id_in(ID, "", ""), Some(ID.into()));
        assert_eq!(
            id_in(&format!("libpod-{ID}.scope"), "libpod-", ".scope"),
            Some(ID.into())
        );
        assert_eq!(
            id_in(&format!("libpod-conmon-{ID}.scope"), "libpod-", ".scope"),
            None
        );
        assert_eq!(id_in("docker.service", "docker-", ".scope"), None);
        assert_eq!(id_in(&ID.to_uppercase(), "", ""), None);
        assert_eq!(id_in(&ID[..63], "", ""), None);
        assert_eq!(short_id(ID), "3f2a1b2c3d4e");
    }

    #[test]
    fn cgroup_roots_that_are_not_v2() {
        let dir = tempfile::tempdir().unwrap();
        let missing = check_root(&dir.path().join("nope")).unwrap_err();
        assert!(missing.to_string().contains("does not exist"), "{missing}");
        fs::create_dir(dir.path().join("memory")).unwrap();
        let v1 = check_root(dir.path()).unwrap_err().to_string();
        assert!(v1.contains("cgroup v1 is not supported"), "{v1}");
        fs::remove_dir(dir.path().join("memory")).unwrap();
        let other = check_root(dir.path()).unwrap_err().to_string();
        assert!(other.contains("not a cgroup v2"), "{other}");
        fs::write(dir.path().join("cgroup.controllers"), "cpu memory\n").unwrap();
        assert_eq!(discover(dir.path()).unwrap(), vec![]);
        let many = dir.path().join("system.slice");
        fs::create_dir(&many).unwrap();
        for i in 0..MAX_CONTAINERS {
            fs::create_dir(many.join(format!("docker-{i:064x}.scope"))).unwrap();
        }
        assert_eq!(discover(dir.path()).unwrap().len(), MAX_CONTAINERS);
        fs::create_dir(many.join(format!("docker-{MAX_CONTAINERS:064x}.scope"))).unwrap();
        let err = discover(dir.path()).unwrap_err().to_string();
        assert!(err.contains("more than 500 containers"), "{err}");
    }

    #[test]
    fn a_layout_that_is_absent_is_skipped_and_one_that_cannot_be_read_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("cgroup.controllers"), "cpu memory\n").unwrap();
        assert_eq!(discover(dir.path()).unwrap(), vec![]);
        // `docker` as a file: listing it fails, and not because it is absent.
        fs::write(dir.path().join("docker"), "").unwrap();
        let err = discover(dir.path()).unwrap_err().to_string();
        assert!(err.contains("docker"), "{err}");
    }
}
