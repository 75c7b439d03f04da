//! Load averages (`<proc>/loadavg`), uptime (`<proc>/uptime`) and the process count
//! (numeric entries of `<proc>`).

use std::ffi::OsStr;
use std::io::{self, Read};
use std::path::Path;

use super::{invalid, read_file, read_text, round2};

/// Parses `/proc/loadavg` text: `0.52 0.41 0.30 1/312 12345`.
pub fn parse_loadavg_str(text: &str) -> io::Result<[f64; 3]> {
    let mut cols = text.split_ascii_whitespace();
    let mut out = [0.0; 3];
    for slot in &mut out {
        let col = cols.next().ok_or_else(|| invalid("loadavg: too short"))?;
        let v: f64 = col
            .parse()
            .map_err(|_| invalid(format!("loadavg: bad value '{col}'")))?;
        if !v.is_finite() || v < 0.0 {
            return Err(invalid(format!("loadavg: bad value '{col}'")));
        }
        *slot = round2(v);
    }
    Ok(out)
}

/// Parses `/proc/loadavg` from a reader.
pub fn parse_loadavg(r: impl Read) -> io::Result<[f64; 3]> {
    let mut buf = String::new();
    read_text(r, &mut buf)?;
    parse_loadavg_str(&buf)
}

/// Parses `/proc/uptime` text (`12345.67 2345.60`): whole seconds since boot.
pub fn parse_uptime_str(text: &str) -> io::Result<u64> {
    let col = text
        .split_ascii_whitespace()
        .next()
        .ok_or_else(|| invalid("uptime: empty"))?;
    let v: f64 = col
        .parse()
        .map_err(|_| invalid(format!("uptime: bad value '{col}'")))?;
    if !v.is_finite() || v < 0.0 || v > u64::MAX as f64 {
        return Err(invalid(format!("uptime: bad value '{col}'")));
    }
    Ok(v as u64)
}

/// Parses `/proc/uptime` from a reader.
pub fn parse_uptime(r: impl Read) -> io::Result<u64> {
    let mut buf = String::new();
    read_text(r, &mut buf)?;
    parse_uptime_str(&buf)
}

/// Whether a `<proc>` entry name is a process id (all digits); `self`, `net`, `stat` …
/// are not.
pub fn is_pid(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(u8::is_ascii_digit)
}

/// Counts the names that are process ids.
pub fn count_pids<'a>(names: impl IntoIterator<Item = &'a OsStr>) -> u64 {
    names
        .into_iter()
        .filter(|n| is_pid(n.as_encoded_bytes()))
        .count() as u64
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
        let cases: [(&str, Option<[f64; 3]>); 6] = [
            ("0.52 0.41 0.30 1/312 12345\n", Some([0.52, 0.41, 0.3])),
            ("12.00 8.50 4.25 17/2048 99\n", Some([12.0, 8.5, 4.25])),
            ("0.00 0.00 0.00 1/1 1", Some([0.0, 0.0, 0.0])),
            ("0.52 0.41\n", None),
            ("a b c 1/1 1\n", None),
            ("-1 0 0 1/1 1\n", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_loadavg(text.as_bytes()).ok(), want, "{text:?}");
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
            assert_eq!(parse_uptime(text.as_bytes()).ok(), want, "{text:?}");
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
        assert_eq!(count_pids(names.iter().map(OsStr::new)), 3);
    }
}
