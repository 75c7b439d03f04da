//! Containers on the host from the kernel's cgroup v2 files, without a container engine's
//! socket. This file owns the [`Cgroups`] source: what it keeps per container between
//! samples (open files, labels), names from the first process's command line and the
//! owner's `[[containers]]` rules. Discovery of the Docker (systemd and cgroupfs drivers)
//! and Podman layouts is in `discover`, the pure parsers in `parse`, the file access in
//! `files`, and the rate logic in `rates`.

mod discover;
mod files;
mod parse;
mod rates;

pub(crate) use discover::short_id;
pub(crate) use discover::Engine;

pub(crate) use files::Counters;
pub(crate) use parse::{clean, parse_cmdline, parse_first_pid};
pub(crate) use rates::{delta, new_oom_kills, OomLog};

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::config::ContainerRule;
use discover::{discover, Found, LAYOUTS};
use files::{read_counters, read_small, Handles, MAX_OPEN_CONTAINERS};

/// Labels (command lines, owner names) are cut to this many characters.
const MAX_LABEL_CHARS: usize = 80;
/// Command lines are kept to this many characters for matching `[[containers]] match`.
const MAX_COMMAND_CHARS: usize = 512;
/// A label from a command line is read again after this many samples (about a minute at
/// the default interval): an entrypoint script may `exec` into the real program.
const LABEL_REFRESH_SAMPLES: u32 = 30;

/// The first process's command line, cleaned: `(label, command for matching)`; empty
/// when the container has no process left or its `<proc>` entry cannot be read.
fn command_of(found: &Found, proc: &Path, buf: &mut Vec<u8>) -> (String, String) {
    let Ok(n) = read_small(&found.dir.join("cgroup.procs"), buf) else {
        return Default::default();
    };
    let Some(pid) = parse_first_pid(&String::from_utf8_lossy(&buf[..n])) else {
        return Default::default();
    };
    let Ok(n) = read_small(&proc.join(pid.to_string()).join("cmdline"), buf) else {
        return Default::default();
    };
    (
        parse_cmdline(&buf[..n], MAX_LABEL_CHARS),
        parse_cmdline(&buf[..n], MAX_COMMAND_CHARS),
    )
}

/// The owner's rule that names a container: the first whose `match` is a prefix of the
/// id or appears in the command line.
fn rule_for<'a>(rules: &'a [ContainerRule], id: &str, command: &str) -> Option<&'a ContainerRule> {
    rules.iter().find(|r| {
        let m = r.matches.as_str();
        id.starts_with(&m.to_ascii_lowercase()) || (!command.is_empty() && command.contains(m))
    })
}

/// How a container is called: owner name, command-line label, service link.
#[derive(Debug, Clone, Default)]
struct Label {
    name: String,
    command: String,
    service: Option<String>,
}

/// What is kept of a container between samples: which cgroup directory (a container
/// restarted under the same id gets a new one), its open files, its label and their age.
#[derive(Debug)]
struct Known {
    ino: u64,
    handles: Option<Handles>,
    label: Label,
    /// `memory.max` as last read; `None` until read (at start and once a minute).
    limit: Option<Option<u64>>,
    age: u32,
}

/// The containers source: the roots, the owner's rules, and what is kept per container
/// between samples (open files, labels: reading a command line costs two more files, so
/// it is done about once a minute).
pub struct Cgroups {
    root: PathBuf,
    proc: PathBuf,
    rules: Vec<ContainerRule>,
    known: HashMap<String, Known>,
    buf: Vec<u8>,
}

/// One container's counters with how it is called, as the sampler keeps them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Named {
    pub(crate) counters: Counters,
    pub(crate) name: String,
    pub(crate) command: Option<String>,
    pub(crate) service: Option<String>,
}

