//! The status page over real sockets: notifications to receivers on 127.0.0.1 (one per
//! real change, none for a single lost check; a receiver that fails or hangs costs one
//! log line), the Atom feed as a feed reader parses it, the 90 days, and the services in
//! `/metrics`.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{get, wait_for, Portal};
use crate::stub::{Reply, Stub};

fn status_of(p: &Portal) -> Value {
    let v = get(p.addr, "/api/services", &[]).unwrap().json();
    v["data"]["services"][0].clone()
}

fn wait_status(p: &Portal, want: &str) -> Value {
    wait_for(Duration::from_secs(10), want, || {
        let s = status_of(p);
        (s["status"] == want).then_some(s)
    })
}

/// The portal with one service on `svc` checked every 250 ms, and `[[notify]]` targets.
fn portal(svc: &Stub, notify: &str) -> Portal {
    Portal::builder()
        .config(&format!(
            "services_interval = \"250ms\"\ntimezone = \"UTC\"\n\
             [[services]]\nname = \"Photos\"\nurl = \"{}/svc\"\ngroup = \"Media\"\n{notify}",
            svc.url()
        ))
        .start()
}

/// Lets exactly one check fail: 500 until the stub has seen one more check, then 200.
fn blip(svc: &Stub) {
    let before = svc.count("/svc");
    svc.set("/svc", Reply::text(500, "boom"));
    let t = Instant::now();
    while svc.count("/svc") == before && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(2));
    }
    svc.set("/svc", Reply::text(200, "ok"));
}

#[test]
fn notifications_one_per_change_none_for_a_blip_and_a_bad_receiver_costs_one_line() {
    let svc = Stub::start();
    svc.set("/svc", Reply::text(200, "ok"));
    let hooks = Stub::start();
    hooks.set("/hook-s3cret", Reply::json(200, "{}"));
    hooks.set("/topic-s3cret", Reply::json(200, "{}"));
    hooks.set("/maint-s3cret", Reply::json(200, "{}"));
    hooks.set("/fails-s3cret", Reply::json(500, "{}"));
    hooks.set("/hangs-s3cret", Reply::Hang);
    let target =
        |path: &str, extra: &str| format!("[[notify]]\nurl = \"{}{path}\"\n{extra}", hooks.url());
    let notify = [
        target("/hook-s3cret", ""),
        target("/topic-s3cret", "format = \"ntfy\"\n"),
        target("/maint-s3cret", "events = [\"maintenance\"]\n"),
        target("/fails-s3cret", ""),
        target("/hangs-s3cret", "events = [\"down\"]\n"),
    ]
    .concat();
    let p = portal(&svc, &notify);
    wait_status(&p, "up");
    svc.set("/svc", Reply::text(500, "boom"));
    wait_status(&p, "down");
    svc.set("/svc", Reply::text(200, "ok"));
    wait_status(&p, "up");
    blip(&svc);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(status_of(&p)["status"], "up");

    let bodies = |path: &str| -> Vec<(String, Vec<u8>)> {
        hooks
            .seen()
            .into_iter()
            .filter(|s| s.path() == path)
            .map(|s| (s.header("title").unwrap_or_default().to_string(), s.body))
            .collect()
    };
    let json = wait_for(Duration::from_secs(5), "two JSON notifications", || {
        let b = bodies("/hook-s3cret");
        (b.len() >= 2).then_some(b)
    });
    assert_eq!(json.len(), 2, "one per change, none for the blip");
    let first: Value = serde_json::from_slice(&json[0].1).unwrap();
    assert_eq!(
        (first["status"].as_str(), first["previous"].as_str()),
        (Some("down"), Some("up"))
    );
    assert_eq!(first["service"], "Photos");
    assert_eq!(first["reason"], "HTTP 500");
    assert!(first["url"].as_str().unwrap().ends_with("/svc"));
    let second: Value = serde_json::from_slice(&json[1].1).unwrap();
    assert_eq!(second["status"], "up");
    let ntfy = bodies("/topic-s3cret");
    assert_eq!(ntfy.len(), 2);
    assert_eq!(ntfy[0].0, "Photos down");
    assert!(String::from_utf8_lossy(&ntfy[0].1).starts_with("Photos is down (was up)"));
    assert!(bodies("/maint-s3cret").is_empty(), "not its event");

    // A receiver answering 500: three tries, then one line per change.
    let failed = |p: &Portal, why: &str| {
        p.log_text()
            .lines()
            .filter(|l| l.contains("not sent after 3 tries") && l.contains(why))
            .count()
    };
    wait_for(Duration::from_secs(15), "the 500 receiver's lines", || {
        (failed(&p, "HTTP 500") == 2).then_some(())
    });
    assert_eq!(hooks.count("/fails-s3cret"), 6);
    // A receiver that hangs: its own thread waits, the checks go on.
    let checked = status_of(&p)["checked_at"].clone();
    wait_for(
        Duration::from_secs(30),
        "the hanging receiver's line",
        || (failed(&p, "timeout") == 1).then_some(()),
    );
    assert_ne!(status_of(&p)["checked_at"], checked, "checks went on");
    let log = p.log_text();
    assert!(!log.contains("s3cret"), "a notify URL reached the log");
    assert!(log.contains("/********"));
}

