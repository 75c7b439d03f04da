//! Service marks: a simple-icons name gives its card that mark (a `<use>` into the page's
//! one immutable sprite), an unknown name the generic glyph inline, and `check-config`
//! (and `serve`'s log) warns about the latter.

use std::path::Path;
use std::time::Duration;

use crate::common::{bin, closed_port, get, quoted_after, Portal};

/// Three services on closed loopback ports: a simple-icons mark, one by another spelling,
/// and a name nothing is bundled for.
fn services() -> String {
    [
        ("Jellyfin", "jellyfin"),
        ("Home", "Home Assistant"),
        ("Mystery", "no-such-mark"),
    ]
    .iter()
    .map(|(name, icon)| {
        format!(
            "[[services]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:{}/\"\nicon = \"{icon}\"\n",
            closed_port()
        )
    })
    .collect()
}

/// The asset file's text, as committed.
fn asset(rel: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets")
            .join(rel),
    )
    .unwrap()
}

/// The `<li class="card">` of service `name` in the page.
fn card<'a>(page: &'a str, name: &str) -> &'a str {
    let start = page
        .find(&format!("data-name=\"{name}\""))
        .unwrap_or_else(|| panic!("no card {name}"));
    let end = start + page[start..].find("</li>").unwrap();
    &page[start..end]
}

/// The `href` of the `<use>` in `card`: the sprite and the mark's id.
fn use_href(card: &str) -> (&str, &str) {
    quoted_after(card, "<use href=\"")
        .split_once('#')
        .expect("a fragment")
}

#[test]
fn cards_show_the_bundled_mark_or_the_generic_glyph() {
    let p = Portal::builder().config(&services()).start();
    let page = get(p.addr, "/", &[]).unwrap().text();
    // A simple-icons mark is referenced, not inlined: a symbol in the page's one sprite,
    // which holds the marks of this page's cards and nothing else.
    let (sprite, id) = use_href(card(&page, "Jellyfin"));
    assert_eq!(id, "jellyfin");
    let (set, list) = sprite
        .strip_prefix("/assets/icons/sprite.")
        .and_then(|s| s.split_once(".svg?i="))
        .unwrap_or_else(|| panic!("{sprite}"));
    assert_eq!(
        list, "homeassistant.jellyfin",
        "sorted slugs of the marks used"
    );
    assert_eq!(
        use_href(card(&page, "Home")),
        (sprite, "homeassistant"),
        "an alias"
    );
    assert_eq!(page.matches("<use href=\"/assets/").count(), 2);
    assert_eq!(page.matches("/assets/icons/simple/").count(), 0);

    let r = get(p.addr, sprite, &[]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    assert!(r.header("cache-control").unwrap().contains("immutable"));
    let text = r.text();
    // Each mark's path from its committed file, as a symbol named by its slug.
    for slug in ["homeassistant", "jellyfin"] {
        let file = asset(&format!("icons/simple/{slug}.svg"));
        let d = quoted_after(&file, " d=\"");
        assert!(
            text.contains(&format!(
                "<symbol id=\"{slug}\" viewBox=\"0 0 24 24\"><path d=\"{d}\"/></symbol>"
            )),
            "{slug}: {text}"
        );
    }
    assert_eq!(text.matches("<symbol").count(), 2);
    // Compressed on request, revalidated by its ETag.
    let z = get(p.addr, sprite, &[("Accept-Encoding", "gzip")]).unwrap();
    assert_eq!(z.header("content-encoding"), Some("gzip"));
    assert!(z.body.len() < text.len());
    let etag = r.header("etag").unwrap().to_string();
    let again = get(p.addr, sprite, &[("If-None-Match", &etag)]).unwrap();
    assert_eq!(again.status, 304);
    // Any other form of the name is no sprite: one body per URL, a bounded set of them.
    let other_set = if set == "0000000000" {
        "0000000001"
    } else {
        "0000000000"
    };
    for bad in [
        format!("/assets/icons/sprite.{other_set}.svg?i={list}"),
        format!("/assets/icons/sprite.{set}.svg?i=jellyfin.homeassistant"),
        format!("/assets/icons/sprite.{set}.svg?i=jellyfin.jellyfin"),
        format!("/assets/icons/sprite.{set}.svg?i=jellyfin.nosuchmark"),
        format!("/assets/icons/sprite.{set}.svg?i=..%2F..%2Fapp"),
        format!("/assets/icons/sprite.{set}.svg?i="),
        format!("/assets/icons/sprite.{set}.svg?i={list}&x=1"),
        format!("/assets/icons/sprite.{set}.svg"),
    ] {
        assert_eq!(get(p.addr, &bad, &[]).unwrap().status, 404, "{bad}");
    }
    // Our own glyph and the generic one travel inline.
    let generic = asset("icons/generic.svg");
    assert!(
        card(&page, "Mystery").contains(generic.trim()),
        "unknown: generic glyph"
    );
    assert!(!card(&page, "Mystery").contains("<use"));
    let log = p.log_text();
    assert!(log.contains("services[2].icon: 'no-such-mark'"), "{log}");
    assert!(!log.contains("services[0].icon"), "{log}");
}

#[test]
fn a_reload_warns_about_a_new_unknown_icon() {
    let p = Portal::builder().config(&services()).start();
    let toml = services().replace("icon = \"jellyfin\"", "icon = \"jelyfin\"");
    crate::trust::reload_with(&p, &toml, "reload: applied");
    crate::common::wait_for(Duration::from_secs(5), "the icon warning", || {
        p.log_text()
            .contains("services[0].icon: 'jelyfin' names no built-in icon")
            .then_some(())
    });
}

#[test]
fn check_config_warns_about_an_unknown_icon_and_still_passes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("k.toml");
    std::fs::write(&cfg, services()).unwrap();
    let out = assert_cmd::Command::new(bin())
        .env_remove("KITEPORTAL_CONFIG")
        .args(["check-config", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: services[2].icon: 'no-such-mark' names no built-in icon"),
        "{err}"
    );
    assert_eq!(err.matches("warning:").count(), 1, "{err}");
    // stdout stays the effective configuration, parseable.
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["services"][0]["icon"], "jellyfin");
}

