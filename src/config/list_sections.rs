//! The `[[…]]` lists: services (the built-in nine when the file has none), peers and
//! container rules, each entry validated with its index in the key (`services[2].url`).

use std::time::Duration;

use super::defaults::default_services;
use super::field_checks::{duration, non_empty, MIN_INTERVAL};
use super::file::{FileContainer, FilePeer, FileService};
use super::validated::{ContainerRule, Peer, Service, Visibility};
use super::value_types::HttpUrl;
use super::value_types::RawDuration;
use crate::error::StartupError;

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

/// `[[peers]]`: the other replicas.
pub(super) fn peers(list: Option<Vec<FilePeer>>) -> Result<Vec<Peer>, StartupError> {
    let peers = list
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            Ok(Peer {
                name: non_empty(&format!("peers[{i}].name"), &p.name)?,
                url: HttpUrl::parse(&format!("peers[{i}].url"), &p.url)?,
            })
        })
        .collect::<Result<Vec<_>, StartupError>>()?;
    if peers.len() > 16 {
        return Err(StartupError::config(
            "peers",
            &peers.len().to_string(),
            "lists more than 16 peers",
        ));
    }
    Ok(peers)
}

/// `[[containers]]`; a rule's `service` must name one of `services`.
pub(super) fn containers(
    list: Option<Vec<FileContainer>>,
    services: &[Service],
) -> Result<Vec<ContainerRule>, StartupError> {
    let containers = list
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, c)| container_rule(i, c, services))
        .collect::<Result<Vec<_>, _>>()?;
    if containers.len() > 500 {
        return Err(StartupError::config(
            "containers",
            &containers.len().to_string(),
            "lists more than 500 containers",
        ));
    }
    Ok(containers)
}

fn container_rule(
    i: usize,
    c: FileContainer,
    services: &[Service],
) -> Result<ContainerRule, StartupError> {
    let k = |f: &str| format!("containers[{i}].{f}");
    let service = match c.service {
        Some(s) if !services.iter().any(|x| x.name == s.trim()) => {
            return Err(StartupError::config(
                &k("service"),
                &s,
                "names no [[services]] entry",
            ))
        }
        Some(s) => Some(s.trim().to_string()),
        None => None,
    };
    Ok(ContainerRule {
        matches: non_empty(&k("match"), &c.matches)?,
        name: non_empty(&k("name"), &c.name)?,
        service,
    })
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
