//! `[[peers]]`: the other replicas, reached over the private network.

use serde::{Deserialize, Serialize};

use super::field_checks::non_empty;
use super::value_types::HttpUrl;
use crate::error::StartupError;

/// `[[peers]]` as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePeer {
    pub name: String,
    pub url: String,
}

/// The other replica(s), reached over the private network.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Peer {
    pub name: String,
    pub url: HttpUrl,
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
