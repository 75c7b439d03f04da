//! Services with memory over real sockets: stub services that flip up, down and slow;
//! the history kept across a restart (two real processes, one state directory); every
//! kind of bad state file; Uptime Kuma stubs serving the recorded status pages in both
//! versions, a wrong slug and no Kuma at all.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{closed_port, fixture, get, Portal};
use crate::stub::{Reply, Stub};

fn api(p: &Portal) -> Value {
    let r = get(p.addr, "/api/services", &[]).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// Waits until `/api/services` satisfies `ok` (at most `limit`), returns it.
fn wait_services(p: &Portal, what: &str, limit: Duration, ok: impl Fn(&Value) -> bool) -> Value {
    let t = Instant::now();
    let mut last = Value::Null;
    while t.elapsed() < limit {
        last = api(p);
        if ok(&last) {
            return last;
        }
        std::thread::sleep(Duration::from_millis(40));
    }
    panic!("timed out waiting for {what}; last: {last}");
}

fn svc<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["data"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no service {name} in {v}"))
}

fn checks(s: &Value) -> u64 {
    s["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["checks"].as_u64().unwrap())
        .sum()
}

fn wait_count(stub: &Stub, path: &str, above: usize) {
    let t = Instant::now();
    while stub.count(path) <= above {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "no request for {path}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn services_flip_up_down_and_slow_with_debounce_and_since() {
    let stub = Stub::start();
    stub.set("/flaky", Reply::text(200, "ok"));
    let p = Portal::builder()
        .config(&format!(
            "services_interval = \"250ms\"\n[[services]]\nname = \"flaky\"\nurl = \"{}/flaky\"\n",
            stub.url()
        ))
        .start();
    let v = wait_services(&p, "up", Duration::from_secs(10), |v| {
        v["data"]["summary"]["up"] == 1
    });
    let since_up = svc(&v, "flaky")["since"].as_str().unwrap().to_string();

    // One failed check is not an outage: still up, same since, no reason.
    let n = stub.count("/flaky");
    stub.set("/flaky", Reply::text(503, "busy"));
    wait_count(&stub, "/flaky", n);
    stub.set("/flaky", Reply::text(200, "ok"));
    let n = stub.count("/flaky");
    wait_count(&stub, "/flaky", n + 1);
    let v = api(&p);
    let s = svc(&v, "flaky");
    assert_eq!(s["status"], "up", "{s}");
    assert_eq!(s["since"], since_up.as_str());
    assert!(s["reason"].is_null());
    let day = s["uptime"]["24h"].as_f64().unwrap();
    assert!(
        day < 1.0 && day > 0.0,
        "the failed check counts in the uptime: {day}"
    );

    // Two in a row: down, with the status class as the reason, and since moves.
    stub.set("/flaky", Reply::text(502, "bad gateway at 10.0.0.7:8080"));
    let v = wait_services(&p, "down", Duration::from_secs(10), |v| {
        v["data"]["summary"]["down"] == 1
    });
    let s = svc(&v, "flaky");
    assert_eq!(s["reason"], "HTTP 502");
    let since_down = s["since"].as_str().unwrap().to_string();
    assert!(since_down > since_up);
    assert!(
        !v.to_string().contains("10.0.0.7"),
        "upstream text leaked: {v}"
    );

    // Slow beyond the probe timeout: still down, now a timeout; since does not move.
    stub.set(
        "/flaky",
        Reply::Delayed(Duration::from_secs(4), Box::new(Reply::text(200, "late"))),
    );
    let v = wait_services(&p, "a timeout", Duration::from_secs(15), |v| {
        svc(v, "flaky")["reason"] == "timeout"
    });
    let s = svc(&v, "flaky");
    assert_eq!(
        (&s["status"], &s["since"]),
        (&Value::from("down"), &Value::from(since_down.as_str()))
    );

    // Back: up at once.
    stub.set("/flaky", Reply::text(200, "ok"));
    let v = wait_services(&p, "up again", Duration::from_secs(15), |v| {
        v["data"]["summary"]["up"] == 1
    });
    assert!(svc(&v, "flaky")["since"].as_str().unwrap() > since_down.as_str());
    // One log line per change, with the detail the visitor does not see.
    let log = p.log_text();
    let changes: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("service flaky:"))
        .collect();
    assert_eq!(changes.len(), 3, "{changes:#?}");
    assert!(
        changes[1].contains("up -> down") && changes[1].contains("HTTP 502"),
        "{changes:#?}"
    );
}

fn two_services(stub: &Stub, second: &str, state_dir: &Path) -> Portal {
    Portal::builder()
        .config(&format!(
            "services_interval = \"250ms\"\nstate_dir = {:?}\n\
             [[services]]\nname = \"kept\"\nurl = \"{u}/up\"\n\
             [[services]]\nname = \"{second}\"\nurl = \"{u}/up\"\n",
            state_dir,
            u = stub.url()
        ))
        .start()
}

#[test]
fn history_survives_a_restart_and_stays_with_its_service() {
    let stub = Stub::start();
    stub.set("/up", Reply::text(200, "ok"));
    let dir = tempfile::tempdir().unwrap();
    let mut first = two_services(&stub, "old name", dir.path());
    let v = wait_services(&first, "five rounds", Duration::from_secs(15), |v| {
        v["data"]["services"][0]["history"]
            .as_array()
            .is_some_and(|_| checks(&v["data"]["services"][0]) >= 5)
    });
    let since = svc(&v, "kept")["since"].clone();
    assert!(first.log_text().contains("does not exist (yet)"));
    assert!(first.terminate(Duration::from_secs(10)).unwrap().success());
    let file = dir.path().join("services.json");
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(size > 0 && size < 1 << 20, "{size}");
    let before = checks(svc(&v, "kept"));
    assert!(!dir.path().join("services.json.tmp").exists());

    // A second process on the same state directory; the second service was renamed.
    let second = two_services(&stub, "new name", dir.path());
    let v = wait_services(&second, "the first round", Duration::from_secs(10), |v| {
        v["status"] == "ok"
    });
    let kept = svc(&v, "kept");
    assert!(checks(kept) > before, "history lost: {kept}");
    assert_eq!(kept["since"], since, "since moved although nothing changed");
    let renamed = svc(&v, "new name");
    assert!(
        checks(renamed) < before,
        "a renamed service got another's history: {renamed}"
    );
    assert!(second.log_text().contains("service history read from"));
}

#[test]
fn bad_state_files_are_warnings_never_failures() {
    let stub = Stub::start();
    stub.set("/up", Reply::text(200, "ok"));
    let valid_v3 = r#"{"format":"kiteportal-service-history","version":3,"saved_at":"2026-01-01T00:00:00Z","services":[]}"#;
    let cases: [(&str, Vec<u8>, &str); 7] = [
        ("truncated", br#"{"format":"kiteportal-service-history","vers"#.to_vec(), "not valid JSON"),
        ("corrupted", vec![0xff, 0x00, 0x13, 0x37], "not valid JSON"),
        ("foreign version", valid_v3.as_bytes().to_vec(), "format version 3"),
        (
            "lying counts",
            br#"{"format":"kiteportal-service-history","version":1,"saved_at":"2026-01-01T00:00:00Z","services":[{"name":"kept","status":"up","since":"2026-01-01T00:00:00Z","buckets":[[1,1,5]]}]}"#.to_vec(),
            "invalid bucket",
        ),
        ("huge", vec![b' '; (4 << 20) + 10], "larger than"),
        // A status that began before 1990 (or before the epoch) is not a real one.
        (
            "since 1969",
            br#"{"format":"kiteportal-service-history","version":1,"saved_at":"2026-01-01T00:00:00Z","services":[{"name":"kept","status":"up","since":"1969-07-20T20:17:00Z","buckets":[]}]}"#.to_vec(),
            "invalid status",
        ),
        (
            "negative since",
            br#"{"format":"kiteportal-service-history","version":1,"saved_at":"2026-01-01T00:00:00Z","services":[{"name":"kept","status":"down","since":"-0044-03-15T12:00:00Z","buckets":[]}]}"#.to_vec(),
            "invalid status",
        ),
    ];
    for (what, bytes, says) in cases {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("services.json");
        std::fs::write(&file, &bytes).unwrap();
        let mut p = two_services(&stub, "other", dir.path());
        let v = wait_services(&p, "services", Duration::from_secs(10), |v| {
            v["status"] == "ok"
        });
        assert_eq!(
            checks(svc(&v, "kept")),
            1,
            "{what}: not an empty start: {v}"
        );
        let log = p.log_text();
        let warning = log
            .lines()
            .find(|l| l.contains("WARN") && l.contains(&file.display().to_string()))
            .unwrap_or_else(|| panic!("{what}: no warning naming the file: {log}"));
        assert!(
            warning.contains(says) && warning.contains("empty"),
            "{what}: {warning}"
        );
        // At stop a corrupt file is replaced by a good one; a newer version's file or
        // one too large to be ours is left as it is (never written over unread).
        assert!(
            p.terminate(Duration::from_secs(10)).unwrap().success(),
            "{what}"
        );
        if ["foreign version", "huge"].contains(&what) {
            assert!(warning.contains("memory only"), "{what}: {warning}");
            assert_eq!(std::fs::read(&file).unwrap(), bytes, "{what}: written over");
        } else {
            let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
            assert_eq!(saved["version"], 2, "{what}");
        }
    }

    // Missing, and a directory that cannot be written (a path below a regular file).
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let state = blocker.join("state");
    let mut p = two_services(&stub, "other", &state);
    wait_services(&p, "services", Duration::from_secs(10), |v| {
        v["status"] == "ok"
    });
    assert!(p.terminate(Duration::from_secs(10)).unwrap().success());
    let log = p.log_text();
    let file = state.join("services.json").display().to_string();
    assert!(
        log.lines()
            .any(|l| l.contains("WARN") && l.contains(&file) && l.contains("does not exist")),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("WARN") && l.contains(&file) && l.contains("cannot be written")),
        "{log}"
    );
}

/// A Kuma stub serving the status page and `heartbeat` for slug `kitestacks`.
fn kuma(heartbeat: &str) -> Stub {
    let k = Stub::start();
    let read = |n: &str| std::fs::read(fixture(&format!("uptime-kuma/{n}"))).unwrap();
    k.set(
        "/api/status-page/kitestacks",
        Reply::json(200, read("status-page.json")),
    );
    k.set(
        "/api/status-page/heartbeat/kitestacks",
        Reply::json(200, read(heartbeat)),
    );
    // A wrong slug: Kuma's 404 with a JSON reason.
    let nf = read("not-found.json");
    k.set("/api/status-page/nope", Reply::json(404, nf.clone()));
    k.set("/api/status-page/heartbeat/nope", Reply::json(404, nf));
    k
}

fn kuma_portal(kuma_url: &str, slug: &str, own: &Stub) -> Portal {
    let u = own.url();
    let mut cfg = format!(
        "services_interval = \"250ms\"\n[uptime_kuma]\nurl = \"{kuma_url}\"\nslug = \"{slug}\"\n"
    );
    for (name, extra) in [
        ("Portal", ""),
        ("Forgejo", ""),
        ("Open WebUI", ""),
        ("OpenProject", ""),
        ("Dashboards", "uptime_kuma = \"Grafana <b>dash</b>\"\n"),
        ("Not in Kuma", ""),
    ] {
        cfg.push_str(&format!(
            "[[services]]\nname = \"{name}\"\nurl = \"{u}/up\"\n{extra}"
        ));
    }
    Portal::builder().config(&cfg).start()
}

#[test]
fn uptime_kuma_is_a_source_in_both_versions() {
    let own = Stub::start();
    own.set("/up", Reply::text(200, "ok"));

    let k = kuma("heartbeat-1.23.json");
    let p = kuma_portal(&k.url(), "kitestacks", &own);
    let v = wait_services(&p, "Kuma data", Duration::from_secs(10), |v| {
        v["data"]["uptime_kuma"] == "ok" && v["status"] == "ok"
    });
    let src = |n: &str| svc(&v, n)["source"].as_str().unwrap().to_string();
    assert_eq!(src("Portal"), "uptime_kuma");
    assert_eq!(svc(&v, "Portal")["uptime"]["24h"], 1.0);
    assert_eq!(svc(&v, "Portal")["latency_ms"], 44);
    let f = svc(&v, "Forgejo");
    assert_eq!(
        (f["status"].as_str(), f["source"].as_str()),
        (Some("down"), Some("uptime_kuma"))
    );
    assert!(f["reason"].is_string());
    assert!((f["uptime"]["24h"].as_f64().unwrap() - 0.0347).abs() < 0.001);
    assert_eq!(svc(&v, "Open WebUI")["status"], "maintenance");
    // OpenProject's monitor has no heartbeats yet: our own probe stands in.
    assert_eq!(src("OpenProject"), "probe");
    assert_eq!(svc(&v, "OpenProject")["status"], "up");
    // Matched by the configured monitor name, markup and all, shown under our name.
    assert_eq!(src("Dashboards"), "uptime_kuma");
    assert!(!v.to_string().contains("<b>"));
    assert_eq!(src("Not in Kuma"), "probe");
    assert_eq!(v["data"]["summary"]["maintenance"], 1);
    // Polite: the two endpoints once each at start, not once per service round.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(k.count("/api/status-page/heartbeat/kitestacks"), 1);

    let k2 = kuma("heartbeat-2.0-aggregated.json");
    let p2 = kuma_portal(&k2.url(), "kitestacks", &own);
    let v = wait_services(&p2, "Kuma 2.0 data", Duration::from_secs(10), |v| {
        v["data"]["uptime_kuma"] == "ok" && v["status"] == "ok"
    });
    let a = svc(&v, "Portal");
    assert_eq!(
        (a["source"].as_str(), a["uptime"]["24h"].as_f64()),
        (Some("uptime_kuma"), Some(1.0))
    );
    assert_eq!(svc(&v, "Forgejo")["status"], "down");
    // Monitors without heartbeats in this version fall back to the probe.
    assert_eq!(svc(&v, "Dashboards")["source"], "probe");
}

#[test]
fn without_uptime_kuma_the_probes_stand_in_and_say_so() {
    let own = Stub::start();
    own.set("/up", Reply::text(200, "ok"));
    let k = kuma("heartbeat-1.23.json");
    for (url, slug, says) in [
        (k.url(), "nope", "Status Page Not Found"),
        (
            format!("http://127.0.0.1:{}", closed_port()),
            "kitestacks",
            "connection refused",
        ),
    ] {
        let p = kuma_portal(&url, slug, &own);
        let v = wait_services(&p, "Kuma unreachable", Duration::from_secs(10), |v| {
            v["data"]["uptime_kuma"] == "unreachable" && v["data"]["summary"]["up"] == 6
        });
        for s in v["data"]["services"].as_array().unwrap() {
            assert_eq!(s["source"], "probe", "{s}");
        }
        assert!(
            !v.to_string().contains(says),
            "Kuma's error text in the public data"
        );
        let log = p.log_text();
        assert!(
            log.lines()
                .any(|l| l.contains("feed uptime_kuma") && l.contains(says)),
            "{log}"
        );
        if slug == "nope" {
            // Kuma caches its page for minutes: even retries wait a minute.
            std::thread::sleep(Duration::from_secs(6));
            assert_eq!(k.count("/api/status-page/nope"), 1);
        }
    }
}

#[test]
fn a_reload_keeps_the_history_of_services_that_stay() {
    let stub = Stub::start();
    stub.set("/up", Reply::text(200, "ok"));
    let dir = tempfile::tempdir().unwrap();
    let p = two_services(&stub, "old name", dir.path());
    let v = wait_services(&p, "five rounds", Duration::from_secs(15), |v| {
        v["data"]["services"][0]["history"].is_array() && checks(&v["data"]["services"][0]) >= 5
    });
    let before = checks(svc(&v, "kept"));
    let cfg = p.dir.path().join("kiteportal.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("old name", "new name")).unwrap();
    crate::common::hup(&p);
    let v = wait_services(&p, "the renamed service", Duration::from_secs(10), |v| {
        v["data"]["services"][1]["name"] == "new name" && v["status"] == "ok"
    });
    assert!(
        checks(svc(&v, "kept")) > before,
        "history lost on reload: {v}"
    );
    assert!(checks(svc(&v, "new name")) < before);
}

#[test]
fn the_public_gets_the_same_short_reasons() {
    let stub = Stub::start();
    stub.set("/down", Reply::text(502, "upstream 10.1.2.3:5432 refused"));
    let p = Portal::builder()
        .config(&format!(
            "services_interval = \"250ms\"\n[[services]]\nname = \"db\"\nurl = \"{}/down\"\n",
            stub.url()
        ))
        .start();
    wait_services(&p, "down", Duration::from_secs(10), |v| {
        v["data"]["summary"]["down"] == 1
    });
    let public = get(
        p.addr,
        "/api/services",
        &[("CF-Connecting-IP", "203.0.113.9")],
    )
    .unwrap()
    .json();
    assert_eq!(svc(&public, "db")["reason"], "HTTP 502");
    assert!(!public.to_string().contains("10.1.2.3"));
    let page = get(p.addr, "/", &[("CF-Connecting-IP", "203.0.113.9")])
        .unwrap()
        .text();
    assert!(page.contains("HTTP 502") && !page.contains("10.1.2.3"));
}
