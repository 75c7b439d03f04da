//! What a shared cache (the CDN edge) may keep: `Cache-Control` per audience for the
//! page and the JSON API, and strong ETags derived from the bytes, so the edge and
//! pollers revalidate with `If-None-Match` and pay headers only while nothing changed.

use std::hash::Hasher;
use std::time::Duration;

use actix_web::http::header::HeaderValue;

use crate::access::Audience;

/// What kind of answer a `Cache-Control` is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The portal page (`/`, `/?host=…`, `/?status=down`).
    Page,
    /// A JSON answer of the API (not the stream, not the health check).
    Json,
}

/// How many intervals an edge may serve a stale copy while it fetches a fresh one.
const STALE_INTERVALS: u64 = 3;

/// The `Cache-Control` of an answer of `kind` for `audience` when the data changes every
/// `interval`: public answers may be kept by a shared cache for one interval (at least
/// 1 s) and served stale a few intervals more while it revalidates; browsers always
/// revalidate (`max-age=0`). Private answers are never kept by a shared cache.
pub(crate) fn cache_control(kind: Kind, audience: Audience, interval: Duration) -> HeaderValue {
    match (audience, kind) {
        (Audience::Private, Kind::Json) => HeaderValue::from_static("private, no-store"),
        (Audience::Private, Kind::Page) => HeaderValue::from_static("private, no-cache"),
        (Audience::Public, _) => {
            let s = interval.as_secs_f64().ceil().max(1.0) as u64;
            let value = format!(
                "public, max-age=0, s-maxage={s}, stale-while-revalidate={}",
                s * STALE_INTERVALS
            );
            HeaderValue::from_str(&value)
                .unwrap_or_else(|_| HeaderValue::from_static("public, max-age=0, s-maxage=1"))
        }
    }
}

/// A strong ETag for `body`: a 64-bit hash of the bytes (equal bytes, equal tag; a
/// restart or another replica that serves the same bytes answers 304 too).
pub(crate) fn etag(body: &[u8]) -> HeaderValue {
    let mut h = std::hash::DefaultHasher::new();
    h.write(body);
    let tag = format!("\"j{:016x}\"", h.finish());
    HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"j\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_answers_are_kept_one_interval_and_private_ones_never() {
        let two = Duration::from_secs(2);
        let cc = |k, a, i| cache_control(k, a, i).to_str().unwrap().to_string();
        assert_eq!(
            cc(Kind::Json, Audience::Public, two),
            "public, max-age=0, s-maxage=2, stale-while-revalidate=6"
        );
        assert_eq!(
            cc(Kind::Page, Audience::Public, Duration::from_millis(250)),
            "public, max-age=0, s-maxage=1, stale-while-revalidate=3"
        );
        assert_eq!(cc(Kind::Json, Audience::Private, two), "private, no-store");
        assert_eq!(cc(Kind::Page, Audience::Private, two), "private, no-cache");
    }

    #[test]
    fn etags_follow_the_bytes() {
        assert_eq!(etag(b"{}"), etag(b"{}"));
        assert_ne!(etag(b"{}"), etag(b"{ }"));
        assert!(etag(b"x").to_str().unwrap().starts_with("\"j"));
    }
}