/// The built-in nine services, with every check sent to a closed loopback port (the page
/// still links the real addresses; nothing leaves the machine).
fn nine_defaults_offline() -> String {
    let toml = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/defaults.toml"),
    )
    .unwrap();
    let mut out = String::new();
    for line in toml.lines().filter(|l| !l.starts_with("check_url")) {
        out.push_str(line);
        out.push('\n');
        if line == "[[services]]" {
            out.push_str(&format!(
                "check_url = \"http://127.0.0.1:{}/\"\n",
                closed_port()
            ));
        }
    }
    assert_eq!(out.matches("check_url").count(), 9);
    out
}

#[test]
fn first_load_with_the_nine_default_services_stays_within_30_kb() {
    let p = Portal::builder().config(&nine_defaults_offline()).start();
    let html = get(p.addr, "/", &[]).unwrap().text();
    assert_eq!(html.matches("<span class=\"ico\"").count(), 9);
    let mut total = 0;
    let mut parts = Vec::new();
    let page = get(p.addr, "/", &[("Accept-Encoding", "gzip, deflate, br")]).unwrap();
    total += page.body.len();
    parts.push(("/".to_string(), page.body.len()));
    // Everything the page links (stylesheet, script, favicon, icons) and the files a
    // browser asks for on a first visit.
    let mut urls: Vec<String> = html
        .match_indices("\"/assets/")
        .map(|(i, _)| html[i + 1..].split(['"', '#']).next().unwrap().to_string())
        .collect();
    urls.sort();
    urls.dedup();
    urls.extend(
        [
            "/favicon.ico",
            "/manifest.webmanifest",
            "/apple-touch-icon.png",
        ]
        .map(String::from),
    );
    for url in urls {
        let r = get(p.addr, &url, &[("Accept-Encoding", "gzip, deflate, br")]).unwrap();
        assert_eq!(r.status, 200, "{url}");
        total += r.body.len();
        parts.push((url, r.body.len()));
    }
    eprintln!("first load: {total} bytes compressed: {parts:?}");
    assert!(total <= 30_000, "first load is {total} bytes: {parts:?}");
}
