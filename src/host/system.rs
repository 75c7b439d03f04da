//! Load averages (`<proc>/loadavg`), uptime (`<proc>/uptime`) and the process count
//! (numeric entries of `<proc>`).

use std::io;
use std::path::Path;

use procfs_core::FromRead;

use super::{invalid, read_file, round2};

/// Parses `/proc/loadavg` text (`0.52 0.41 0.30 1/312 12345`) with procfs-core; the
/// three averages must be finite and not negative.
pub fn parse_loadavg_str(text: &str) -> io::Result<[f64; 3]> {
    let l = procfs_core::LoadAverage::from_read(text.as_bytes())
        .map_err(|e| invalid(format!("loadavg: {e}")))?;
    let mut out = [0.0; 3];
    for (slot, v) in out.iter_mut().zip([l.one, l.five, l.fifteen]) {
        if !v.is_finite() || v < 0.0 {
            return Err(invalid(format!("loadavg: bad value {v}")));
        }
        // The kernel writes two decimals; f32 → f64 would add noise (0.52 → 0.5199…).
        *slot = round2(f64::from(v));
    }
    Ok(out)
}

/// Parses `/proc/uptime` text (`12345.67 2345.60`) with procfs-core: whole seconds since
/// boot.
pub fn parse_uptime_str(text: &str) -> io::Result<u64> {
    let u = procfs_core::Uptime::from_read(text.as_bytes())
        .map_err(|e| invalid(format!("uptime: {e}")))?;
    let v = u.uptime;
    if !v.is_finite() || v < 0.0 || v > u64::MAX as f64 {
        return Err(invalid(format!("uptime: bad value {v}")));
    }
    Ok(v as u64)
}

/// Whether a `<proc>` entry name is a process id (all digits); `self`, `net`, `stat` …
/// are not.
pub(crate) fn is_pid(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(u8::is_ascii_digit)
}

/// Reads `<proc>/loadavg`.
pub fn read_loadavg(proc: &Path, buf: &mut String) -> io::Result<[f64; 3]> {
    read_file(&proc.join("loadavg"), buf)?;
    parse_loadavg_str(buf)
}

/// Reads `<proc>/uptime`.
pub fn read_uptime(proc: &Path, buf: &mut String) -> io::Result<u64> {
    read_file(&proc.join("uptime"), buf)?;
    parse_uptime_str(buf)
}

/// Counts the processes in `<proc>`. Reads the directory with getdents directly: the
/// standard `read_dir` allocates twice per entry, which on a busy host is most of the cost
/// of this whole section.
pub fn read_processes(proc: &Path) -> io::Result<u64> {
    use rustix::fs::{Dir, Mode, OFlags};
    let fd = rustix::fs::open(
        proc,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("{}: {e}", proc.display()),
        )
    })?;
    let mut dir = Dir::new(fd)?;
    let mut n = 0;
    while let Some(entry) = dir.read() {
        n += u64::from(is_pid(entry?.file_name().to_bytes()));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loadavg_lines() {
        let cases: [(&str, Option<[f64; 3]>); 7] = [
            ("0.52 0.41 0.30 1/312 12345\n", Some([0.52, 0.41, 0.3])),
            ("12.00 8.50 4.25 17/2048 99\n", Some([12.0, 8.5, 4.25])),
            ("0.00 0.00 0.00 1/1 1", Some([0.0, 0.0, 0.0])),
            ("0.52 0.41\n", None),
            ("a b c 1/1 1\n", None),
            ("-1 0 0 1/1 1\n", None),
            ("inf 0 0 1/1 1\n", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_loadavg_str(text).ok(), want, "{text:?}");
        }
    }

    #[test]
    fn uptime_lines() {
        let cases = [
            ("880.49 925.56\n", Some(880)),
            ("0.99 0.00\n", Some(0)),
            ("123456789.12 1.0", Some(123456789)),
            ("", None),
            ("nan 1\n", None),
            ("-5 1\n", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_uptime_str(text).ok(), want, "{text:?}");
        }
    }

    #[test]
    fn only_numeric_names_are_processes() {
        let names = [
            "1",
            "42",
            "self",
            "thread-self",
            "net",
            "4a",
            "",
            "31337",
            "sys",
        ];
        let pids = names.iter().filter(|n| is_pid(n.as_bytes())).count();
        assert_eq!(pids, 3);
    }

    #[test]
    fn the_files_are_read_from_the_proc_given() {
        let dir = tempfile::tempdir().unwrap();
        let proc = dir.path();
        std::fs::write(proc.join("loadavg"), "0.52 0.41 0.30 1/312 12345\n").unwrap();
        std::fs::write(proc.join("uptime"), "880.49 925.56\n").unwrap();
        for name in ["1", "42", "31337", "self", "net"] {
            std::fs::create_dir(proc.join(name)).unwrap();
        }
        let mut buf = String::new();
        assert_eq!(read_loadavg(proc, &mut buf).unwrap(), [0.52, 0.41, 0.3]);
        assert_eq!(read_uptime(proc, &mut buf).unwrap(), 880);
        assert_eq!(read_processes(proc).unwrap(), 3);
        assert!(read_processes(&proc.join("nowhere")).is_err());
        // Just booted: zero seconds is an uptime, not an error.
        assert_eq!(parse_uptime_str("0.00 0.00\n").unwrap(), 0);
    }

    #[test]
    fn counting_processes_in_a_file_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("proc");
        std::fs::write(&file, "").unwrap();
        let err = read_processes(&file).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}: ", file.display())), "{err}");
    }
}
