//! Filesystems: the mount table (`<proc>/1/mounts`, else `<proc>/self/mounts`) filtered to
//! real storage, and their usage by statvfs under `<root>`, time-bounded on probe threads
//! so a hung network mount never stalls the sampler.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{read_file, round2, Disk};

/// At most this many filesystems are reported (and probed, one thread each).
pub const MAX_MOUNTS: usize = 64;

/// How long a sample waits for statvfs answers before reporting a mount as not answering.
/// Generous, because it is paid once: while a probe is still out, later samples do not
/// wait for that mount at all. (A busy machine can take tens of milliseconds just to
/// schedule a fresh probe thread, so a tight deadline would drop healthy disks.)
pub const PROBE_DEADLINE: Duration = Duration::from_millis(250);

/// One line of a mounts file, unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub device: String,
    pub mount_point: String,
    pub fs: String,
}

/// Undoes the kernel's octal escapes in mounts fields (`\040` space, `\011` tab, `\012`
/// newline, `\134` backslash); anything else is kept as written.
pub fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let oct = &b[i + 1..i + 4];
            if oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                let v = (oct[0] - b'0') as u32 * 64
                    + (oct[1] - b'0') as u32 * 8
                    + (oct[2] - b'0') as u32;
                if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a mounts file (`/proc/<pid>/mounts`, fstab format). Short lines are skipped.
pub fn parse_str(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut cols = line.split_ascii_whitespace();
            let device = cols.next()?;
            let mount_point = cols.next()?;
            let fs = cols.next()?;
            Some(Mount {
                device: unescape(device),
                mount_point: unescape(mount_point),
                fs: unescape(fs),
            })
        })
        .collect()
}

/// Filesystems that hold no user data: kernel interfaces, memory-backed, images and
/// container layers.
const PSEUDO_FS: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "erofs",
    "fusectl",
    "hugetlbfs",
    "iso9660",
    "mqueue",
    "nsfs",
    "overlay",
    "proc",
    "procfs",
    "pstore",
    "ramfs",
    "rootfs",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
    "aufs",
    "shm",
];

/// FUSE filesystems that are views, not storage (sshfs, rclone, mergerfs … are kept).
const PSEUDO_FUSE: &[&str] = &[
    "fuse.lxcfs",
    "fuse.gvfsd-fuse",
    "fuse.portal",
    "fuse.snapfuse",
    "fuse.kio-fuse",
    "fuse.xdg-document-portal",
    "fuse.squashfuse",
    "fuse.appimage",
];

/// Mount points that are the kernel's or a container engine's, not the user's.
const SKIPPED_PREFIXES: &[&str] = &[
    "/proc",
    "/sys",
    "/dev",
    "/run/credentials",
    "/run/containers",
    "/run/docker",
    "/run/netns",
    "/run/user",
    "/snap",
    "/var/lib/docker",
    "/var/lib/containers",
    "/var/lib/containerd",
    "/var/lib/kubelet",
    "/var/lib/lxcfs",
    "/var/lib/rancher",
    "/var/lib/snapd",
];

/// Whether `fs` holds no user data.
pub fn is_pseudo_fs(fs: &str) -> bool {
    PSEUDO_FS.contains(&fs) || PSEUDO_FUSE.contains(&fs)
}

