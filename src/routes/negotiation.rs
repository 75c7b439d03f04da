//! HTTP negotiation shared by every representation the server sends from memory: the
//! encoding chosen from `Accept-Encoding` (q-values), `If-None-Match` against strong
//! ETags, the 200/304 answer, and gzip for pages rendered at run time.

use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;

/// The encodings an asset can be sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

/// One selected representation of a resource, ready to answer with.
pub(crate) struct Representation<'a> {
    pub(crate) body: &'a Bytes,
    pub(crate) etag: &'a HeaderValue,
    pub(crate) encoding: Encoding,
    pub(crate) content_type: &'a HeaderValue,
    pub(crate) cache_control: &'a HeaderValue,
    /// Whether other encodings exist (`Vary: Accept-Encoding`).
    pub(crate) vary: bool,
}

/// Answers with `rep`, or `304 Not Modified` when `If-None-Match` matches its ETag.
pub(crate) fn conditional(req: &HttpRequest, rep: Representation<'_>) -> HttpResponse {
    let not_modified = if_none_match(req.headers(), rep.etag);
    let mut resp = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ETAG, rep.etag.clone()))
        .insert_header((header::CACHE_CONTROL, rep.cache_control.clone()));
    if rep.vary {
        resp.insert_header((header::VARY, HeaderValue::from_static("Accept-Encoding")));
    }
    if not_modified {
        return resp.finish();
    }
    resp.insert_header((header::CONTENT_TYPE, rep.content_type.clone()));
    match rep.encoding {
        Encoding::Brotli => {
            resp.insert_header((header::CONTENT_ENCODING, HeaderValue::from_static("br")));
        }
        Encoding::Gzip => {
            resp.insert_header((header::CONTENT_ENCODING, HeaderValue::from_static("gzip")));
        }
        Encoding::Identity => {}
    }
    resp.body(rep.body.clone())
}

/// Picks the encoding from `Accept-Encoding` with q-values: brotli, then gzip, when the
/// client accepts them (q > 0, directly or through `*`); identity otherwise, even when the
/// client refused identity (a 406 for a stylesheet helps no one).
pub fn negotiate(headers: &HeaderMap, has_gzip: bool, has_br: bool) -> Encoding {
    let Some(value) = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return Encoding::Identity;
    };
    let (mut br, mut gz, mut star) = (None::<f32>, None::<f32>, None::<f32>);
    for part in value.split(',').take(32) {
        let mut it = part.split(';');
        let name = it.next().unwrap_or("").trim();
        let mut q = 1.0f32;
        for param in it {
            if let Some((k, v)) = param.split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    q = v
                        .trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))
                        .unwrap_or(0.0);
                }
            }
        }
        if name.eq_ignore_ascii_case("br") {
            br = Some(q);
        } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            gz = Some(q);
        } else if name == "*" {
            star = Some(q);
        }
    }
    let br = br.or(star).unwrap_or(0.0);
    let gz = gz.or(star).unwrap_or(0.0);
    if has_br && br > 0.0 && br >= gz {
        Encoding::Brotli
    } else if has_gzip && gz > 0.0 {
        Encoding::Gzip
    } else if has_br && br > 0.0 {
        Encoding::Brotli
    } else {
        Encoding::Identity
    }
}

/// `If-None-Match` against `etag` (weak comparison, as RFC 9110 asks for this header).
pub fn if_none_match(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let want = etag.as_bytes();
    headers.get_all(header::IF_NONE_MATCH).any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t).as_bytes() == want)
        })
    })
}

/// Gzips a body rendered at run time (the portal page once per change, the small 404
/// page per request): live HTML cannot be precompressed at build time like the assets,
/// and shrinks to about a quarter.
pub(crate) fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3),
        flate2::Compression::new(5),
    );
    enc.write_all(body).ok()?;
    enc.finish().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderName;

    fn ae(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("accept-encoding"),
            HeaderValue::from_str(v).unwrap(),
        );
        h
    }

    #[test]
    fn negotiation_table() {
        use Encoding::*;
        for (value, want) in [
            ("gzip, deflate, br", Brotli),
            ("gzip", Gzip),
            ("br;q=0, gzip", Gzip),
            ("gzip;q=0.5, br;q=0.1", Gzip),
            ("*", Brotli),
            ("*;q=0", Identity),
            ("identity", Identity),
            ("gzip;q=0, br;q=0, identity;q=0", Identity),
            ("GZIP", Gzip),
            ("br;q=bogus, gzip", Gzip),
            ("", Identity),
        ] {
            assert_eq!(negotiate(&ae(value), true, true), want, "{value:?}");
        }
        assert_eq!(negotiate(&ae("br"), true, false), Identity);
        assert_eq!(negotiate(&HeaderMap::new(), true, true), Identity);
    }
}
