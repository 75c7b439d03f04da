//! The access log's line format (combined-log style) and the escaping that keeps a
//! visitor's request line, Referer and User-Agent inside their quotes.

use actix_web::dev::ServiceRequest;
use actix_web::middleware::Logger;

/// Log target of the access log (one line per request, at info level).
pub const TARGET: &str = "kiteportal::access";

/// Longest Referer / User-Agent kept in a log line (bytes of the original value).
pub const MAX_FIELD_BYTES: usize = 256;
/// Longest request line kept (the URI may be up to 8 KiB).
pub const MAX_REQUEST_LINE_BYTES: usize = 1024;

/// `client "request line" status bytes "referer" "user-agent" duration`, like the
/// combined log format; the quoted fields are escaped with [`escape`].
///
/// actix's own `%r` and `%{…}i` copy the bytes as they came, so a `"` in a User-Agent
/// would close the field and let a visitor forge the rest of the line; all three are
/// rendered here instead. `client` renders the client address.
pub(crate) fn logger(client: impl Fn(&ServiceRequest) -> String + 'static) -> Logger {
    Logger::new(r#"%{client}xi "%{request}xi" %s %b "%{referer}xi" "%{agent}xi" %Dms"#)
        .custom_request_replace("client", client)
        .custom_request_replace("request", |req| {
            let line = format!(
                "{} {}{}{} {:?}",
                req.method(),
                req.path(),
                if req.query_string().is_empty() {
                    ""
                } else {
                    "?"
                },
                req.query_string(),
                req.version()
            );
            escape(line.as_bytes(), MAX_REQUEST_LINE_BYTES)
        })
        .custom_request_replace("referer", |req| header(req, "referer"))
        .custom_request_replace("agent", |req| header(req, "user-agent"))
        .log_target(TARGET)
}

fn header(req: &ServiceRequest, name: &str) -> String {
    match req.headers().get(name) {
        Some(v) => escape(v.as_bytes(), MAX_FIELD_BYTES),
        None => "-".into(),
    }
}

/// Escapes `raw` for a double-quoted log field, as nginx does: `"` and `\` get a
/// backslash, every byte outside printable ASCII (controls, DEL, all of UTF-8 beyond
/// ASCII, so also bidirectional overrides) becomes `\xNN`. At most `max` input bytes
/// are kept; a longer value ends in `...`.
pub(crate) fn escape(raw: &[u8], max: usize) -> String {
    let kept = &raw[..raw.len().min(max)];
    let mut out = String::with_capacity(kept.len() + 8);
    for &b in kept {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02X}")),
        }
    }
    if raw.len() > max {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_cannot_be_closed_or_split() {
        let cases: [(&[u8], &str); 6] = [
            (b"curl/8.5.0", "curl/8.5.0"),
            (b"a\" 200 0 \"x", "a\\\" 200 0 \\\"x"),
            (b"back\\slash", "back\\\\slash"),
            (b"line\nbreak\r\t", "line\\x0Abreak\\x0D\\x09"),
            ("\u{202E}gpj".as_bytes(), "\\xE2\\x80\\xAEgpj"),
            (b"\x7f\xff", "\\x7F\\xFF"),
        ];
        for (raw, want) in cases {
            assert_eq!(escape(raw, 256), want, "{raw:?}");
        }
        assert_eq!(escape(&[b'a'; 300], 256), format!("{}...", "a".repeat(256)));
    }
}
