//! Service marks: a simple-icons name renders that mark inline in its card, an unknown
//! name the generic glyph, and `check-config` (and `serve`'s log) warns about the latter.

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

#[test]
fn cards_show_the_bundled_mark_or_the_generic_glyph() {
    let p = Portal::builder().config(&services()).start();
    let page = get(p.addr, "/", &[]).unwrap().text();
    let jellyfin = asset("icons/simple/jellyfin.svg");
    assert!(
        card(&page, "Jellyfin").contains(jellyfin.trim()),
        "jellyfin's mark inline"
    );
    let home = asset("icons/simple/homeassistant.svg");
    assert!(
        card(&page, "Home").contains(home.trim()),
        "an alias finds the slug"
    );
    let generic = asset("icons/generic.svg");
    let mystery = card(&page, "Mystery");
    assert!(mystery.contains(generic.trim()), "unknown: generic glyph");
    // Only the marks the page uses travel with it: no other simple-icons mark is inlined.
    assert!(!page.contains(asset("icons/simple/plex.svg").trim()));
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
