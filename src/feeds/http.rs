//! The one HTTP client setup every feed shares: timeouts, no cross-host redirects, a body
//! cap, a `kiteportal/<version>` User-Agent, and upstream failures turned into short,
//! token-free reasons ("HTTP 503 from wttr.in: Sorry, …", "timed out after 10s").
//!
//! Redirects are never followed. A feed's upstream answering 3xx is an error that names
//! where it pointed ("redirected to https://…"): following it silently could send the
//! Forgejo token to another host, or parse a login page as data. Service checks read the
//! 3xx itself, which counts as "up" (a service behind single sign-on redirects to login).

use std::time::Duration;

use serde::de::DeserializeOwned;
use ureq::http::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};
use ureq::Agent;

use super::error::{FetchError, Reason};
use super::lenient::Scalar;
use crate::text::clip;

/// Largest upstream body read, after decompression.
pub(crate) const MAX_BODY: u64 = 1 << 20;
/// Time to establish a connection (TCP and TLS).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest a whole exchange (connect, headers, body) may take.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(10);
/// Shortest overall timeout, so a fast refresh still gives a slow upstream a chance.
pub(crate) const MIN_TIMEOUT: Duration = Duration::from_secs(2);

/// The overall timeout for a feed refreshing every `refresh`: 10 s, or the refresh when
/// that is shorter (but at least 2 s), so a stuck upstream never holds a fast feed for long.
pub(crate) fn timeout_for(refresh: Duration) -> Duration {
    refresh.clamp(MIN_TIMEOUT, MAX_TIMEOUT)
}

/// An agent with the shared settings and an overall `timeout` per request.
pub(crate) fn agent(timeout: Duration) -> Agent {
    Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT.min(timeout)))
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        .user_agent(concat!("kiteportal/", env!("CARGO_PKG_VERSION")))
        .max_response_header_size(64 << 10)
        .max_idle_connections_per_host(2)
        .build()
        .new_agent()
}

/// Wraps the process logger so the HTTP client's debug and trace output is never
/// written, whatever `RUST_LOG` asks for: at those levels ureq logs request headers and
/// hex dumps of the raw request bytes, and the Forgejo token travels in a header.
/// (A `RUST_LOG` directive naming a submodule, `ureq_proto::util=trace`, would otherwise
/// win over a plain per-crate cap.)
pub struct ClientLogGuard<L>(pub L);

impl<L: log::Log> ClientLogGuard<L> {
    /// Whether records of `target` at `level` are dropped.
    pub(crate) fn silenced(target: &str, level: log::Level) -> bool {
        level > log::Level::Info
            && ["ureq", "ureq_proto", "rustls"].iter().any(|c| {
                target == *c
                    || target
                        .strip_prefix(c)
                        .is_some_and(|rest| rest.starts_with("::"))
            })
    }
}

impl<L: log::Log> log::Log for ClientLogGuard<L> {
    fn enabled(&self, m: &log::Metadata) -> bool {
        !Self::silenced(m.target(), m.level()) && self.0.enabled(m)
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            self.0.log(record);
        }
    }

    fn flush(&self) {
        self.0.flush();
    }
}

/// A response read in full (at most [`MAX_BODY`] bytes).
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) location: Option<String>,
    /// `Retry-After` in seconds, when the upstream sent one.
    pub(crate) retry_after: Option<u64>,
    pub(crate) body: Vec<u8>,
}

impl Fetched {
    /// The body as JSON, or a reason: an error status, a redirect, a non-JSON type or
    /// body, all name `host` and quote the first line of what the upstream said.
    pub(crate) fn json<T: DeserializeOwned>(&self, host: &str) -> Result<T, FetchError> {
        self.expect_ok(host)?;
        if let Some(ct) = &self.content_type {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            // wttr.in labels its plain-text errors application/json, so a JSON type proves
            // nothing; but an HTML or text page (a proxy's login or error page) is never data.
            if mime.starts_with("text/html") || mime == "application/xhtml+xml" {
                return Err(FetchError::bad_data(format!(
                    "expected JSON from {host}, got {mime}: {}",
                    first_line(&self.body)
                )));
            }
        }
        parse_json(&self.body)
    }

    /// `Ok` for a 2xx; otherwise the reason (status, redirect target, first body line).
    pub(crate) fn expect_ok(&self, host: &str) -> Result<(), FetchError> {
        let http = |detail: String| FetchError::new(Reason::Http(self.status), detail);
        match self.status {
            200..=299 => Ok(()),
            300..=399 => Err(http(match &self.location {
                Some(to) => format!(
                    "HTTP {} from {host}: redirected to {} (redirects are not followed)",
                    self.status,
                    clip(to)
                ),
                None => format!("HTTP {} from {host} without a Location", self.status),
            })),
            s => {
                let line = error_text(&self.body);
                if line.is_empty() {
                    Err(http(format!("HTTP {s} from {host}")))
                } else {
                    Err(http(format!("HTTP {s} from {host}: {line}")))
                }
            }
        }
    }
}

/// Parses `body` as JSON; the reason says where it broke, or quotes a body that is not
/// JSON at all (wttr.in's "Unknown location; please try …" with status 200).
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, FetchError> {
    serde_json::from_slice(body).map_err(|e| FetchError::bad_data(json_problem(body, &e)))
}

fn json_problem(body: &[u8], e: &serde_json::Error) -> String {
    let trimmed = body.iter().position(|b| !b.is_ascii_whitespace());
    match trimmed.map(|i| body[i]) {
        None => "empty body instead of JSON".to_string(),
        Some(b'{') | Some(b'[') => format!("invalid JSON: {e}"),
        Some(_) if e.is_syntax() => format!("not JSON: {}", first_line(body)),
        Some(_) => format!("invalid JSON: {e}"),
    }
}

