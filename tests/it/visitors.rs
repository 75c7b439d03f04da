//! The page for visitors over real sockets: `/?status=down` lists only what is not up,
//! with the same per-audience caching as `/`; the tab's title tells of an outage.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{closed_port, get, Portal};
use crate::stub::{Reply, Stub};

/// A request from 127.0.0.1 is the owner's; through the trusted loopback proxy with a
/// public client address it is a visitor's.
pub const PUBLIC: &[(&str, &str)] = &[("CF-Connecting-IP", "203.0.113.9")];

/// Two stub services that are up ("Photos", and "Notes" in a group of its own) and one
/// at a closed port ("Wiki", down after two checks).
fn portal() -> (Stub, Portal) {
    let stub = Stub::start();
    stub.set("/photos", Reply::text(200, "ok"));
    let cfg = format!(
        "services_interval = \"250ms\"\n\
         [[services]]\nname = \"Photos\"\nurl = \"{u}/photos\"\ngroup = \"Media\"\n\
         [[services]]\nname = \"Wiki\"\nurl = \"http://127.0.0.1:{p}/\"\ngroup = \"Media\"\n\
         [[services]]\nname = \"Notes\"\nurl = \"{u}/photos\"\ngroup = \"Docs\"\n",
        u = stub.url(),
        p = closed_port()
    );
    let portal = Portal::builder().config(&cfg).start();
    (stub, portal)
}

