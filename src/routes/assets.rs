//! Embedded static assets: lookup by content-hashed name, encoding negotiation over the
//! precompressed variants, strong ETags and conditional requests.

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;

/// One row of the build-time manifest.
#[derive(Debug)]
pub struct AssetEntry {
    /// Name under `assets/` ("app.css", "icons/forgejo.svg").
    pub logical: &'static str,
    /// Name it is served under ("app.3f2a9c1e0b.css"); below `/assets/` unless not immutable.
    pub served: &'static str,
    pub mime: &'static str,
    pub hash: &'static str,
    /// Content-hashed, cached for a year. False for site-root files (robots.txt).
    pub immutable: bool,
    pub gzip: bool,
    pub br: bool,
}

include!(concat!(env!("OUT_DIR"), "/asset_manifest.rs"));

#[derive(rust_embed::Embed)]
#[folder = "$OUT_DIR/embed"]
struct Embedded;

/// The encodings an asset can be sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

/// One variant, ready to send.
#[derive(Debug, Clone)]
struct Variant {
    body: Bytes,
    etag: HeaderValue,
}

/// An embedded asset with its prepared variants.
#[derive(Debug)]
pub struct Asset {
    pub entry: &'static AssetEntry,
    identity: Variant,
    gzip: Option<Variant>,
    br: Option<Variant>,
    content_type: HeaderValue,
    cache_control: HeaderValue,
}

/// All assets, keyed by served name; built once from the embedded bytes (no copying).
pub struct AssetStore {
    by_served: HashMap<&'static str, Asset>,
    by_logical: HashMap<&'static str, &'static str>,
}

fn embedded(name: &str) -> Option<Bytes> {
    let file = Embedded::get(name)?;
    Some(match file.data {
        std::borrow::Cow::Borrowed(b) => Bytes::from_static(b),
        std::borrow::Cow::Owned(v) => Bytes::from(v),
    })
}

fn variant(name: &str, etag: String) -> Option<Variant> {
    Some(Variant {
        body: embedded(name)?,
        etag: HeaderValue::from_str(&etag).ok()?,
    })
}

impl AssetStore {
    /// The process-wide store.
    pub fn get() -> &'static AssetStore {
        static STORE: OnceLock<AssetStore> = OnceLock::new();
        STORE.get_or_init(AssetStore::build)
    }

    fn build() -> AssetStore {
        let mut by_served = HashMap::new();
        let mut by_logical = HashMap::new();
        for entry in MANIFEST {
            let Some(identity) = variant(entry.served, format!("\"{}\"", entry.hash)) else {
                log::error!("embedded asset {} is missing", entry.served);
                continue;
            };
            let gzip = entry
                .gzip
                .then(|| {
                    variant(
                        &format!("{}.gz", entry.served),
                        format!("\"{}-gz\"", entry.hash),
                    )
                })
                .flatten();
            let br = entry
                .br
                .then(|| {
                    variant(
                        &format!("{}.br", entry.served),
                        format!("\"{}-br\"", entry.hash),
                    )
                })
                .flatten();
            let cache = if entry.immutable {
                "public, max-age=31536000, immutable"
            } else {
                "public, max-age=86400"
            };
            by_served.insert(
                entry.served,
                Asset {
                    entry,
                    identity,
                    gzip,
                    br,
                    content_type: HeaderValue::from_static(entry.mime),
                    cache_control: HeaderValue::from_static(cache),
                },
            );
            by_logical.insert(entry.logical, entry.served);
        }
        AssetStore {
            by_served,
            by_logical,
        }
    }

    /// The URL path of an asset by its logical name ("app.css" → "/assets/app.3f2a9c1e0b.css").
    pub fn url(&self, logical: &str) -> String {
        match self.by_logical.get(logical) {
            Some(served) if logical.starts_with("root/") => format!("/{served}"),
            Some(served) => format!("/assets/{served}"),
            None => {
                log::warn!("no embedded asset named {logical}");
                format!("/assets/{logical}")
            }
        }
    }

    /// An asset by its logical name ("icons/forgejo.svg").
    pub fn by_logical(&self, logical: &str) -> Option<&Asset> {
        self.by_served.get(self.by_logical.get(logical)?)
    }

    /// An immutable asset by served name (the part after `/assets/`).
    pub fn hashed(&self, served: &str) -> Option<&Asset> {
        self.by_served.get(served).filter(|a| a.entry.immutable)
    }

    /// A site-root asset (robots.txt).
    pub fn root(&self, name: &str) -> Option<&Asset> {
        self.by_served.get(name).filter(|a| !a.entry.immutable)
    }

    /// Every embedded asset (for budgets and tests).
    pub fn iter(&self) -> impl Iterator<Item = &Asset> {
        self.by_served.values()
    }
}

