//! The peer replica on the page and in the API: its own interval, its history at once,
//! links that switch hosts without JavaScript, and an honest state when it is gone.

use std::time::Duration;

use serde_json::Value;

use crate::common::{get, wait_for, Portal};

fn hosts(p: &Portal, headers: &[(&str, &str)]) -> Value {
    get(p.addr, "/api/hosts", headers).unwrap().json()
}

#[test]
fn a_single_host_has_no_switcher() {
    let p = Portal::builder().start();
    let page = get(p.addr, "/", &[]).unwrap().text();
    assert!(
        !page.contains("id=\"host-tabs\""),
        "single host shows a switcher"
    );
}

#[test]
fn the_peer_tile_shows_its_own_interval_history_and_then_its_absence() {
    let mut peer = Portal::builder()
        .env("KITEPORTAL_HOSTNAME", "kscloud1")
        .config("[metrics]\ninterval = \"500ms\"\n")
        .start();
    // Let the peer gather some history before it is asked.
    std::thread::sleep(Duration::from_millis(1600));
    let p = Portal::builder()
        .config(&format!(
            "[[peers]]\nname = \"kscloud1\"\nurl = \"http://{}\"\n",
            peer.addr
        ))
        .start();
    let entry = wait_for(Duration::from_secs(10), "the peer ok", || {
        let h = hosts(&p, &[]);
        let e = h["data"][1].clone();
        (e["status"] == "ok").then_some(e)
    });
    assert_eq!(entry["interval_seconds"], 0.5, "{entry}");

    // Its history, at once, through this replica.
    let hist = get(p.addr, "/api/hosts/kscloud1/history", &[])
        .unwrap()
        .json();
    assert_eq!(hist["interval_seconds"], 0.5);
    assert!(hist["samples"].as_array().unwrap().len() >= 2, "{hist}");
    assert_eq!(
        get(p.addr, "/api/hosts/nope/history", &[]).unwrap().status,
        404
    );

    // Without JavaScript: the switcher is links, and /?host= renders the peer.
    let own = get(p.addr, "/", &[]).unwrap().text();
    assert!(
        own.contains("href=\"/?host=kscloud1\""),
        "no link to the peer"
    );
    let page = get(p.addr, "/?host=kscloud1", &[]).unwrap().text();
    assert!(
        page.contains("id=\"sys-host\">kscloud1<"),
        "panel is not the peer's"
    );
    assert!(
        page.contains("id=\"every\">500ms<"),
        "not the peer's own interval"
    );
    let spark = page
        .split("data-spark=\"cpu\"")
        .nth(1)
        .and_then(|t| t.split("points=\"").nth(1))
        .and_then(|t| t.split('"').next())
        .unwrap_or("");
    assert!(
        spark.split_whitespace().count() >= 2,
        "the peer's sparkline starts empty: {spark:?}"
    );
    assert!(page.contains("aria-current=\"page\""));

    // The peer goes away: unreachable, its last numbers kept and marked stale.
    peer.terminate(Duration::from_secs(5));
    let entry = wait_for(Duration::from_secs(30), "the peer stale", || {
        let h = hosts(&p, &[]);
        let e = h["data"][1].clone();
        (e["status"] != "ok" && e["error"].is_string()).then_some(e)
    });
    assert!(
        entry["metrics"].is_object(),
        "last good numbers dropped: {entry}"
    );
    assert!(entry["age_seconds"].is_u64());
    let public = hosts(&p, &[("CF-Connecting-IP", "203.0.113.9")]);
    let class = public["data"][1]["error"].as_str().unwrap();
    assert!(
        ["connection refused", "unreachable", "timeout"].contains(&class),
        "public error is not a class: {class}"
    );
    let page = get(p.addr, "/?host=kscloud1", &[]).unwrap().text();
    assert!(page.contains("unreachable ("), "no unreachable note");
    assert!(page.contains("last seen"), "no last seen");
    assert!(page.contains("data-stale=\"true\""));
    assert!(
        page.contains("id=\"every\">500ms<"),
        "interval lost when unreachable"
    );
}

/// `kiteportal_page_renders_total{page="<page>"}` from `/metrics` (0 when absent).
fn renders(p: &Portal, page: &str) -> u64 {
    let text = get(p.addr, "/metrics", &[]).unwrap().text();
    let want = format!("kiteportal_page_renders_total{{page=\"{page}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&want))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or_else(|| panic!("no {want} in /metrics"))
}

#[test]
fn the_peer_page_is_rendered_once_per_change_not_per_request() {
    // A peer that never answers and a long interval: nothing the page shows changes
    // while the requests run.
    let p = Portal::builder()
        .config(&format!(
            "[metrics]\ninterval = \"30s\"\n[[peers]]\nname = \"kscloud1\"\nurl = \"http://127.0.0.1:{}\"\n",
            crate::common::closed_port()
        ))
        .start();
    wait_for(Duration::from_secs(10), "the peer's first failure", || {
        (hosts(&p, &[])["data"][1]["status"] == "error").then_some(())
    });
    let before = renders(&p, "peer");
    let t = std::time::Instant::now();
    let public = [("CF-Connecting-IP", "203.0.113.9")];
    let mut owner: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..200 {
        let headers: &[(&str, &str)] = if i % 2 == 0 { &[] } else { &public };
        let r = get(p.addr, "/?host=kscloud1", headers).unwrap();
        assert_eq!(r.status, 200);
        assert!(r.text().contains("id=\"sys-host\">kscloud1<"));
        if i % 2 == 0 && i <= 4 {
            owner.push((r.header("etag").unwrap().to_string(), r.body.clone()));
        }
    }
    // The owner's page again, nothing changed: the same representation (of three
    // fetches in a row, two neighbours agree even if the page's clock minute turned).
    assert!(
        owner.windows(2).any(|w| w[0] == w[1]),
        "the owner's page changed on every request"
    );
    let spent = t.elapsed().as_secs();
    let rendered = renders(&p, "peer") - before;
    // Per worker (at most 4) and audience (2): once, and again at most every 5 s.
    let bound = 4 * 2 * (1 + spent / 5 + 1);
    eprintln!("{rendered} renders of the peer page for 200 requests in {spent} s");
    assert!(
        rendered <= bound,
        "{rendered} renders for 200 requests in {spent} s (bound {bound})"
    );
    // An unknown host is the default page, and never a cache entry of its own.
    let own_before = renders(&p, "self");
    let other = get(p.addr, "/?host=nope", &[]).unwrap().text();
    assert!(!other.contains("id=\"sys-host\">nope<"));
    assert!(renders(&p, "self") - own_before <= 1);
}
