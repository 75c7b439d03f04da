//! Containers on the host from the kernel's cgroup v2 files, without a container engine's
//! socket: discovery of the Docker (systemd and cgroupfs drivers) and Podman layouts, pure
//! parsers of `cpu.stat`, `memory.*`, `pids.current` and `io.stat`, the rate logic, labels
//! from the first process's command line, and the owner's `[[containers]]` names.

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use super::{invalid, rate, round2, Container};
use crate::config::ContainerRule;

/// More containers than this and the section is off (null with the reason) rather than
/// slow: a sample must stay cheap, and a host with hundreds of thousands of cgroup
/// directories is a fault worth reporting, not a list worth drawing.
pub const MAX_CONTAINERS: usize = 500;
/// Directory entries looked at under one parent (`system.slice`, `docker`,
/// `machine.slice`) before giving up, so a flooded directory never stalls a sample.
pub const MAX_ENTRIES: usize = 4096;
/// The largest cgroup file read: the kernel writes a few hundred bytes; `io.stat` grows by
/// one line per device, so this leaves room for thousands of devices.
pub const MAX_CGROUP_FILE_BYTES: u64 = 64 << 10;
/// Labels (command lines, owner names) are cut to this many characters.
pub const MAX_LABEL_CHARS: usize = 80;
/// Command lines are kept to this many characters for matching `[[containers]] match`.
const MAX_COMMAND_CHARS: usize = 512;
/// A label from a command line is read again after this many samples (about a minute at
/// the default interval): an entrypoint script may `exec` into the real program.
const LABEL_REFRESH_SAMPLES: u32 = 30;
/// How long an OOM kill keeps its mark on the page.
const OOM_WINDOW_HOURS: i64 = 24;

/// The container engine that made a cgroup, as told by its directory's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Docker,
    Podman,
}

impl Engine {
    /// The name in the JSON: "docker" or "podman".
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        }
    }
}

/// One container's cgroup directory found under the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
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
const LAYOUTS: &[(&str, &str, &str, Engine)] = &[
    ("system.slice", "docker-", ".scope", Engine::Docker),
    ("docker", "", "", Engine::Docker),
    ("machine.slice", "libpod-", ".scope", Engine::Podman),
];

/// Directories a cgroup v1 mount has at its root (one per controller, some combined).
const V1_CONTROLLERS: &[&str] = &["memory", "cpu,cpuacct", "cpuacct", "pids", "blkio"];

/// Whether `s` is a container id as the engines write it: 64 lowercase hex digits.
pub fn is_container_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The id inside a directory name of a layout, if the name is a container's.
pub fn id_in(name: &str, prefix: &str, suffix: &str) -> Option<String> {
    let id = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    is_container_id(id).then(|| id.to_string())
}

