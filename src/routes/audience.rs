//! Who is asking: the real client address from exactly one forwarding header
//! (`access.real_ip_header`), believed only from a peer in `trusted_proxies` and failing
//! closed, and the request's [`Audience`] as an extractor for handlers.

use std::future::{ready, Ready};
use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::header::HeaderMap;
use actix_web::{web, FromRequest, HttpRequest};

use crate::access::Audience;
use crate::config::{Config, RealIpHeader};
use crate::state::AppState;

/// Longest forwarding header accepted, all its lines joined: longer is not believed.
pub const MAX_HEADER_BYTES: usize = 1024;
/// Most hops an `X-Forwarded-For` may list before the request is not believed.
pub const MAX_HOPS: usize = 16;

/// Who the client is, as decided from the peer and the forwarding header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// The connecting peer itself (not a trusted proxy, no header, or `none`).
    Peer(IpAddr),
    /// The address a trusted proxy named.
    Forwarded { client: IpAddr, proxy: IpAddr },
    /// A trusted proxy sent a header that is not exactly one address: nobody is
    /// believed, the request is public.
    Unparsed { proxy: IpAddr, header: RealIpHeader },
    /// No peer address at all (a Unix socket): public.
    Unknown,
}

impl Client {
    /// The address the audience is judged by; `None` makes the request public.
    pub(crate) fn ip(self) -> Option<IpAddr> {
        match self {
            Client::Peer(ip) | Client::Forwarded { client: ip, .. } => Some(ip),
            Client::Unparsed { .. } | Client::Unknown => None,
        }
    }

    /// The access log's client field: the address believed, or what was refused and
    /// from which proxy (one token, no spaces).
    pub(crate) fn log_field(self) -> String {
        match self {
            Client::Peer(ip) | Client::Forwarded { client: ip, .. } => ip.to_string(),
            Client::Unparsed { proxy, header } => {
                format!("unparsed-{}@{proxy}", header.name().to_ascii_lowercase())
            }
            Client::Unknown => "-".to_string(),
        }
    }
}

/// Decides the client of a request from `peer` whose forwarding header `header` has the
/// lines `lines` (in order). Pure: the table tests below drive it directly.
pub(crate) fn decide<'a>(
    peer: Option<IpAddr>,
    header: RealIpHeader,
    lines: impl Iterator<Item = &'a [u8]>,
    trusted: impl Fn(IpAddr) -> bool,
) -> Client {
    let Some(peer) = peer.map(|p| p.to_canonical()) else {
        return Client::Unknown;
    };
    if header == RealIpHeader::None || !trusted(peer) {
        return Client::Peer(peer);
    }
    let unparsed = Client::Unparsed {
        proxy: peer,
        header,
    };
    let mut joined = Vec::new();
    let mut count = 0usize;
    for line in lines {
        count += 1;
        if joined.len() + line.len() + 1 > MAX_HEADER_BYTES {
            return unparsed;
        }
        if count > 1 {
            joined.push(b',');
        }
        joined.extend_from_slice(line);
    }
    if count == 0 {
        // The proxy named nobody: the request is its own (a health check, the owner
        // on the proxy's host).
        return Client::Peer(peer);
    }
    let Ok(text) = std::str::from_utf8(&joined) else {
        return unparsed;
    };
    let client = match header {
        RealIpHeader::CfConnectingIp if count == 1 => one_address(text),
        RealIpHeader::XForwardedFor => rightmost_untrusted(text, &trusted),
        _ => None,
    };
    match client {
        Some(client) => Client::Forwarded {
            client,
            proxy: peer,
        },
        None => unparsed,
    }
}

/// Exactly one address, optional white space around it: no port, no brackets, no list.
fn one_address(s: &str) -> Option<IpAddr> {
    let s = s.trim_matches([' ', '\t']);
    if s.is_empty() || s.len() > 45 {
        return None;
    }
    s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// The rightmost hop of an `X-Forwarded-For` list not in `trusted` (every hop must be
/// one address; all trusted: the leftmost). `None` when any hop does not parse or the
/// list is longer than [`MAX_HOPS`].
fn rightmost_untrusted(list: &str, trusted: impl Fn(IpAddr) -> bool) -> Option<IpAddr> {
    let hops: Vec<IpAddr> = list.split(',').map(one_address).collect::<Option<_>>()?;
    if hops.len() > MAX_HOPS {
        return None;
    }
    hops.iter()
        .rev()
        .find(|ip| !trusted(**ip))
        .or(hops.first())
        .copied()
}

/// The lines of the configured forwarding header in `headers`.
fn header_lines<'a>(
    headers: &'a HeaderMap,
    header: RealIpHeader,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    let name = match header {
        RealIpHeader::CfConnectingIp => "cf-connecting-ip",
        RealIpHeader::XForwardedFor | RealIpHeader::None => "x-forwarded-for",
    };
    headers.get_all(name).map(|v| v.as_bytes())
}

