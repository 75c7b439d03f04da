//! Error pages: the themed 404 (with a link to every configured service), for any path
//! no route matched and for asset misses.

use actix_web::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::asset_store::AssetUrls;
use super::negotiation::{gzip, negotiate, Encoding};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "404.html")]
pub struct NotFoundPage<'a> {
    pub assets: &'static AssetUrls,
    pub path: &'a str,
    /// (name, url) of each configured service: a lost visitor's next step.
    pub services: Vec<(String, String)>,
}

/// The page as HTML, gzipped when the client takes it. The owner's copy (it may list
/// owner-only services) is `private`: a shared cache never keeps it.
fn html(
    req: &HttpRequest,
    status: StatusCode,
    body: Result<String, askama::Error>,
    public: bool,
) -> HttpResponse {
    let cache = if public {
        HeaderValue::from_static("no-cache")
    } else {
        HeaderValue::from_static("private, no-cache")
    };
    match body {
        Ok(b) => {
            let mut resp = HttpResponse::build(status);
            resp.insert_header((
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ))
            .insert_header((CACHE_CONTROL, cache))
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

/// The themed 404 page.
pub(crate) fn not_found(req: &HttpRequest) -> HttpResponse {
    let path: String = req.path().chars().take(200).collect();
    // The public never sees an owner-only service's link.
    let public = super::audience::audience(req).is_public();
    let services = req
        .app_data::<web::Data<AppState>>()
        .map(|state| {
            state
                .config()
                .services
                .iter()
                .filter(|s| !(public && s.visibility == crate::config::Visibility::Private))
                .map(|s| (s.name.clone(), s.url.as_str().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let page = NotFoundPage {
        assets: AssetUrls::get(),
        path: &path,
        services,
    };
    html(req, StatusCode::NOT_FOUND, page.render(), public)
}

/// Anything no route matched.
pub(crate) async fn fallback(req: HttpRequest) -> HttpResponse {
    not_found(&req)
}