/// Checks that `root` is a cgroup v2 hierarchy; the error says what it is instead and
/// how to fix it.
pub fn check_root(root: &Path) -> io::Result<()> {
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
pub fn discover(root: &Path) -> io::Result<Vec<Found>> {
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

// ---------------------------------------------------------------------------------------
// Pure parsers of the kernel's formats (Documentation/admin-guide/cgroup-v2.rst).

fn number(file: &str, v: &str) -> io::Result<u64> {
    v.trim()
        .parse()
        .map_err(|_| invalid(format!("{file}: bad number '{}'", cut(v.trim(), 40))))
}

/// The value of `key` in a flat-keyed file ("key value" lines).
fn flat_key(file: &str, text: &str, key: &str) -> io::Result<u64> {
    for line in text.lines() {
        let mut cols = line.split_ascii_whitespace();
        if cols.next() == Some(key) {
            return number(file, cols.next().unwrap_or(""));
        }
    }
    Err(invalid(format!("{file}: no {key}")))
}

/// `cpu.stat`: CPU time used by the cgroup, in microseconds (`usage_usec`).
pub fn parse_cpu_stat(text: &str) -> io::Result<u64> {
    flat_key("cpu.stat", text, "usage_usec")
}

/// `memory.events`: how many processes the OOM killer killed in the cgroup (`oom_kill`).
pub fn parse_memory_events(text: &str) -> io::Result<u64> {
    flat_key("memory.events", text, "oom_kill")
}

/// A single-value file (`memory.current`, `pids.current`).
pub fn parse_single(file: &str, text: &str) -> io::Result<u64> {
    number(file, text)
}

/// `memory.max`: the limit in bytes, `None` for "max" (no limit).
pub fn parse_memory_max(text: &str) -> io::Result<Option<u64>> {
    match text.trim() {
        "max" => Ok(None),
        v => number("memory.max", v).map(Some),
    }
}

/// `io.stat`: bytes read and written, summed over the devices. Each line is a device
/// (`MAJ:MIN`) followed by `key=value` pairs; keys other than `rbytes`/`wbytes` are
/// skipped (the kernel adds some with io.cost), an empty file is no I/O.
pub fn parse_io_stat(text: &str) -> io::Result<(u64, u64)> {
    let (mut read, mut written) = (0u64, 0u64);
    for line in text.lines() {
        let mut cols = line.split_ascii_whitespace();
        let Some(dev) = cols.next() else { continue };
        let ok_dev = dev.split_once(':').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        });
        if !ok_dev {
            return Err(invalid(format!("io.stat: bad device '{}'", cut(dev, 40))));
        }
        for kv in cols {
            let Some((k, v)) = kv.split_once('=') else {
                return Err(invalid(format!("io.stat: bad field '{}'", cut(kv, 40))));
            };
            match k {
                "rbytes" => read = read.saturating_add(number("io.stat", v)?),
                "wbytes" => written = written.saturating_add(number("io.stat", v)?),
                _ => {}
            }
        }
    }
    Ok((read, written))
}

/// `cgroup.procs`: the first process of the cgroup (the lowest pid the kernel lists
/// first is not guaranteed, but the first line is what `docker top` would show first).
pub fn parse_first_pid(text: &str) -> Option<u32> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .and_then(|l| l.parse().ok())
        .filter(|p| *p > 0)
}

/// At most `max` characters of `s`.
fn cut(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Untrusted text made printable: control characters become spaces, runs of spaces one
/// space, cut to `max` characters (an ellipsis marks the cut).
pub fn clean(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    let mut n = 0;
    let mut space = true;
    for c in s.chars() {
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' && space {
            continue;
        }
        space = c == ' ';
        if n == max {
            out.pop();
            out.push('…');
            return out.trim_end().to_string();
        }
        out.push(c);
        n += 1;
    }
    out.trim_end().to_string()
}

/// A `/proc/<pid>/cmdline` (arguments separated by NULs) as one printable line, the
/// program named by its file name alone: `/usr/bin/forgejo web` → `forgejo web`.
pub fn parse_cmdline(raw: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut args = text.split('\0').filter(|a| !a.is_empty());
    let Some(first) = args.next() else {
        return String::new();
    };
    let prog = first.rsplit('/').next().unwrap_or(first);
    let mut line = String::from(prog);
    for a in args {
        if line.len() > max * 4 {
            break;
        }
        line.push(' ');
        line.push_str(a);
    }
    clean(&line, max)
}

// ---------------------------------------------------------------------------------------
// File access.

/// The files read from each container's cgroup at every sample, in [`Counters`] order.
const FILES: [&str; 6] = [
    "cpu.stat",
    "memory.current",
    "memory.max",
    "memory.events",
    "pids.current",
    "io.stat",
];

/// Containers whose files stay open between samples (6 descriptors each). A sample then
/// costs one `pread` per file instead of open + fstat + read + close; beyond this many,
/// the rest are opened at every sample, so a container flood cannot exhaust descriptors.
pub const MAX_OPEN_CONTAINERS: usize = 64;

/// A cgroup removed while its file is open reads as "no such device".
fn is_gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
        || e.raw_os_error() == Some(rustix::io::Errno::NODEV.raw_os_error())
}

/// Opens a small file the safe way: without blocking (a FIFO planted in the tree opens at
/// once) and only if it is a regular file. `Ok(None)` when it does not exist. Errors name
/// the file.
fn open_regular(path: &Path) -> io::Result<Option<fs::File>> {
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let f = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(named(e)),
    };
    if !f.metadata().map_err(named)?.file_type().is_file() {
        return Err(named(invalid("not a regular file")));
    }
    Ok(Some(f))
}

