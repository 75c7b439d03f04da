//! Server-rendered HTML: the portal page (`/`) and the themed 404, from `templates/`
//! with askama (auto-escaping on). The page's data comes from [`PageView`].

use actix_web::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::routes::assets::AssetStore;
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

fn html(status: StatusCode, body: Result<String, askama::Error>) -> HttpResponse {
    match body {
        Ok(b) => HttpResponse::build(status)
            .insert_header((
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ))
            .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-cache")))
            .body(b),
        Err(e) => {
            log::error!("template failed: {e}");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// `GET /`
pub async fn index(state: web::Data<AppState>) -> HttpResponse {
    let page = IndexPage {
        assets: AssetUrls::get(),
        v: PageView::build(&state, chrono::Utc::now()),
    };
    html(StatusCode::OK, page.render())
}

/// The themed 404 page.
pub fn not_found(req: &HttpRequest) -> HttpResponse {
    let path: String = req.path().chars().take(200).collect();
    let page = NotFoundPage {
        assets: AssetUrls::get(),
        path: &path,
    };
    html(StatusCode::NOT_FOUND, page.render())
}

/// Anything no route matched.
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    not_found(&req)
}
