//! `[uptime_kuma]`: the published Uptime Kuma status page read for service status.

use serde::{Deserialize, Serialize};

use super::value_types::HttpUrl;
use crate::error::StartupError;

/// `[uptime_kuma]` as written in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUptimeKuma {
    pub url: Option<String>,
    pub slug: Option<String>,
}

/// A published Uptime Kuma status page.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UptimeKumaConfig {
    pub url: HttpUrl,
    pub slug: String,
}

/// `[uptime_kuma]`: both keys or neither.
pub(super) fn uptime_kuma(
    fu: Option<FileUptimeKuma>,
) -> Result<Option<UptimeKumaConfig>, StartupError> {
    let (url, slug) = match fu {
        None => return Ok(None),
        Some(FileUptimeKuma {
            url: None,
            slug: None,
        }) => return Ok(None),
        Some(FileUptimeKuma { url: None, .. }) => {
            return Err(StartupError::config(
                "uptime_kuma.url",
                "",
                "is required when uptime_kuma.slug is set",
            ))
        }
        Some(FileUptimeKuma { slug: None, .. }) => {
            return Err(StartupError::config(
                "uptime_kuma.slug",
                "",
                "is required when uptime_kuma.url is set",
            ))
        }
        Some(FileUptimeKuma {
            url: Some(url),
            slug: Some(slug),
        }) => (url, slug),
    };
    let ok = (1..=64).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(StartupError::config(
            "uptime_kuma.slug",
            &slug,
            "must be 1-64 letters, digits, '-' or '_'",
        ));
    }
    Ok(Some(UptimeKumaConfig {
        url: HttpUrl::parse("uptime_kuma.url", &url)?,
        slug,
    }))
}
