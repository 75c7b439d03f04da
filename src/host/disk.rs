//! Filesystem usage: statvfs of each mount [`super::mounts`] selected, under `<root>`,
//! time-bounded on probe threads so a hung network mount never stalls the sampler.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::mounts::Mount;
use super::{round2, Disk};

/// How long a sample waits for statvfs answers before reporting a mount as not answering.
/// Generous, because it is paid once: while a probe is still out, later samples do not
/// wait for that mount at all. (A busy machine can take tens of milliseconds just to
/// schedule a fresh probe thread, so a tight deadline would drop healthy disks.)
pub const PROBE_DEADLINE: Duration = Duration::from_millis(250);

/// The statvfs numbers a disk's usage is computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FsStats {
    /// Fragment size: the unit of the block counts.
    pub(crate) frsize: u64,
    pub(crate) blocks: u64,
    pub(crate) bfree: u64,
    /// Free blocks available to unprivileged users (without the root reserve).
    pub(crate) bavail: u64,
}

/// statvfs of `path`.
pub fn statvfs(path: &Path) -> Result<FsStats, String> {
    let s = rustix::fs::statvfs(path).map_err(|e| format!("statvfs: {e}"))?;
    Ok(FsStats {
        // Never 0: the kernel fills in f_bsize for a filesystem that sets no fragment
        // size (fs/statfs.c), and `usage` refuses a 0 anyway.
        frsize: s.f_frsize,
        blocks: s.f_blocks,
        bfree: s.f_bfree,
        bavail: s.f_bavail,
    })
}

/// The `disks` entry of a mount, as `df` shows it: `free` is what users can still write,
/// `used` excludes the free root reserve, and percent = used / (used + free), so a disk
/// at 100 % is one users cannot write to. `None` for a filesystem without blocks.
pub(crate) fn usage(m: &Mount, s: &FsStats) -> Option<Disk> {
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
pub(crate) type ProbeFn = fn(&Path) -> Result<FsStats, String>;

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
        // No blocks, or blocks of no size: no disk (either alone is enough).
        for (frsize, blocks) in [(4096, 0), (0, 100)] {
            let s = FsStats {
                frsize,
                blocks,
                bfree: 0,
                bavail: 0,
            };
            assert!(usage(&mount("/"), &s).is_none(), "{frsize} {blocks}");
        }
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

    fn quick_probe(_: &Path) -> Result<FsStats, String> {
        Ok(FsStats {
            frsize: 4096,
            blocks: 10,
            bfree: 5,
            bavail: 5,
        })
    }

    #[test]
    fn a_sample_whose_probes_all_answered_does_not_wait_for_the_deadline() {
        // A deadline of a minute: the sample ends when the last answer is in.
        let mut d = Disks::new(PathBuf::from("/fake"), quick_probe, Duration::from_secs(60));
        let mounts = vec![mount("/"), mount("/srv")];
        let started = std::time::Instant::now();
        let disks = d.sample(&mounts, &mut BTreeMap::new());
        assert_eq!(disks.len(), 2);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn statvfs_reads_a_real_filesystem() {
        let s = statvfs(Path::new("/")).expect("statvfs /");
        assert!(s.frsize > 0 && s.blocks > 0 && s.bfree <= s.blocks, "{s:?}");
        assert!(statvfs(Path::new("/nonexistent/kiteportal"))
            .unwrap_err()
            .starts_with("statvfs: "));
    }
}