/// The client of `req` under `config`.
pub(crate) fn client(req: &HttpRequest, config: &Config) -> Client {
    let header = config.access.real_ip_header;
    decide(
        req.peer_addr().map(|a| a.ip()),
        header,
        header_lines(req.headers(), header),
        |ip| config.is_trusted_proxy(ip),
    )
}

/// The audience of `req` under the running configuration.
pub(crate) fn audience(req: &HttpRequest) -> Audience {
    match req.app_data::<web::Data<AppState>>() {
        Some(state) => {
            let config = state.config();
            Audience::of(client(req, &config).ip(), &config.access)
        }
        None => Audience::Public,
    }
}

impl FromRequest for Audience {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(audience(req)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AccessConfig, Cidr};

    /// 10.0.0.2: a trusted proxy on a private (owner's) network; 172.18.0.3: a trusted
    /// proxy whose own address is public; 203.0.113.50: an untrusted peer.
    const PRIVATE_PROXY: &str = "10.0.0.2";
    const PUBLIC_PROXY: &str = "172.18.0.3";
    const UNTRUSTED: &str = "203.0.113.50";

    fn access() -> AccessConfig {
        let nets = ["127.0.0.0/8", "100.64.0.0/10", "10.0.0.0/8"];
        AccessConfig {
            private_networks: nets.iter().map(|n| Cidr::parse("k", n).unwrap()).collect(),
            public_metrics: false,
            real_ip_header: RealIpHeader::CfConnectingIp,
        }
    }

    fn trusted(ip: IpAddr) -> bool {
        ["10.0.0.0/8", "172.16.0.0/12", "127.0.0.0/8"]
            .iter()
            .any(|c| Cidr::parse("k", c).unwrap().contains(ip))
    }

    fn run(peer: &str, header: RealIpHeader, lines: &[&str]) -> (Audience, String) {
        let c = decide(
            Some(peer.parse().unwrap()),
            header,
            lines.iter().map(|l| l.as_bytes()),
            trusted,
        );
        (Audience::of(c.ip(), &access()), c.log_field())
    }

    use Audience::{Private as PRIV, Public as PUB};
    use RealIpHeader::{CfConnectingIp as CF, XForwardedFor as XFF};

