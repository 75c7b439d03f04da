//! The host-view self-check: does this process see the host's PID and network
//! namespaces (`pid: host`), and which roots does it read. Logged at start with the fix.

use std::path::Path;

use super::{Namespace, View};
use crate::config::HostConfig;

/// The inode of the initial PID namespace (`PROC_PID_INIT_INO` in the kernel's
/// `include/linux/proc_ns.h`): fixed, so "are we in the host's PID namespace" needs no
/// second process to compare with.
pub const PROC_PID_INIT_INO: u64 = 0xEFFF_FFFC;

/// The inode in a namespace link's target, `pid:[4026531836]` → 4026531836.
pub(crate) fn parse_ns_link(target: &str, kind: &str) -> Option<u64> {
    target
        .strip_prefix(kind)?
        .strip_prefix(":[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

fn ns_inode(proc: &Path, pid: &str, kind: &str) -> Option<u64> {
    let target = std::fs::read_link(proc.join(pid).join("ns").join(kind)).ok()?;
    parse_ns_link(target.to_str()?, kind)
}

/// What the namespace links say, as read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Namespaces {
    /// `<proc>/self/ns/pid`
    pub self_pid: Option<u64>,
    /// `<proc>/1/ns/pid` (needs ptrace access to pid 1; often unreadable)
    pub init_pid: Option<u64>,
    /// `<proc>/self/ns/net`
    pub self_net: Option<u64>,
    /// `<proc>/1/ns/net`
    pub init_net: Option<u64>,
    /// Whether `<proc>/1/net/dev` (what the network section reads first) is readable.
    pub init_net_dev: bool,
}

/// "host" or "container" for the PID and the network namespace.
///
/// PID: ours is the initial one, or (when `<proc>` is a host procfs mounted into a
/// container without `pid: host`) its pid 1 lives in the initial one.
/// Network: the counters the sampler reads are the host's: ours is pid 1's namespace,
/// or pid 1 is the host's init and its `net/dev` is readable.
pub(crate) fn classify(ns: &Namespaces) -> (Namespace, Namespace) {
    let self_host = ns.self_pid == Some(PROC_PID_INIT_INO);
    let init_is_host = self_host || ns.init_pid == Some(PROC_PID_INIT_INO);
    let net_host =
        init_is_host && (ns.init_net_dev || (ns.self_net.is_some() && ns.self_net == ns.init_net));
    let word = |b: bool| {
        if b {
            Namespace::Host
        } else {
            Namespace::Container
        }
    };
    (word(self_host), word(net_host))
}

/// Reads the namespace links under `host.proc` and fills the `view` object.
pub(crate) fn detect(host: &HostConfig) -> View {
    let proc = &host.proc;
    let ns = Namespaces {
        self_pid: ns_inode(proc, "self", "pid"),
        init_pid: ns_inode(proc, "1", "pid"),
        self_net: ns_inode(proc, "self", "net"),
        init_net: ns_inode(proc, "1", "net"),
        init_net_dev: super::open_regular(&proc.join("1/net/dev")).is_ok(),
    };
    let (pid, net) = classify(&ns);
    View {
        pid_namespace: pid,
        net_namespace: net,
        proc: Some(proc.display().to_string()),
        sys: Some(host.sys.display().to_string()),
        root: Some(host.root.display().to_string()),
    }
}

/// The start-up warning for a view without the host, with the fix; `None` when all is well.
pub(crate) fn warning(v: &View) -> Option<String> {
    let mut missing = Vec::new();
    if v.pid_namespace != Namespace::Host {
        missing.push("PID namespace (process count and the mount table are the container's)");
    }
    if v.net_namespace != Namespace::Host {
        missing.push("network namespace (traffic is the container's, not the host's)");
    }
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "not seeing the host's {}; reading proc={} sys={} root={}. Fix: run the container \
         with `pid: host` (docker run --pid=host) and the host's root mounted read-only \
         (`/:/host:ro,rslave` with HOST_ROOT=/host), or run kiteportal on the host itself",
        missing.join(" nor its "),
        v.proc.as_deref().unwrap_or("?"),
        v.sys.as_deref().unwrap_or("?"),
        v.root.as_deref().unwrap_or("?")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_links() {
        assert_eq!(
            parse_ns_link("pid:[4026531836]", "pid"),
            Some(PROC_PID_INIT_INO)
        );
        assert_eq!(parse_ns_link("net:[4026532008]", "net"), Some(4026532008));
        assert_eq!(parse_ns_link("net:[4026532008]", "pid"), None);
        assert_eq!(parse_ns_link("pid:[x]", "pid"), None);
        assert_eq!(parse_ns_link("pid:4026531836", "pid"), None);
    }

    #[test]
    fn views() {
        let host = PROC_PID_INIT_INO;
        let cases = [
            // pid: host, network: host
            (
                Namespaces {
                    self_pid: Some(host),
                    init_pid: Some(host),
                    self_net: Some(9),
                    init_net: Some(9),
                    init_net_dev: true,
                },
                (Namespace::Host, Namespace::Host),
            ),
            // pid: host, own bridge network: counters come from pid 1's (the host's) net/dev
            (
                Namespaces {
                    self_pid: Some(host),
                    init_pid: None,
                    self_net: Some(7),
                    init_net: None,
                    init_net_dev: true,
                },
                (Namespace::Host, Namespace::Host),
            ),
            // pid: host, bridge network, pid 1's files unreadable
            (
                Namespaces {
                    self_pid: Some(host),
                    init_pid: None,
                    self_net: Some(7),
                    init_net: None,
                    init_net_dev: false,
                },
                (Namespace::Host, Namespace::Container),
            ),
            // a plain container
            (
                Namespaces {
                    self_pid: Some(4026532300),
                    init_pid: Some(4026532300),
                    self_net: Some(7),
                    init_net: Some(7),
                    init_net_dev: true,
                },
                (Namespace::Container, Namespace::Container),
            ),
            // nothing readable
            (
                Namespaces::default(),
                (Namespace::Container, Namespace::Container),
            ),
            // host procfs mounted without pid: host; its pid 1 is the host's init
            (
                Namespaces {
                    self_pid: None,
                    init_pid: Some(host),
                    self_net: None,
                    init_net: Some(5),
                    init_net_dev: true,
                },
                (Namespace::Container, Namespace::Host),
            ),
        ];
        for (ns, want) in cases {
            assert_eq!(classify(&ns), want, "{ns:?}");
        }
    }

    #[test]
    fn warning_names_the_fix() {
        let mut v = View {
            pid_namespace: Namespace::Host,
            net_namespace: Namespace::Host,
            proc: Some("/proc".into()),
            sys: Some("/sys".into()),
            root: Some("/".into()),
        };
        assert_eq!(warning(&v), None);
        v.pid_namespace = Namespace::Container;
        let w = warning(&v).unwrap();
        assert!(
            w.contains("pid: host") && w.contains("PID namespace"),
            "{w}"
        );
    }

    #[test]
    fn detect_reads_the_namespace_links_under_proc() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let proc = dir.path().to_path_buf();
        for (pid, pid_ns, net_ns) in [
            ("self", PROC_PID_INIT_INO, 4_026_531_840_u64),
            ("1", PROC_PID_INIT_INO, 4_026_531_840_u64),
        ] {
            std::fs::create_dir_all(proc.join(pid).join("ns")).unwrap();
            symlink(format!("pid:[{pid_ns}]"), proc.join(pid).join("ns/pid")).unwrap();
            symlink(format!("net:[{net_ns}]"), proc.join(pid).join("ns/net")).unwrap();
        }
        let host = HostConfig::for_test(proc.clone(), "/sys/fs/cgroup");
        let v = detect(&host);
        assert_eq!(
            (v.pid_namespace, v.net_namespace),
            (Namespace::Host, Namespace::Host)
        );
        assert_eq!(v.proc, Some(proc.display().to_string()));
        // A network namespace of its own, and pid 1's net/dev not readable: the container's.
        std::fs::remove_file(proc.join("self/ns/net")).unwrap();
        symlink("net:[4026532999]", proc.join("self/ns/net")).unwrap();
        let v = detect(&host);
        assert_eq!(
            (v.pid_namespace, v.net_namespace),
            (Namespace::Host, Namespace::Container)
        );
    }
}
