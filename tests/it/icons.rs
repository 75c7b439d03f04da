//! Service marks: a simple-icons name gives its card that mark (a `<use>` of its own
//! immutable asset), an unknown name the generic glyph inline, and `check-config` (and
//! `serve`'s log) warns about the latter.

use std::path::Path;

use crate::common::{bin, closed_port, get, Portal};

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

/// The `href` of the `<use>` in `card`, without its fragment.
fn use_href(card: &str) -> &str {
    let at = card.find("<use href=\"").expect("a <use>") + "<use href=\"".len();
    let href = &card[at..at + card[at..].find('"').unwrap()];
    href.strip_suffix("#i").expect("points at the path #i")
}

#[test]
fn cards_show_the_bundled_mark_or_the_generic_glyph() {
    let p = Portal::builder().config(&services()).start();
    let page = get(p.addr, "/", &[]).unwrap().text();
    // A simple-icons mark is referenced, not inlined: an immutable file of its own.
    let jellyfin = use_href(card(&page, "Jellyfin"));
    assert!(
        jellyfin.starts_with("/assets/icons/simple/jellyfin."),
        "{jellyfin}"
    );
    let r = get(p.addr, jellyfin, &[]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    assert!(r.header("cache-control").unwrap().contains("immutable"));
    assert_eq!(r.text(), asset("icons/simple/jellyfin.svg"));
    assert!(r.text().contains("<path id=\"i\""));
    let z = get(p.addr, jellyfin, &[("Accept-Encoding", "br")]).unwrap();
    assert_eq!(z.header("content-encoding"), Some("br"));
    let home = use_href(card(&page, "Home"));
    assert!(
        home.starts_with("/assets/icons/simple/homeassistant."),
        "an alias: {home}"
    );
    // Our own glyph and the generic one travel inline.
    let generic = asset("icons/generic.svg");
    assert!(
        card(&page, "Mystery").contains(generic.trim()),
        "unknown: generic glyph"
    );
    assert!(!card(&page, "Mystery").contains("<use"));
    assert_eq!(
        page.matches("/assets/icons/simple/").count(),
        2,
        "only the marks used"
    );
    let log = p.log_text();
    assert!(log.contains("services[2].icon: 'no-such-mark'"), "{log}");
    assert!(!log.contains("services[0].icon"), "{log}");
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
