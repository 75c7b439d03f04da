//! `[[containers]]`: the owner's names for containers, and the service whose card shows
//! a container's OOM kills.

use serde::{Deserialize, Serialize};

use super::field_checks::non_empty;
use super::services::Service;
use crate::error::StartupError;

/// `[[containers]]` as written in the file: the owner's name for a container.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileContainer {
    #[serde(rename = "match")]
    pub matches: String,
    pub name: String,
    pub service: Option<String>,
}

/// The owner's name for the containers a rule matches (`[[containers]]`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ContainerRule {
    /// A prefix of the container id, or text that appears in its first process's
    /// command line.
    #[serde(rename = "match")]
    pub matches: String,
    pub name: String,
    /// The `[[services]]` entry (by name) whose card shows this container's OOM kills.
    pub service: Option<String>,
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
