//! Trust under change, over real sockets and real files: forwarding headers that fail
//! closed (clients connect from 127.0.0.2/3/4 to play a private proxy, a public proxy
//! and an untrusted peer), open private streams closed when a reload narrows who is the
//! owner, and reloads that apply `[uptime_kuma]`, `[[containers]]` and refuse `state_dir`.

use std::io::{Read, Write};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::common::{connect_from, get, hup, raw_from, wait_for, Portal};
use crate::stub::{Reply, Stub};

const PRIVATE_PROXY: &str = "127.0.0.2";
const PUBLIC_PROXY: &str = "127.0.0.3";
const UNTRUSTED: &str = "127.0.0.4";

/// 127.0.0.2 and .3 are trusted proxies; .2 is also on the owner's network, .3 is not.
const NETWORKS: &str = "trusted_proxies = [\"127.0.0.2/32\", \"127.0.0.3/32\"]\n\
     [access]\nprivate_networks = [\"127.0.0.2/32\", \"100.64.0.0/10\"]\n";

pub fn config_path(p: &Portal) -> std::path::PathBuf {
    p.dir.path().join("kiteportal.toml")
}

/// Rewrites the portal's configuration file, sends SIGHUP and waits for the log line
/// that contains `expect`.
pub fn reload_with(p: &Portal, toml: &str, expect: &str) {
    let before = p.log_text().matches("reload:").count();
    let lists_services = toml.contains("[[services]]") || toml.contains("services =");
    let prefix = if lists_services {
        ""
    } else {
        "services = []\n"
    };
    std::fs::write(config_path(p), format!("{prefix}{toml}")).unwrap();
    hup(p);
    let line = wait_for(Duration::from_secs(10), "the reload line", || {
        let log = p.log_text();
        (log.matches("reload:").count() > before).then(|| {
            log.lines()
                .rfind(|l| l.contains("reload:"))
                .unwrap_or_default()
                .to_string()
        })
    });
    assert!(line.contains(expect), "expected '{expect}' in: {line}");
}

/// `GET /metrics?case=N` from `from` with raw header lines; the status and the access
/// log's client field of that request.
fn ask(p: &Portal, from: &str, case: usize, lines: &[&str]) -> (u16, String) {
    let mut req = format!("GET /metrics?case={case} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n");
    for l in lines {
        req.push_str(l);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    let from: IpAddr = from.parse().unwrap();
    let status = raw_from(from, p.addr, req.as_bytes()).unwrap().status;
    let needle = format!("\"GET /metrics?case={case} HTTP/1.1\"");
    let line = wait_for(Duration::from_secs(5), "the access log line", || {
        p.log_text()
            .lines()
            .find(|l| l.contains(&needle))
            .map(str::to_string)
    });
    let field = line
        .split(" kiteportal::access")
        .nth(1)
        .and_then(|rest| rest.trim_start_matches(']').split_whitespace().next())
        .unwrap_or_default()
        .to_string();
    (status, field)
}

#[test]
fn forwarding_headers_fail_closed_over_real_sockets() {
    let big = format!("CF-Connecting-IP: {}", "1".repeat(15 * 1024 - 40));
    let bad = |h: &str, proxy: &str| format!("unparsed-{h}@{proxy}");
    let (cf, xff) = ("cf-connecting-ip", "x-forwarded-for");
    // (real_ip_header, peer, header lines, /metrics status: 200 private / 404 public,
    // the access log's client field)
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, Vec<&str>, u16, String)> = vec![
        ("cf", PRIVATE_PROXY, vec!["CF-Connecting-IP: 203.0.113.9"], 404, "203.0.113.9".into()),
        ("cf", PUBLIC_PROXY, vec!["CF-Connecting-IP: 100.64.0.1"], 200, "100.64.0.1".into()),
        ("cf", UNTRUSTED, vec!["CF-Connecting-IP: 100.64.0.1"], 404, UNTRUSTED.into()),
        ("cf", PRIVATE_PROXY, vec![], 200, PRIVATE_PROXY.into()),
        // Not exactly one address from a private proxy: public, never the proxy's view.
        ("cf", PRIVATE_PROXY, vec!["CF-Connecting-IP: 203.0.113.9:443"], 404, bad(cf, PRIVATE_PROXY)),
        ("cf", PRIVATE_PROXY, vec!["CF-Connecting-IP: 203.0.113.9, 100.64.0.1"], 404, bad(cf, PRIVATE_PROXY)),
        ("cf", PRIVATE_PROXY, vec!["CF-Connecting-IP: [2001:db8::1]"], 404, bad(cf, PRIVATE_PROXY)),
        ("cf", PRIVATE_PROXY, vec!["CF-Connecting-IP: unknown"], 404, bad(cf, PRIVATE_PROXY)),
        ("cf", PRIVATE_PROXY, vec![&big], 404, bad(cf, PRIVATE_PROXY)),
        ("cf", PRIVATE_PROXY, vec!["CF-Connecting-IP: 100.64.0.1", "CF-Connecting-IP: 100.64.0.1"], 404, bad(cf, PRIVATE_PROXY)),
        ("cf", PRIVATE_PROXY, vec!["CF-Connecting-IP: ::ffff:100.64.0.1"], 200, "100.64.0.1".into()),
        // Only the configured header counts: a client's own X-Forwarded-For is ignored.
        ("cf", PUBLIC_PROXY, vec!["X-Forwarded-For: 100.64.0.1"], 404, PUBLIC_PROXY.into()),
        // A proxy that appends its own line (HAProxy): every line counts, in order.
        ("xff", PRIVATE_PROXY, vec!["X-Forwarded-For: 100.64.0.1", "X-Forwarded-For: 203.0.113.9"], 404, "203.0.113.9".into()),
        ("xff", PRIVATE_PROXY, vec!["X-Forwarded-For: 100.64.0.1, 203.0.113.9"], 404, "203.0.113.9".into()),
        ("xff", PUBLIC_PROXY, vec!["X-Forwarded-For: 203.0.113.9, 100.64.0.1"], 200, "100.64.0.1".into()),
        ("xff", PRIVATE_PROXY, vec!["X-Forwarded-For: unknown"], 404, bad(xff, PRIVATE_PROXY)),
        ("xff", PRIVATE_PROXY, vec!["X-Forwarded-For: 203.0.113.9:8080"], 404, bad(xff, PRIVATE_PROXY)),
        ("xff", PRIVATE_PROXY, vec!["X-Forwarded-For: 100.64.0.1", "X-Forwarded-For: garbage"], 404, bad(xff, PRIVATE_PROXY)),
        // A client's CF-Connecting-IP through a proxy that is not Cloudflare is ignored.
        ("xff", PRIVATE_PROXY, vec!["CF-Connecting-IP: 100.64.0.1", "X-Forwarded-For: 203.0.113.9"], 404, "203.0.113.9".into()),
    ];
    let start = |header: &str| {
        Portal::builder()
            .config(&format!("{NETWORKS}real_ip_header = \"{header}\"\n"))
            .start()
    };
    let portals = [
        ("cf", start("CF-Connecting-IP")),
        ("xff", start("X-Forwarded-For")),
    ];
    for (i, (which, from, lines, status, field)) in cases.into_iter().enumerate() {
        let p = &portals.iter().find(|(w, _)| *w == which).unwrap().1;
        let got = ask(p, from, i, &lines);
        assert_eq!(
            got,
            (status, field),
            "case {i}: {which} from {from} {lines:?}"
        );
    }
}

