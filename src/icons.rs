//! The service marks a card can show: our own line glyphs (`assets/icons/<name>.svg`),
//! the simple-icons subset (`assets/icons/simple/<slug>.svg`, list in
//! `LICENSES/simple-icons.md`), the names and aliases a config may use for them, how each
//! travels to the page, and the `check-config` warning for a name that is neither.
//!
//! Our glyphs are a few hundred bytes and go inline. A simple-icons mark is one to five
//! KB of path data that compresses poorly (30 of them inline were 16 KB of a 23 KB page),
//! so the card references its content-hashed file instead, `<use href>` into an immutable
//! asset: fetched once, cached for a year, and filled with the card's colour.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::config::Config;
use crate::routes::asset_store::{AssetStore, MANIFEST};
use crate::routes::negotiation::Encoding;

/// The glyph a card shows when its `icon` names no mark.
const GENERIC: &str = "generic";

/// Other spellings people use for an app, mapped to the simple-icons slug (after
/// [`normalize`], so "Home Assistant", "home-assistant" and "home_assistant" are one).
const ALIASES: &[(&str, &str)] = &[
    ("adguardhome", "adguard"),
    ("hass", "homeassistant"),
    ("npm", "nginxproxymanager"),
    ("paperless", "paperlessngx"),
    ("pve", "proxmox"),
    ("qbit", "qbittorrent"),
    ("traefik", "traefikproxy"),
    ("code", "vscodium"),
    ("k8s", "kubernetes"),
    ("postgres", "postgresql"),
    ("omv", "openmediavault"),
];

/// `name` lowercased with everything but ASCII letters and digits dropped: the key both
/// sets are looked up by (and the reason a name can never reach outside `icons/`).
fn normalize(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The logical asset name of the mark `name` stands for, if there is one: our own glyph
/// first, then simple-icons (directly or through an alias).
pub fn logical(name: &str) -> Option<String> {
    let key = normalize(name);
    if key.is_empty() {
        return None;
    }
    let store = AssetStore::get();
    let own = format!("icons/{key}.svg");
    if store.by_logical(&own).is_some() {
        return Some(own);
    }
    let slug = ALIASES
        .iter()
        .find(|(alias, _)| *alias == key)
        .map_or(key.as_str(), |(_, slug)| slug);
    let simple = format!("icons/simple/{slug}.svg");
    store.by_logical(&simple).is_some().then_some(simple)
}

/// Whether `name` names a mark (an empty name asks for none and is fine too).
pub fn is_known(name: &str) -> bool {
    name.trim().is_empty() || logical(name).is_some()
}

/// The inline SVG of the mark `name` stands for, or the generic glyph.
pub fn svg(name: &str) -> &'static str {
    let logical = logical(name).unwrap_or_else(|| format!("icons/{GENERIC}.svg"));
    if let Some(markup) = referenced().get(logical.as_str()) {
        return markup;
    }
    AssetStore::get()
        .by_logical(&logical)
        .and_then(|a| a.body(Encoding::Identity))
        .and_then(|b| std::str::from_utf8(b.as_ref()).ok())
        .unwrap_or("")
}

/// The markup of every simple-icons mark, by logical name: an `<svg>` that `<use>`s the
/// path in the mark's immutable file. Built once.
fn referenced() -> &'static HashMap<&'static str, String> {
    static MARKUP: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
    MARKUP.get_or_init(|| {
        let store = AssetStore::get();
        MANIFEST
            .iter()
            .filter(|e| e.logical.starts_with("icons/simple/") && e.logical.ends_with(".svg"))
            .map(|e| {
                let markup = format!(
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 24 24\" width=\"24\" height=\"24\" fill=\"currentColor\" aria-hidden=\"true\" focusable=\"false\" class=\"si\"><use href=\"{}#i\"/></svg>",
                    store.url(e.logical)
                );
                (e.logical, markup)
            })
            .collect()
    })
}

/// One line per configured service whose `icon` names no mark (its card shows the
/// generic glyph): printed by `check-config` and logged at start.
pub fn warnings(config: &Config) -> Vec<String> {
    config
        .services
        .iter()
        .enumerate()
        .filter(|(_, s)| !is_known(&s.icon))
        .map(|(i, s)| {
            format!(
                "services[{i}].icon: '{}' names no built-in icon; the card of '{}' shows the generic mark",
                s.icon, s.name
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_glyphs_come_before_simple_icons() {
        assert_eq!(logical("grafana").as_deref(), Some("icons/grafana.svg"));
        assert_eq!(
            logical("Uptime-Kuma").as_deref(),
            Some("icons/uptimekuma.svg")
        );
        assert_eq!(
            logical("jellyfin").as_deref(),
            Some("icons/simple/jellyfin.svg")
        );
    }

    #[test]
    fn spellings_and_aliases_find_the_slug() {
        for (name, slug) in [
            ("Home Assistant", "homeassistant"),
            ("home-assistant", "homeassistant"),
            ("paperless-ngx", "paperlessngx"),
            ("Pi-hole", "pihole"),
            ("traefik", "traefikproxy"),
            ("AdGuard Home", "adguard"),
            ("nginx-proxy-manager", "nginxproxymanager"),
        ] {
            assert_eq!(
                logical(name),
                Some(format!("icons/simple/{slug}.svg")),
                "{name}"
            );
        }
    }

    #[test]
    fn unknown_and_hostile_names_get_the_generic_glyph() {
        let generic = svg("generic");
        assert!(generic.contains("<svg"));
        assert_eq!(svg("no-such-icon"), generic);
        assert_eq!(svg("../../etc/passwd"), generic);
        assert_eq!(svg("simple/../generic"), generic);
        assert!(!is_known("no-such-icon"));
        assert!(is_known(""));
        let jellyfin = svg("jellyfin");
        assert!(jellyfin.contains("fill=\"currentColor\""), "{jellyfin}");
        let href = AssetStore::get().url("icons/simple/jellyfin.svg");
        assert!(
            jellyfin.contains(&format!("<use href=\"{href}#i\"/>")),
            "{jellyfin}"
        );
        assert!(href.starts_with("/assets/icons/simple/jellyfin."), "{href}");
    }

    #[test]
    fn every_alias_points_at_a_bundled_mark() {
        for (alias, slug) in ALIASES {
            assert!(
                AssetStore::get()
                    .by_logical(&format!("icons/simple/{slug}.svg"))
                    .is_some(),
                "{alias} -> {slug}"
            );
        }
    }
}
