//! Uptime Kuma as an untrusted upstream, over real sockets: hostile 1 MiB bodies must not
//! raise the process's peak memory (read from the kernel: `VmHWM`), implausible times and
//! pings are dropped rather than shown, and a redirect is an error that names its target.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{get, wait_for, Portal};
use crate::stub::{Reply, Stub};

const PAGE: &str = "/api/status-page/kitestacks";
const BEATS: &str = "/api/status-page/heartbeat/kitestacks";

/// A portal reading Kuma at `kuma` (slug `kitestacks`) for the services `names`, each
/// probed at `own` (which answers 200).
fn portal(kuma: &Stub, own: &Stub, names: &[&str]) -> Portal {
    let mut cfg = format!(
        "services_interval = \"250ms\"\n[uptime_kuma]\nurl = \"{}\"\nslug = \"kitestacks\"\n",
        kuma.url()
    );
    for name in names {
        cfg.push_str(&format!(
            "[[services]]\nname = \"{name}\"\nurl = \"{}/up\"\n",
            own.url()
        ));
    }
    Portal::builder().config(&cfg).start()
}

fn services(p: &Portal) -> Value {
    get(p.addr, "/api/services", &[]).unwrap().json()
}

/// Waits until the services feed reports Kuma as `want` ("ok", "unreachable").
fn wait_kuma(p: &Portal, want: &str) -> Value {
    wait_for(Duration::from_secs(15), &format!("Kuma {want}"), || {
        let v = services(p);
        (v["data"]["uptime_kuma"] == want).then_some(v)
    })
}

/// The process's peak resident set (`VmHWM`) in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in {status}"))
}

/// `prefix` + `0,0,…,0` + `suffix`, just under the 1 MiB body cap.
fn zeros(prefix: &str, suffix: &str) -> Vec<u8> {
    let room = (1usize << 20) - 64 - prefix.len() - suffix.len();
    let mut b = prefix.as_bytes().to_vec();
    b.extend(std::iter::repeat_n(b"0,".as_slice(), room / 2).flatten());
    b.push(b'0');
    b.extend_from_slice(suffix.as_bytes());
    b
}

