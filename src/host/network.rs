//! Network traffic per interface from the host namespace's `net/dev` (`<proc>/1/net/dev`
//! when readable, else `<proc>/net/dev`), minus the `metrics.net_exclude` globs.

use std::io;
use std::path::Path;

use super::{invalid, rate, read_file, round2, Interface, Network};

/// One interface's cumulative byte counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counters {
    pub name: String,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// Parses `/proc/net/dev` text: two header lines, then `name: 8 receive and 8 transmit
/// columns`. Old kernels write no space after the colon (`eth0:1234 …`).
///
/// Our own parser, not procfs-core's `InterfaceDeviceStatus`: that one splits on white
/// space only, so on those kernels it reads `eth0:1234` as the name and every counter one
/// column off (the `K2_6` case below). procfs-core is its differential oracle on the
/// modern layout in `tests/it/fuzz.rs`.
pub fn parse_str(text: &str) -> io::Result<Vec<Counters>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.is_empty() || name.contains('|') {
            continue;
        }
        let cols: Vec<&str> = rest.split_ascii_whitespace().take(9).collect();
        if cols.len() < 9 {
            return Err(invalid(format!("net/dev: short line for '{name}'")));
        }
        let num = |s: &str| {
            s.parse::<u64>()
                .map_err(|_| invalid(format!("net/dev: bad counter '{s}' for '{name}'")))
        };
        out.push(Counters {
            name: name.to_string(),
            rx_bytes: num(cols[0])?,
            tx_bytes: num(cols[8])?,
        });
    }
    Ok(out)
}

/// Matches `name` against a glob where `*` stands for any run of characters.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ni));
            pi += 1;
        } else if pi < p.len() && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Whether `name` matches any of `exclude`.
pub(crate) fn excluded(name: &str, exclude: &[String]) -> bool {
    exclude.iter().any(|g| glob_match(g, name))
}

/// Reads the host namespace's `net/dev`: `<proc>/1/net/dev` (pid 1's network namespace,
/// the host's under `pid: host` even when this container has its own network), else
/// `<proc>/net/dev` (this process's namespace). Interfaces matching `exclude` are dropped.
pub fn read(proc: &Path, exclude: &[String], buf: &mut String) -> io::Result<Vec<Counters>> {
    if let Err(first) = read_file(&proc.join("1/net/dev"), buf) {
        read_file(&proc.join("net/dev"), buf)
            .map_err(|e| io::Error::new(e.kind(), format!("{first}; {e}")))?;
    }
    let mut v = parse_str(buf)?;
    v.retain(|c| !excluded(&c.name, exclude));
    Ok(v)
}

