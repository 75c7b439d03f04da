//! The value types every section shares: [`HttpUrl`], [`Cidr`], [`Secret`], and durations
//! as written ([`RawDuration`], [`parse_duration`]) and printed.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::StartupError;

/// A secret that never prints: `Debug`, `Display` and `Serialize` all mask it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub(crate) fn new(value: String) -> Self {
        Secret(value)
    }
    /// The secret itself, for the one place that must send it (an HTTP header).
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"********\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("********")
    }
}

/// An absolute http(s) URL, checked at load time. A base URL ([`HttpUrl::parse`]) is
/// stored without a trailing `/`; a URL fetched as written ([`HttpUrl::parse_exact`])
/// keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct HttpUrl(String);

impl HttpUrl {
    /// Parses `value` for the key `key`; the error names both.
    pub(crate) fn parse(key: &str, value: &str) -> Result<Self, StartupError> {
        let v = Self::check(value).map_err(|why| StartupError::config(key, value, why))?;
        Ok(HttpUrl(v.trim_end_matches('/').to_string()))
    }

    /// Like [`HttpUrl::parse`] but keeps a trailing `/`: for a URL that is fetched as
    /// written (a health check), where `/live/` and `/live` can be different resources.
    pub(crate) fn parse_exact(key: &str, value: &str) -> Result<Self, StartupError> {
        let v = Self::check(value).map_err(|why| StartupError::config(key, value, why))?;
        Ok(HttpUrl(v.to_string()))
    }

    /// The one rule for a link we follow or put in an `href` (configured or from an
    /// upstream): absolute `http://` or `https://` with a host, no credentials, no white
    /// space or control characters, at most 2048 characters. Gives the trimmed text, or
    /// why not.
    pub(crate) fn check(value: &str) -> Result<&str, &'static str> {
        let v = value.trim();
        if v.len() > 2048 {
            return Err("is longer than 2048 characters");
        }
        if v.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("contains spaces or control characters");
        }
        let uri: ureq::http::Uri = v.parse().map_err(|_| "is not a URL")?;
        if !matches!(uri.scheme_str(), Some("http") | Some("https")) {
            return Err("is not an http:// or https:// URL");
        }
        let Some(authority) = uri.authority() else {
            return Err("has no host");
        };
        if authority.as_str().contains('@') {
            return Err("must not carry credentials (user:password@)");
        }
        if authority.host().is_empty() {
            return Err("has no host");
        }
        Ok(v)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// This URL with `path` appended (`path` starts with `/`).
    pub(crate) fn join(&self, path: &str) -> String {
        format!("{}{}", self.0, path)
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IP network in CIDR form (`10.0.0.0/8`, `::1/128`); a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub(crate) fn parse(key: &str, value: &str) -> Result<Self, StartupError> {
        let bad = |why: &str| StartupError::config(key, value, why);
        let (a, p) = match value.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (value, None),
        };
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| bad("is not an IP address or CIDR"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| bad("has a prefix length out of range"))?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }

    /// Whether `ip` lies in this network (IPv4-mapped IPv6 addresses count as IPv4).
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A duration as written: seconds as a number, or a humantime string ("500ms", "2s", "30m").
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawDuration {
    Seconds(f64),
    Text(String),
}

/// Prints durations the way they are written in the file ("2s", "30m").
pub(super) mod humantime_serde_compat {
    use std::time::Duration;
    pub(crate) fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*d))
    }
}

/// Parses "500ms", "2s", "30m", "1h 30m" or a bare number of seconds ("2", "0.5").
pub(crate) fn parse_duration(key: &str, text: &str) -> Result<Duration, StartupError> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && (0.0..=1e9).contains(&secs) {
            return Ok(Duration::from_secs_f64(secs));
        }
    }
    humantime::parse_duration(t).map_err(|_| {
        StartupError::config(
            key,
            text,
            "is not a duration (use e.g. \"500ms\", \"2s\", \"30m\")",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_contains() {
        let c = Cidr::parse("k", "10.0.0.0/8").unwrap();
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(c.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        let all = Cidr::parse("k", "0.0.0.0/0").unwrap();
        assert!(all.contains("1.2.3.4".parse().unwrap()));
        let v6 = Cidr::parse("k", "fc00::/7").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
    }
}
