//! The portal page (`/`), server-rendered from `templates/` with askama (auto-escaping
//! on), cached per audience and gzipped once per change. Its data comes from [`PageView`].

use actix_web::http::header::HeaderValue;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, ArcSwapOption};
use bytes::Bytes;

use super::asset_store::AssetUrls;
use super::negotiation::{conditional, gzip, negotiate, Encoding, Representation};
use crate::access::Audience;
use crate::routes::view::PageView;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage {
    pub assets: &'static AssetUrls,
    pub v: PageView,
    /// The hub version the page was rendered at (`data-since`): the page's stream sends
    /// the services first only when they changed after it.
    pub since: String,
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

/// The last rendered page of each audience, of the services not up per audience
/// (`/?status=down`), and of each configured peer per audience (`/?host=<peer>`, the
/// host switcher without JavaScript). Rendering (~70 µs) and gzip
/// (~300 µs) happen once per change of anything the page shows (a sample, a feed), not
/// once per request.
#[derive(Default)]
pub struct PageCache {
    current: [ArcSwapOption<RenderedPage>; 2],
    /// Per audience: the page of the services that are not up (`/?status=down`).
    down: [ArcSwapOption<RenderedPage>; 2],
    /// Per audience: each configured peer's page (at most 16).
    peers: [ArcSwap<PeerPages>; 2],
}

/// `(peer name, its page)`, one per peer.
type PeerPages = Vec<(String, Arc<RenderedPage>)>;

/// Re-render at least this often even when nothing was published, so relative ages
/// ("updated 3 min ago") do not drift far when the sample interval is long.
const PAGE_MAX_AGE: Duration = Duration::from_secs(5);

impl RenderedPage {
    /// Whether this page still shows the state at hub `version`.
    fn fresh(&self, version: u64) -> bool {
        self.version == version && self.rendered_at.elapsed() < PAGE_MAX_AGE
    }
}

impl PageCache {
    /// The page for the current state, rendering it if the cached one is out of date.
    /// `down_only`: the page of the services that are not up (`/?status=down`).
    pub fn get(
        &self,
        state: &AppState,
        audience: Audience,
        down_only: bool,
    ) -> Result<Arc<RenderedPage>, askama::Error> {
        let version = state.hub.version();
        let slots = if down_only { &self.down } else { &self.current };
        let slot = &slots[audience.index()];
        if let Some(p) = slot.load_full() {
            if p.fresh(version) {
                return Ok(p);
            }
        }
        let page = Arc::new(render(state, audience, None, down_only)?);
        slot.store(Some(page.clone()));
        Ok(page)
    }

    /// The page of configured peer `peer`, rendering it if the cached one is out of date.
    /// The cache keeps one page per peer still configured (a reload that removes a peer
    /// drops its page at the next store), so it never holds more than the peer list.
    pub fn get_peer(
        &self,
        state: &AppState,
        audience: Audience,
        peer: &str,
    ) -> Result<Arc<RenderedPage>, askama::Error> {
        let version = state.hub.version();
        let slot = &self.peers[audience.index()];
        let cached = slot
            .load()
            .iter()
            .find(|(name, _)| name == peer)
            .map(|(_, p)| p.clone());
        if let Some(p) = cached.filter(|p| p.fresh(version)) {
            return Ok(p);
        }
        let page = Arc::new(render(state, audience, Some(peer), false)?);
        let config = state.config();
        slot.rcu(|old| {
            let mut kept: Vec<_> = old
                .iter()
                .filter(|(name, _)| name != peer && config.peers.iter().any(|c| &c.name == name))
                .cloned()
                .collect();
            kept.push((peer.to_string(), page.clone()));
            kept
        });
        Ok(page)
    }
}

/// Pages rendered since start: this host's, a peer's.
static RENDERS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// How often each page was rendered, for `/metrics`: `("self", n)`, `("peer", n)`.
pub fn renders() -> [(&'static str, u64); 2] {
    [
        ("self", RENDERS[0].load(Ordering::Relaxed)),
        ("peer", RENDERS[1].load(Ordering::Relaxed)),
    ]
}

/// Renders the page for `audience`, its system panel showing peer `peer` (this host for
/// `None`), only the services not up when `down_only`, and gzips it.
fn render(
    state: &AppState,
    audience: Audience,
    peer: Option<&str>,
    down_only: bool,
) -> Result<RenderedPage, askama::Error> {
    RENDERS[usize::from(peer.is_some())].fetch_add(1, Ordering::Relaxed);
    // The tiles' record at this page's version, held while the page is built: a stream
    // the page opens later is diffed against exactly what it shows.
    let book = state.hub.fresh_book();
    let version = state.hub.version();
    let own = state.config().host.name.clone();
    let body = IndexPage {
        assets: AssetUrls::get(),
        v: PageView::build(
            state,
            chrono::Utc::now(),
            audience,
            peer.unwrap_or(&own),
            down_only,
        ),
        since: since_token(version),
    }
    .render()?;
    drop(book);
    // A peer's page differs from this host's: its own tag (a hash of the name).
    let host_tag = peer.map_or(0, |p| {
        p.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
    });
    let tag = format!(
        "{:x}-{version:x}-{}-{host_tag:x}{}",
        process_nonce(),
        audience.index(),
        if down_only { "-down" } else { "" }
    );
    Ok(RenderedPage {
        version,
        rendered_at: Instant::now(),
        gzip: gzip(body.as_bytes()).map(Bytes::from),
        identity: Bytes::from(body),
        etag: HeaderValue::from_str(&format!("\"{tag}\""))
            .unwrap_or(HeaderValue::from_static("\"p\"")),
        etag_gzip: HeaderValue::from_str(&format!("\"{tag}-gz\""))
            .unwrap_or(HeaderValue::from_static("\"p-gz\"")),
    })
}

/// The page's query (`?host=`, `?status=`); a malformed one is none.
fn query(req: &HttpRequest) -> std::collections::HashMap<String, String> {
    web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default()
}

/// The peer named by `?host=` when it is a configured peer (this host, an unknown name
/// or a malformed query: `None`, the default page).
fn selected_peer(
    q: &std::collections::HashMap<String, String>,
    state: &AppState,
) -> Option<String> {
    let name = q.get("host")?;
    state
        .config()
        .peers
        .iter()
        .any(|p| &p.name == name)
        .then(|| name.clone())
}

/// A random number fixed for the life of the process: page ETags from before a restart
/// never match pages after it.
pub(crate) fn process_nonce() -> u32 {
    static NONCE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *NONCE.get_or_init(|| fastrand::u32(..))
}

/// The page's `data-since`: this process and the hub version it was rendered at.
pub(crate) fn since_token(version: u64) -> String {
    format!("{:x}-{version}", process_nonce())
}

/// The hub version in a `since` token of this process; `None` for another process's
/// (a restart, the other replica) or a malformed one: the stream then sends everything.
pub(crate) fn since_version(token: &str) -> Option<u64> {
    let (nonce, version) = token.split_once('-')?;
    (u32::from_str_radix(nonce, 16).ok()? == process_nonce())
        .then(|| version.parse().ok())
        .flatten()
}

/// `GET /`
pub async fn index(
    req: HttpRequest,
    state: web::Data<AppState>,
    cache: web::Data<PageCache>,
    audience: Audience,
) -> HttpResponse {
    let q = query(&req);
    // `?status=down`: this host's page with only the services that are not up (the
    // services are this portal's whatever the system panel shows, so it wins over `host`).
    let down_only = q.get("status").is_some_and(|s| s == "down");
    let page = match selected_peer(&q, &state).filter(|_| !down_only) {
        Some(peer) => cache.get_peer(&state, audience, &peer),
        None => cache.get(&state, audience, down_only),
    };
    let page = match page {
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
            cache_control: &super::edge::cache_control(
                super::edge::Kind::Page,
                audience,
                state.config().metrics.interval,
            ),
            vary: true,
        },
    )
}
