//! Server-rendered HTML: the portal page (`/`) and the themed 404, from `templates/`
//! with askama (auto-escaping on). The page's data comes from [`PageView`].

use actix_web::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use bytes::Bytes;

use crate::access::Audience;
use crate::routes::assets::{conditional, negotiate, AssetStore, Encoding, Representation};
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
    /// (name, url) of each configured service: a lost visitor's next step.
    pub services: Vec<(String, String)>,
}

/// Gzips a rendered page (the portal page once per change, see [`PageCache`]; the small
/// 404 page per request): live HTML cannot be precompressed at build time like the
/// assets, and shrinks to about a quarter.
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

/// The page rendered and gzipped once, with its strong ETags.
pub struct RenderedPage {
    /// The hub version it was rendered at.
    version: u64,
    rendered_at: Instant,
    identity: Bytes,
    gzip: Option<Bytes>,
    etag: HeaderValue,
    etag_gzip: HeaderValue,
}

/// The last rendered page of each audience. Rendering (~70 µs) and gzip (~300 µs) happen
/// once per change of anything the page shows (a sample, a feed), not once per request.
#[derive(Default)]
pub struct PageCache {
    current: [ArcSwapOption<RenderedPage>; 2],
}

/// Re-render at least this often even when nothing was published, so relative ages
/// ("updated 3 min ago") do not drift far when the sample interval is long.
const PAGE_MAX_AGE: Duration = Duration::from_secs(5);

impl PageCache {
    /// The page for the current state, rendering it if the cached one is out of date.
    pub fn get(
        &self,
        state: &AppState,
        audience: Audience,
    ) -> Result<Arc<RenderedPage>, askama::Error> {
        let version = state.hub.version();
        let slot = &self.current[audience.index()];
        if let Some(p) = slot.load_full() {
            if p.version == version && p.rendered_at.elapsed() < PAGE_MAX_AGE {
                return Ok(p);
            }
        }
        let body = IndexPage {
            assets: AssetUrls::get(),
            v: PageView::build(state, chrono::Utc::now(), audience),
        }
        .render()?;
        let tag = format!("{:x}-{version:x}-{}", process_nonce(), audience.index());
        let page = Arc::new(RenderedPage {
            version,
            rendered_at: Instant::now(),
            gzip: gzip(body.as_bytes()).map(Bytes::from),
            identity: Bytes::from(body),
            etag: HeaderValue::from_str(&format!("\"{tag}\""))
                .unwrap_or(HeaderValue::from_static("\"p\"")),
            etag_gzip: HeaderValue::from_str(&format!("\"{tag}-gz\""))
                .unwrap_or(HeaderValue::from_static("\"p-gz\"")),
        });
        slot.store(Some(page.clone()));
        Ok(page)
    }
}

/// A random number fixed for the life of the process: page ETags from before a restart
/// never match pages after it.
fn process_nonce() -> u32 {
    static NONCE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *NONCE.get_or_init(|| fastrand::u32(..))
}

/// `GET /`
pub async fn index(
    req: HttpRequest,
    state: web::Data<AppState>,
    audience: Audience,
) -> HttpResponse {
    let page = match state.page.get(&state, audience) {
        Ok(p) => p,
        Err(e) => {
            log::error!("template failed: {e}");
            return HttpResponse::InternalServerError().finish();
        }
    };
    let use_gzip = page.gzip.is_some() && negotiate(req.headers(), true, false) == Encoding::Gzip;
    let (body, etag, encoding) = match (&page.gzip, use_gzip) {
        (Some(z), true) => (z, &page.etag_gzip, Encoding::Gzip),
        _ => (&page.identity, &page.etag, Encoding::Identity),
    };
    conditional(
        &req,
        Representation {
            body,
            etag,
            encoding,
            content_type: &HeaderValue::from_static("text/html; charset=utf-8"),
            cache_control: &HeaderValue::from_static("no-cache"),
            vary: true,
        },
    )
}

/// The themed 404 page.
pub fn not_found(req: &HttpRequest) -> HttpResponse {
    let path: String = req.path().chars().take(200).collect();
    let services = req
        .app_data::<web::Data<AppState>>()
        .map(|state| {
            state
                .config()
                .services
                .iter()
                .map(|s| (s.name.clone(), s.url.as_str().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let page = NotFoundPage {
        assets: AssetUrls::get(),
        path: &path,
        services,
    };
    html(req, StatusCode::NOT_FOUND, page.render())
}

/// Anything no route matched.
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    not_found(&req)
}
