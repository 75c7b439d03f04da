//! Disk I/O from `<proc>/diskstats`: bytes read and written per whole disk, told apart
//! from partitions by `<sys>/block`, with loop, RAM and stacked devices left out.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use super::{rate, read_file, round2, DiskIo};

/// `diskstats` counts sectors of 512 bytes whatever the device's sector size.
pub(crate) const SECTOR_BYTES: u64 = 512;

/// One device's cumulative counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counters {
    pub device: String,
    pub read_bytes: u64,
    pub write_bytes: u64,
}

/// Parses `/proc/diskstats` text, one line at a time with procfs-core. Lines it refuses
/// (the 7-column partition lines of 2.6 kernels, which have no byte counters, or junk)
/// are skipped: one odd device must not hide the others.
pub fn parse_str(text: &str) -> Vec<Counters> {
    text.lines()
        .filter_map(|line| procfs_core::DiskStat::from_line(line).ok())
        .map(|d| Counters {
            read_bytes: d.sectors_read.saturating_mul(SECTOR_BYTES),
            write_bytes: d.sectors_written.saturating_mul(SECTOR_BYTES),
            device: d.name,
        })
        .collect()
}

/// Devices whose I/O is not a disk's or is counted again on the disks below them:
/// loop files, RAM disks, compressed RAM swap, device-mapper (LVM, LUKS) and md RAID
/// volumes, optical and floppy drives.
const SKIPPED: &[&str] = &["loop", "ram", "zram", "dm-", "md", "sr", "fd"];

/// Whether `device` is reported: a whole disk (listed in `<sys>/block`; partitions are
/// not) that is not one of the skipped kinds. Without a sysfs listing, names ending in a
/// partition number of the common schemes (`sda1`, `nvme0n1p2`, `mmcblk0p1`) are skipped.
pub(crate) fn is_whole_disk(device: &str, sys_block: Option<&HashSet<String>>) -> bool {
    if SKIPPED.iter().any(|p| {
        device
            .strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_digit()))
    }) {
        return false;
    }
    match sys_block {
        // sysfs writes '/' in names (cciss/c0d0) as '!'.
        Some(set) => set.contains(&device.replace('/', "!")),
        None => !looks_like_partition(device),
    }
}

fn looks_like_partition(d: &str) -> bool {
    let trimmed = d.trim_end_matches(|c: char| c.is_ascii_digit());
    if trimmed.len() == d.len() {
        return false;
    }
    if ["nvme", "mmcblk", "nbd", "loop"]
        .iter()
        .any(|p| d.starts_with(p))
    {
        return trimmed.ends_with('p');
    }
    ["sd", "vd", "hd", "xvd"].iter().any(|p| d.starts_with(p))
}

/// Names in `<sys>/block`, or `None` when it cannot be listed.
pub(crate) fn read_sys_block(sys: &Path) -> Option<HashSet<String>> {
    let dir = std::fs::read_dir(sys.join("block")).ok()?;
    Some(
        dir.filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
    )
}

/// The `<sys>/block` listing, listed again only when `diskstats` names a device it has
/// not seen (a disk plugged in): listing sysfs every sample would cost more than all
/// the procfs reads together.
pub struct BlockDevices {
    sys: PathBuf,
    listed: Option<HashSet<String>>,
    /// Names known not to be in the listing (partitions, mostly).
    absent: HashSet<String>,
}

impl BlockDevices {
    pub fn new(sys: PathBuf) -> Self {
        BlockDevices {
            sys,
            listed: None,
            absent: HashSet::new(),
        }
    }

    /// Reads `<proc>/diskstats`, whole disks only.
    pub fn read(&mut self, proc: &Path, buf: &mut String) -> io::Result<Vec<Counters>> {
        read_file(&proc.join("diskstats"), buf)?;
        let mut v = parse_str(buf);
        let unknown = |set: &HashSet<String>, absent: &HashSet<String>, d: &str| {
            let key = d.replace('/', "!");
            !set.contains(&key) && !absent.contains(&key)
        };
        let stale = match &self.listed {
            None => true,
            Some(set) => v.iter().any(|c| unknown(set, &self.absent, &c.device)),
        };
        if stale {
            self.listed = read_sys_block(&self.sys);
            self.absent.clear();
            if let Some(set) = &self.listed {
                for c in &v {
                    let key = c.device.replace('/', "!");
                    if !set.contains(&key) && self.absent.len() < 4096 {
                        self.absent.insert(key);
                    }
                }
            }
        }
        v.retain(|c| is_whole_disk(&c.device, self.listed.as_ref()));
        Ok(v)
    }
}

