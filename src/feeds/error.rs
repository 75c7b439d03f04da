//! Why an upstream could not be used: a short [`Reason`] class that anyone may see, and
//! the detail (status line, upstream text, host) that only the owner and the log get.

use std::borrow::Cow;
use std::fmt;

/// The class of an upstream failure: what a public visitor is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No answer in time (connect or whole exchange).
    Timeout,
    /// The port answered with a refusal (nothing listening).
    Refused,
    /// The name did not resolve.
    Dns,
    /// The TLS handshake or certificate failed.
    Tls,
    /// The upstream answered with this (non-2xx) status.
    Http(u16),
    /// The connection failed or broke some other way.
    Unreachable,
    /// An answer came, but it is not what the feed reads (not JSON, wrong shape, absurd).
    BadData,
    /// The feed is not configured well enough to run.
    NotConfigured,
}

impl Reason {
    /// The short text shown to the public: "timeout", "connection refused", "HTTP 502".
    pub(crate) fn label(self) -> Cow<'static, str> {
        match self {
            Reason::Timeout => "timeout".into(),
            Reason::Refused => "connection refused".into(),
            Reason::Dns => "DNS".into(),
            Reason::Tls => "TLS".into(),
            Reason::Http(code) => format!("HTTP {code}").into(),
            Reason::Unreachable => "unreachable".into(),
            Reason::BadData => "bad data".into(),
            Reason::NotConfigured => "not configured".into(),
        }
    }
}

/// A failed fetch: its class and the detail. `Display` shows the detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    pub reason: Reason,
    /// Already cleaned and capped text (see `crate::text`); may name hosts and quote
    /// the upstream, so it is for the owner and the log only.
    pub detail: String,
}

impl FetchError {
    pub(crate) fn new(reason: Reason, detail: impl Into<String>) -> Self {
        FetchError {
            reason,
            detail: detail.into(),
        }
    }

    /// An answer that is not what the feed reads.
    pub(crate) fn bad_data(detail: impl Into<String>) -> Self {
        FetchError::new(Reason::BadData, detail)
    }

    /// The same class with the detail rewritten (e.g. a secret scrubbed, a prefix added).
    pub(crate) fn map_detail(self, f: impl FnOnce(String) -> String) -> Self {
        FetchError {
            reason: self.reason,
            detail: f(self.detail),
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for FetchError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_short_classes() {
        assert_eq!(Reason::Http(502).label(), "HTTP 502");
        assert_eq!(Reason::Refused.label(), "connection refused");
        let e = FetchError::new(Reason::Timeout, "timed out after 10s from 10.0.0.5:3000");
        assert_eq!(e.to_string(), "timed out after 10s from 10.0.0.5:3000");
        assert_eq!(e.reason.label(), "timeout");
    }
}