fn wait_summary(p: &Portal, ok: impl Fn(&Value) -> bool) -> Value {
    let t = Instant::now();
    loop {
        let v = get(p.addr, "/api/services", &[]).unwrap().json();
        if ok(&v["data"]["summary"]) {
            return v;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "summary never came: {v}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The names of the cards on a page.
fn cards(html: &str) -> Vec<String> {
    html.split("<li class=\"card\"")
        .skip(1)
        .filter_map(|c| {
            let rest = c.split("data-name=\"").nth(1)?;
            Some(rest.split('"').next()?.to_string())
        })
        .collect()
}

#[test]
fn status_down_lists_only_what_is_not_up_and_caches_like_the_page() {
    let (_stub, p) = portal();
    wait_summary(&p, |s| s["up"] == 2 && s["down"] == 1);

    let all = get(p.addr, "/", &[]).unwrap();
    assert_eq!(all.status, 200);
    assert_eq!(cards(&all.text()), ["Photos", "Wiki", "Notes"]);
    // The summary is one tap to what is broken.
    assert!(
        all.text().contains("href=\"/?status=down\""),
        "{}",
        all.text()
    );

    let down = get(p.addr, "/?status=down", &[]).unwrap();
    assert_eq!(down.status, 200);
    let body = down.text();
    assert_eq!(cards(&body), ["Wiki"]);
    assert!(body.contains("data-filter=\"down\""));
    assert!(
        body.contains("href=\"/\" id=\"show-all\">show all</a>"),
        "{body}"
    );
    // The up group is gone, not left empty.
    assert!(!body.contains(">Docs</h3>"));

    // The tab tells, on both.
    for b in [all.text(), body] {
        assert!(
            b.contains("<title>(1 down) KiteStacks — "),
            "{}",
            &b[..b.len().min(900)]
        );
    }

    // Cached per audience like `/`: the same Cache-Control, its own ETag.
    for headers in [&[][..], PUBLIC] {
        let a = get(p.addr, "/", headers).unwrap();
        let d = get(p.addr, "/?status=down", headers).unwrap();
        assert_eq!(a.header("cache-control"), d.header("cache-control"));
        assert!(a.header("cache-control").is_some());
        assert_ne!(a.header("etag"), d.header("etag"));
        assert_eq!(cards(&d.text()), ["Wiki"]);
    }
    let public = get(p.addr, "/?status=down", PUBLIC).unwrap();
    assert!(public
        .header("cache-control")
        .unwrap()
        .starts_with("public"));
    let private = get(p.addr, "/?status=down", &[]).unwrap();
    assert!(private
        .header("cache-control")
        .unwrap()
        .starts_with("private"));
}

#[test]
fn when_all_is_up_the_filtered_page_says_so() {
    let stub = Stub::start();
    stub.set("/a", Reply::text(200, "ok"));
    let p = Portal::builder()
        .config(&format!(
            "services_interval = \"250ms\"\n[[services]]\nname = \"A\"\nurl = \"{}/a\"\n",
            stub.url()
        ))
        .start();
    wait_summary(&p, |s| s["up"] == 1);
    let body = get(p.addr, "/?status=down", &[]).unwrap().text();
    assert!(cards(&body).is_empty());
    assert!(body.contains("Every service is up."));
    assert!(!body.contains("No services configured"));
    let all = get(p.addr, "/", &[]).unwrap().text();
    assert!(all.contains("<title>KiteStacks — "));
}

#[test]
fn each_card_reads_24_hours_and_7_days_and_each_cell_its_time_and_count() {
    let (_stub, p) = portal();
    wait_summary(&p, |s| s["up"] == 2 && s["down"] == 1);
    let html = get(p.addr, "/", &[]).unwrap().text();
    let card = |name: &str| -> String {
        let at = html.find(&format!("data-name=\"{name}\"")).unwrap();
        html[at..].split("</li>").next().unwrap().to_string()
    };
    let photos = card("Photos");
    assert!(photos.contains(">24 h 100% · 7 d 100%<"), "{photos}");
    // 48 half hours, each run of like ones with its title: the older ones unchecked (one
    // run), the newest counted.
    let titles: Vec<&str> = photos
        .split("<title>")
        .skip(1)
        .map(|t| t.split("</title>").next().unwrap())
        .collect();
    let halves: usize = photos
        .split("<path d=\"M")
        .skip(1)
        .filter_map(|p| {
            p.split_once(" 4h")?
                .1
                .split('"')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum();
    assert_eq!(halves, 48, "{photos}");
    assert_eq!(titles.len(), 2, "{photos}");
    assert!(titles[0].ends_with(" UTC · no checks"), "{}", titles[0]);
    let newest = titles[1];
    let (time, count) = newest.split_once(" · ").unwrap();
    assert_eq!(time.len(), "02:30–03:00 UTC".len(), "{newest}");
    let (up, checks) = count.strip_suffix(" up").unwrap().split_once('/').unwrap();
    assert_eq!(up, checks, "{newest}");
    // The down service's text equivalent names its half hour that was not all up.
    let wiki = card("Wiki");
    let label = crate::common::quoted_after(&wiki, "aria-label=\"");
    assert!(
        label.starts_with("last 24 h: 0.0% up; 7 days: 0.0% up; not all up: "),
        "{label}"
    );
    assert!(label.contains(" UTC · 0/"), "{label}");
}

/// The stream at `path` for `headers`, read until its services event came (at most 5 s).
fn stream_services(p: &Portal, path: &str, headers: &[(&str, &str)]) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(p.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: t\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // The page's stream carries the cards as rendered, the documented one as JSON.
    let marker = if path.contains("view=page") {
        "\ndata: svc-groups\n"
    } else {
        "event: services"
    };
    let (mut out, mut buf, t) = (Vec::new(), [0u8; 65536], Instant::now());
    while t.elapsed() < Duration::from_secs(5) {
        if let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&out);
        if text
            .split(marker)
            .nth(1)
            .is_some_and(|rest| rest.contains("\n\n"))
        {
            break;
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(text.contains(marker), "{path}: {text}");
    text
}

#[test]
fn a_private_service_exists_only_for_private_requests() {
    let stub = Stub::start();
    stub.set("/photos", Reply::text(200, "ok"));
    stub.set("/vault", Reply::text(200, "ok"));
    let p = Portal::builder()
        .config(&format!(
            "services_interval = \"250ms\"\n\
             [[services]]\nname = \"Photos\"\nurl = \"{u}/photos\"\nicon = \"immich\"\n\
             [[services]]\nname = \"Vault\"\nurl = \"{u}/vault\"\nvisibility = \"private\"\n\
             icon = \"vaultwarden\"\n\
             [access]\npublic_metrics = true\n",
            u = stub.url()
        ))
        .start();
    wait_summary(&p, |s| s["up"] == 2);
    // Both go down: a change each, for the Atom feed.
    stub.set("/photos", Reply::text(503, "no"));
    stub.set("/vault", Reply::text(503, "no"));
    wait_summary(&p, |s| s["down"] == 2);

    let owner = get(p.addr, "/api/services", &[]).unwrap().json();
    let public = get(p.addr, "/api/services", PUBLIC).unwrap().json();
    assert_eq!(owner["data"]["summary"]["total"], 2);
    assert_eq!(public["data"]["summary"]["total"], 1);
    assert_eq!(public["data"]["summary"]["down"], 1);
    assert_eq!(public["data"]["services"].as_array().unwrap().len(), 1);
    assert!(owner.to_string().contains("Vault"));
    assert!(!public.to_string().contains("Vault"), "{public}");

    for path in ["/", "/?status=down", "/api/metrics", "/nowhere", "/metrics"] {
        let o = get(p.addr, path, &[]).unwrap().text();
        let q = get(p.addr, path, PUBLIC).unwrap();
        assert!(matches!(q.status, 200 | 404), "{path}: {}", q.status);
        assert!(!q.text().contains("Vault"), "{path}: {}", q.text());
        if path != "/api/metrics" {
            assert!(o.contains("Vault"), "{path}: the owner sees it");
        }
        // Nor its mark: the public page's icon sprite lists only the public services'.
        if path.starts_with('/') && !path.starts_with("/api") && path != "/metrics" {
            assert!(!q.text().contains("vaultwarden"), "{path}: {}", q.text());
        }
    }
    // The owner's 404 page lists the private link: never kept by a shared cache.
    let lost = |h: &[(&str, &str)]| {
        let r = get(p.addr, "/nowhere", h).unwrap();
        r.header("cache-control").unwrap_or_default().to_string()
    };
    assert_eq!(lost(&[]), "private, no-cache");
    assert_eq!(lost(PUBLIC), "no-cache");
    let page = get(p.addr, "/", PUBLIC).unwrap().text();
    assert!(page.contains("<title>(1 down) KiteStacks"), "{page}");
    assert!(page.contains(">0/1 up · Photos down"), "{page}");
    let metrics = get(p.addr, "/metrics", PUBLIC).unwrap().text();
    assert!(metrics.contains("kiteportal_service_up{service=\"Photos\""));

    for path in ["/api/stream", "/api/stream?view=page"] {
        assert!(stream_services(&p, path, &[]).contains("Vault"), "{path}");
        let s = stream_services(&p, path, PUBLIC);
        assert!(s.contains("Photos") && !s.contains("Vault"), "{path}: {s}");
    }

    // The Atom feed is public: the change of Photos, never one of Vault.
    for headers in [&[][..], PUBLIC] {
        let atom = get(p.addr, "/status.atom", headers).unwrap().text();
        assert!(atom.contains("Photos"), "{atom}");
        assert!(!atom.contains("Vault"), "{atom}");
    }
}

#[test]
fn a_bad_visibility_is_named_by_check_config() {
    let dir = std::env::temp_dir().join(format!("kp-vis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("k.toml");
    std::fs::write(
        &file,
        "[[services]]\nname = \"A\"\nurl = \"https://a.example\"\nvisibility = \"secret\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(crate::common::bin())
        .args(["--config", file.to_str().unwrap(), "check-config"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("services[0].visibility: 'secret'"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