    /// Header shapes × peer kinds: the audience and the access log's client field.
    #[test]
    fn forwarding_headers_fail_closed() {
        let big = "1".repeat(15 * 1024);
        let hops17 = vec!["10.0.0.9"; 17].join(", ");
        #[rustfmt::skip]
        let cases: Vec<(&str, RealIpHeader, Vec<&str>, Audience, String)> = vec![
            // One line, one address.
            (PRIVATE_PROXY, CF, vec!["203.0.113.9"], PUB, "203.0.113.9".into()),
            (PUBLIC_PROXY, CF, vec!["100.64.0.1"], PRIV, "100.64.0.1".into()),
            (PRIVATE_PROXY, CF, vec![" 100.64.0.1 "], PRIV, "100.64.0.1".into()),
            // An untrusted peer's header changes nothing.
            (UNTRUSTED, CF, vec!["100.64.0.1"], PUB, UNTRUSTED.into()),
            (UNTRUSTED, XFF, vec!["100.64.0.1"], PUB, UNTRUSTED.into()),
            ("100.64.0.7", CF, vec!["203.0.113.9"], PRIV, "100.64.0.7".into()),
            // No header from a trusted proxy: the proxy's own request.
            (PRIVATE_PROXY, CF, vec![], PRIV, PRIVATE_PROXY.into()),
            (PUBLIC_PROXY, XFF, vec![], PUB, PUBLIC_PROXY.into()),
            // Not exactly one address: public, never the proxy's own address.
            (PRIVATE_PROXY, CF, vec!["203.0.113.9:443"], PUB, unparsed("cf", PRIVATE_PROXY)),
            (PRIVATE_PROXY, CF, vec!["203.0.113.9, 100.64.0.1"], PUB, unparsed("cf", PRIVATE_PROXY)),
            (PRIVATE_PROXY, CF, vec!["[2001:db8::1]"], PUB, unparsed("cf", PRIVATE_PROXY)),
            (PRIVATE_PROXY, CF, vec!["unknown"], PUB, unparsed("cf", PRIVATE_PROXY)),
            (PRIVATE_PROXY, CF, vec![""], PUB, unparsed("cf", PRIVATE_PROXY)),
            (PRIVATE_PROXY, CF, vec![&big], PUB, unparsed("cf", PRIVATE_PROXY)),
            (PRIVATE_PROXY, CF, vec!["100.64.0.1", "100.64.0.1"], PUB, unparsed("cf", PRIVATE_PROXY)),
            // IPv4-mapped IPv6 is the IPv4 address.
            (PRIVATE_PROXY, CF, vec!["::ffff:100.64.0.1"], PRIV, "100.64.0.1".into()),
            ("::ffff:10.0.0.2", CF, vec!["203.0.113.9"], PUB, "203.0.113.9".into()),
            (PRIVATE_PROXY, CF, vec!["2001:db8::1"], PUB, "2001:db8::1".into()),
            // X-Forwarded-For: every line, joined in order; the rightmost untrusted hop.
            (PRIVATE_PROXY, XFF, vec!["203.0.113.9"], PUB, "203.0.113.9".into()),
            (PRIVATE_PROXY, XFF, vec!["100.64.0.1", "203.0.113.9"], PUB, "203.0.113.9".into()),
            (PRIVATE_PROXY, XFF, vec!["100.64.0.1, 203.0.113.9"], PUB, "203.0.113.9".into()),
            (PRIVATE_PROXY, XFF, vec!["100.64.0.1", "203.0.113.9, 10.0.0.5"], PUB, "203.0.113.9".into()),
            (PUBLIC_PROXY, XFF, vec!["203.0.113.9, 100.64.0.1"], PRIV, "100.64.0.1".into()),
            (PRIVATE_PROXY, XFF, vec!["10.0.0.7, 10.0.0.5"], PRIV, "10.0.0.7".into()),
            (PRIVATE_PROXY, XFF, vec!["unknown"], PUB, unparsed("xff", PRIVATE_PROXY)),
            (PRIVATE_PROXY, XFF, vec!["unknown, 203.0.113.9"], PUB, unparsed("xff", PRIVATE_PROXY)),
            (PRIVATE_PROXY, XFF, vec!["203.0.113.9:1234"], PUB, unparsed("xff", PRIVATE_PROXY)),
            (PRIVATE_PROXY, XFF, vec!["[2001:db8::1]:80"], PUB, unparsed("xff", PRIVATE_PROXY)),
            (PRIVATE_PROXY, XFF, vec!["203.0.113.9,"], PUB, unparsed("xff", PRIVATE_PROXY)),
            (PRIVATE_PROXY, XFF, vec![&big], PUB, unparsed("xff", PRIVATE_PROXY)),
            (PRIVATE_PROXY, XFF, vec![&hops17], PUB, unparsed("xff", PRIVATE_PROXY)),
            (PRIVATE_PROXY, XFF, vec!["::ffff:203.0.113.9"], PUB, "203.0.113.9".into()),
            // Only the configured header counts.
            (PRIVATE_PROXY, RealIpHeader::None, vec!["203.0.113.9"], PRIV, PRIVATE_PROXY.into()),
        ];
        for (peer, header, lines, audience, log) in cases {
            let got = run(peer, header, &lines);
            assert_eq!(got, (audience, log.clone()), "{peer} {header:?} {lines:?}");
        }
    }

    fn unparsed(header: &str, proxy: &str) -> String {
        let name = if header == "cf" {
            "cf-connecting-ip"
        } else {
            "x-forwarded-for"
        };
        format!("unparsed-{name}@{proxy}")
    }

    #[test]
    fn no_peer_is_public() {
        let c = decide(None, CF, std::iter::empty(), trusted);
        assert_eq!((c.ip(), c.log_field()), (None, "-".to_string()));
    }
}
