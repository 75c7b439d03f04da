//! A crowd at the front door: `Cache-Control` and ETags per audience, and a real caching
//! proxy (Debian's Varnish, started here with its own `-n` directory and a minimal VCL
//! that honours the origin's headers) standing in for the CDN edge: many visitors
//! through it cost the origin about one request per URL per interval.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{free_port, get, wait_for, Portal};

/// A visitor as the tunnel delivers one: through a trusted proxy that names it.
const VISITOR: &[(&str, &str)] = &[("CF-Connecting-IP", "203.0.113.9")];

#[test]
fn public_answers_may_be_kept_by_the_edge_and_private_ones_never() {
    let p = Portal::builder().start();
    for path in [
        "/api/metrics",
        "/api/metrics/history",
        "/api/weather",
        "/api/activity",
        "/api/services",
        "/api/hosts",
        "/api/hosts/testhost/history",
    ] {
        let public = get(p.addr, path, VISITOR).unwrap();
        assert_eq!(public.status, 200, "{path}");
        assert_eq!(
            public.header("cache-control"),
            Some("public, max-age=0, s-maxage=2, stale-while-revalidate=6"),
            "{path}"
        );
        let private = get(p.addr, path, &[]).unwrap();
        assert_eq!(
            private.header("cache-control"),
            Some("private, no-store"),
            "{path}"
        );
        // A strong ETag; 304 with headers only while the bytes are the same.
        let etag = private.header("etag").unwrap().to_string();
        assert!(etag.starts_with('"'), "{path}: {etag}");
        let again = get(p.addr, path, &[("If-None-Match", &etag)]).unwrap();
        if again.header("etag") == Some(etag.as_str()) {
            assert_eq!((again.status, again.body.len()), (304, 0), "{path}");
        }
        let other = get(p.addr, path, &[("If-None-Match", "\"other\"")]).unwrap();
        assert_eq!(other.status, 200, "{path}");
    }
    // Never kept: the stream and the health check.
    assert_eq!(
        get(p.addr, "/api/health", VISITOR)
            .unwrap()
            .header("cache-control"),
        Some("no-store")
    );
    let head = crate::common::request(p.addr, "HEAD", "/api/stream", VISITOR).unwrap();
    assert_eq!(head.header("cache-control"), Some("no-store"));
}

/// Varnish on a free loopback port in front of `backend`; stopped on drop.
pub struct Varnish {
    child: Child,
    pub addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
}

const VARNISHD: &str = "/usr/sbin/varnishd";

