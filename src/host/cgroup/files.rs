//! Reading a container's counter files: the non-blocking open of regular files only, one
//! `pread` from offset 0 per file and sample through descriptors kept open ([`Handles`]),
//! and [`read_counters`], which parses them into [`Counters`].

use std::fs::File;
use std::io;
use std::path::Path;

use super::discover::{Engine, Found};
use super::parse::{
    parse_cpu_stat, parse_inactive_file, parse_io_stat, parse_memory_events, parse_memory_max,
    parse_single,
};
use crate::files::open_regular;
use crate::host::invalid;

/// The largest cgroup file read: the kernel writes a few hundred bytes; `io.stat` grows by
/// one line per device, so this leaves room for thousands of devices.
const MAX_CGROUP_FILE_BYTES: u64 = 64 << 10;

/// The files read from each container's cgroup at every sample, in [`Counters`] order.
const FILES: [&str; 7] = [
    "cpu.stat",
    "memory.current",
    "memory.max",
    "memory.events",
    "pids.current",
    "io.stat",
    "memory.stat",
];

/// Containers whose files stay open between samples (7 descriptors each). A sample then
/// costs one `pread` per file instead of open + fstat + read + close; beyond this many,
/// the rest are opened at every sample, so a container flood cannot exhaust descriptors.
pub(super) const MAX_OPEN_CONTAINERS: usize = 64;

/// A cgroup removed while its file is open reads as "no such device".
fn is_gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
        || e.raw_os_error() == Some(rustix::io::Errno::NODEV.raw_os_error())
}