/// Reads a whole small file from offset 0 into `buf`, at most [`MAX_CGROUP_FILE_BYTES`].
/// The kernel regenerates a cgroup file's text on every read from offset 0, so an open
/// file can be read again at each sample. A short read is the end of a regular file, so
/// one `pread` is usually all it takes. The text is `buf[..n]` for the `n` returned: the
/// buffer keeps its full size between reads, so a read never clears 64 KiB first.
fn read_from_start(f: &fs::File, buf: &mut Vec<u8>) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let cap = MAX_CGROUP_FILE_BYTES as usize + 1;
    if buf.len() != cap {
        buf.resize(cap, 0);
    }
    let mut len = 0;
    loop {
        let n = match f.read_at(&mut buf[len..], len as u64) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let want = cap - len;
        len += n;
        if n == 0 || n < want || len == cap {
            break;
        }
    }
    if len == cap {
        return Err(invalid(format!(
            "longer than {MAX_CGROUP_FILE_BYTES} bytes"
        )));
    }
    Ok(len)
}

/// Opens and reads a small file once (`cgroup.procs`, a command line).
fn read_small(path: &Path, buf: &mut Vec<u8>) -> io::Result<usize> {
    match open_regular(path)? {
        Some(f) => read_from_start(&f, buf)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        None => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{}: not found", path.display()),
        )),
    }
}

/// One container's open counter files (`None`: the file does not exist, because its
/// controller is not enabled for the cgroup).
#[derive(Debug, Default)]
pub struct Handles {
    files: [Option<fs::File>; 6],
}

impl Handles {
    /// Opens the counter files of the cgroup `dir`.
    pub fn open(dir: &Path) -> io::Result<Handles> {
        let mut h = Handles::default();
        for (slot, name) in h.files.iter_mut().zip(FILES) {
            *slot = open_regular(&dir.join(name))?;
        }
        Ok(h)
    }
}

/// Reads and parses file `i` of a container: `Ok(None)` when it does not exist or the
/// container went away. Errors name the file.
fn field<T>(
    h: &Handles,
    dir: &Path,
    i: usize,
    buf: &mut Vec<u8>,
    parse: impl FnOnce(&str) -> io::Result<T>,
) -> io::Result<Option<T>> {
    let Some(f) = &h.files[i] else {
        return Ok(None);
    };
    let path = || dir.join(FILES[i]);
    let n = match read_from_start(f, buf) {
        Ok(n) => n,
        Err(e) if is_gone(&e) => return Ok(None),
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("{}: {e}", path().display()),
            ))
        }
    };
    let text = std::str::from_utf8(&buf[..n])
        .map_err(|_| invalid(format!("{}: not UTF-8 text", path().display())))?;
    parse(text)
        .map(Some)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))
}

/// What the kernel counts for one container at one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    /// The full id.
    pub id: String,
    pub engine: Option<Engine>,
    pub usage_usec: Option<u64>,
    pub memory_bytes: Option<u64>,
    pub memory_limit: Option<u64>,
    pub oom_kills: Option<u64>,
    pub processes: Option<u64>,
    /// Bytes read and written, summed over devices.
    pub io: Option<(u64, u64)>,
}