impl Varnish {
    /// Starts Varnish, or `None` (skip) when it is not installed locally; in CI a missing
    /// Varnish is a failure.
    pub fn start(backend: std::net::SocketAddr) -> Option<Varnish> {
        if !std::path::Path::new(VARNISHD).exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but varnishd is not installed (apt-get install varnish)"
            );
            eprintln!("skipping: varnishd not installed");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let vcl = dir.path().join("edge.vcl");
        std::fs::write(&vcl, vcl_text(backend)).unwrap();
        let port = free_port();
        let child = Command::new(VARNISHD)
            .args(["-F", "-j", "none", "-s", "malloc,32m"])
            .arg("-n")
            .arg(dir.path().join("work"))
            .arg("-a")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-f")
            .arg(&vcl)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let v = Varnish {
            child,
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
            _dir: dir,
        };
        wait_for(Duration::from_secs(20), "varnish answering", || {
            get(v.addr, "/api/health", &[])
                .ok()
                .filter(|r| r.status == 200)
        });
        Some(v)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for Varnish {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The edge's rules, as the Cloudflare Cache Rule in docs/DEPLOY.md sets them: the event
/// stream passes, everything else is cached exactly as the origin's headers allow
/// (Varnish's built-in logic: `s-maxage`, `stale-while-revalidate` as grace, nothing
/// `private` or `no-store`).
fn vcl_text(backend: std::net::SocketAddr) -> String {
    format!(
        "vcl 4.1;\n\
         backend origin {{ .host = \"{}\"; .port = \"{}\"; }}\n\
         sub vcl_recv {{ if (req.url ~ \"^/api/stream\") {{ return (pass); }} }}\n\
         sub vcl_backend_response {{ if (bereq.url ~ \"^/api/stream\") {{ set beresp.do_stream = true; }} }}\n",
        backend.ip(),
        backend.port()
    )
}

/// `n` visitors, each asking for `path` through the edge every 250 ms for `secs`; returns
/// the answers they got and how many requests for `path` reached the origin meanwhile.
fn crowd(p: &Portal, v: &Varnish, path: &str, n: usize, secs: u64) -> (usize, usize) {
    let line = format!("\"GET {path} HTTP/1.1\"");
    let before = p.log_text().matches(&line).count();
    let answered = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let (addr, answered, path) = (v.addr, answered.clone(), path.to_string());
            std::thread::spawn(move || {
                let ip = format!("203.0.113.{}", i % 250 + 1);
                let headers = [("CF-Connecting-IP", ip.as_str())];
                // Spread the visitors' first requests over the first 250 ms.
                std::thread::sleep(Duration::from_millis((i as u64 * 7) % 250));
                while Instant::now() < deadline {
                    if let Ok(r) = get(addr, &path, &headers) {
                        assert_eq!(r.status, 200, "{}", r.text());
                        assert!(!r.text().contains("\"containers\""), "a private answer");
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    let origin = p.log_text().matches(&line).count() - before;
    (answered.load(Ordering::Relaxed), origin)
}

#[test]
fn through_a_caching_proxy_the_origin_work_does_not_grow_with_the_visitors() {
    let p = Portal::builder().start();
    let Some(v) = Varnish::start(p.addr) else {
        return;
    };
    // The owner's answer (no forwarding header: the proxy's own loopback address,
    // private) passes through and is never kept for the next visitor.
    let owner = get(v.addr, "/api/hosts", &[]).unwrap();
    assert!(owner.text().contains("\"proc\""), "{}", owner.text());
    let visitor = get(v.addr, "/api/hosts", VISITOR).unwrap();
    assert!(
        !visitor.text().contains("\"proc\""),
        "a private answer was kept"
    );

    let (few_answers, few) = crowd(&p, &v, "/api/metrics", 10, 8);
    let (many_answers, many) = crowd(&p, &v, "/api/metrics", 200, 15);
    eprintln!(
        "origin requests for /api/metrics: 10 visitors for 8 s: {few} ({few_answers} answers); \
         200 visitors for 15 s: {many} ({many_answers} answers)"
    );
    assert!(
        many_answers > 2000,
        "the crowd was not served: {many_answers}"
    );
    // One fetch per 2 s interval (plus a background revalidation now and then), however
    // many visitors: at most 30 in 15 s, and not more per second than with ten visitors.
    assert!(many <= 30, "{many} origin requests in 15 s");
    assert!(
        many <= few * 15 / 8 + 5,
        "grew with the visitors: {few} -> {many}"
    );
}

/// Nine services on one stub that answers 200, checked every `interval`.
fn nine_services(stub: &crate::stub::Stub, interval: &str) -> Portal {
    let mut cfg = format!("services_interval = \"{interval}\"\n");
    for i in 0..9 {
        cfg.push_str(&format!(
            "[[services]]\nname = \"Service {i}\"\nurl = \"{}/up\"\n",
            stub.url()
        ));
    }
    Portal::builder().config(&cfg).start()
}

/// Reads a public stream at `path` for `secs`; returns what arrived.
fn read_stream(p: &Portal, path: &str, secs: u64) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(p.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nCF-Connecting-IP: 203.0.113.9\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `data` of each `event: name` frame in `text`, parsed.
fn frames(text: &str, name: &str) -> Vec<serde_json::Value> {
    let marker = format!("event: {name}\ndata: ");
    text.split(&marker)
        .skip(1)
        .filter_map(|rest| serde_json::from_str(rest.split('\n').next()?).ok())
        .collect()
}

#[test]
fn the_pages_own_stream_sends_what_the_page_lacks_and_then_patches() {
    let stub = crate::stub::Stub::start();
    stub.set("/up", crate::stub::Reply::text(200, "ok"));

    // A page rendered after the last round: its stream does not send the services again.
    let calm = nine_services(&stub, "30s");
    wait_for(Duration::from_secs(10), "a first round", || {
        let v = get(calm.addr, "/api/services", &[]).unwrap().json();
        (v["status"] == "ok").then_some(())
    });
    // The round's event is published just after its data is cached: let it go out.
    std::thread::sleep(Duration::from_millis(500));
    let page = get(calm.addr, "/", VISITOR).unwrap().text();
    let since = page
        .split("data-since=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    // Long enough for a sample (2 s): the system panel's patch.
    let resumed = read_stream(&calm, &format!("/api/stream?view=page&since={since}"), 3);
    assert!(resumed.contains("event: patch"), "{resumed}");
    assert!(
        !resumed.contains("event: tile"),
        "the page has every tile: {resumed}"
    );
    assert!(
        !resumed.contains("\"svc-groups\""),
        "the page has the cards"
    );
    let fresh = read_stream(&calm, "/api/stream?view=page&since=0-0", 1);
    assert!(
        fresh.contains("event: tile\nid: ") && fresh.contains("\ndata: svc-groups\n"),
        "another process's page gets every tile"
    );
    assert!(fresh.contains("class=\"card\""));

    // Each round, the page's stream carries only the cards' fields that changed (a
    // patch), never the whole cards again; the documented stream the whole envelope.
    let busy = nine_services(&stub, "500ms");
    std::thread::sleep(Duration::from_millis(1200));
    let page_text = read_stream(&busy, "/api/stream?view=page", 4);
    let api_text = read_stream(&busy, "/api/stream", 4);
    let tiles = page_text.matches("\ndata: svc-groups\n").count();
    assert_eq!(tiles, 1, "the cards once, in the first burst");
    assert!(
        !page_text.contains("event: services"),
        "no JSON for the page"
    );
    // An unknown view is a clear error, not a silent full answer.
    for path in ["/api/services?view=pgae", "/api/stream?view=x"] {
        let r = get(busy.addr, path, VISITOR).unwrap();
        assert_eq!(r.status, 400, "{path}");
        assert!(r.text().contains("view"), "{}", r.text());
    }
    // The page's polling fallback reads the same view.
    let polled = get(busy.addr, "/api/services?view=page", VISITOR)
        .unwrap()
        .json();
    assert!(polled["data"]["services"][0].get("days").is_none());
    assert_eq!(
        polled["data"]["services"][0]["history"]
            .as_array()
            .unwrap()
            .len(),
        48
    );
    let api = frames(&api_text, "services");
    assert_eq!(
        api[0]["data"]["services"][0]["days"]
            .as_array()
            .unwrap()
            .len(),
        90
    );
    eprintln!(
        "4 s with nine services checked every 500 ms: page stream {} bytes, /api/stream {} bytes",
        page_text.len(),
        api_text.len()
    );
    assert!(page_text.len() * 3 < api_text.len());
}