/// Whether `mount_point` is a kernel or container-storage path (the path itself or below).
pub fn is_skipped_path(mount_point: &str) -> bool {
    SKIPPED_PREFIXES.iter().any(|p| {
        mount_point
            .strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The mounts worth reporting: real filesystems, outside kernel and container paths,
/// each device once (at its shortest mount point: `/` rather than a bind mount of it).
pub fn select(mounts: Vec<Mount>) -> Vec<Mount> {
    let mut out: Vec<Mount> = Vec::new();
    for m in mounts {
        if is_pseudo_fs(&m.fs)
            || is_skipped_path(&m.mount_point)
            || !m.mount_point.starts_with('/')
            || m.mount_point.split('/').any(|c| c == "..")
        {
            continue;
        }
        if let Some(seen) = out.iter_mut().find(|o| o.device == m.device) {
            if m.mount_point.len() < seen.mount_point.len() {
                *seen = m;
            }
            continue;
        }
        if out.len() < MAX_MOUNTS {
            out.push(m);
        }
    }
    out
}

/// Reads `<proc>/1/mounts` (the host's mount namespace under `pid: host`) into `buf`,
/// falling back to `<proc>/self/mounts` when pid 1's is not readable.
pub fn read_mounts_text(proc: &Path, buf: &mut String) -> io::Result<()> {
    match read_file(&proc.join("1/mounts"), buf) {
        Ok(()) => Ok(()),
        Err(first) => read_file(&proc.join("self/mounts"), buf)
            .map_err(|e| io::Error::new(e.kind(), format!("{first}; {e}"))),
    }
}

/// The mount table, parsed again only when its text changed (it rarely does, and
/// parsing it is most of what reading it costs).
#[derive(Default)]
pub struct MountTable {
    raw: String,
    selected: Vec<Mount>,
}

impl MountTable {
    /// The mounts worth reporting ([`read_mounts_text`], then [`select`]), reusing the
    /// last result when the file reads the same.
    pub fn read(&mut self, proc: &Path, buf: &mut String) -> io::Result<&[Mount]> {
        read_mounts_text(proc, buf)?;
        if *buf != self.raw {
            self.selected = select(parse_str(buf));
            std::mem::swap(&mut self.raw, buf);
        }
        Ok(&self.selected)
    }
}

/// The statvfs numbers a disk's usage is computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FsStats {
    /// Fragment size: the unit of the block counts.
    pub frsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    /// Free blocks available to unprivileged users (without the root reserve).
    pub bavail: u64,
}

/// statvfs of `path`.
pub fn statvfs(path: &Path) -> Result<FsStats, String> {
    let s = rustix::fs::statvfs(path).map_err(|e| format!("statvfs: {e}"))?;
    Ok(FsStats {
        frsize: if s.f_frsize > 0 {
            s.f_frsize
        } else {
            s.f_bsize
        },
        blocks: s.f_blocks,
        bfree: s.f_bfree,
        bavail: s.f_bavail,
    })
}

/// The `disks` entry of a mount, as `df` shows it: `free` is what users can still write,
/// `used` excludes the free root reserve, and percent = used / (used + free), so a disk
/// at 100 % is one users cannot write to. `None` for a filesystem without blocks.
pub fn usage(m: &Mount, s: &FsStats) -> Option<Disk> {
    if s.blocks == 0 || s.frsize == 0 {
        return None;
    }
    let total = s.blocks.saturating_mul(s.frsize);
    let used = s.blocks.saturating_sub(s.bfree).saturating_mul(s.frsize);
    let free = s.bavail.min(s.blocks).saturating_mul(s.frsize);
    let percent = if used + free == 0 {
        0.0
    } else {
        round2(used as f64 * 100.0 / (used + free) as f64)
    };
    Some(Disk {
        mount: m.mount_point.clone(),
        device: m.device.clone(),
        fs: m.fs.clone(),
        total_bytes: total,
        used_bytes: used,
        free_bytes: free,
        percent,
    })
}

/// How a mount's usage is read: [`statvfs`], or a stand-in in tests.
pub type ProbeFn = fn(&Path) -> Result<FsStats, String>;

type Answer = (String, Result<FsStats, String>);

struct Worker {
    request: mpsc::Sender<()>,
    /// Set while a request is out: a worker still busy at the next sample is stuck in
    /// the kernel (a hung NFS server), and gets no second request.
    busy_since: Option<Instant>,
}

/// Usage of the selected mounts, each probed by its own long-lived thread, so that one
/// hung mount costs one blocked thread, never a blocked sample or a pile of threads.
pub struct Disks {
    root: PathBuf,
    probe: ProbeFn,
    deadline: Duration,
    workers: HashMap<String, Worker>,
    answers_tx: mpsc::Sender<Answer>,
    answers: mpsc::Receiver<Answer>,
}

impl Disks {
    /// Probes mounts under `root` with `probe`, waiting at most `deadline` per sample.
    pub fn new(root: PathBuf, probe: ProbeFn, deadline: Duration) -> Self {
        let (answers_tx, answers) = mpsc::channel();
        Disks {
            root,
            probe,
            deadline,
            workers: HashMap::new(),
            answers_tx,
            answers,
        }
    }

    fn spawn(&self, m: &Mount) -> io::Result<Worker> {
        let path = self.root.join(m.mount_point.trim_start_matches('/'));
        let key = m.mount_point.clone();
        let probe = self.probe;
        let answers = self.answers_tx.clone();
        let (request, requests) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("statvfs".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                while requests.recv().is_ok() {
                    if answers.send((key.clone(), probe(&path))).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Worker {
            request,
            busy_since: None,
        })
    }

    /// The usage of each of `mounts` that answers within the deadline; the others are
    /// left out with their reason under `errors` (key `disk:<mount point>`).
    pub fn sample(&mut self, mounts: &[Mount], errors: &mut BTreeMap<String, String>) -> Vec<Disk> {
        // Answers that came after the last deadline: the worker is free again.
        while let Ok((key, _late)) = self.answers.try_recv() {
            if let Some(w) = self.workers.get_mut(&key) {
                w.busy_since = None;
            }
        }
        let now = Instant::now();
        let mut asked = HashSet::new();
        let mut outcome: HashMap<&str, Result<FsStats, String>> = HashMap::new();
        for m in mounts {
            if !self.workers.contains_key(&m.mount_point) {
                match self.spawn(m) {
                    Ok(w) => {
                        self.workers.insert(m.mount_point.clone(), w);
                    }
                    Err(e) => {
                        outcome.insert(&m.mount_point, Err(format!("cannot start probe: {e}")));
                        continue;
                    }
                }
            }
            let Some(w) = self.workers.get_mut(&m.mount_point) else {
                continue;
            };
            if let Some(since) = w.busy_since {
                outcome.insert(
                    &m.mount_point,
                    Err(format!(
                        "statvfs has not returned for {:.1} s (hung mount?)",
                        now.duration_since(since).as_secs_f64()
                    )),
                );
            } else if w.request.send(()).is_ok() {
                w.busy_since = Some(now);
                asked.insert(m.mount_point.as_str());
            } else {
                outcome.insert(&m.mount_point, Err("probe thread is gone".into()));
                self.workers.remove(&m.mount_point);
            }
        }
        // Counted from here, not from `now`: starting new probe threads on a busy machine
        // can take a while, and that is not the mounts' fault.
        let deadline = Instant::now() + self.deadline;
        let mut pending = asked.len();
        while pending > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok((key, result)) = self.answers.recv_timeout(left) else {
                break;
            };
            if let Some(w) = self.workers.get_mut(&key) {
                w.busy_since = None;
            }
            if let Some(k) = asked.take(key.as_str()) {
                outcome.insert(k, result);
                pending -= 1;
            }
        }
        for k in asked {
            outcome.insert(
                k,
                Err(format!(
                    "statvfs did not answer within {} ms (hung mount?)",
                    self.deadline.as_millis()
                )),
            );
        }
        let mut disks = Vec::with_capacity(mounts.len());
        for m in mounts {
            match outcome.remove(m.mount_point.as_str()) {
                Some(Ok(s)) => disks.extend(usage(m, &s)),
                Some(Err(e)) => {
                    errors.insert(format!("disk:{}", m.mount_point), e);
                }
                None => {}
            }
        }
        // Forget workers of mounts that went away, unless still stuck: keeping those
        // means a mount that comes back cannot get a second blocked thread.
        let current: HashSet<&str> = mounts.iter().map(|m| m.mount_point.as_str()).collect();
        self.workers
            .retain(|k, w| current.contains(k.as_str()) || w.busy_since.is_some());
        disks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn octal_escapes() {
        let cases = [
            ("/mnt/my\\040disk", "/mnt/my disk"),
            ("/a\\011b\\012c", "/a\tb\nc"),
            ("/back\\134slash", "/back\\slash"),
            ("/plain", "/plain"),
            ("/odd\\04", "/odd\\04"),
            ("/odd\\999", "/odd\\999"),
            ("/end\\", "/end\\"),
            ("/high\\777", "/high\\777"),
        ];
        for (raw, want) in cases {
            assert_eq!(unescape(raw), want, "{raw}");
        }
    }

    // A Debian 12 host with Docker (abridged, real lines).
    const HOST: &str = "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
udev /dev devtmpfs rw,nosuid,relatime,size=8131012k,nr_inodes=2032753,mode=755 0 0
devpts /dev/pts devpts rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=000 0 0
tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,size=1631516k,mode=755 0 0
/dev/nvme0n1p2 / ext4 rw,relatime,errors=remount-ro 0 0
securityfs /sys/kernel/security securityfs rw,nosuid,nodev,noexec,relatime 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot 0 0
systemd-1 /proc/sys/fs/binfmt_misc autofs rw,relatime,fd=30,pgrp=1,timeout=0,minproto=5,maxproto=5,direct 0 0
/dev/nvme0n1p1 /boot/efi vfat rw,relatime,fmask=0077,dmask=0077 0 0
/dev/sda1 /srv/data\\040store btrfs rw,relatime,space_cache=v2,subvolid=5,subvol=/ 0 0
/dev/sda1 /srv/data\\040store/snapshots btrfs rw,relatime,space_cache=v2,subvolid=256,subvol=/snapshots 0 0
nas:/export/media /mnt/media nfs4 rw,relatime,vers=4.2,rsize=1048576 0 0
/dev/loop3 /snap/core22/1380 squashfs ro,nodev,relatime,errors=continue 0 0
overlay /var/lib/docker/overlay2/0c1e/merged overlay rw,relatime,lowerdir=/var/lib/docker/overlay2/l/X 0 0
nsfs /run/docker/netns/5e0a nsfs rw 0 0
/dev/nvme0n1p2 /var/lib/docker ext4 rw,relatime,errors=remount-ro 0 0
/dev/nvme0n1p2 /etc/hostname ext4 rw,relatime 0 0
lxcfs /var/lib/lxcfs fuse.lxcfs rw,nosuid,nodev,relatime,user_id=0,group_id=0,allow_other 0 0
sshfs#me@box: /mnt/box fuse.sshfs rw,nosuid,nodev,relatime 0 0
tmpfs /run/user/1000 tmpfs rw,nosuid,nodev,relatime,size=1631512k,mode=700,uid=1000,gid=1000 0 0
gvfsd-fuse /run/user/1000/gvfs fuse.gvfsd-fuse rw,nosuid,nodev,relatime,user_id=1000 0 0
/dev/mapper/vg-home /home ext4 rw,relatime 0 0
";

    #[test]
    fn selects_real_storage_once() {
        let got: Vec<(String, String, String)> = select(parse_str(HOST))
            .into_iter()
            .map(|m| (m.device, m.mount_point, m.fs))
            .collect();
        let want = [
            ("/dev/nvme0n1p2", "/", "ext4"),
            ("/dev/nvme0n1p1", "/boot/efi", "vfat"),
            ("/dev/sda1", "/srv/data store", "btrfs"),
            ("nas:/export/media", "/mnt/media", "nfs4"),
            ("sshfs#me@box:", "/mnt/box", "fuse.sshfs"),
            ("/dev/mapper/vg-home", "/home", "ext4"),
        ];
        let want: Vec<(String, String, String)> = want
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_device_keeps_its_shortest_mount_point() {
        let text = "/dev/vda1 /etc/hosts ext4 rw 0 0\n/dev/vda1 / ext4 rw 0 0\n/dev/vda1 /srv ext4 rw 0 0\n";
        let got = select(parse_str(text));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].mount_point, "/");
    }

    #[test]
    fn container_paths_are_skipped() {
        for p in [
            "/var/lib/docker",
            "/var/lib/docker/volumes/x",
            "/run/containers/storage",
            "/proc",
            "/sys/fs/bpf",
        ] {
            assert!(is_skipped_path(p), "{p}");
        }
        for p in [
            "/",
            "/var/lib/dockerish",
            "/srv/docker",
            "/data",
            "/process",
        ] {
            assert!(!is_skipped_path(p), "{p}");
        }
    }

    fn mount(p: &str) -> Mount {
        Mount {
            device: format!("dev{p}"),
            mount_point: p.into(),
            fs: "ext4".into(),
        }
    }

    #[test]
    fn usage_like_df() {
        // 1000 blocks of 4 KiB, 300 free of which 250 are available to users.
        let s = FsStats {
            frsize: 4096,
            blocks: 1000,
            bfree: 300,
            bavail: 250,
        };
        let d = usage(&mount("/"), &s).unwrap();
        assert_eq!(d.total_bytes, 4_096_000);
        assert_eq!(d.used_bytes, 700 * 4096);
        assert_eq!(d.free_bytes, 250 * 4096);
        // 700 / (700 + 250)
        assert_eq!(d.percent, 73.68);
        assert!(usage(&mount("/"), &FsStats::default()).is_none());
        let full = FsStats {
            frsize: 512,
            blocks: 10,
            bfree: 1,
            bavail: 0,
        };
        assert_eq!(usage(&mount("/"), &full).unwrap().percent, 100.0);
    }

    static PROBES: AtomicUsize = AtomicUsize::new(0);

    fn fake_probe(path: &Path) -> Result<FsStats, String> {
        PROBES.fetch_add(1, Ordering::SeqCst);
        let p = path.to_string_lossy();
        if p.ends_with("hung") {
            std::thread::sleep(Duration::from_secs(5));
        }
        if p.ends_with("gone") {
            return Err("statvfs: No such file or directory (os error 2)".into());
        }
        Ok(FsStats {
            frsize: 1024,
            blocks: 100,
            bfree: 50,
            bavail: 50,
        })
    }

    #[test]
    fn a_hung_mount_is_reported_not_waited_for_and_not_probed_twice() {
        let mut d = Disks::new(PathBuf::from("/fake"), fake_probe, Duration::from_secs(1));
        let mounts = vec![mount("/"), mount("/mnt/hung"), mount("/mnt/gone")];
        let mut errors = BTreeMap::new();
        let disks = d.sample(&mounts, &mut errors);
        assert_eq!(disks.len(), 1);
        assert_eq!(disks[0].mount, "/");
        assert_eq!(disks[0].percent, 50.0);
        assert!(
            errors["disk:/mnt/hung"].contains("did not answer"),
            "{errors:?}"
        );
        assert!(
            errors["disk:/mnt/gone"].contains("No such file"),
            "{errors:?}"
        );
        let probes = PROBES.load(Ordering::SeqCst);
        assert_eq!(probes, 3);

        // Still hung: reported again, and no second probe of it is started.
        let mut errors = BTreeMap::new();
        let disks = d.sample(&mounts, &mut errors);
        assert_eq!(disks.len(), 1);
        assert!(
            errors["disk:/mnt/hung"].contains("has not returned"),
            "{errors:?}"
        );
        assert_eq!(PROBES.load(Ordering::SeqCst), probes + 2);
        assert_eq!(d.workers.len(), 3);

        // The mount went away while stuck: its worker stays until the call returns.
        let mut errors = BTreeMap::new();
        d.sample(&mounts[..1], &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(d.workers.contains_key("/mnt/hung"));
        assert!(!d.workers.contains_key("/mnt/gone"));
    }
}
