//! `/assets/*` and the site-root files (`/robots.txt`, `/favicon.ico`, the manifest and
//! its icons): exact names from the embedded manifest, nothing read from disk; and the
//! icon sprites built from the embedded marks.

use std::sync::{Arc, Mutex, PoisonError};

use actix_web::http::header::HeaderValue;
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;

use super::asset_store::AssetStore;
use super::errors::not_found;
use super::negotiation::{conditional, negotiate, Encoding, Representation};

/// `GET /assets/{name}`: only exact names from the manifest; nothing can escape it.
/// The names are plain ASCII, so the raw path is compared (no percent-decoding).
pub(crate) async fn asset(req: HttpRequest) -> HttpResponse {
    let name = req.path().strip_prefix("/assets/").unwrap_or("");
    if let Some(set) = name
        .strip_prefix("icons/sprite.")
        .and_then(|n| n.strip_suffix(".svg"))
    {
        return sprite(&req, set);
    }
    match AssetStore::get().hashed(name) {
        Some(a) => a.respond(&req),
        None => not_found(&req),
    }
}

/// `GET /robots.txt` and other site-root files.
pub(crate) async fn root_file(req: HttpRequest) -> HttpResponse {
    let name = req.path().trim_start_matches('/');
    match AssetStore::get().root(name) {
        Some(a) => a.respond(&req),
        None => not_found(&req),
    }
}

/// A sprite as sent: its text and gzip, each with its strong ETag.
struct Sprite {
    /// `{set}?{query}` as asked for.
    key: String,
    identity: (Bytes, HeaderValue),
    gzip: Option<(Bytes, HeaderValue)>,
}

/// Sprites built lately (a page per audience asks for the same few again and again).
const SPRITES_KEPT: usize = 8;

/// `GET /assets/icons/sprite.{set}.svg?i={slugs}`: the marks a page's cards use
/// ([`crate::icons::sprite`]), immutable like every asset; any other query is a 404.
fn sprite(req: &HttpRequest, set: &str) -> HttpResponse {
    static KEPT: Mutex<Vec<Arc<Sprite>>> = Mutex::new(Vec::new());
    let query = req.query_string();
    let key = format!("{set}?{query}");
    let kept = {
        let list = KEPT.lock().unwrap_or_else(PoisonError::into_inner);
        list.iter().find(|s| s.key == key).cloned()
    };
    let built = match kept {
        Some(s) => s,
        None => {
            let Some(text) = query
                .strip_prefix("i=")
                .and_then(|slugs| crate::icons::sprite(set, slugs))
            else {
                return not_found(req);
            };
            let gzip = super::negotiation::gzip(text.as_bytes()).map(|z| {
                let tag = super::edge::etag(&z);
                (Bytes::from(z), tag)
            });
            let tag = super::edge::etag(text.as_bytes());
            let s = Arc::new(Sprite {
                key,
                identity: (Bytes::from(text), tag),
                gzip,
            });
            let mut list = KEPT.lock().unwrap_or_else(PoisonError::into_inner);
            if list.len() >= SPRITES_KEPT {
                list.remove(0);
            }
            list.push(Arc::clone(&s));
            s
        }
    };
    let (encoding, (body, etag)) = match (negotiate(req.headers(), true, false), &built.gzip) {
        (Encoding::Gzip, Some(z)) => (Encoding::Gzip, z),
        _ => (Encoding::Identity, &built.identity),
    };
    conditional(
        req,
        Representation {
            body,
            etag,
            encoding,
            content_type: &HeaderValue::from_static("image/svg+xml"),
            cache_control: &HeaderValue::from_static("public, max-age=31536000, immutable"),
            vary: built.gzip.is_some(),
        },
    )
}
