//! HTTP semantics over a real socket: security headers, embedded assets (ETag/304,
//! encodings, HEAD, Range), 404/405/OPTIONS, path tricks, template escaping, the
//! access log's client address, and a graceful stop on SIGTERM.

use std::time::{Duration, Instant};

use crate::common::{get, raw, request, Portal};

/// The portal page's stylesheet URL.
fn css_url(p: &Portal) -> String {
    let page = get(p.addr, "/", &[]).unwrap().text();
    let start = page.find("/assets/app.").expect("stylesheet link");
    let end = start + page[start..].find('"').unwrap();
    page[start..end].to_string()
}

fn assert_security_headers(r: &crate::common::Response) {
    let csp = r.header("content-security-policy").expect("CSP");
    let script = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .expect("script-src");
    assert!(
        !script.contains("unsafe-inline") && !script.contains("unsafe-eval"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(r.header("referrer-policy").is_some());
    assert!(r.header("permissions-policy").is_some());
    assert_eq!(r.header("x-served-by"), Some("testhost"));
}

#[test]
fn health_and_security_headers_on_every_kind_of_response() {
    let p = Portal::builder().start();
    let r = get(p.addr, "/api/health", &[]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), serde_json::json!({"ok": true}));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert_security_headers(&r);
    let css = css_url(&p);
    for path in ["/", css.as_str(), "/nope", "/robots.txt"] {
        assert_security_headers(&get(p.addr, path, &[]).unwrap());
    }
    assert_security_headers(&request(p.addr, "DELETE", "/", &[]).unwrap());
}

#[test]
fn assets_are_immutable_with_strong_etags_and_304() {
    let p = Portal::builder().start();
    let css = css_url(&p);
    assert!(
        css.len() > "/assets/app..css".len() + 8,
        "content-hashed name: {css}"
    );
    let r = get(p.addr, &css, &[]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(r.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    assert!(r.header("content-encoding").is_none());
    let etag = r.header("etag").unwrap().to_string();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "strong: {etag}"
    );

    for inm in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"x\", {etag}"),
        "*".into(),
    ] {
        let r = get(p.addr, &css, &[("If-None-Match", &inm)]).unwrap();
        assert_eq!(r.status, 304, "{inm}");
        assert!(r.body.is_empty());
        assert_eq!(r.header("etag"), Some(etag.as_str()));
    }
    let r = get(p.addr, &css, &[("If-None-Match", "\"other\"")]).unwrap();
    assert_eq!(r.status, 200);

    // The page itself is revalidated every time; the edge may keep the public one for
    // an interval, never the owner's.
    assert_eq!(
        get(p.addr, "/", &[]).unwrap().header("cache-control"),
        Some("private, no-cache")
    );
    let public = [("CF-Connecting-IP", "203.0.113.9")];
    assert_eq!(
        get(p.addr, "/", &public).unwrap().header("cache-control"),
        Some("public, max-age=0, s-maxage=2, stale-while-revalidate=6")
    );
}

#[test]
fn encodings_are_negotiated_from_precompressed_variants() {
    let p = Portal::builder().start();
    let css = css_url(&p);
    let plain = get(p.addr, &css, &[]).unwrap();

    let br = get(p.addr, &css, &[("Accept-Encoding", "gzip, deflate, br")]).unwrap();
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert!(br.body.len() < plain.body.len());
    let mut decoded = Vec::new();
    brotli::BrotliDecompress(&mut &br.body[..], &mut decoded).unwrap();
    assert_eq!(decoded, plain.body);

    let gz = get(p.addr, &css, &[("Accept-Encoding", "br;q=0, gzip")]).unwrap();
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&gz.body[..]),
        &mut decoded,
    )
    .unwrap();
    assert_eq!(decoded, plain.body);

    // Each variant has its own strong ETag, and a 304 only for the matching one.
    let (e1, e2, e3) = (
        plain.header("etag").unwrap(),
        br.header("etag").unwrap(),
        gz.header("etag").unwrap(),
    );
    assert!(e1 != e2 && e2 != e3 && e1 != e3);
    let r = get(
        p.addr,
        &css,
        &[("Accept-Encoding", "br"), ("If-None-Match", e2)],
    )
    .unwrap();
    assert_eq!(r.status, 304);
    let r = get(
        p.addr,
        &css,
        &[("Accept-Encoding", "identity"), ("If-None-Match", e2)],
    )
    .unwrap();
    assert_eq!(r.status, 200);

    for refused in ["identity", "gzip;q=0, br;q=0", "*;q=0", "compress"] {
        let r = get(p.addr, &css, &[("Accept-Encoding", refused)]).unwrap();
        assert_eq!(r.status, 200);
        assert!(r.header("content-encoding").is_none(), "{refused}");
        assert_eq!(r.body, plain.body);
    }
}

