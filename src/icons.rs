//! The service marks a card can show: our own line glyphs (`assets/icons/<name>.svg`),
//! the simple-icons subset (`assets/icons/simple/<slug>.svg`, list in
//! `LICENSES/simple-icons.md`), the names and aliases a config may use for them, how each
//! travels to the page, and the `check-config` warning for a name that is neither.
//!
//! Our glyphs are a few hundred bytes and go inline. A simple-icons mark is one to five
//! KB of path data that compresses poorly (30 of them inline were 16 KB of a 23 KB page),
//! so a page's cards share one sprite instead: `<use href>` into an immutable file that
//! holds exactly the marks that page's audience sees, fetched once, cached for a year and
//! filled with the card's colour. One file, not one per mark: each external `<use>` file
//! is a document the browser loads on the page's main thread.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::Hasher as _;
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

/// The card markup of the mark `name` stands for: our glyph inline, a simple-icons mark
/// as a `<use>` into `sprite` (the page's [`sprite_url`]), else the generic glyph.
pub(crate) fn markup(name: &str, sprite: Option<&str>) -> Cow<'static, str> {
    match (simple_slug(name), sprite) {
        (Some(slug), Some(sprite)) => Cow::Owned(use_of(&format!("{sprite}#{slug}"))),
        _ => Cow::Borrowed(svg(name)),
    }
}

/// A card's `<svg>` drawing the mark at `href` (a symbol or path in an immutable file) in
/// the card's colour.
fn use_of(href: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 24 24\" width=\"24\" height=\"24\" fill=\"currentColor\" aria-hidden=\"true\" focusable=\"false\" class=\"si\"><use href=\"{href}\"/></svg>"
    )
}

/// The simple-icons slug `name` stands for, when it names no glyph of our own.
fn simple_slug(name: &str) -> Option<String> {
    let logical = logical(name)?;
    let slug = logical
        .strip_prefix("icons/simple/")?
        .strip_suffix(".svg")?;
    Some(slug.to_string())
}

/// The sprite holding the simple-icons marks of `names` (our glyphs travel inline), or
/// `None` when there are none: `/assets/icons/sprite.<set>.svg?i=<slug>.<slug>…`, the
/// slugs sorted and unique, `<set>` the version of the bundled marks. Its URL names only
/// the marks given, so a page lists no mark of a service its audience does not see.
pub(crate) fn sprite_url<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut slugs: Vec<String> = names.into_iter().filter_map(simple_slug).collect();
    slugs.sort_unstable();
    slugs.dedup();
    (!slugs.is_empty()).then(|| {
        format!(
            "/assets/icons/sprite.{}.svg?i={}",
            set_version(),
            slugs.join(".")
        )
    })
}

/// The sprite `sprite.<set>.svg?i=<list>` asks for, built from the bundled marks: `None`
/// unless `set` is this build's and `list` is the canonical form [`sprite_url`] writes
/// (known slugs, sorted, unique), so every URL has one body and the number of bodies is
/// bounded by the bundled set.
pub(crate) fn sprite(set: &str, list: &str) -> Option<String> {
    if set != set_version() {
        return None;
    }
    let store = AssetStore::get();
    let mut out = String::from("<svg xmlns=\"http://www.w3.org/2000/svg\">");
    let mut last = "";
    for slug in list.split('.') {
        if slug <= last
            || !slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return None;
        }
        last = slug;
        let file = store.by_logical(&format!("icons/simple/{slug}.svg"))?;
        let text = std::str::from_utf8(file.body(Encoding::Identity)?).ok()?;
        // `<svg … viewBox="0 0 24 24"><path id="i" d="…"/></svg>`: the path, as a symbol.
        let inner = text.split_once('>')?.1.trim_end().strip_suffix("</svg>")?;
        out.push_str(&format!(
            "<symbol id=\"{slug}\" viewBox=\"0 0 24 24\">{}</symbol>",
            inner.replacen(" id=\"i\"", "", 1)
        ));
    }
    out.push_str("</svg>");
    Some(out)
}

/// The version of the bundled simple-icons marks, as sprite URLs carry it: a page cached
/// across an upgrade that changed them asks for the old version and gets a 404, never
/// other marks under an immutable name.
fn set_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut h = std::hash::DefaultHasher::new();
        for e in MANIFEST
            .iter()
            .filter(|e| e.logical.starts_with("icons/simple/"))
        {
            h.write(e.hash.as_bytes());
        }
        format!("{:010x}", h.finish() & 0xff_ffff_ffff)
    })
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
            .map(|e| (e.logical, use_of(&format!("{}#i", store.url(e.logical)))))
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
    fn a_page_gets_one_sprite_of_the_marks_its_cards_use() {
        let url =
            sprite_url(["Jellyfin", "grafana", "plex", "no-such", "jellyfin", "pve"]).unwrap();
        let (set, list) = url
            .strip_prefix("/assets/icons/sprite.")
            .and_then(|s| s.split_once(".svg?i="))
            .unwrap();
        // Our glyph (grafana) and unknown names travel inline; slugs sorted and unique.
        assert_eq!(list, "jellyfin.plex.proxmox");
        assert_eq!(sprite_url(["grafana", "", "nothing"]), None);
        let body = sprite(set, list).unwrap();
        assert_eq!(body.matches("<symbol id=").count(), 3);
        assert!(body.contains("<symbol id=\"proxmox\" viewBox=\"0 0 24 24\"><path d=\""));
        assert!(!body.contains("id=\"i\""), "{body}");
        let card = markup("plex", Some(&url));
        assert!(
            card.contains(&format!("<use href=\"{url}#plex\"/>")),
            "{card}"
        );
        assert_eq!(markup("grafana", Some(&url)), svg("grafana"));
        assert_eq!(markup("no-such", Some(&url)), svg("generic"));
        // Only the canonical list names a sprite.
        for bad in [
            "plex.jellyfin",
            "plex.plex",
            "plex.",
            "",
            "Plex",
            "a/b",
            "plex.zzz",
        ] {
            assert_eq!(sprite(set, bad), None, "{bad:?}");
        }
        assert_eq!(
            sprite("0123456789", list).filter(|_| set != "0123456789"),
            None
        );
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
