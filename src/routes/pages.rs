//! Server-rendered HTML: the portal page (`/`) and the themed 404, from `templates/`
//! with askama (auto-escaping on). The page's data comes from [`PageView`].

use actix_web::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::routes::assets::{negotiate, AssetStore, Encoding};
use crate::routes::view::PageView;
use crate::state::AppState;

/// Asset URLs the templates link to.
pub struct AssetUrls {
    pub css: String,
    pub js: String,
    pub icon: String,
}

impl AssetUrls {
    pub fn get() -> &'static AssetUrls {
        static URLS: std::sync::OnceLock<AssetUrls> = std::sync::OnceLock::new();
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

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage {
    pub assets: &'static AssetUrls,
    pub v: PageView,
}

#[derive(Template)]
#[template(path = "404.html")]
pub struct NotFoundPage<'a> {
    pub assets: &'static AssetUrls,
    pub path: &'a str,
}

/// Gzips a rendered page: it is rebuilt per request (live numbers), so it cannot be
/// precompressed like the assets, and shrinks to about a quarter.
fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3),
        flate2::Compression::new(5),
    );
    enc.write_all(body).ok()?;
    enc.finish().ok()
}

fn html(
    req: &HttpRequest,
    status: StatusCode,
    body: Result<String, askama::Error>,
) -> HttpResponse {
    match body {
        Ok(b) => {
            let mut resp = HttpResponse::build(status);
            resp.insert_header((
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ))
            .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-cache")))
            .insert_header((VARY, HeaderValue::from_static("Accept-Encoding")));
            let wants_gzip = negotiate(req.headers(), true, false) == Encoding::Gzip;
            match wants_gzip.then(|| gzip(b.as_bytes())).flatten() {
                Some(z) => resp
                    .insert_header((CONTENT_ENCODING, HeaderValue::from_static("gzip")))
                    .body(z),
                None => resp.body(b),
            }
        }
        Err(e) => {
            log::error!("template failed: {e}");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// `GET /`
pub async fn index(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let page = IndexPage {
        assets: AssetUrls::get(),
        v: PageView::build(&state, chrono::Utc::now()),
    };
    html(&req, StatusCode::OK, page.render())
}

/// The themed 404 page.
pub fn not_found(req: &HttpRequest) -> HttpResponse {
    let path: String = req.path().chars().take(200).collect();
    let page = NotFoundPage {
        assets: AssetUrls::get(),
        path: &path,
    };
    html(req, StatusCode::NOT_FOUND, page.render())
}

/// Anything no route matched.
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    not_found(&req)
}
