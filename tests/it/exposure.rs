//! Who sees what, over real sockets: the public (a visitor through the tunnel, told by a
//! trusted proxy's `CF-Connecting-IP`) against the owner (a direct loopback client), the
//! event stream's slots, and live reload by SIGHUP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{get, hup, raw, request, wait_for, Portal};
use crate::stub::{Reply, Stub};

/// A visitor on the internet, as the tunnel (a trusted proxy on loopback) reports it.
const PUBLIC: &[(&str, &str)] = &[("CF-Connecting-IP", "203.0.113.9")];

/// What an upstream error body may say that no visitor may read.
const SECRET_BODY: &str = "dial tcp 172.18.0.5:5432: connect: connection refused \
    (postgres://forgejo:hunter2@db.internal:5432/forgejo?sslmode=disable)";

/// Strings that must never reach a public response.
const LEAKS: &[&str] = &[
    "hunter2",
    "172.18.0.5",
    "db.internal",
    "postgres://",
    "127.0.0.1",
];

fn json(p: &Portal, path: &str, headers: &[(&str, &str)]) -> Value {
    let r = get(p.addr, path, headers).unwrap();
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

fn assert_no_leak(what: &str, text: &str) {
    for l in LEAKS {
        assert!(!text.contains(l), "{what} leaks {l:?}: {text}");
    }
}

/// The first burst of the event stream (every event's current state), as text.
fn stream_burst(p: &Portal, headers: &[(&str, &str)]) -> String {
    let mut s = TcpStream::connect(p.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut req = String::from("GET /api/stream HTTP/1.1\r\nHost: t\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut got = Vec::new();
    let t = Instant::now();
    let mut buf = [0u8; 16384];
    while t.elapsed() < Duration::from_secs(5) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        if String::from_utf8_lossy(&got).contains("event: hosts") {
            break;
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn the_public_gets_reason_classes_the_owner_the_detail() {
    let stub = Stub::start();
    stub.set("/Oslo", Reply::text(500, SECRET_BODY));
    let p = Portal::builder()
        .env("KITEPORTAL_WEATHER_URL", &stub.url())
        .config("[weather]\nlocation = \"Oslo\"\nrefresh = \"250ms\"\n")
        .start();
    let private = wait_for(Duration::from_secs(10), "the weather error", || {
        let v = json(&p, "/api/weather", &[]);
        (v["status"] == "error").then_some(v)
    });
    let detail = private["error"].as_str().unwrap();
    assert!(
        detail.contains("HTTP 500") && detail.contains("hunter2"),
        "{detail}"
    );

    let public = json(&p, "/api/weather", PUBLIC);
    assert_eq!(public["status"], "error");
    assert_eq!(public["error"], "HTTP 500");
    assert_no_leak("public /api/weather", &public.to_string());

    // The page and the stream follow the same rule.
    let page = get(p.addr, "/", PUBLIC).unwrap();
    assert_eq!(page.status, 200);
    assert_no_leak("public page", &page.text());
    assert!(page.text().contains("HTTP 500"));
    let owner_page = get(p.addr, "/", &[]).unwrap().text();
    assert!(owner_page.contains("hunter2"), "the owner sees the detail");
    let burst = stream_burst(&p, PUBLIC);
    assert!(burst.contains("event: weather"), "{burst}");
    assert_no_leak("public stream", &burst);
    assert!(stream_burst(&p, &[]).contains("hunter2"));

    // Metrics: no read paths, section errors reduced, /metrics not there at all.
    let m = json(&p, "/api/metrics", PUBLIC);
    assert!(m["view"]["pid_namespace"].is_string());
    assert!(m["view"].get("proc").is_none(), "{}", m["view"]);
    for (_, why) in m["errors"].as_object().unwrap() {
        assert_eq!(why, "unavailable");
    }
    let owner = json(&p, "/api/metrics", &[]);
    assert!(owner["view"]["proc"].is_string());
    assert_eq!(get(p.addr, "/metrics", PUBLIC).unwrap().status, 404);
    assert_eq!(get(p.addr, "/metrics", &[]).unwrap().status, 200);
    // The detail went to the log.
    assert!(p.log_text().contains("hunter2"));
}

#[test]
fn a_header_from_an_untrusted_peer_makes_no_one_private() {
    // Loopback is neither trusted as a proxy nor private here: the test client is "the
    // internet", and it claims to be on the tailnet.
    let p = Portal::builder()
        .config(
            "trusted_proxies = [\"10.0.0.0/8\"]\n\
             [access]\nprivate_networks = [\"100.64.0.0/10\"]\n",
        )
        .start();
    for claim in [
        [("CF-Connecting-IP", "100.64.0.1")],
        [("X-Forwarded-For", "100.64.0.1")],
    ] {
        assert_eq!(get(p.addr, "/metrics", &claim).unwrap().status, 404);
        let m = json(&p, "/api/metrics", &claim);
        assert!(m["view"].get("proc").is_none());
    }
}

#[test]
fn public_metrics_can_be_opened() {
    let p = Portal::builder()
        .config("[access]\npublic_metrics = true\n")
        .start();
    let r = get(p.addr, "/metrics", PUBLIC).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.text().contains("kiteportal_"));
}

/// Opens a stream and returns the socket once the response head arrived (or the status).
fn open_stream(p: &Portal, request: &str) -> Result<TcpStream, u16> {
    let mut s = TcpStream::connect(p.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if status == 200 {
        Ok(s)
    } else {
        Err(status)
    }
}

const STREAM_GET: &str = "GET /api/stream HTTP/1.1\r\nHost: t\r\n\r\n";

/// Waits until a new stream can be opened (the one slot is free again).
fn slot_frees(p: &Portal, how: &str) {
    let t = Instant::now();
    loop {
        match open_stream(p, STREAM_GET) {
            Ok(_) => return,
            Err(503) => {}
            Err(other) => panic!("{how}: unexpected status {other}"),
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{how}: the slot was not freed within 5 s (heartbeat 1 s)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn every_way_of_ending_a_stream_frees_its_slot() {
    let p = Portal::builder()
        .config("[stream]\nmax_clients = 1\nheartbeat = \"1s\"\n")
        .start();
    // HEAD: headers only, no slot taken, however many.
    for _ in 0..300 {
        let r = raw(p.addr, b"HEAD /api/stream HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/event-stream"));
    }
    let held = open_stream(&p, STREAM_GET).expect("HEADs took no slot");
    assert_eq!(open_stream(&p, STREAM_GET).err(), Some(503));
    drop(held);
    slot_frees(&p, "a client that closes");

    for (how, req) in [
        (
            "Connection: close",
            "GET /api/stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        ),
        ("HTTP/1.0", "GET /api/stream HTTP/1.0\r\n\r\n"),
    ] {
        // The slot of the previous check's stream is released when that socket drops.
        let s = wait_for(Duration::from_secs(5), how, || open_stream(&p, req).ok());
        assert_eq!(open_stream(&p, STREAM_GET).err(), Some(503), "{how}");
        drop(s);
        slot_frees(&p, how);
    }
}

fn config_path(p: &Portal) -> std::path::PathBuf {
    p.dir.path().join("kiteportal.toml")
}

#[test]
fn sighup_reloads_a_valid_configuration_and_keeps_the_running_one_otherwise() {
    let p = Portal::builder()
        .config("[stream]\nheartbeat = \"1s\"\n")
        .start();
    let mut stream = open_stream(&p, STREAM_GET).expect("stream");
    assert_eq!(get(p.addr, "/metrics", PUBLIC).unwrap().status, 404);

    // Valid: applied, one line, the open stream goes on.
    let text = std::fs::read_to_string(config_path(&p)).unwrap();
    std::fs::write(
        config_path(&p),
        format!("{text}\n[access]\npublic_metrics = true\n"),
    )
    .unwrap();
    hup(&p);
    wait_for(Duration::from_secs(5), "the reload line", || {
        p.log_text()
            .contains("reload: applied access")
            .then_some(())
    });
    assert_eq!(get(p.addr, "/metrics", PUBLIC).unwrap().status, 200);
    let mut buf = [0u8; 256];
    let n = stream.read(&mut buf).expect("the stream is still open");
    assert!(n > 0);

    // Invalid: an error naming the key, the running configuration stays, still serving.
    std::fs::write(
        config_path(&p),
        format!("{text}\n[weather]\nrefresh = \"1ms\"\n"),
    )
    .unwrap();
    hup(&p);
    let line = wait_for(Duration::from_secs(5), "the error line", || {
        p.log_text()
            .lines()
            .find(|l| l.contains("reload:") && l.contains("weather.refresh"))
            .map(str::to_string)
    });
    assert!(line.contains("'1ms'") && line.contains("keeping"), "{line}");
    assert_eq!(get(p.addr, "/metrics", PUBLIC).unwrap().status, 200);
    assert_eq!(get(p.addr, "/api/health", &[]).unwrap().status, 200);

    // A change that needs a restart says so and is not half-applied.
    std::fs::write(
        config_path(&p),
        format!("{text}\n[access]\npublic_metrics = true\n[host]\nroot = \"/nonexistent\"\n"),
    )
    .unwrap();
    hup(&p);
    wait_for(Duration::from_secs(5), "the restart note", || {
        p.log_text()
            .contains("reload: nothing applied; needs a restart: host")
            .then_some(())
    });
    let r = request(p.addr, "GET", "/api/health", &[]).unwrap();
    assert_eq!(r.status, 200);
}

#[test]
fn hostile_upstream_text_is_cleaned_capped_and_masked_everywhere() {
    let token = format!("kptok{}hostile", std::process::id());
    let stub = Stub::start();
    let huge = "x".repeat(500_000);
    let full_name = format!("evil/repo\nINFO kiteportal::access forged {token} \u{202e}{huge}");
    let search = serde_json::json!({"ok": true, "data": [{
        "name": "repo", "full_name": full_name, "owner": {"login": "evil"},
        "html_url": format!("https://git.example/evil/repo?t={token}"), "empty": false
    }]});
    stub.set("/api/v1/repos/search", Reply::json(200, search.to_string()));
    let commits = serde_json::json!([
        {"sha": "c0ffee0000000000000000000000000000000001",
         "commit": {"message": format!("fix\u{200b} {token}\r\nsecond line"),
                    "committer": {"date": "2025-06-03T15:00:00Z"}},
         "author": {"login": "m\u{2066}allory\n"}},
        {"sha": "c0ffee0000000000000000000000000000000002",
         "commit": {"message": "from the future",
                    "committer": {"date": "2999-01-01T00:00:00Z"}}}
    ]);
    stub.set(
        "/api/v1/repos/evil/repo/commits",
        Reply::json(200, commits.to_string()),
    );
    let p = Portal::builder()
        .env("KITEPORTAL_FORGEJO_TOKEN", &token)
        .config(&format!(
            "[forgejo]\nurl = \"{}\"\nrefresh = \"250ms\"\n",
            stub.url()
        ))
        .start();
    let v = wait_for(Duration::from_secs(10), "activity", || {
        let v = json(&p, "/api/activity", &[]);
        (v["status"] == "ok").then_some(v)
    });
    let items = v["data"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "the commit dated 2999 is bad data: {v}");
    let c = &items[0];
    let repo = c["repo"].as_str().unwrap();
    assert!(repo.chars().count() <= 121, "capped: {}", repo.len());
    assert!(repo.starts_with("evil/repo INFO"), "{repo}");
    assert!(!repo.contains('\n') && !repo.contains('\u{202e}'));
    assert_eq!(c["message"], "fix ********");
    assert_eq!(c["author"], "mallory");
    let body = v.to_string();
    assert!(!body.contains(&token), "token in {body}");
    let page = get(p.addr, "/", &[]).unwrap().text();
    assert!(page.len() < 200_000, "page is {} bytes", page.len());
    assert!(!page.contains(&token));
    // No line of the log was forged, and the token is in none of it.
    let log = p.log_text();
    assert!(!log.lines().any(|l| l.starts_with("INFO")), "{log}");
    assert!(!log.contains(&token));
}