/// Rates per device of `cur` over `elapsed_secs`: `None` for a device that is new or
/// whose counters went backwards, and for every device before a previous reading exists.
pub fn delta(prev: Option<&[Counters]>, cur: &[Counters], elapsed_secs: f64) -> Vec<DiskIo> {
    cur.iter()
        .map(|c| {
            let p = prev.and_then(|p| p.iter().find(|p| p.device == c.device));
            let r = |f: fn(&Counters) -> u64| {
                p.and_then(|p| rate(f(p), f(c), elapsed_secs)).map(round2)
            };
            DiskIo {
                device: c.device.clone(),
                read_bytes_per_sec: r(|c| c.read_bytes),
                write_bytes_per_sec: r(|c| c.write_bytes),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // 6.x lines have 20 columns, 4.18 have 18, 4.x before have 14; 2.6 partitions 7.
    const TEXT: &str = "   7       0 loop0 52 0 2338 11 0 0 0 0 0 24 11 0 0 0 0 0 0
 254       0 vda 51863 8983 4732938 33596 35225 50010 24211344 142605 0 15648 178353 10403 69 817608 1903 4559 247
 254       1 vda1 51000 8983 4700000 33000 35000 50010 24200000 142000 0 15000 177000 10403 69 817608 1903
 259       0 nvme0n1 1000 0 2000 10 3000 0 4000 20 0 30 40
 259       1 nvme0n1p1 900 0 1800 10 2900 0 3900 20 0 30 40
   8      16 sdb1 1 2 3 4
 253       0 dm-0 10 0 80 1 20 0 160 2 0 3 3
   9       0 md0 10 0 80 1 20 0 160 2 0 3 3
 252       0 zram0 4 0 32 0 1 0 8 0 0 0 0 0 0 0 0 0 0
   1       0 ram0 0 0 0 0 0 0 0 0 0 0 0
 104       0 cciss/c0d0 5 0 10 0 5 0 20 0 0 0 0
";

    #[test]
    fn parses_whole_disks() {
        let all = parse_str(TEXT);
        assert_eq!(all.len(), 10); // the 7-column sdb1 line has no byte counters
        let sys: HashSet<String> = [
            "loop0",
            "vda",
            "nvme0n1",
            "dm-0",
            "md0",
            "zram0",
            "ram0",
            "cciss!c0d0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let kept: Vec<(&str, u64, u64)> = all
            .iter()
            .filter(|c| is_whole_disk(&c.device, Some(&sys)))
            .map(|c| (c.device.as_str(), c.read_bytes, c.write_bytes))
            .collect();
        assert_eq!(
            kept,
            vec![
                ("vda", 4732938 * 512, 24211344 * 512),
                ("nvme0n1", 2000 * 512, 4000 * 512),
                ("cciss/c0d0", 10 * 512, 20 * 512),
            ]
        );
    }

    #[test]
    fn partitions_by_name_without_sysfs() {
        for (d, whole) in [
            ("sda", true),
            ("sda1", false),
            ("vdb3", false),
            ("xvda", true),
            ("nvme0n1", true),
            ("nvme0n1p2", false),
            ("mmcblk0", true),
            ("mmcblk0p1", false),
            ("loop3", false),
            ("dm-1", false),
            ("md127", false),
            ("mdadm", true),
            ("sr0", false),
        ] {
            assert_eq!(is_whole_disk(d, None), whole, "{d}");
        }
    }

    /// A fake host for the block-device listing: `sys/block/<disk>` per whole disk and a
    /// `proc/diskstats` naming devices of one major number.
    struct FakeBlock {
        _dir: tempfile::TempDir,
        proc: std::path::PathBuf,
        sys: std::path::PathBuf,
        major: u32,
    }

    impl FakeBlock {
        fn new(major: u32) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let (proc, sys) = (dir.path().join("proc"), dir.path().join("sys"));
            std::fs::create_dir_all(sys.join("block")).unwrap();
            std::fs::create_dir_all(&proc).unwrap();
            FakeBlock {
                _dir: dir,
                proc,
                sys,
                major,
            }
        }

        fn whole_disk(&self, name: &str) {
            std::fs::create_dir_all(self.sys.join("block").join(name)).unwrap();
        }

        fn diskstats(&self, devices: &[&str]) {
            let text: String = devices
                .iter()
                .map(|d| format!("{} 0 {d} 1 0 2 0 3 0 4 0 0 0 0\n", self.major))
                .collect();
            std::fs::write(self.proc.join("diskstats"), text).unwrap();
        }

        /// The devices `b` reports from the diskstats now.
        fn read(&self, b: &mut BlockDevices) -> Vec<String> {
            let got = b.read(&self.proc, &mut String::new()).unwrap();
            got.into_iter().map(|c| c.device).collect()
        }
    }

    #[test]
    fn the_names_known_absent_are_capped() {
        let fake = FakeBlock::new(8);
        fake.whole_disk("sda");
        let names: Vec<String> = (0..4200).map(|i| format!("sda{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        fake.diskstats(&names);
        let mut b = BlockDevices::new(fake.sys.clone());
        assert!(fake.read(&mut b).is_empty());
        assert_eq!(b.absent.len(), 4096);
    }

    #[test]
    fn a_disk_plugged_in_later_is_found() {
        let fake = FakeBlock::new(8);
        fake.whole_disk("sda");
        fake.diskstats(&["sda", "sda1"]);
        let mut b = BlockDevices::new(fake.sys.clone());
        assert_eq!(fake.read(&mut b), ["sda"]);
        assert_eq!(fake.read(&mut b), ["sda"]);
        fake.whole_disk("sdb");
        fake.diskstats(&["sda", "sda1", "sdb", "sdb1"]);
        assert_eq!(fake.read(&mut b), ["sda", "sdb"]);
    }

    fn c(d: &str, r: u64, w: u64) -> Counters {
        Counters {
            device: d.into(),
            read_bytes: r,
            write_bytes: w,
        }
    }

    #[test]
    fn rates() {
        let prev = vec![c("sda", 1000, 5000), c("sdb", 100, 100), c("gone", 1, 1)];
        let cur = vec![c("sda", 3000, 5000), c("sdb", 50, 200), c("new", 10, 10)];
        let got = delta(Some(&prev), &cur, 2.0);
        let pairs: Vec<(Option<f64>, Option<f64>)> = got
            .iter()
            .map(|d| (d.read_bytes_per_sec, d.write_bytes_per_sec))
            .collect();
        assert_eq!(
            pairs,
            vec![
                (Some(1000.0), Some(0.0)),
                (None, Some(50.0)), // read counter went backwards
                (None, None),       // appeared this interval
            ]
        );
        assert!(delta(None, &cur, 2.0)
            .iter()
            .all(|d| d.read_bytes_per_sec.is_none() && d.write_bytes_per_sec.is_none()));
    }

    #[test]
    fn sysfs_is_listed_again_only_for_a_device_it_has_not_seen() {
        // s390 DASD: `dasda1` is a partition the name rules do not know; sysfs does.
        let fake = FakeBlock::new(94);
        fake.whole_disk("dasda");
        fake.diskstats(&["dasda", "dasda1"]);
        let mut b = BlockDevices::new(fake.sys.clone());
        assert_eq!(fake.read(&mut b), ["dasda"]);
        // The listing is kept while diskstats names nothing new.
        std::fs::remove_dir_all(fake.sys.join("block/dasda")).unwrap();
        assert_eq!(fake.read(&mut b), ["dasda"]);
        assert_eq!(b.absent.len(), 1);
        assert!(read_sys_block(&fake.proc.join("nowhere")).is_none());
        assert_eq!(read_sys_block(&fake.sys).map(|s| s.len()), Some(0));
    }
}