/// GETs `url` and reads the body (capped). `headers` go on this request only.
pub(crate) fn get(
    agent: &Agent,
    url: &str,
    headers: &[(&str, &str)],
) -> Result<Fetched, FetchError> {
    request(agent, Method::Get, url, headers, true)
}

/// The two methods the feeds send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Head,
}

/// Sends `method` (GET or HEAD) to `url`; reads the body when `read_body`.
pub(crate) fn request(
    agent: &Agent,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    read_body: bool,
) -> Result<Fetched, FetchError> {
    let timeout = agent
        .config()
        .timeouts()
        .global
        .unwrap_or(MAX_TIMEOUT)
        .as_secs_f64();
    let mut req = if method == Method::Head {
        agent.head(url)
    } else {
        agent.get(url)
    };
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.call().map_err(|e| reason(&e, timeout))?;
    let header = |name| {
        resp.headers()
            .get(name)
            .and_then(|v: &ureq::http::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header(CONTENT_TYPE);
    let location = header(LOCATION);
    let retry_after = header(RETRY_AFTER).and_then(|v| v.trim().parse().ok());
    let status = resp.status().as_u16();
    let body = if read_body && method == Method::Get {
        resp.body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| reason(&e, timeout))?
    } else {
        Vec::new()
    };
    Ok(Fetched {
        status,
        content_type,
        location,
        retry_after,
        body,
    })
}

/// The class and a short detail of a transport failure. ureq's errors never carry
/// request headers, so the token cannot appear here.
pub(crate) fn reason(e: &ureq::Error, timeout_secs: f64) -> FetchError {
    use ureq::Error as E;
    let class = match e {
        E::Timeout(_) => Reason::Timeout,
        E::HostNotFound => Reason::Dns,
        E::Tls(_) | E::Rustls(_) | E::Pem(_) | E::TlsRequired => Reason::Tls,
        E::BodyExceedsLimit(_) | E::Json(_) | E::Decompress(..) => Reason::BadData,
        E::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => Reason::Refused,
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => Reason::Timeout,
            // getaddrinfo failures ("failed to lookup address information") come as
            // I/O errors too: that is DNS.
            _ if looks_like_dns(&io.to_string()) => Reason::Dns,
            // rustls reports handshake and certificate failures as I/O errors.
            _ if looks_like_tls(&io.to_string()) => Reason::Tls,
            _ => Reason::Unreachable,
        },
        _ => Reason::Unreachable,
    };
    FetchError::new(class, detail(e, timeout_secs))
}

fn looks_like_dns(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    [
        "lookup address",
        "name or service not known",
        "name resolution",
        "nodename nor servname",
    ]
    .iter()
    .any(|w| t.contains(w))
}

fn looks_like_tls(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    ["tls", "certificate", "handshake", "alert"]
        .iter()
        .any(|w| t.contains(w))
}

fn detail(e: &ureq::Error, timeout_secs: f64) -> String {
    use ureq::Error as E;
    match e {
        E::Timeout(ureq::Timeout::Connect) => {
            format!("connect timed out after {}s", CONNECT_TIMEOUT.as_secs())
        }
        E::Timeout(_) => format!("timed out after {}s", fmt_secs(timeout_secs)),
        E::BodyExceedsLimit(_) => "body larger than 1 MiB".to_string(),
        E::HostNotFound => "host not found (DNS)".to_string(),
        E::ConnectionFailed => "connection failed".to_string(),
        E::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            std::io::ErrorKind::ConnectionReset => "connection reset".to_string(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                format!("timed out after {}s", fmt_secs(timeout_secs))
            }
            std::io::ErrorKind::UnexpectedEof => "connection closed early".to_string(),
            _ => clip(&format!("I/O error: {io}")),
        },
        E::Json(j) => format!("invalid JSON: {j}"),
        other => clip(&other.to_string()),
    }
}

fn fmt_secs(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.1}")
    }
}

/// What an error body says: the `message` (Forgejo/Gitea `APIError`), `error`, `detail`
/// or `msg` (Uptime Kuma) of a JSON object, else its first non-empty line. Read without
/// building a JSON tree: an error body is as untrusted as any (up to 1 MiB).
pub(crate) fn error_text(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        #[serde(default)]
        message: Scalar,
        #[serde(default)]
        error: Scalar,
        #[serde(default)]
        detail: Scalar,
        #[serde(default)]
        msg: Scalar,
    }
    let object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if let Some(e) = object
        .then(|| serde_json::from_slice::<ErrorBody>(body).ok())
        .flatten()
    {
        if let Some(m) = [e.message, e.error, e.detail, e.msg]
            .iter()
            .find_map(|v| v.as_str().map(str::to_string))
        {
            return first_line(m.as_bytes());
        }
    }
    first_line(body)
}

/// The first non-empty line of `body`, as printable text, clipped.
pub(crate) fn first_line(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    clip(line)
}

/// The `host[:port]` of `url`, for error reasons (never the path or query).
pub(crate) fn host_of(url: &str) -> String {
    url.parse::<ureq::http::Uri>()
        .ok()
        .and_then(|u| u.authority().map(|a| a.as_str().to_string()))
        .map(|a| a.rsplit('@').next().unwrap_or("").to_string())
        .unwrap_or_else(|| "upstream".into())
}

/// Percent-encodes `s` for one URL path segment (everything but RFC 3986 unreserved).
pub(crate) fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