/// Opens `/api/stream` from 127.0.0.1 and returns the socket and the first burst.
fn open_stream(p: &Portal) -> (std::net::TcpStream, String) {
    let mut s = connect_from("127.0.0.1".parse().unwrap(), p.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s.write_all(b"GET /api/stream HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    let mut buf = [0u8; 65536];
    let t = Instant::now();
    while !text.contains("event: hosts") && t.elapsed() < Duration::from_secs(5) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    (s, text)
}

/// Reads until the server ends the stream (the last chunk of the response, or the
/// connection's end); true when it did within `limit`.
fn closes_within(s: &mut std::net::TcpStream, limit: Duration) -> bool {
    let t = Instant::now();
    let mut buf = [0u8; 4096];
    let mut tail = Vec::new();
    while t.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => {
                tail.extend_from_slice(&buf[..n]);
                // The last chunk may come in a read of its own.
                if tail.ends_with(b"\n0\r\n\r\n") || tail == b"0\r\n\r\n" {
                    return true;
                }
                let keep = tail.len().saturating_sub(16);
                tail.drain(..keep);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn a_reload_that_narrows_access_closes_open_private_streams() {
    let p = Portal::builder()
        .config("[stream]\nheartbeat = \"1s\"\n")
        .start();
    let (mut private, burst) = open_stream(&p);
    assert!(
        burst.contains("\"proc\":"),
        "the owner's stream has the paths"
    );
    // The private networks no longer include loopback: 127.0.0.1 is now a visitor.
    reload_with(
        &p,
        "[stream]\nheartbeat = \"1s\"\n[access]\nprivate_networks = [\"100.64.0.0/10\"]\n",
        "applied access",
    );
    assert!(
        closes_within(&mut private, Duration::from_secs(5)),
        "the private stream opened before the reload is closed"
    );
    let (_public, burst) = open_stream(&p);
    assert!(burst.contains("event: metrics"), "{burst}");
    assert!(!burst.contains("\"proc\":"), "the new stream is public");
    assert_eq!(get(p.addr, "/metrics", &[]).unwrap().status, 404);
}

#[test]
fn a_reload_applies_uptime_kuma_and_containers_and_names_state_dir() {
    let (a, b) = (Stub::start(), Stub::start());
    let kuma = |s: &Stub| format!("[uptime_kuma]\nurl = \"{}\"\nslug = \"home\"\n", s.url());
    for s in [&a, &b] {
        s.set("/api/status-page/home", Reply::json(404, "{}"));
    }
    let p = Portal::builder().config(&kuma(&a)).start();
    wait_for(Duration::from_secs(5), "the first Kuma", || {
        (a.count("/api/status-page/home") > 0).then_some(())
    });
    reload_with(&p, &kuma(&b), "applied uptime_kuma");
    wait_for(Duration::from_secs(5), "the new Kuma", || {
        (b.count("/api/status-page/home") > 0).then_some(())
    });
    let rule = "[[containers]]\nmatch = \"forgejo web\"\nname = \"forgejo\"\n";
    reload_with(&p, &format!("{}{rule}", kuma(&b)), "applied containers");
    let dir = tempfile::tempdir().unwrap();
    let with_dir = format!(
        "state_dir = \"{}\"\n{}{rule}",
        dir.path().display(),
        kuma(&b)
    );
    reload_with(&p, &with_dir, "needs a restart: state_dir");
}