#[test]
fn head_and_range_requests() {
    let p = Portal::builder().start();
    let css = css_url(&p);
    let full = get(p.addr, &css, &[]).unwrap();
    let head = request(p.addr, "HEAD", &css, &[]).unwrap();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("etag"), full.header("etag"));
    assert_eq!(
        head.header("content-length"),
        Some(full.body.len().to_string().as_str())
    );
    let head = request(p.addr, "HEAD", "/", &[]).unwrap();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let head = request(p.addr, "HEAD", "/api/health", &[]).unwrap();
    assert_eq!(head.status, 200);
    // Range is not supported: the full body comes back, never a broken partial one.
    let r = get(p.addr, &css, &[("Range", "bytes=0-9")]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, full.body);
}

#[test]
fn unknown_paths_get_the_themed_404_and_tricks_never_escape() {
    let p = Portal::builder().start();
    let r = get(p.addr, "/no/such/page", &[]).unwrap();
    assert_eq!(r.status, 404);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let body = r.text();
    assert!(
        body.contains("404") && body.contains("/assets/app."),
        "themed page"
    );

    let css = css_url(&p);
    let hashed = css.trim_start_matches("/assets/");
    let tricks = [
        "/assets/../Cargo.toml".to_string(),
        "/assets/..%2fCargo.toml".into(),
        "/assets/%2e%2e/%2e%2e/Cargo.toml".into(),
        "/assets/%2e%2e%2fsrc%2fmain.rs".into(),
        "/assets/..\\..\\Cargo.toml".into(),
        "/assets/%5c..%5cCargo.toml".into(),
        format!("/assets/{hashed}%00.txt"),
        format!("/assets/./{hashed}/../../Cargo.toml"),
        "/assets//etc/passwd".into(),
        "/assets/app.css".into(),
        "/assets/".into(),
        "/../../etc/passwd".into(),
        "/%2e%2e/%2e%2e/etc/passwd".into(),
        format!("/assets/{}", "a".repeat(4000)),
    ];
    for t in &tricks {
        let r = get(p.addr, t, &[]).unwrap();
        assert!(
            r.status == 404 || r.status == 400 || r.status == 414,
            "{t}: {}",
            r.status
        );
        let text = r.text();
        assert!(
            !text.contains("[package]") && !text.contains("root:x:0"),
            "{t} leaked a file"
        );
    }
}

#[test]
fn other_methods_get_405_with_allow_and_options_204() {
    let p = Portal::builder().start();
    for (method, path) in [
        ("POST", "/"),
        ("PUT", "/api/health"),
        ("DELETE", "/assets/x"),
        ("PATCH", "/nope"),
    ] {
        let r = request(p.addr, method, path, &[("Content-Length", "0")]).unwrap();
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    }
    let r = request(p.addr, "OPTIONS", "/api/health", &[]).unwrap();
    assert_eq!(r.status, 204);
    assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    // A malformed request line is a 400, not a crash.
    let r = raw(p.addr, b"GARBAGE\r\n\r\n").unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(get(p.addr, "/api/health", &[]).unwrap().status, 200);
}

#[test]
fn service_text_is_escaped_in_the_page() {
    let p = Portal::builder()
        .config(
            r#"
[[services]]
name = "<script>alert(1)</script>"
url = "https://evil.example/?a=1&b=2"
description = "<img src=x onerror=alert(2)>"
group = "</h3><h1>"
"#,
        )
        .start();
    let page = get(p.addr, "/", &[]).unwrap().text();
    assert!(!page.contains("<script>alert(1)"), "raw script in page");
    assert!(!page.contains("<img src=x"), "raw img in page");
    assert!(!page.contains("</h3><h1>"));
    // Present as text, escaped (askama writes numeric character references).
    let escaped = |s: &str| s.replace('<', "&#60;").replace('>', "&#62;");
    assert!(
        page.contains(&escaped("<script>alert(1)</script>")),
        "{page}"
    );
    assert!(page.contains(&escaped("<img src=x onerror=alert(2)>")));
    // Only our own script tag, loaded from /assets/ (no inline script).
    for (i, _) in page.match_indices("<script") {
        assert!(
            page[i..].starts_with("<script type=\"module\" src=\"/assets/"),
            "{}",
            &page[i..i + 60]
        );
    }
}

#[test]
fn the_page_lists_the_configured_services() {
    // Defaults would probe the public services, so the page is checked with a config
    // (the nine defaults are checked through check-config in cli.rs).
    let p = Portal::builder()
        .config(
            r#"
[[services]]
name = "Grafana"
url = "https://grafana.kitestacks.com"
description = "Dashboards for both hosts"
group = "Ops"
check_url = "http://127.0.0.1:9/"

[[services]]
name = "Kavita"
url = "https://books.kitestacks.com"
group = "Library"
check_url = "http://127.0.0.1:9/"
"#,
        )
        .start();
    let page = get(p.addr, "/", &[]).unwrap().text();
    for needle in [
        "Grafana",
        "Dashboards for both hosts",
        "https://grafana.kitestacks.com",
        "Kavita",
        "Ops",
        "Library",
    ] {
        assert!(page.contains(needle), "{needle} missing from the page");
    }
}