#[test]
fn hostile_kuma_bodies_do_not_raise_peak_memory() {
    const LIMIT_KIB: u64 = 24 << 10;
    let own = Stub::start();
    own.set("/up", Reply::text(200, "ok"));
    // Two hostile pairs: huge arrays where the lists are read (the monitors, one
    // monitor's heartbeats), and where nothing is read (beside them, under other keys).
    let cases = [
        (
            zeros(
                r#"{"publicGroupList":[{"id":1,"name":"g","monitorList":["#,
                "]}]}",
            ),
            zeros(r#"{"uptimeList":{},"heartbeatList":{"1":["#, "]}}"),
        ),
        (
            zeros(r#"{"publicGroupList":[],"config":{"x":["#, "]}}"),
            zeros(r#"{"heartbeatList":{},"uptimeList":{"1":["#, "]}}"),
        ),
    ];
    // And an error answer whose JSON reason sits beside a huge array.
    let error = (
        404,
        zeros(
            r#"{"status":"fail","msg":"Status Page Not Found","x":["#,
            "]}",
        ),
    );
    let cases = cases
        .into_iter()
        .map(|(page, beats)| ((200, page), (200, beats)))
        .chain([(error.clone(), error)]);
    for (i, ((page_status, page), (beats_status, beats))) in cases.enumerate() {
        assert!(page.len() < 1 << 20 && page.len() > (1 << 20) - 200);
        serde_json::from_slice::<Value>(&page).unwrap();
        serde_json::from_slice::<Value>(&beats).unwrap();
        let kuma = Stub::start();
        kuma.set(PAGE, Reply::json(page_status, page));
        kuma.set(BEATS, Reply::json(beats_status, beats));
        let p = portal(&kuma, &own, &["Portal"]);
        // No usable monitor: Kuma answers (or fails), the probe stands in. The feed's
        // status changes once the bodies were read.
        let v = wait_for(Duration::from_secs(15), "the bodies read", || {
            let v = services(&p);
            (v["data"]["uptime_kuma"] != "pending").then_some(v)
        });
        let peak = peak_rss_kib(p.pid());
        eprintln!(
            "case {i}: peak RSS {peak} KiB, Kuma {}",
            v["data"]["uptime_kuma"]
        );
        assert!(
            peak <= LIMIT_KIB,
            "case {i}: peak RSS {peak} KiB > {LIMIT_KIB} KiB after two hostile 1 MiB bodies"
        );
    }
}

/// Kuma's 1.23 time format for `t` seconds from now.
fn at(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .format("%Y-%m-%d %H:%M:%S%.3f")
        .to_string()
}

#[test]
fn implausible_kuma_times_and_pings_are_dropped() {
    let page = json!({"publicGroupList": [{"id": 1, "name": "g", "monitorList": [
        {"id": 1, "name": "Portal"}, {"id": 2, "name": "Forgejo"}, {"id": 3, "name": "Grafana"}
    ]}]});
    let beat = |time: &str, status: u8, ping: Value| json!({"time": time, "status": status, "ping": ping, "msg": ""});
    let beats = json!({
        "heartbeatList": {
            // An up run whose first beat claims year 1, and a "newest" beat from year 9999.
            "1": [beat("0001-01-01 00:00:00.000", 1, json!(40)),
                  beat(&at(-120), 1, json!(41)), beat(&at(-60), 1, json!(42)),
                  beat("9999-12-31 23:59:59.000", 0, json!(null))],
            // A ping of u64::MAX ms (585 million years) is not a latency.
            "2": [beat(&at(-60), 1, json!(u64::MAX))],
            // Only impossible times (and one that is not a time): no heartbeats at all.
            "3": [beat("1970-01-01T00:00:00Z", 0, json!(1)), beat(&at(3 * 86_400), 0, json!(1)),
                  beat("-0001-01-01T00:00:00Z", 0, json!(1))]
        },
        "uptimeList": {"1_24": 1, "2_24": 1, "3_24": 0}
    });
    let kuma = Stub::start();
    kuma.set(PAGE, Reply::json(200, page.to_string()));
    kuma.set(BEATS, Reply::json(200, beats.to_string()));
    let own = Stub::start();
    own.set("/up", Reply::text(200, "ok"));
    let p = portal(&kuma, &own, &["Portal", "Forgejo", "Grafana"]);
    let v = wait_kuma(&p, "ok");
    let svc = |name: &str| {
        v["data"]["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()
            .clone()
    };
    let portal = svc("Portal");
    assert_eq!(portal["source"], "uptime_kuma", "{portal}");
    assert_eq!(
        portal["status"], "up",
        "the year-9999 beat was believed: {portal}"
    );
    assert_eq!(portal["latency_ms"], 42, "{portal}");
    let since = portal["since"].as_str().unwrap();
    assert!(
        since.starts_with("20"),
        "since {since}: the year-1 beat was believed"
    );
    let forgejo = svc("Forgejo");
    assert_eq!(forgejo["source"], "uptime_kuma", "{forgejo}");
    assert!(
        forgejo["latency_ms"].is_null(),
        "ping u64::MAX shown: {forgejo}"
    );
    // No plausible heartbeat: our own probe stands in.
    let grafana = svc("Grafana");
    assert_eq!(grafana["source"], "probe", "{grafana}");
    let text = v.to_string();
    for bad in ["9999-", "0001-", "1970-", &u64::MAX.to_string()] {
        assert!(!text.contains(bad), "{bad} in {text}");
    }
}

#[test]
fn a_kuma_redirect_is_an_error_that_names_its_target() {
    let kuma = Stub::start();
    kuma.set(
        PAGE,
        Reply::text(302, "Found. Redirecting to /login")
            .header("Location", "https://sso.example/login?next=status"),
    );
    let own = Stub::start();
    own.set("/up", Reply::text(200, "ok"));
    let p = portal(&kuma, &own, &["Portal"]);
    let v = wait_kuma(&p, "unreachable");
    assert_eq!(v["data"]["services"][0]["source"], "probe");
    let log = wait_for(Duration::from_secs(5), "the log line", || {
        let log = p.log_text();
        log.lines()
            .any(|l| l.contains("feed uptime_kuma"))
            .then_some(log)
    });
    let line = log
        .lines()
        .find(|l| l.contains("feed uptime_kuma"))
        .unwrap();
    assert!(
        line.contains("HTTP 302")
            && line.contains("redirected to https://sso.example/login?next=status"),
        "{line}"
    );
    // Not followed.
    assert_eq!(kuma.count(PAGE), 1);
}
