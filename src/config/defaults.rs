//! The built-in services: the nine KiteStacks services (`defaults.toml`, embedded and
//! validated like a user's file), listed when the file has no `[[services]]`.

use super::file::parse_toml;
use super::services::{validate_services, Service};
use crate::error::StartupError;

/// The built-in services as TOML: `[[services]]` entries in the file format.
pub const DEFAULT_SERVICES_TOML: &str = include_str!("defaults.toml");

/// The nine KiteStacks services, as the portal lists them with no `[[services]]`:
/// [`DEFAULT_SERVICES_TOML`] through the same parser and validation as a user's file.
pub(crate) fn default_services() -> Result<Vec<Service>, StartupError> {
    services_from(DEFAULT_SERVICES_TOML)
}

fn services_from(text: &str) -> Result<Vec<Service>, StartupError> {
    // A broken built-in file is a bug in this build; say where it is.
    let bad = |why: String| StartupError::new(format!("built-in defaults.toml: {why}"));
    let file = parse_toml(text).map_err(bad)?;
    let Some(list) = file.services else {
        return Err(bad("lists no [[services]]".into()));
    };
    validate_services(list).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nine services as they were before they moved to `defaults.toml`:
    /// (name, url, description, icon, group, check_url).
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
    );
    const NINE: &[Row] = &[
        (
            "Portal",
            "https://kitestacks.com",
            "This page: live state of the homelab",
            "portal",
            "Core",
            Some("https://kitestacks.com/api/health"),
        ),
        (
            "Authentik",
            "https://auth.kitestacks.com",
            "Single sign-on for every service",
            "authentik",
            "Core",
            Some("https://auth.kitestacks.com/-/health/live/"),
        ),
        (
            "Forgejo",
            "https://git.kitestacks.com",
            "Git hosting for the homelab's code",
            "forgejo",
            "Core",
            Some("https://git.kitestacks.com/api/healthz"),
        ),
        (
            "OpenProject",
            "https://projects.kitestacks.com",
            "Tasks and project planning",
            "openproject",
            "Work",
            Some("https://projects.kitestacks.com/health_checks/default"),
        ),
        (
            "Open WebUI",
            "https://chat.kitestacks.com",
            "Chat with AI models",
            "openwebui",
            "Work",
            Some("https://chat.kitestacks.com/health"),
        ),
        (
            "Karakeep",
            "https://bookmarks.kitestacks.com",
            "Bookmarks and read-it-later",
            "karakeep",
            "Library",
            Some("https://bookmarks.kitestacks.com/api/health"),
        ),
        (
            "Kavita",
            "https://books.kitestacks.com",
            "eBooks and manga library",
            "kavita",
            "Library",
            Some("https://books.kitestacks.com/api/health"),
        ),
        (
            "Grafana",
            "https://grafana.kitestacks.com",
            "Dashboards for both hosts",
            "grafana",
            "Ops",
            Some("https://grafana.kitestacks.com/api/health"),
        ),
        (
            "Uptime Kuma",
            "https://status.kitestacks.com",
            "Status page and alerts",
            "uptimekuma",
            "Ops",
            None,
        ),
    ];

    #[test]
    fn the_built_in_services_validate_and_are_the_nine() {
        let got = default_services().unwrap();
        assert_eq!(got.len(), 9);
        for (s, (name, url, description, icon, group, check)) in got.iter().zip(NINE) {
            assert_eq!(s.name, *name);
            assert_eq!(s.url.as_str(), *url);
            assert_eq!(s.description, *description);
            assert_eq!(s.icon, *icon);
            assert_eq!(s.group, *group);
            assert_eq!(s.check_url.as_ref().map(|u| u.as_str()), *check);
            assert!(s.accept_status.is_empty() && s.uptime_kuma.is_none());
        }
    }

    #[test]
    fn the_defaults_file_sets_only_services() {
        let table: toml::Table = toml::from_str(DEFAULT_SERVICES_TOML).unwrap();
        assert_eq!(table.keys().collect::<Vec<_>>(), ["services"]);
    }

    #[test]
    fn a_broken_defaults_file_is_caught() {
        for (text, want) in [
            (
                "[[services]]\nname = \"a\"\nurl = \"nope\"",
                "built-in defaults.toml: services[0].url: 'nope'",
            ),
            (
                "[[services]]\nname = \"a\"\nurl = \"https://a\"\nlink = \"x\"",
                "unknown field `link`",
            ),
            ("", "built-in defaults.toml: lists no [[services]]"),
        ] {
            let err = services_from(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?} gave {err:?}");
        }
    }
}
