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
