//! Who sees what: a request's [`Audience`] (the owner's private view or the public one)
//! from its real client address, and `Redact`, the one way data shows less to the
//! public. Public responses carry short reason classes, never upstream text, internal
//! hosts, ports, paths or URLs.

use std::net::IpAddr;

use crate::config::AccessConfig;

/// Whom a response is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Anyone on the internet (through the tunnel): what a visitor needs, nothing more.
    Public,
    /// The owner, the peer replica, Prometheus: client address in
    /// `access.private_networks`.
    Private,
}

impl Audience {
    /// The audience of a request whose real client address is `client` (`None`, e.g. a
    /// Unix socket: public, to be safe).
    pub(crate) fn of(client: Option<IpAddr>, access: &AccessConfig) -> Audience {
        let private =
            client.is_some_and(|ip| access.private_networks.iter().any(|c| c.contains(ip)));
        if private {
            Audience::Private
        } else {
            Audience::Public
        }
    }

    pub(crate) fn is_public(self) -> bool {
        self == Audience::Public
    }

    /// 0 for private, 1 for public: an index into per-audience caches.
    pub(crate) fn index(self) -> usize {
        match self {
            Audience::Private => 0,
            Audience::Public => 1,
        }
    }
}

/// Data that shows less to the public. `redacted` returns the public copy, or `None`
/// when the data has nothing to hide (the common case: no copy is made).
pub(crate) trait Redact: Sized {
    fn redacted(&self) -> Option<Self> {
        None
    }
}

impl<T: Redact + Clone> Redact for Vec<T> {
    fn redacted(&self) -> Option<Self> {
        let mut out: Option<Vec<T>> = None;
        for (i, item) in self.iter().enumerate() {
            if let Some(r) = item.redacted() {
                out.get_or_insert_with(|| self.clone())[i] = r;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Cidr;

    fn access(nets: &[&str]) -> AccessConfig {
        AccessConfig {
            private_networks: nets.iter().map(|n| Cidr::parse("k", n).unwrap()).collect(),
            public_metrics: false,
            real_ip_header: crate::config::RealIpHeader::CfConnectingIp,
        }
    }

    #[test]
    fn private_only_inside_the_networks() {
        let a = access(&["127.0.0.0/8", "100.64.0.0/10"]);
        let of = |s: &str| Audience::of(Some(s.parse().unwrap()), &a);
        assert_eq!(of("127.0.0.1"), Audience::Private);
        assert_eq!(of("::ffff:127.0.0.1"), Audience::Private);
        assert_eq!(of("100.101.102.103"), Audience::Private);
        assert_eq!(of("100.128.0.1"), Audience::Public);
        assert_eq!(of("203.0.113.9"), Audience::Public);
        assert_eq!(of("::1"), Audience::Public);
        assert_eq!(Audience::of(None, &a), Audience::Public);
    }
}