#[test]
fn the_atom_feed_lists_the_changes_as_a_feed_reader_reads_them() {
    let svc = Stub::start();
    svc.set("/svc", Reply::text(200, "ok"));
    let notice = "[[notices]]\ntitle = \"Photos upgrade <soon>\"\nstyle = \"maintenance\"\n\
                  services = [\"Photos\"]\nbody = \"New version & faster thumbnails\"\n";
    let p = portal(&svc, notice);
    wait_status(&p, "up");
    svc.set("/svc", Reply::text(502, "upstream 10.0.0.5:2342 exploded"));
    wait_status(&p, "down");
    svc.set("/svc", Reply::text(200, "ok"));
    wait_status(&p, "up");
    let r = get(
        p.addr,
        "/status.atom",
        &[("CF-Connecting-IP", "203.0.113.9")],
    )
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    assert!(r.header("etag").is_some());
    let text = r.text();
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let atom = "http://www.w3.org/2005/Atom";
    let feed = doc.root_element();
    assert!(feed.has_tag_name((atom, "feed")));
    let child = |n: roxmltree::Node, name: &str| {
        n.children()
            .find(|c| c.has_tag_name((atom, name)))
            .and_then(|c| c.text())
            .map(str::to_string)
    };
    // RFC 4287: a feed has id, title, updated and an author; each entry id, title and
    // updated; a feed has at most one self link.
    for name in ["id", "title", "updated"] {
        assert!(child(feed, name).is_some(), "feed without {name}");
    }
    assert!(feed.children().any(|c| c.has_tag_name((atom, "author"))));
    let entries: Vec<_> = feed
        .children()
        .filter(|c| c.has_tag_name((atom, "entry")))
        .collect();
    assert_eq!(entries.len(), 3, "{text}");
    let titles: Vec<String> = entries
        .iter()
        .map(|e| child(*e, "title").unwrap())
        .collect();
    assert_eq!(
        titles[..2],
        ["Photos is up", "Photos is down (HTTP 502)"],
        "newest first"
    );
    assert!(
        titles[2].starts_with("[maintenance] Photos upgrade <soon>"),
        "{titles:?}"
    );
    assert_eq!(
        child(entries[2], "summary").unwrap(),
        "New version & faster thumbnails"
    );
    for (i, e) in entries.iter().enumerate() {
        let updated = child(*e, "updated").unwrap();
        chrono::DateTime::parse_from_rfc3339(&updated).unwrap();
        let id = child(*e, "id").unwrap();
        let kind = if i < 2 {
            "urn:kiteportal:change:"
        } else {
            "urn:kiteportal:notice:owner-"
        };
        assert!(id.starts_with(kind), "{id}");
    }
    assert!(
        !text.contains("10.0.0.5") && !text.contains("exploded"),
        "upstream text"
    );
    // Stable ids: the same feed again, and the page links to it.
    let again = get(p.addr, "/status.atom", &[]).unwrap().text();
    assert_eq!(again, text);
    let page = get(p.addr, "/", &[]).unwrap().text();
    assert!(page
        .contains("<link rel=\"alternate\" type=\"application/atom+xml\" href=\"/status.atom\""));
}

