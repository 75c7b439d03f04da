//! The service marks a card can show: our own line glyphs (`assets/icons/<name>.svg`),
//! the simple-icons subset (`assets/icons/simple/<slug>.svg`, list in
//! `LICENSES/simple-icons.md`), the names and aliases a config may use for them, and the
//! `check-config` warning for a name that is neither.

use crate::config::Config;
use crate::routes::asset_store::AssetStore;
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
    let store = AssetStore::get();
    logical(name)
        .and_then(|l| store.by_logical(&l))
        .or_else(|| store.by_logical(&format!("icons/{GENERIC}.svg")))
        .and_then(|a| a.body(Encoding::Identity))
        .and_then(|b| std::str::from_utf8(b.as_ref()).ok())
        .unwrap_or("")
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
        assert!(svg("jellyfin").contains("fill=\"currentColor\""));
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
