//! The embedded static assets: the build-time manifest, each asset's prepared variants
//! (identity, gzip, brotli) with strong ETags, lookup by content-hashed or logical name,
//! and the asset URLs the templates link to.

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::http::header::HeaderValue;
use actix_web::{HttpRequest, HttpResponse};

use super::negotiation::{conditional, negotiate, Encoding, Representation};
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
    pub(crate) fn get() -> &'static AssetStore {
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
    pub(crate) fn url(&self, logical: &str) -> String {
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
    pub(crate) fn by_logical(&self, logical: &str) -> Option<&Asset> {
        self.by_served.get(self.by_logical.get(logical)?)
    }

    /// An immutable asset by served name (the part after `/assets/`).
    pub(crate) fn hashed(&self, served: &str) -> Option<&Asset> {
        self.by_served.get(served).filter(|a| a.entry.immutable)
    }

    /// A site-root asset (robots.txt).
    pub(crate) fn root(&self, name: &str) -> Option<&Asset> {
        self.by_served.get(name).filter(|a| !a.entry.immutable)
    }
}

impl Asset {
    /// Bytes of a variant, if prepared.
    pub(crate) fn body(&self, enc: Encoding) -> Option<&Bytes> {
        match enc {
            Encoding::Identity => Some(&self.identity.body),
            Encoding::Gzip => self.gzip.as_ref().map(|v| &v.body),
            Encoding::Brotli => self.br.as_ref().map(|v| &v.body),
        }
    }

    /// Builds the response for `req`: negotiated encoding, ETag, 304 when it matches.
    pub(crate) fn respond(&self, req: &HttpRequest) -> HttpResponse {
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

/// Asset URLs the templates link to.
pub struct AssetUrls {
    pub css: String,
    pub js: String,
    pub icon: String,
}

impl AssetUrls {
    pub(crate) fn get() -> &'static AssetUrls {
        static URLS: OnceLock<AssetUrls> = OnceLock::new();
        URLS.get_or_init(|| {
            let s = AssetStore::get();
            AssetUrls {
                css: s.url("app.css"),
                js: s.url("app.js"),
                icon: s.url("icons/favicon.svg"),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_manifest_entry_is_embedded_with_its_variants() {
        let store = AssetStore::get();
        assert_eq!(store.by_served.values().count(), MANIFEST.len());
        for a in store.by_served.values() {
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
