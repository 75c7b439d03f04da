//! Server-rendered HTML: the portal page (`/`) and the themed 404, from `templates/`
//! with askama (auto-escaping on).

use actix_web::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::config::Service;
use crate::routes::assets::AssetStore;
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

/// A group of services, in config order.
pub struct Group<'a> {
    pub name: &'a str,
    pub services: Vec<&'a Service>,
}

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage<'a> {
    pub assets: &'static AssetUrls,
    pub host: &'a str,
    pub version: &'static str,
    pub groups: Vec<Group<'a>>,
}

#[derive(Template)]
#[template(path = "404.html")]
pub struct NotFoundPage<'a> {
    pub assets: &'static AssetUrls,
    pub path: &'a str,
}

/// Groups services by their `group`, keeping the order in which groups first appear.
pub fn group_services(services: &[Service]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    for s in services {
        match groups.iter_mut().find(|g| g.name == s.group) {
            Some(g) => g.services.push(s),
            None => groups.push(Group {
                name: &s.group,
                services: vec![s],
            }),
        }
    }
    groups
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
        host: &state.config.host.name,
        version: env!("CARGO_PKG_VERSION"),
        groups: group_services(&state.config.services),
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