/// The `network` section: per-interface rates over `elapsed_secs` and their sums. An
/// interface that is new or whose counters went backwards has `null` rates, and so do the
/// sums for that interval (a partial sum would look like a traffic drop).
pub fn delta(prev: Option<&[Counters]>, cur: &[Counters], elapsed_secs: f64) -> Network {
    let interfaces: Vec<Interface> = cur
        .iter()
        .map(|c| {
            let p = prev.and_then(|p| p.iter().find(|p| p.name == c.name));
            Interface {
                name: c.name.clone(),
                rx_bytes_per_sec: p
                    .and_then(|p| rate(p.rx_bytes, c.rx_bytes, elapsed_secs))
                    .map(round2),
                tx_bytes_per_sec: p
                    .and_then(|p| rate(p.tx_bytes, c.tx_bytes, elapsed_secs))
                    .map(round2),
                rx_bytes_total: c.rx_bytes,
                tx_bytes_total: c.tx_bytes,
            }
        })
        .collect();
    let sum = |f: fn(&Interface) -> Option<f64>| -> Option<f64> {
        prev?;
        interfaces.iter().map(f).sum::<Option<f64>>().map(round2)
    };
    Network {
        rx_bytes_per_sec: sum(|i| i.rx_bytes_per_sec),
        tx_bytes_per_sec: sum(|i| i.tx_bytes_per_sec),
        interfaces,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K6: &str = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 3217899   12136    0    0    0     0          0         0  3217899   12136    0    0    0     0       0          0
  eth0: 98765432101 1234567 0 3 0 0 0 12 1234567890 987654 0 0 0 0 0 0
docker0:    1000      10    0    0    0     0          0         0     2000      20    0    0    0     0       0          0
veth1a2b3c:  500 5 0 0 0 0 0 0 600 6 0 0 0 0 0 0
wg0: 10 1 0 0 0 0 0 0 20 2 0 0 0 0 0 0
";
    // Linux 2.4/2.6.18: no space after the colon for big counters.
    const K2_6: &str = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
  eth0:4294967295 3 0 0 0 0 0 0 77 1 0 0 0 0 0 0
";

    #[test]
    fn parses_layouts() {
        let v = parse_str(K6).unwrap();
        let names: Vec<&str> = v.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["lo", "eth0", "docker0", "veth1a2b3c", "wg0"]);
        assert_eq!((v[1].rx_bytes, v[1].tx_bytes), (98765432101, 1234567890));
        let v = parse_str(K2_6).unwrap();
        assert_eq!((v[0].rx_bytes, v[0].tx_bytes), (4294967295, 77));
        assert!(parse_str("x: 1 2 3\n").is_err());
        assert!(parse_str("x: 1 2 3 4 5 6 7 8 y 0 0 0 0 0 0 0\n").is_err());
    }

    #[test]
    fn globs() {
        let cases = [
            ("lo", "lo", true),
            ("lo", "lo0", false),
            ("veth*", "veth1a2b", true),
            ("veth*", "veth", true),
            ("veth*", "eth0", false),
            ("br-*", "br-1234", true),
            ("br-*", "br0", false),
            ("*0", "eth0", true),
            ("*0", "eth1", false),
            ("e*h*", "eth0", true),
            ("*", "anything", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
        ];
        for (g, n, want) in cases {
            assert_eq!(glob_match(g, n), want, "{g} {n}");
        }
    }

    fn c(n: &str, rx: u64, tx: u64) -> Counters {
        Counters {
            name: n.into(),
            rx_bytes: rx,
            tx_bytes: tx,
        }
    }

    #[test]
    fn rates_and_sums() {
        let prev = vec![c("eth0", 1000, 2000), c("wg0", 10, 10)];
        let cur = vec![c("eth0", 3000, 2500), c("wg0", 30, 10)];
        let n = delta(Some(&prev), &cur, 0.5);
        assert_eq!(n.interfaces[0].rx_bytes_per_sec, Some(4000.0));
        assert_eq!(n.interfaces[0].tx_bytes_per_sec, Some(1000.0));
        assert_eq!(n.interfaces[1].rx_bytes_per_sec, Some(40.0));
        assert_eq!(n.rx_bytes_per_sec, Some(4040.0));
        assert_eq!(n.tx_bytes_per_sec, Some(1000.0));
        assert_eq!(n.interfaces[0].rx_bytes_total, 3000);

        // First sample: no rates.
        let n = delta(None, &cur, 0.5);
        assert!(n.rx_bytes_per_sec.is_none() && n.interfaces[0].rx_bytes_per_sec.is_none());

        // An interface re-created (counters restart): null for it and for the sums.
        let cur2 = vec![c("eth0", 3500, 2600), c("wg0", 5, 5)];
        let n = delta(Some(&cur), &cur2, 1.0);
        assert_eq!(n.interfaces[0].rx_bytes_per_sec, Some(500.0));
        assert_eq!(n.interfaces[1].rx_bytes_per_sec, None);
        assert_eq!(n.rx_bytes_per_sec, None);

        // No interfaces left after excludes: the sums are 0, not null.
        let n = delta(Some(&[]), &[], 1.0);
        assert_eq!(n.rx_bytes_per_sec, Some(0.0));
    }

    #[test]
    fn excluded_interfaces_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let proc = dir.path();
        std::fs::create_dir_all(proc.join("1/net")).unwrap();
        let head = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n";
        let line = |n: &str| format!("{n:>6}: 100 1 0 0 0 0 0 0 200 2 0 0 0 0 0 0\n");
        let text = format!("{head}{}{}{}", line("lo"), line("eth0"), line("veth9f"));
        std::fs::write(proc.join("1/net/dev"), text).unwrap();
        let exclude = vec!["lo".to_string(), "veth*".to_string()];
        let got = read(proc, &exclude, &mut String::new()).unwrap();
        let names: Vec<&str> = got.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["eth0"]);
        assert_eq!((got[0].rx_bytes, got[0].tx_bytes), (100, 200));
        assert!(excluded("veth1", &exclude) && !excluded("eth1", &exclude));
    }
}