#[test]
fn ninety_days_and_the_services_in_metrics() {
    let svc = Stub::start();
    svc.set("/svc", Reply::text(200, "ok"));
    let p = portal(&svc, "");
    let s = wait_status(&p, "up");
    let days = s["days"].as_array().unwrap();
    assert_eq!(days.len(), 90);
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(days[89]["date"], today.as_str());
    assert!(days[89]["checks"].as_u64().unwrap() >= 1);
    assert_eq!(days[0]["checks"], 0);
    assert_eq!(s["uptime"]["90d"], 1.0);
    // The strip on the card, server-rendered: a disclosure any reader can open.
    let page = get(p.addr, "/", &[]).unwrap().text();
    assert!(
        page.contains("<details class=\"d90\"><summary>90 days 100%</summary>"),
        "{page}"
    );
    assert!(page.contains("aria-label=\"last 90 days: 100% up; every day with checks was all up\""));

    let text = get(p.addr, "/metrics", &[]).unwrap().text();
    assert!(
        text.contains("kiteportal_service_up{service=\"Photos\",group=\"Media\"} 1"),
        "{text}"
    );
    assert!(text.contains("# TYPE kiteportal_service_checks_total counter"));
    assert!(text.contains("kiteportal_service_checks_total{service=\"Photos\",result=\"up\"}"));
    assert!(text.contains("kiteportal_service_latency_seconds{service=\"Photos\"}"));
    let promtool = Path::new("/usr/bin/promtool");
    if promtool.exists() {
        crate::common::promtool_check(promtool, &text);
    }
    svc.set("/svc", Reply::text(500, "boom"));
    wait_status(&p, "down");
    let text = get(p.addr, "/metrics", &[]).unwrap().text();
    assert!(text.contains("kiteportal_service_up{service=\"Photos\",group=\"Media\"} 0"));
}

#[test]
fn check_config_names_the_key_of_a_bad_notify_target_and_never_shows_its_url() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "url = \"ftp://ntfy.test/s3cret\"",
            "notify[0].url: (not shown: a secret) is not an http:// or https:// URL",
        ),
        (
            "url = \"https://ntfy.test/s3cret\"\nformat = \"nfty\"",
            "notify[0].format: 'nfty' must be \"json\" or \"ntfy\"",
        ),
        (
            "url = \"https://ntfy.test/s3cret\"\nevents = [\"sideways\"]",
            "notify[0].events: 'sideways' is not an event",
        ),
        ("format = \"json\"", "notify[0].url: is required"),
    ];
    let check = |text: &str| {
        let path = dir.path().join("k.toml");
        std::fs::write(&path, text).unwrap();
        std::process::Command::new(crate::common::bin())
            .args(["check-config", "--config"])
            .arg(&path)
            .env_remove("KITEPORTAL_CONFIG")
            .output()
            .unwrap()
    };
    for (fields, want) in cases {
        let out = check(&format!("[[notify]]\n{fields}\n"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{fields}: {err}");
        assert!(err.contains(want), "{fields}: {err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
    let out = check("[[notify]]\nurl = \"https://ntfy.test/s3cret\"\nformat = \"ntfy\"\n");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(printed.contains("https://ntfy.test/********") && !printed.contains("s3cret"));
}
