//! `/assets/*` and the site-root files (`/robots.txt`, `/favicon.ico`, the manifest and
//! its icons): exact names from the embedded manifest, nothing read from disk.

use actix_web::{HttpRequest, HttpResponse};

use super::asset_store::AssetStore;
use super::errors::not_found;

/// `GET /assets/{name}`: only exact names from the manifest; nothing can escape it.
/// The names are plain ASCII, so the raw path is compared (no percent-decoding).
pub(crate) async fn asset(req: HttpRequest) -> HttpResponse {
    let name = req.path().strip_prefix("/assets/").unwrap_or("");
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