impl Asset {
    /// Bytes of a variant, if prepared.
    pub fn body(&self, enc: Encoding) -> Option<&Bytes> {
        match enc {
            Encoding::Identity => Some(&self.identity.body),
            Encoding::Gzip => self.gzip.as_ref().map(|v| &v.body),
            Encoding::Brotli => self.br.as_ref().map(|v| &v.body),
        }
    }

    /// Builds the response for `req`: negotiated encoding, ETag, 304 when it matches.
    pub fn respond(&self, req: &HttpRequest) -> HttpResponse {
        let headers = req.headers();
        let enc = negotiate(headers, self.gzip.is_some(), self.br.is_some());
        let v = match enc {
            Encoding::Brotli => self.br.as_ref(),
            Encoding::Gzip => self.gzip.as_ref(),
            Encoding::Identity => None,
        }
        .unwrap_or(&self.identity);

        let vary = self.gzip.is_some() || self.br.is_some();
        conditional(
            req,
            Representation {
                body: &v.body,
                etag: &v.etag,
                encoding: enc,
                content_type: &self.content_type,
                cache_control: &self.cache_control,
                vary,
            },
        )
    }
}

/// One selected representation of a resource, ready to answer with.
pub struct Representation<'a> {
    pub body: &'a Bytes,
    pub etag: &'a HeaderValue,
    pub encoding: Encoding,
    pub content_type: &'a HeaderValue,
    pub cache_control: &'a HeaderValue,
    /// Whether other encodings exist (`Vary: Accept-Encoding`).
    pub vary: bool,
}

/// Answers with `rep`, or `304 Not Modified` when `If-None-Match` matches its ETag.
pub fn conditional(req: &HttpRequest, rep: Representation<'_>) -> HttpResponse {
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

/// `GET /assets/{name}`: only exact names from the manifest; nothing can escape it.
/// The names are plain ASCII, so the raw path is compared (no percent-decoding).
pub async fn asset(req: HttpRequest) -> HttpResponse {
    let name = req.path().strip_prefix("/assets/").unwrap_or("");
    match AssetStore::get().hashed(name) {
        Some(a) => a.respond(&req),
        None => super::pages::not_found(&req),
    }
}

/// `GET /robots.txt` and other site-root files.
pub async fn root_file(req: HttpRequest) -> HttpResponse {
    let name = req.path().trim_start_matches('/');
    match AssetStore::get().root(name) {
        Some(a) => a.respond(&req),
        None => super::pages::not_found(&req),
    }
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

    #[test]
    fn every_manifest_entry_is_embedded_with_its_variants() {
        let store = AssetStore::get();
        assert_eq!(store.iter().count(), MANIFEST.len());
        for a in store.iter() {
            assert_eq!(
                a.entry.gzip,
                a.body(Encoding::Gzip).is_some(),
                "{}",
                a.entry.served
            );
            assert_eq!(
                a.entry.br,
                a.body(Encoding::Brotli).is_some(),
                "{}",
                a.entry.served
            );
        }
    }
}