/// Opens a counter file through the crate's [`open_regular`] (non-blocking, regular files
/// only, the path named in the error), with a missing file as `Ok(None)`: a file is absent
/// when its controller is not enabled for the cgroup. The size cap is not the opener's but
/// [`read_from_start`]'s (64 KiB, smaller than the host sources' 1 MiB), because a cgroup
/// file stays open and is read again with `pread` rather than through `read_text`.
fn open_if_present(path: &Path) -> io::Result<Option<File>> {
    match open_regular(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads a whole small file from offset 0 into `buf`, at most [`MAX_CGROUP_FILE_BYTES`].
/// The kernel regenerates a cgroup file's text on every read from offset 0, so an open
/// file can be read again at each sample. A short read is the end of a regular file, so
/// one `pread` is usually all it takes. The text is `buf[..n]` for the `n` returned: the
/// buffer keeps its full size between reads, so a read never clears 64 KiB first.
fn read_from_start(f: &File, buf: &mut Vec<u8>) -> io::Result<usize> {
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
pub(super) fn read_small(path: &Path, buf: &mut Vec<u8>) -> io::Result<usize> {
    match open_if_present(path)? {
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
pub(super) struct Handles {
    files: [Option<File>; 7],
}

impl Handles {
    /// Opens the counter files of the cgroup `dir`.
    pub(super) fn open(dir: &Path) -> io::Result<Handles> {
        let mut h = Handles::default();
        for (slot, name) in h.files.iter_mut().zip(FILES) {
            *slot = open_if_present(&dir.join(name))?;
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
    pub engine: Engine,
    pub usage_usec: Option<u64>,
    /// Memory in use as `docker stats` shows it: `memory.current` less `inactive_file`
    /// (page cache the kernel drops first), or `memory.current` alone without
    /// `memory.stat`.
    pub memory_bytes: Option<u64>,
    /// `memory.current` itself (page cache included).
    pub memory_current: Option<u64>,
    pub memory_limit: Option<u64>,
    pub oom_kills: Option<u64>,
    pub processes: Option<u64>,
    /// Bytes read and written, summed over devices.
    pub io: Option<(u64, u64)>,
}

/// What `docker stats` calls a container's memory use: `memory.current` less the inactive
/// page cache (saturating: the two files are read at slightly different instants), or
/// `memory.current` when `memory.stat` is missing or has no `inactive_file`.
fn in_use(current: u64, inactive_file: Option<u64>) -> u64 {
    inactive_file.map_or(current, |i| current.saturating_sub(i))
}

/// Reads one container's counters through its open files; `Ok(None)` when the container
/// is gone (it stopped between discovery and now). `limit`: the memory limit when already
/// known (it changes only with `docker update`, so it is read about once a minute, not at
/// every sample); `None` reads `memory.max`.
pub(super) fn read_counters(
    found: &Found,
    h: &Handles,
    buf: &mut Vec<u8>,
    limit: Option<Option<u64>>,
) -> io::Result<Option<Counters>> {
    let d = found.dir.as_path();
    let current = field(h, d, 1, buf, |t| parse_single("memory.current", t))?;
    let inactive = field(h, d, 6, buf, parse_inactive_file)?.flatten();
    let c = Counters {
        id: found.id.clone(),
        engine: found.engine,
        usage_usec: field(h, d, 0, buf, parse_cpu_stat)?,
        memory_bytes: current.map(|c| in_use(c, inactive)),
        memory_current: current,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn cgroup_fifo_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = Vec::new();
        let fifo = dir.path().join("cpu.stat");
        crate::files::mkfifo(&fifo);
        let t = std::time::Instant::now();
        let err = read_small(&fifo, &mut buf).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
        assert!(open_if_present(&dir.path().join("memory.current"))
            .unwrap()
            .is_none());
        let err = Handles::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("cpu.stat: not a regular file"), "{err}");
        // An open file is read again from the start: new text, not the old.
        let p = dir.path().join("pids.current");
        fs::write(&p, "12\n").unwrap();
        let f = open_if_present(&p).unwrap().unwrap();
        let n = read_from_start(&f, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"12\n");
        fs::write(&p, "7\n").unwrap();
        let n = read_from_start(&f, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"7\n");
        fs::write(dir.path().join("big"), vec![b'1'; 70_000]).unwrap();
        assert!(read_small(&dir.path().join("big"), &mut buf).is_err());
    }

    #[test]
    fn a_removed_cgroup_reads_as_gone_and_other_errors_do_not() {
        let nodev = io::Error::from_raw_os_error(rustix::io::Errno::NODEV.raw_os_error());
        assert!(is_gone(&nodev));
        assert!(is_gone(&io::Error::from(io::ErrorKind::NotFound)));
        assert!(!is_gone(&io::Error::from(io::ErrorKind::PermissionDenied)));
        assert!(!is_gone(&io::Error::from_raw_os_error(
            rustix::io::Errno::IO.raw_os_error()
        )));
    }

    #[test]
    fn a_cgroup_file_of_exactly_the_cap_is_read_and_one_byte_more_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = Vec::new();
        let cap = MAX_CGROUP_FILE_BYTES as usize;
        fs::write(dir.path().join("at"), vec![b'1'; cap]).unwrap();
        fs::write(dir.path().join("over"), vec![b'1'; cap + 1]).unwrap();
        assert_eq!(read_small(&dir.path().join("at"), &mut buf).unwrap(), cap);
        let err = read_small(&dir.path().join("over"), &mut buf).unwrap_err();
        assert!(err.to_string().contains("longer than 65536 bytes"), "{err}");
    }

    #[test]
    fn a_container_without_cpu_or_memory_files_is_still_there_until_its_directory_goes() {
        use super::super::discover::{Engine, Found};
        let dir = tempfile::tempdir().unwrap();
        let cg = dir.path().join("docker-x.scope");
        fs::create_dir(&cg).unwrap();
        fs::write(cg.join("pids.current"), "3\n").unwrap();
        fs::write(cg.join("memory.max"), "1048576\n").unwrap();
        let found = Found {
            id: "x".into(),
            engine: Engine::Docker,
            dir: cg.clone(),
            ino: 0,
        };
        let mut buf = Vec::new();
        let h = Handles::open(&cg).unwrap();
        let c = read_counters(&found, &h, &mut buf, None)
            .unwrap()
            .expect("still there");
        assert_eq!(
            (c.processes, c.usage_usec, c.memory_limit),
            (Some(3), None, Some(1 << 20))
        );
        // A known limit is not read again.
        let c = read_counters(&found, &h, &mut buf, Some(Some(5)))
            .unwrap()
            .unwrap();
        assert_eq!(c.memory_limit, Some(5));
        drop(h);
        fs::remove_dir_all(&cg).unwrap();
        let none = Handles::default();
        assert_eq!(read_counters(&found, &none, &mut buf, None).unwrap(), None);
    }

    #[test]
    fn a_read_error_is_returned_not_retried() {
        let dir = tempfile::tempdir().unwrap();
        // A directory opens, but reading it fails (EISDIR): an error, at once.
        let f = File::open(dir.path()).unwrap();
        let err = read_from_start(&f, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.raw_os_error(),
            Some(rustix::io::Errno::ISDIR.raw_os_error())
        );
    }
}