/// Reads one container's counters through its open files; `Ok(None)` when the container
/// is gone (it stopped between discovery and now). `limit`: the memory limit when already
/// known (it changes only with `docker update`, so it is read about once a minute, not at
/// every sample); `None` reads `memory.max`.
pub fn read_counters(
    found: &Found,
    h: &Handles,
    buf: &mut Vec<u8>,
    limit: Option<Option<u64>>,
) -> io::Result<Option<Counters>> {
    let d = found.dir.as_path();
    let c = Counters {
        id: found.id.clone(),
        engine: Some(found.engine),
        usage_usec: field(h, d, 0, buf, parse_cpu_stat)?,
        memory_bytes: field(h, d, 1, buf, |t| parse_single("memory.current", t))?,
        memory_limit: match limit {
            Some(l) => l,
            None => field(h, d, 2, buf, parse_memory_max)?.flatten(),
        },
        oom_kills: field(h, d, 3, buf, parse_memory_events)?,
        processes: field(h, d, 4, buf, |t| parse_single("pids.current", t))?,
        io: field(h, d, 5, buf, parse_io_stat)?,
    };
    if c.usage_usec.is_none() && c.memory_bytes.is_none() && !d.is_dir() {
        return Ok(None);
    }
    Ok(Some(c))
}

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
pub fn rule_for<'a>(
    rules: &'a [ContainerRule],
    id: &str,
    command: &str,
) -> Option<&'a ContainerRule> {
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
    pub counters: Counters,
    pub name: String,
    pub command: Option<String>,
    pub service: Option<String>,
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
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the root has none of the parents containers live under: what a container
    /// sees of its own private cgroup namespace when `host.cgroup` was not pointed at the
    /// host's hierarchy.
    pub fn looks_like_own_cgroup(&self) -> bool {
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

/// The 12-digit short id the engines print.
pub fn short_id(id: &str) -> &str {
    cut(id, 12)
}

// ---------------------------------------------------------------------------------------
// Rates and events.

/// CPU use over an interval as a share of the whole host, like the host's own figure:
/// half a core busy on a 2-CPU host is 25 %. `None` when the counter went backwards or
/// no time passed.
pub fn cpu_percent(prev_usec: u64, cur_usec: u64, elapsed_secs: f64, cpus: usize) -> Option<f64> {
    if cpus == 0 {
        return None;
    }
    let per_sec = rate(prev_usec, cur_usec, elapsed_secs)?;
    Some(round2(per_sec / 1e6 / cpus as f64 * 100.0))
}

/// OOM kills the kernel made in one container since the previous sample (`None`: no
/// previous sample to compare, or the counter went backwards because the cgroup was
/// re-created).
pub fn new_oom_kills(prev: Option<&Counters>, cur: &Counters) -> Option<u64> {
    let (p, c) = (prev?.oom_kills?, cur.oom_kills?);
    c.checked_sub(p).filter(|n| *n > 0)
}

/// Turns this sample's counters into the `containers` section, given the previous
/// sample's (by id), the measured interval and the host's CPU count (`None` if the cpu
/// section failed). Sorted by memory, largest first.
pub fn delta(
    prev: Option<&HashMap<String, Counters>>,
    cur: &[Named],
    elapsed: f64,
    cpus: Option<usize>,
    oom: &OomLog,
) -> Vec<Container> {
    let mut out: Vec<Container> = cur
        .iter()
        .map(|n| {
            let c = &n.counters;
            let p = prev.and_then(|m| m.get(&c.id));
            let both = |f: fn(&Counters) -> Option<u64>| Some((f(p?)?, f(c)?));
            let io_prev = p.and_then(|p| p.io);
            let (oom_24h, last_oom) = oom.of(&c.id);
            Container {
                id: short_id(&c.id).to_string(),
                name: n.name.clone(),
                engine: c.engine.map(|e| e.as_str().to_string()).unwrap_or_default(),
                command: n.command.clone(),
                service: n.service.clone(),
                cpu_percent: both(|c| c.usage_usec)
                    .and_then(|(a, b)| cpu_percent(a, b, elapsed, cpus?)),
                memory_bytes: c.memory_bytes,
                memory_limit_bytes: c.memory_limit,
                oom_kills: c.oom_kills,
                oom_kills_24h: oom_24h,
                last_oom_kill: last_oom,
                processes: c.processes,
                read_bytes_per_sec: io_prev
                    .zip(c.io)
                    .and_then(|(a, b)| rate(a.0, b.0, elapsed))
                    .map(round2),
                write_bytes_per_sec: io_prev
                    .zip(c.io)
                    .and_then(|(a, b)| rate(a.1, b.1, elapsed))
                    .map(round2),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.memory_bytes
            .cmp(&a.memory_bytes)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

/// OOM kills seen by this process in the last 24 hours, per container id (kept in memory:
/// a restart forgets them, while the kernel's own `oom_kills` total stays).
#[derive(Debug, Default)]
pub struct OomLog {
    events: HashMap<String, VecDeque<(DateTime<Utc>, u64)>>,
}

impl OomLog {
    /// Records `n` kills in container `id` at `at`.
    pub fn record(&mut self, id: &str, n: u64, at: DateTime<Utc>) {
        let q = self.events.entry(id.to_string()).or_default();
        q.push_back((at, n));
        // Bounded: a container killed every interval for a day still keeps one entry per
        // sample at most, and old ones go.
        while q.len() > 50_000 {
            q.pop_front();
        }
    }

    /// Drops events older than the window, and containers with none left.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        let since = now - ChronoDuration::hours(OOM_WINDOW_HOURS);
        self.events.retain(|_, q| {
            while q.front().is_some_and(|(t, _)| *t < since) {
                q.pop_front();
            }
            !q.is_empty()
        });
    }

    /// (kills in the window, time of the last one) for container `id`.
    pub fn of(&self, id: &str) -> (u64, Option<DateTime<Utc>>) {
        match self.events.get(id) {
            Some(q) => (
                q.iter().map(|(_, n)| *n).fold(0u64, u64::saturating_add),
                q.back().map(|(t, _)| *t),
            ),
            None => (0, None),
        }
    }
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
    }

    #[test]
    fn cgroup_parsers_read_the_kernel_formats() {
        let cpu = "usage_usec 1000\nuser_usec 600\nsystem_usec 400\nnr_periods 0\n";
        assert_eq!(parse_cpu_stat(cpu).unwrap(), 1000);
        assert!(parse_cpu_stat("user_usec 1\n").is_err());
        assert!(parse_cpu_stat("usage_usec -1\n").is_err());
        let ev = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n";
        assert_eq!(parse_memory_events(ev).unwrap(), 2);
        assert!(parse_memory_events("oom 3\n").is_err());
        assert_eq!(parse_memory_max("max\n").unwrap(), None);
        assert_eq!(parse_memory_max("536870912\n").unwrap(), Some(536870912));
        assert!(parse_memory_max("lots\n").is_err());
        assert_eq!(parse_single("pids.current", "12\n").unwrap(), 12);
        assert!(parse_single("pids.current", "").is_err());
        let io = "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n\
                  253:0 rbytes=100 wbytes=0 rios=1 wios=0 dbytes=0 dios=0 cost.vrate=100.00\n";
        assert_eq!(parse_io_stat(io).unwrap(), (4196, 8192));
        assert_eq!(parse_io_stat("").unwrap(), (0, 0));
        assert!(parse_io_stat("sda rbytes=1\n").is_err());
        assert!(parse_io_stat("8:0 rbytes=x\n").is_err());
        assert!(parse_io_stat("8:0 rbytes\n").is_err());
        assert_eq!(
            parse_io_stat(&format!("8:0 rbytes={} wbytes=0\n8:1 rbytes=5\n", u64::MAX)).unwrap(),
            (u64::MAX, 0)
        );
        assert_eq!(parse_first_pid("4242\n4243\n"), Some(4242));
        assert_eq!(parse_first_pid(""), None);
        assert_eq!(parse_first_pid("0\n"), None);
    }

    #[test]
    fn cgroup_labels_are_short_and_printable() {
        assert_eq!(
            parse_cmdline(b"/usr/local/bin/forgejo\0web\0--port\x003000\0", 80),
            "forgejo web --port 3000"
        );
        assert_eq!(parse_cmdline(b"", 80), "");
        assert_eq!(parse_cmdline(b"a\x1b[31mred\n\0x", 80), "a [31mred x");
        let long = parse_cmdline(&[b'x'; 300], 80);
        assert_eq!(long.chars().count(), 80);
        assert!(long.ends_with('…'));
        assert_eq!(clean("  a\t\tb  ", 80), "a b");
        assert_eq!(short_id(ID), "3f2a1b2c3d4e");
    }

    #[test]
    fn cgroup_cpu_is_a_share_of_the_whole_host() {
        // Half a core for one second on a 2-CPU host: 25 %.
        assert_eq!(cpu_percent(1_000_000, 1_500_000, 1.0, 2), Some(25.0));
        assert_eq!(cpu_percent(2, 1, 1.0, 2), None);
        assert_eq!(cpu_percent(1, 2, 0.0, 2), None);
        assert_eq!(cpu_percent(1, 2, 1.0, 0), None);
    }

    fn named(id: &str, usec: u64, mem: u64, oom: u64, io: (u64, u64)) -> Named {
        Named {
            counters: Counters {
                id: id.into(),
                engine: Some(Engine::Docker),
                usage_usec: Some(usec),
                memory_bytes: Some(mem),
                memory_limit: None,
                oom_kills: Some(oom),
                processes: Some(1),
                io: Some(io),
            },
            name: id.into(),
            ..Named::default()
        }
    }

    #[test]
    fn cgroup_delta_first_sample_backwards_and_new_containers() {
        let oom = OomLog::default();
        let a0 = named("a", 1_000_000, 10, 0, (0, 0));
        let first = delta(None, std::slice::from_ref(&a0), 0.0, Some(2), &oom);
        assert_eq!(first[0].cpu_percent, None);
        assert_eq!(first[0].read_bytes_per_sec, None);
        let prev: HashMap<String, Counters> = [("a".to_string(), a0.counters.clone())]
            .into_iter()
            .collect();
        let cur = [
            named("a", 1_500_000, 10, 1, (2048, 1024)),
            named("b", 9, 20, 0, (1, 1)),
        ];
        let d = delta(Some(&prev), &cur, 2.0, Some(2), &oom);
        // Sorted by memory: b first.
        assert_eq!(d[0].id, "b");
        assert_eq!(d[0].cpu_percent, None);
        assert_eq!(d[1].cpu_percent, Some(12.5));
        assert_eq!(d[1].read_bytes_per_sec, Some(1024.0));
        assert_eq!(d[1].write_bytes_per_sec, Some(512.0));
        assert_eq!(new_oom_kills(prev.get("a"), &cur[0].counters), Some(1));
        assert_eq!(new_oom_kills(None, &cur[0].counters), None);
        let back = [named("a", 1, 10, 0, (0, 0))];
        let d = delta(Some(&prev), &back, 2.0, Some(2), &oom);
        assert_eq!(d[0].cpu_percent, None);
        assert_eq!(new_oom_kills(prev.get("a"), &back[0].counters), None);
        // Without the cpu section, no share of the host.
        let d = delta(Some(&prev), &cur, 2.0, None, &oom);
        assert_eq!(d[1].cpu_percent, None);
    }

    #[test]
    fn cgroup_oom_log_keeps_a_day() {
        let mut log = OomLog::default();
        let now = Utc::now();
        log.record("a", 2, now - ChronoDuration::hours(25));
        log.record("a", 3, now - ChronoDuration::hours(1));
        log.prune(now);
        assert_eq!(log.of("a"), (3, Some(now - ChronoDuration::hours(1))));
        assert_eq!(log.of("b"), (0, None));
    }

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
    fn cgroup_fifo_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = Vec::new();
        let fifo = dir.path().join("cpu.stat");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let t = std::time::Instant::now();
        let err = read_small(&fifo, &mut buf).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
        assert!(open_regular(&dir.path().join("memory.current"))
            .unwrap()
            .is_none());
        let err = Handles::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("cpu.stat: not a regular file"), "{err}");
        // An open file is read again from the start: new text, not the old.
        let p = dir.path().join("pids.current");
        fs::write(&p, "12\n").unwrap();
        let f = open_regular(&p).unwrap().unwrap();
        let n = read_from_start(&f, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"12\n");
        fs::write(&p, "7\n").unwrap();
        let n = read_from_start(&f, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"7\n");
        fs::write(dir.path().join("big"), vec![b'1'; 70_000]).unwrap();
        assert!(read_small(&dir.path().join("big"), &mut buf).is_err());
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
        for i in 0..=MAX_CONTAINERS {
            fs::create_dir(many.join(format!("docker-{i:064x}.scope"))).unwrap();
        }
        let err = discover(dir.path()).unwrap_err().to_string();
        assert!(err.contains("more than 500 containers"), "{err}");
    }
}
