//! Memory and swap from `<proc>/meminfo`: used = MemTotal − MemAvailable.

use std::io;
use std::path::Path;

use super::{invalid, read_file, round2, Memory};

/// The `meminfo` fields the portal uses, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemInfo {
    pub total: u64,
    pub free: u64,
    /// `None` on kernels before 3.14, which do not write `MemAvailable`.
    pub available: Option<u64>,
    pub buffers: u64,
    pub cached: u64,
    pub shmem: u64,
    pub sreclaimable: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

/// Parses `/proc/meminfo` text (`MemTotal:       16314436 kB`, one field a line).
///
/// Our own parser, not procfs-core's `Meminfo`: on untrusted text (a hostile or broken
/// `HOST_PROC`) procfs-core 0.17 panics — it multiplies the value by 1024 unchecked
/// (`MemTotal: 18446744073709551615 kB` overflows) and cuts the field name's last byte by
/// byte index (a non-ASCII name is not a char boundary) — and it refuses text that lacks
/// any of 17 fields we never read. procfs-core stays its differential oracle in
/// `tests/it/fuzz.rs` (the same numbers on every kernel-shaped text).
pub fn parse_str(text: &str) -> io::Result<MemInfo> {
    let mut m = MemInfo::default();
    let mut have_total = false;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let slot = match key {
            "MemTotal" => {
                have_total = true;
                &mut m.total
            }
            "MemFree" => &mut m.free,
            "MemAvailable" => m.available.insert(0),
            "Buffers" => &mut m.buffers,
            "Cached" => &mut m.cached,
            "Shmem" => &mut m.shmem,
            "SReclaimable" => &mut m.sreclaimable,
            "SwapTotal" => &mut m.swap_total,
            "SwapFree" => &mut m.swap_free,
            _ => continue,
        };
        let mut cols = rest.split_ascii_whitespace();
        let n: u64 = cols
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| invalid(format!("meminfo: bad line '{line}'")))?;
        // Every field the kernel writes with a unit is in KiB ("kB"); a field without
        // a unit would be a count, which none of ours is.
        *slot = match cols.next() {
            Some("kB") => n.saturating_mul(1024),
            None => n,
            Some(u) => return Err(invalid(format!("meminfo: unknown unit '{u}' in '{line}'"))),
        };
    }
    if !have_total || m.total == 0 {
        return Err(invalid("meminfo: no MemTotal"));
    }
    Ok(m)
}

/// Reads `<proc>/meminfo`.
pub fn read(proc: &Path, buf: &mut String) -> io::Result<MemInfo> {
    read_file(&proc.join("meminfo"), buf)?;
    parse_str(buf)
}

/// The `memory` section. Without `MemAvailable` (kernels before 3.14) available memory is
/// estimated the way those kernels' `free` did: free + buffers + page cache + reclaimable
/// slab, less shared memory (tmpfs pages sit in the page cache but cannot be dropped).
pub(crate) fn summarize(m: &MemInfo) -> Memory {
    let available = m
        .available
        .unwrap_or_else(|| (m.free + m.buffers + m.cached + m.sreclaimable).saturating_sub(m.shmem))
        .min(m.total);
    let used = m.total - available;
    Memory {
        total_bytes: m.total,
        used_bytes: used,
        available_bytes: available,
        percent: round2(used as f64 * 100.0 / m.total as f64),
        swap_total_bytes: m.swap_total,
        swap_used_bytes: m.swap_total.saturating_sub(m.swap_free),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Linux 6.1 (abridged, real values)
    const K6: &str = "MemTotal:        4000000 kB\n\
MemFree:          500000 kB\n\
MemAvailable:    3000000 kB\n\
Buffers:          100000 kB\n\
Cached:          2000000 kB\n\
SwapCached:            0 kB\n\
Shmem:             10000 kB\n\
SReclaimable:      50000 kB\n\
SwapTotal:       1000000 kB\n\
SwapFree:         750000 kB\n\
HugePages_Total:       0\n\
Hugepagesize:       2048 kB\n";

    // Linux 3.10 before MemAvailable (CentOS 7 era kernels had it backported; 3.2 did not)
    const K3_2: &str = "MemTotal:        2048000 kB\n\
MemFree:          248000 kB\n\
Buffers:          100000 kB\n\
Cached:          1000000 kB\n\
SwapCached:            0 kB\n\
Shmem:            200000 kB\n\
Slab:             150000 kB\n\
SReclaimable:     100000 kB\n\
SwapTotal:             0 kB\n\
SwapFree:              0 kB\n";

    #[test]
    fn modern_kernel() {
        let m = summarize(&parse_str(K6).unwrap());
        assert_eq!(m.total_bytes, 4_000_000 * 1024);
        assert_eq!(m.available_bytes, 3_000_000 * 1024);
        assert_eq!(m.used_bytes, 1_000_000 * 1024);
        assert_eq!(m.percent, 25.0);
        assert_eq!(m.swap_total_bytes, 1_000_000 * 1024);
        assert_eq!(m.swap_used_bytes, 250_000 * 1024);
    }

    #[test]
    fn old_kernel_without_mem_available_is_estimated() {
        let info = parse_str(K3_2).unwrap();
        assert_eq!(info.available, None);
        let m = summarize(&info);
        // 248000 + 100000 + 1000000 + 100000 - 200000 = 1248000 kB
        assert_eq!(m.available_bytes, 1_248_000 * 1024);
        assert_eq!(m.used_bytes, 800_000 * 1024);
        assert_eq!(m.percent, 39.06);
        assert_eq!((m.swap_total_bytes, m.swap_used_bytes), (0, 0));
    }

    #[test]
    fn odd_values_stay_in_range() {
        // MemAvailable above MemTotal (seen briefly after memory hot-unplug).
        let m = summarize(&parse_str("MemTotal: 100 kB\nMemAvailable: 200 kB\n").unwrap());
        assert_eq!(
            (m.used_bytes, m.available_bytes, m.percent),
            (0, 102400, 0.0)
        );
        // SwapFree above SwapTotal
        let m = summarize(
            &parse_str("MemTotal: 100 kB\nMemAvailable: 50 kB\nSwapTotal: 1 kB\nSwapFree: 2 kB\n")
                .unwrap(),
        );
        assert_eq!(m.swap_used_bytes, 0);
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "",
            "MemFree: 1 kB\n",
            "MemTotal: 0 kB\n",
            "MemTotal: x kB\n",
            "MemTotal: 5 MB\n",
        ] {
            assert!(parse_str(bad).is_err(), "{bad:?}");
        }
    }
}
