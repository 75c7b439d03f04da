//! The mount table: `<proc>/1/mounts` (else `<proc>/self/mounts`) parsed and unescaped,
//! filtered to real storage (no kernel, memory-backed or container filesystems, each device
//! once), and cached until its text changes. Usage of the mounts is [`super::disk`]'s.

use std::io;
use std::path::Path;

use super::read_file;

/// At most this many filesystems are reported (and probed, one thread each).
pub(crate) const MAX_MOUNTS: usize = 64;

/// One line of a mounts file, unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub(crate) device: String,
    pub mount_point: String,
    pub(crate) fs: String,
}

/// Undoes the kernel's octal escapes in mounts fields (`\040` space, `\011` tab, `\012`
/// newline, `\134` backslash); anything else is kept as written.
pub(crate) fn unescape(s: &str) -> String {
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
pub(crate) fn is_pseudo_fs(fs: &str) -> bool {
    PSEUDO_FS.contains(&fs) || PSEUDO_FUSE.contains(&fs)
}

/// Whether `mount_point` is a kernel or container-storage path (the path itself or below).
pub(crate) fn is_skipped_path(mount_point: &str) -> bool {
    SKIPPED_PREFIXES.iter().any(|p| {
        mount_point
            .strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The mounts worth reporting: real filesystems, outside kernel and container paths,
/// each device once (at its shortest mount point: `/` rather than a bind mount of it).
pub(crate) fn select(mounts: Vec<Mount>) -> Vec<Mount> {
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
pub(crate) fn read_mounts_text(proc: &Path, buf: &mut String) -> io::Result<()> {
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
    /// The mounts worth reporting (`read_mounts_text`, then `select`), reusing the
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

#[cfg(test)]
mod tests {
    use super::*;

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
        // Among mount points of the same length, the first in the table (mounted first).
        let text = "/dev/vdb1 /srv ext4 rw 0 0\n/dev/vdb1 /opt ext4 rw 0 0\n";
        assert_eq!(select(parse_str(text))[0].mount_point, "/srv");
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

    #[test]
    fn at_most_max_mounts_are_kept() {
        let text: String = (0..=MAX_MOUNTS)
            .map(|i| format!("/dev/vd{i} /srv/{i} ext4 rw 0 0\n"))
            .collect();
        let got = select(parse_str(&text));
        assert_eq!(got.len(), MAX_MOUNTS);
        assert_eq!(got.last().map(|m| m.mount_point.as_str()), Some("/srv/63"));
    }

    #[test]
    fn the_table_follows_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let proc = dir.path();
        std::fs::create_dir_all(proc.join("1")).unwrap();
        let write = |t: &str| std::fs::write(proc.join("1/mounts"), t).unwrap();
        let (mut table, mut buf) = (MountTable::default(), String::new());
        let points = |t: &mut MountTable, buf: &mut String| -> Vec<String> {
            let m = t.read(proc, buf).unwrap();
            m.iter().map(|m| m.mount_point.clone()).collect()
        };
        write("/dev/vda1 / ext4 rw 0 0\n");
        assert_eq!(points(&mut table, &mut buf), ["/"]);
        assert_eq!(points(&mut table, &mut buf), ["/"]);
        write("/dev/vda1 / ext4 rw 0 0\n/dev/vdb1 /srv ext4 rw 0 0\n");
        assert_eq!(points(&mut table, &mut buf), ["/", "/srv"]);
        // Without pid 1's table, this process's own.
        std::fs::remove_dir_all(proc.join("1")).unwrap();
        std::fs::create_dir_all(proc.join("self")).unwrap();
        std::fs::write(proc.join("self/mounts"), "/dev/vdc1 /data ext4 rw 0 0\n").unwrap();
        assert_eq!(points(&mut table, &mut buf), ["/data"]);
    }
}