impl Cgroups {
    /// A source reading containers under `root`, their command lines under `proc`, named
    /// by the owner's `rules`.
    pub fn new(root: PathBuf, proc: PathBuf, rules: Vec<ContainerRule>) -> Self {
        Cgroups {
            root,
            proc,
            rules,
            known: HashMap::new(),
            buf: Vec::new(),
        }
    }

    /// The cgroup root read.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the root has none of the parents containers live under: what a container
    /// sees of its own private cgroup namespace when `host.cgroup` was not pointed at the
    /// host's hierarchy.
    pub(crate) fn looks_like_own_cgroup(&self) -> bool {
        !LAYOUTS
            .iter()
            .any(|(parent, ..)| self.root.join(parent).is_dir())
            && !self.root.join("init.scope").is_dir()
    }

    /// Discovers and reads every container, with names. The error is the section's reason.
    pub fn read(&mut self) -> io::Result<Vec<Named>> {
        let found = match discover(&self.root) {
            Ok(f) => f,
            Err(e) => {
                self.known.clear();
                return Err(e);
            }
        };
        // Forget the containers that are gone (and close their files).
        self.known
            .retain(|id, _| found.binary_search_by(|f| f.id.as_str().cmp(id)).is_ok());
        let mut out = Vec::with_capacity(found.len());
        for f in &found {
            match self.known.get_mut(&f.id) {
                Some(k) if k.ino == f.ino => {
                    k.age += 1;
                    if k.age >= LABEL_REFRESH_SAMPLES {
                        k.age = 0;
                        k.label = label_of(f, &self.proc, &self.rules, &mut self.buf);
                        k.limit = None;
                    }
                }
                _ => {
                    // New, or re-created under the same id (a restart): its own files and
                    // a fresh label.
                    self.known.remove(&f.id);
                    let open = self.known.values().filter(|k| k.handles.is_some()).count();
                    let handles = if open < MAX_OPEN_CONTAINERS {
                        Some(Handles::open(&f.dir)?)
                    } else {
                        None
                    };
                    let label = label_of(f, &self.proc, &self.rules, &mut self.buf);
                    // Staggered, so containers found together do not all re-read their
                    // labels in the same sample.
                    let age = f.id.bytes().map(u32::from).sum::<u32>() % LABEL_REFRESH_SAMPLES;
                    self.known.insert(
                        f.id.clone(),
                        Known {
                            ino: f.ino,
                            handles,
                            label,
                            limit: None,
                            age,
                        },
                    );
                }
            }
            let Some(k) = self.known.get_mut(&f.id) else {
                continue;
            };
            let counters = match &k.handles {
                Some(h) => read_counters(f, h, &mut self.buf, k.limit)?,
                None => read_counters(f, &Handles::open(&f.dir)?, &mut self.buf, None)?,
            };
            let Some(counters) = counters else { continue };
            k.limit = Some(counters.memory_limit);
            out.push(Named {
                counters,
                name: k.label.name.clone(),
                command: (!k.label.command.is_empty()).then(|| k.label.command.clone()),
                service: k.label.service.clone(),
            });
        }
        Ok(out)
    }
}

