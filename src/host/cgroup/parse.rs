//! Pure parsers of the kernel's cgroup v2 formats (Documentation/admin-guide/cgroup-v2.rst):
//! `cpu.stat`, `memory.events`, `memory.max`, single values, `io.stat`, `cgroup.procs`, and
//! a process's `cmdline` made into a short printable label. No file access here.

use std::io;

use crate::host::invalid;
use crate::text;

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
pub(crate) fn parse_cpu_stat(text: &str) -> io::Result<u64> {
    flat_key("cpu.stat", text, "usage_usec")
}

/// `memory.events`: how many processes the OOM killer killed in the cgroup (`oom_kill`).
pub(crate) fn parse_memory_events(text: &str) -> io::Result<u64> {
    flat_key("memory.events", text, "oom_kill")
}

/// `memory.stat`: the page cache on the inactive LRU list (`inactive_file`), in bytes;
/// `None` when the file does not list it (an old kernel), a bad number is an error.
pub(crate) fn parse_inactive_file(text: &str) -> io::Result<Option<u64>> {
    match flat_key("memory.stat", text, "inactive_file") {
        Ok(v) => Ok(Some(v)),
        Err(_) if !has_key(text, "inactive_file") => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether a flat-keyed file has a line for `key`.
fn has_key(text: &str, key: &str) -> bool {
    text.lines()
        .any(|l| l.split_ascii_whitespace().next() == Some(key))
}

/// A single-value file (`memory.current`, `pids.current`).
pub(crate) fn parse_single(file: &str, text: &str) -> io::Result<u64> {
    number(file, text)
}

/// `memory.max`: the limit in bytes, `None` for "max" (no limit).
pub(crate) fn parse_memory_max(text: &str) -> io::Result<Option<u64>> {
    match text.trim() {
        "max" => Ok(None),
        v => number("memory.max", v).map(Some),
    }
}

/// `io.stat`: bytes read and written, summed over the devices. Each line is a device
/// (`MAJ:MIN`) followed by `key=value` pairs; keys other than `rbytes`/`wbytes` are
/// skipped (the kernel adds some with io.cost), an empty file is no I/O.
pub(crate) fn parse_io_stat(text: &str) -> io::Result<(u64, u64)> {
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
pub(crate) fn parse_first_pid(text: &str) -> Option<u32> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .and_then(|l| l.parse().ok())
        .filter(|p| *p > 0)
}

/// At most `max` characters of `s`.
pub(super) fn cut(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Untrusted text as a label of at most `max` characters (the ellipsis marking a cut
/// included): the shared cleaning of foreign text, so control, bidi-override and
/// zero-width characters are dropped here exactly as in the feeds.
pub(crate) fn clean(s: &str, max: usize) -> String {
    let line = text::clean(s, max);
    if line.chars().count() <= max {
        line
    } else {
        text::clean(s, max.saturating_sub(1))
    }
}

/// A `/proc/<pid>/cmdline` (arguments separated by NULs) as one printable line, the
/// program named by its file name alone: `/usr/bin/forgejo web` → `forgejo web`.
pub(crate) fn parse_cmdline(raw: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut args = text.split('\0').filter(|a| !a.is_empty());
    let Some(first) = args.next() else {
        return String::new();
    };
    let prog = first.rsplit('/').next().unwrap_or(first);
    // The whole line, then cut: the input is one `read_small` (at most 64 KiB), and
    // `clean` stops at `max` characters.
    let line = std::iter::once(prog)
        .chain(args)
        .collect::<Vec<_>>()
        .join(" ");
    clean(&line, max)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let stat = "anon 1000\nfile 9000\nactive_file 3000\ninactive_file 6000\n\
                    inactive_anon 0\n";
        assert_eq!(parse_inactive_file(stat).unwrap(), Some(6000));
        // `inactive_file` is not `total_inactive_file` (v1) nor a prefix match.
        assert_eq!(
            parse_inactive_file("total_inactive_file 5\nfile 1\n").unwrap(),
            None
        );
        assert_eq!(parse_inactive_file("").unwrap(), None);
        assert!(parse_inactive_file("inactive_file lots\n").is_err());
        assert!(parse_inactive_file("inactive_file\n").is_err());
        assert_eq!(parse_single("pids.current", "12\n").unwrap(), 12);
        assert!(parse_single("pids.current", "").is_err());
        let io = "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n\
                  253:0 rbytes=100 wbytes=0 rios=1 wios=0 dbytes=0 dios=0 cost.vrate=100.00\n";
        assert_eq!(parse_io_stat(io).unwrap(), (4196, 8192));
        assert_eq!(parse_io_stat("").unwrap(), (0, 0));
        assert!(parse_io_stat("sda rbytes=1\n").is_err());
        assert!(parse_io_stat("8:0 rbytes=x\n").is_err());
        assert!(parse_io_stat("8:0 rbytes\n").is_err());
        for dev in ["8x:0", "8:0x", ":0", "8:", "8"] {
            assert!(
                parse_io_stat(&format!("{dev} rbytes=1\n")).is_err(),
                "{dev}"
            );
        }
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
        assert_eq!(parse_cmdline(b"a\x1b[31mred\n\0x", 80), "a[31mred x");
        assert_eq!(
            parse_cmdline(
                "sh\0-c\0\u{202E}gpj.exe\u{200B}\0\u{2066}x\u{2069}".as_bytes(),
                80
            ),
            "sh -c gpj.exe x"
        );
        let long = parse_cmdline(&[b'x'; 300], 80);
        assert_eq!(long.chars().count(), 80);
        assert!(long.ends_with('…'));
        assert_eq!(clean("  a\t\tb  ", 80), "a b");
        assert_eq!(clean("abc", 3), "abc");
        assert_eq!(clean("abcd", 3), "ab…");
        // Arguments are joined until the line is well past the cap, then cut at the cap.
        let cut = parse_cmdline(b"/usr/bin/forgejo\0web\0--port\x003000\0", 12);
        assert_eq!(cut.chars().count(), 12);
        assert!(cut.starts_with("forgejo web"), "{cut}");
    }
}

#[cfg(test)]
#[path = "parse_props.rs"]
mod props;