#[test]
fn access_log_uses_forwarded_address_only_from_trusted_proxies() {
    let p = Portal::builder().start();
    get(
        p.addr,
        "/api/health?trusted",
        &[("CF-Connecting-IP", "203.0.113.7")],
    )
    .unwrap();
    // X-Forwarded-For counts only where it is the configured header.
    let xff = Portal::builder()
        .config("[access]\nreal_ip_header = \"X-Forwarded-For\"")
        .start();
    get(
        xff.addr,
        "/api/health?xff",
        &[("X-Forwarded-For", "198.51.100.9, 10.0.0.2")],
    )
    .unwrap();
    let untrusted = Portal::builder().config("trusted_proxies = []").start();
    get(
        untrusted.addr,
        "/api/health?spoof",
        &[("CF-Connecting-IP", "203.0.113.66")],
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = p.log_text() + &xff.log_text();
        let log2 = untrusted.log_text();
        let done = log.contains("?xff") && log.contains("?trusted") && log2.contains("?spoof");
        if done || Instant::now() > deadline {
            let line = |log: &str, tag: &str| {
                log.lines()
                    .find(|l| l.contains(tag))
                    .unwrap_or("")
                    .to_string()
            };
            assert!(line(&log, "?trusted").contains("203.0.113.7"), "{log}");
            assert!(line(&log, "?xff").contains("198.51.100.9"), "{log}");
            let spoof = line(&log2, "?spoof");
            assert!(
                spoof.contains("127.0.0.1") && !spoof.contains("203.0.113.66"),
                "{log2}"
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_stops_gracefully_with_exit_0() {
    let mut p = Portal::builder().start();
    let t = Instant::now();
    let status = p
        .terminate(Duration::from_secs(5))
        .expect("stopped within 5 s");
    assert!(status.success(), "{status}: {}", p.log_text());
    assert!(t.elapsed() < Duration::from_secs(5));
}

/// Splits an access-log line (after the logger's `] ` prefix) into fields: bare words,
/// or double-quoted strings with `\"`, `\\` and `\xNN` escapes, unescaped.
fn access_fields(line: &str) -> Vec<Vec<u8>> {
    let rest = line
        .split_once("kiteportal::access] ")
        .map_or("", |(_, r)| r);
    let b = rest.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < b.len() {
        if b[i] == b' ' {
            i += 1;
        } else if b[i] == b'"' {
            let mut f = Vec::new();
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && b[i + 1] == b'x' {
                    f.push(u8::from_str_radix(&rest[i + 2..i + 4], 16).unwrap());
                    i += 4;
                } else if b[i] == b'\\' {
                    f.push(b[i + 1]);
                    i += 2;
                } else {
                    f.push(b[i]);
                    i += 1;
                }
            }
            out.push(f);
            i += 1;
        } else {
            let end = rest[i..].find(' ').map_or(b.len(), |e| i + e);
            out.push(b[i..end].to_vec());
            i = end;
        }
    }
    out
}

#[test]
fn access_log_quotes_referer_and_user_agent_so_fields_cannot_shift() {
    let p = Portal::builder().start();
    let agent = "evil\" 200 0 \"x \\ \tend";
    let referer = "https://example.org/\u{202E}gpj.exe?q=\"1\"";
    let mut req = format!(
        "GET /api/health?tag1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nUser-Agent: {agent}\r\n"
    )
    .into_bytes();
    req.extend_from_slice(format!("Referer: {referer}\r\n\r\n").as_bytes());
    assert_eq!(raw(p.addr, &req).unwrap().status, 200);
    // A line break in a header cannot reach the log as one: the request is refused or
    // the break ends the header, and no forged line appears.
    let forged = b"GET /api/health?tag2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
Referer: a\nkiteportal::access] 6.6.6.6 \"GET /forged HTTP/1.1\" 200 0\r\n\r\n";
    let _ = raw(p.addr, forged);
    let _ = get(p.addr, "/api/health?tag3", &[]).unwrap();

    let deadline = Instant::now() + Duration::from_secs(5);
    while !p.log_text().contains("?tag3") {
        assert!(Instant::now() < deadline, "{}", p.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = p.log_text();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("?tag1")).collect();
    assert_eq!(lines.len(), 1, "{log}");
    let f = access_fields(lines[0]);
    assert_eq!(f.len(), 7, "{}: {f:?}", lines[0]);
    assert_eq!(f[0], b"127.0.0.1");
    assert_eq!(f[1], b"GET /api/health?tag1 HTTP/1.1");
    assert_eq!(f[2], b"200");
    assert_eq!(f[4], referer.as_bytes());
    assert_eq!(f[5], agent.as_bytes());
    assert!(lines[0].ends_with("ms"), "{}", lines[0]);
    // The bidi override is shown as bytes, not applied to the terminal.
    assert!(!lines[0].contains('\u{202E}'), "{}", lines[0]);
    assert!(lines[0].contains(r"\xE2\x80\xAE"), "{}", lines[0]);
    assert!(!log.contains("6.6.6.6"), "{log}");
    for l in log.lines().filter(|l| l.contains("kiteportal::access")) {
        assert_eq!(access_fields(l).len(), 7, "{l}");
    }
}
