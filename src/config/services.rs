//! `[[services]]` (the built-in nine when the file has none) and `services_interval`:
//! the linked services and how often they are probed, each entry validated with its
//! index in the key (`services[2].url`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::defaults::default_services;
use super::field_checks::{duration, non_empty, MIN_INTERVAL};
use super::value_types::{HttpUrl, RawDuration};
use crate::error::StartupError;

/// `[[services]]` as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileService {
    pub name: String,
    pub url: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub group: Option<String>,
    pub check_url: Option<String>,
    pub accept_status: Option<Vec<u16>>,
    pub uptime_kuma: Option<String>,
    /// "public" (the default) or "private": shown to the owner only.
    pub visibility: Option<String>,
}

/// One linked service on the portal, probed by the service checker.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Service {
    pub name: String,
    pub url: HttpUrl,
    pub description: String,
    pub icon: String,
    pub group: String,
    pub check_url: Option<HttpUrl>,
    /// Statuses that count as "up"; empty means any status below 400.
    pub accept_status: Vec<u16>,
    /// The Uptime Kuma monitor name to match; `None`: the service's name.
    pub uptime_kuma: Option<String>,
    /// Who may see the service.
    pub visibility: Visibility,
}

/// `[[services]] visibility`: a private service exists only for private requests (the
/// page, the API, the stream, `/metrics`, the Atom feed and the 404 page of the public
/// never name it).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    #[default]
    Public,
    Private,
}

#[cfg(test)]
impl Service {
    /// A public service `name` at `https://example.com`, nothing else set.
    pub(crate) fn for_test(name: &str) -> Self {
        Service {
            name: name.into(),
            url: HttpUrl::parse_exact("url", "https://example.com").expect("a URL"),
            description: String::new(),
            icon: String::new(),
            group: String::new(),
            check_url: None,
            accept_status: Vec::new(),
            uptime_kuma: None,
            visibility: Visibility::Public,
        }
    }
}

/// `services_interval`: how often the services are probed.
pub(super) fn services_interval(raw: Option<RawDuration>) -> Result<Duration, StartupError> {
    duration(
        "services_interval",
        raw,
        Duration::from_secs(30),
        MIN_INTERVAL,
    )
}

/// `[[services]]`, or the built-in services when the file lists none.
pub(super) fn services(list: Option<Vec<FileService>>) -> Result<Vec<Service>, StartupError> {
    let services = match list {
        None => default_services()?,
        Some(list) => validate_services(list)?,
    };
    if services.len() > 200 {
        return Err(StartupError::config(
            "services",
            &services.len().to_string(),
            "lists more than 200 services",
        ));
    }
    Ok(services)
}

/// Each `[[services]]` entry, validated; the same for a user's file and the built-in one.
pub(super) fn validate_services(list: Vec<FileService>) -> Result<Vec<Service>, StartupError> {
    list.into_iter()
        .enumerate()
        .map(|(i, s)| service(i, s))
        .collect()
}

fn service(i: usize, s: FileService) -> Result<Service, StartupError> {
    let k = |f: &str| format!("services[{i}].{f}");
    let opt = |f: &str, v: Option<String>| -> Result<String, StartupError> {
        match v {
            Some(v) if v.len() > 300 || v.chars().any(char::is_control) => Err(
                StartupError::config(&k(f), &v, "must be at most 300 printable characters"),
            ),
            Some(v) => Ok(v.trim().to_string()),
            None => Ok(String::new()),
        }
    };
    let accept_status = s.accept_status.unwrap_or_default();
    if let Some(bad) = accept_status.iter().find(|c| !(100..=599).contains(*c)) {
        return Err(StartupError::config(
            &k("accept_status"),
            &bad.to_string(),
            "is not an HTTP status",
        ));
    }
    Ok(Service {
        name: non_empty(&k("name"), &s.name)?,
        url: HttpUrl::parse(&k("url"), &s.url)?,
        description: opt("description", s.description)?,
        icon: opt("icon", s.icon)?,
        group: opt("group", s.group)?,
        check_url: s
            .check_url
            .map(|u| HttpUrl::parse_exact(&k("check_url"), &u))
            .transpose()?,
        accept_status,
        uptime_kuma: s
            .uptime_kuma
            .map(|n| non_empty(&k("uptime_kuma"), &n))
            .transpose()?,
        visibility: match s.visibility.as_deref().map(str::trim) {
            None | Some("public") => Visibility::Public,
            Some("private") => Visibility::Private,
            Some(v) => {
                return Err(StartupError::config(
                    &k("visibility"),
                    v,
                    "must be \"public\" or \"private\"",
                ))
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(toml_fields: &str) -> Result<Service, StartupError> {
        let f = crate::config::parse_toml(&format!("[[services]]\n{toml_fields}"))
            .map_err(StartupError::new)?;
        service(
            0,
            f.services
                .into_iter()
                .flatten()
                .next()
                .expect("one service"),
        )
    }

    #[test]
    fn a_check_url_is_probed_as_written_and_a_link_loses_its_trailing_slash() {
        let s = one("name = \"a\"\nurl = \"https://a/\"\ncheck_url = \"https://a/live/\"").unwrap();
        assert_eq!(s.url.as_str(), "https://a");
        assert_eq!(s.check_url.unwrap().as_str(), "https://a/live/");
    }
}