/// How container `f` is called: the owner's rule, else its first process's command line,
/// else its short id.
fn label_of(f: &Found, proc: &Path, rules: &[ContainerRule], buf: &mut Vec<u8>) -> Label {
    let (command, full) = command_of(f, proc, buf);
    let rule = rule_for(rules, &f.id, &full);
    Label {
        name: match (rule, command.is_empty()) {
            (Some(r), _) => clean(&r.name, MAX_LABEL_CHARS),
            (None, false) => command.clone(),
            (None, true) => short_id(&f.id).to_string(),
        },
        command,
        service: rule.and_then(|r| r.service.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const ID: &str = "3f2a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcd";

    #[test]
    fn cgroup_rules_match_by_id_prefix_or_command() {
        let rules = vec![
            ContainerRule {
                matches: "3f2a1b".into(),
                name: "forgejo".into(),
                service: Some("Forgejo".into()),
            },
            ContainerRule {
                matches: "postgres".into(),
                name: "db".into(),
                service: None,
            },
        ];
        assert_eq!(rule_for(&rules, ID, "").unwrap().name, "forgejo");
        assert_eq!(rule_for(&rules, "ff", "postgres -c x").unwrap().name, "db");
        assert!(rule_for(&rules, "ff", "nginx").is_none());
    }

    #[test]
    fn cgroup_own_namespace_is_recognised() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("cgroup.controllers"), "cpu memory\n").unwrap();
        let c = Cgroups::new(dir.path().to_path_buf(), "/nonexistent".into(), Vec::new());
        assert!(c.looks_like_own_cgroup());
        fs::create_dir(dir.path().join("system.slice")).unwrap();
        assert!(!c.looks_like_own_cgroup());
    }

    /// A cgroup v2 tree with one container of each Docker layout, and a `/proc` whose
    /// pid 4242 runs Forgejo.
    fn tree() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cgroup");
        let proc = dir.path().join("proc");
        fs::create_dir_all(proc.join("4242")).unwrap();
        fs::write(proc.join("4242/cmdline"), b"/usr/bin/forgejo\0web\0").unwrap();
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("cgroup.controllers"), "cpu memory io pids\n").unwrap();
        let other = ID.replace('3', "7");
        for (d, usec, procs) in [
            (format!("system.slice/docker-{ID}.scope"), 1000, "4242\n"),
            (format!("docker/{other}"), 2000, ""),
        ] {
            let c = root.join(d);
            fs::create_dir_all(&c).unwrap();
            fs::write(c.join("cpu.stat"), format!("usage_usec {usec}\n")).unwrap();
            fs::write(c.join("memory.current"), "1048576\n").unwrap();
            fs::write(c.join("memory.max"), "max\n").unwrap();
            fs::write(c.join("cgroup.procs"), procs).unwrap();
        }
        // The first has page cache on the inactive list; the second no `memory.stat`.
        fs::write(
            root.join(format!("system.slice/docker-{ID}.scope/memory.stat")),
            "anon 524288\nfile 524288\nactive_file 131072\ninactive_file 393216\n",
        )
        .unwrap();
        (dir, root, proc)
    }

    #[test]
    fn containers_are_read_named_and_forgotten_when_gone() {
        let (_dir, root, proc) = tree();
        let mut c = Cgroups::new(root.clone(), proc, Vec::new());
        let first = c.read().unwrap();
        let seen: Vec<_> = first
            .iter()
            .map(|n| (n.name.as_str(), n.command.as_deref(), n.counters.usage_usec))
            .collect();
        let other = ID.replace('3', "7");
        assert_eq!(
            seen,
            [
                ("forgejo web", Some("forgejo web"), Some(1000)),
                (short_id(&other), None, Some(2000)),
            ]
        );
        // Memory as `docker stats` shows it: memory.current less inactive_file, with the
        // raw value beside it; without memory.stat, memory.current.
        let mem = |n: &Named| (n.counters.memory_bytes, n.counters.memory_current);
        assert_eq!(mem(&first[0]), (Some((1 << 20) - 393216), Some(1 << 20)));
        assert_eq!(mem(&first[1]), (Some(1 << 20), Some(1 << 20)));
        fs::remove_dir_all(root.join(format!("docker/{other}"))).unwrap();
        let second = c.read().unwrap();
        assert_eq!(second.len(), 1);
        assert_eq!(c.known.len(), 1);
    }

    #[test]
    fn counter_files_are_opened_once_and_labels_read_again_within_a_minute() {
        let (_dir, root, proc) = tree();
        let scope = root.join(format!("system.slice/docker-{ID}.scope"));
        let mut c = Cgroups::new(root, proc.clone(), Vec::new());
        c.read().unwrap();
        // A new file under the same name is not what the kept handle reads: the files are
        // opened when the container is found, not at every sample.
        let fresh = scope.join("cpu.stat.new");
        fs::write(&fresh, "usage_usec 5000\n").unwrap();
        fs::rename(&fresh, scope.join("cpu.stat")).unwrap();
        assert_eq!(c.read().unwrap()[0].counters.usage_usec, Some(1000));
        // An entrypoint that execs into the real program is renamed within 30 samples.
        fs::write(proc.join("4242/cmdline"), b"/bin/gitea\0web\0").unwrap();
        let names: Vec<String> = (0..LABEL_REFRESH_SAMPLES)
            .map(|_| c.read().unwrap()[0].name.clone())
            .collect();
        assert_eq!(
            names.last().map(String::as_str),
            Some("gitea web"),
            "{names:?}"
        );
    }

    #[test]
    fn memory_stat_is_read_at_every_sample_and_never_makes_memory_negative() {
        let (_dir, root, proc) = tree();
        let stat = root.join(format!("system.slice/docker-{ID}.scope/memory.stat"));
        let mut c = Cgroups::new(root, proc, Vec::new());
        let mem = |c: &mut Cgroups| c.read().unwrap()[0].counters.memory_bytes;
        assert_eq!(mem(&mut c), Some((1 << 20) - 393216));
        // More inactive page cache than memory.current (read a moment apart): 0, not a wrap.
        fs::write(&stat, "inactive_file 2097152\n").unwrap();
        assert_eq!(mem(&mut c), Some(0));
        // No inactive_file line: memory.current.
        fs::write(&stat, "anon 1\n").unwrap();
        assert_eq!(mem(&mut c), Some(1 << 20));
        // A malformed memory.stat is the section's error, naming the file.
        fs::write(&stat, "inactive_file -5\n").unwrap();
        let err = c.read().unwrap_err().to_string();
        assert!(err.contains("memory.stat"), "{err}");
        // A FIFO where memory.stat belongs is refused at once (a container found anew
        // opens its files), not read.
        let (_d2, root2, proc2) = tree();
        let fifo = root2.join(format!("system.slice/docker-{ID}.scope/memory.stat"));
        fs::remove_file(&fifo).unwrap();
        crate::files::mkfifo(&fifo);
        let t = std::time::Instant::now();
        let err = Cgroups::new(root2, proc2, Vec::new())
            .read()
            .unwrap_err()
            .to_string();
        assert!(err.contains("memory.stat: not a regular file"), "{err}");
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn a_container_recreated_under_its_id_is_read_from_its_new_files() {
        let (_dir, root, proc) = tree();
        let scope = root.join(format!("system.slice/docker-{ID}.scope"));
        let mut c = Cgroups::new(root, proc, Vec::new());
        assert_eq!(c.read().unwrap()[0].counters.usage_usec, Some(1000));
        fs::remove_dir_all(&scope).unwrap();
        fs::create_dir(&scope).unwrap();
        fs::write(scope.join("cpu.stat"), "usage_usec 7\n").unwrap();
        assert_eq!(c.read().unwrap()[0].counters.usage_usec, Some(7));
    }

    #[test]
    fn files_stay_open_for_at_most_64_containers() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        fs::write(root.join("cgroup.controllers"), "cpu\n").unwrap();
        for i in 0..MAX_OPEN_CONTAINERS + 6 {
            let c = root.join(format!("docker/{i:064x}"));
            fs::create_dir_all(&c).unwrap();
            fs::write(c.join("cpu.stat"), "usage_usec 1\n").unwrap();
        }
        let mut c = Cgroups::new(root, "/nonexistent".into(), Vec::new());
        assert_eq!(c.read().unwrap().len(), MAX_OPEN_CONTAINERS + 6);
        let open = c.known.values().filter(|k| k.handles.is_some()).count();
        assert_eq!(open, MAX_OPEN_CONTAINERS);
    }
}
