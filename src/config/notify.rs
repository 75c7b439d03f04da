//! `[[notify]]`: where service status changes are sent (a JSON webhook or an ntfy topic),
//! in which format and for which events. The URL is a secret (an ntfy topic is a
//! password): it is masked wherever the configuration is printed, and an error about it
//! never quotes it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::value_types::HttpUrl;
use crate::error::StartupError;
use crate::feeds::ServiceState;

/// Most `[[notify]]` targets.
pub const MAX_TARGETS: usize = 8;

/// `[[notify]]` as written in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileNotify {
    pub url: Option<String>,
    pub format: Option<String>,
    pub events: Option<Vec<String>>,
}

/// The body a target receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyFormat {
    /// `{"service", "status", "previous", "reason", "detail", "since", "url"}`.
    Json,
    /// ntfy: a plain-text body with `Title`, `Tags` and `Priority` headers.
    Ntfy,
}

/// A URL that is a secret: printed as its scheme and host only.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(HttpUrl);

impl SecretUrl {
    /// The URL itself, for the request only.
    pub(crate) fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// `https://ntfy.sh/********`: enough to tell targets apart in a log line.
    pub(crate) fn masked(&self) -> String {
        let u = self.0.as_str();
        let host_end = u
            .find("://")
            .map(|i| i + 3)
            .and_then(|start| u[start..].find('/').map(|j| start + j))
            .unwrap_or(u.len());
        format!("{}/********", &u[..host_end])
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.masked())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.masked())
    }
}

/// One validated `[[notify]]` target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotifyTarget {
    pub url: SecretUrl,
    pub format: NotifyFormat,
    /// The statuses whose arrival is sent (`down`, `up`, `maintenance`).
    pub events: Vec<ServiceState>,
}

/// Validates `[[notify]]`.
pub(super) fn targets(list: Option<Vec<FileNotify>>) -> Result<Vec<NotifyTarget>, StartupError> {
    let list = list.unwrap_or_default();
    if list.len() > MAX_TARGETS {
        return Err(StartupError::config(
            "notify",
            &list.len().to_string(),
            &format!("lists more than {MAX_TARGETS} targets"),
        ));
    }
    list.into_iter()
        .enumerate()
        .map(|(i, n)| target(i, n))
        .collect()
}

fn target(i: usize, n: FileNotify) -> Result<NotifyTarget, StartupError> {
    let key = |k: &str| format!("notify[{i}].{k}");
    let raw = n
        .url
        .ok_or_else(|| StartupError::new(format!("{}: is required", key("url"))))?;
    // The URL is a secret: the error says what is wrong, never what it is.
    let unshown =
        |why: &str| StartupError::new(format!("{}: (not shown: a secret) {why}", key("url")));
    HttpUrl::check(&raw).map_err(unshown)?;
    let url = SecretUrl(HttpUrl::parse_exact("notify", &raw).map_err(|_| unshown("is not a URL"))?);
    let format = match n.format.as_deref().map(str::trim) {
        None | Some("json") => NotifyFormat::Json,
        Some("ntfy") => NotifyFormat::Ntfy,
        Some(other) => {
            return Err(StartupError::config(
                &key("format"),
                other,
                "must be \"json\" or \"ntfy\"",
            ))
        }
    };
    let events = match n.events {
        None => vec![ServiceState::Down, ServiceState::Up],
        Some(list) => list
            .iter()
            .map(|e| match ServiceState::parse(e.trim()) {
                Some(s) if s != ServiceState::Unknown => Ok(s),
                _ => Err(StartupError::config(
                    &key("events"),
                    e,
                    "is not an event (\"down\", \"up\", \"maintenance\")",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(NotifyTarget {
        url,
        format,
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(toml_url: Option<&str>, format: Option<&str>, events: Option<&[&str]>) -> String {
        let n = FileNotify {
            url: toml_url.map(str::to_string),
            format: format.map(str::to_string),
            events: events.map(|e| e.iter().map(|s| s.to_string()).collect()),
        };
        match targets(Some(vec![n])) {
            Ok(t) => serde_json::to_string(&t).unwrap(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn targets_are_checked_and_their_urls_never_shown() {
        let ok = one(
            Some("https://ntfy.sh/kitestacks-s3cret"),
            Some("ntfy"),
            None,
        );
        assert_eq!(
            ok,
            r#"[{"url":"https://ntfy.sh/********","format":"ntfy","events":["down","up"]}]"#
        );
        let bad = one(Some("ftp://host/s3cret"), None, None);
        assert!(
            bad.starts_with("notify[0].url:") && !bad.contains("s3cret"),
            "{bad}"
        );
        let bad = one(Some("https://ntfy.sh/a"), Some("nfty"), None);
        assert_eq!(bad, "notify[0].format: 'nfty' must be \"json\" or \"ntfy\"");
        let bad = one(Some("https://ntfy.sh/a"), None, Some(&["down", "sideways"]));
        assert!(bad.starts_with("notify[0].events: 'sideways'"), "{bad}");
        assert_eq!(one(None, None, None), "notify[0].url: is required");
        let url = SecretUrl(HttpUrl::parse_exact("", "http://127.0.0.1:9/x?t=1").unwrap());
        assert_eq!(url.masked(), "http://127.0.0.1:9/********");
        assert_eq!(format!("{url:?}"), "\"http://127.0.0.1:9/********\"");
    }
}
