//! `GET /api/stream`: Server-Sent Events from the hub, bounded in clients.

use actix_web::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use bytes::Bytes;
use futures_util::stream;
use tokio::sync::broadcast::error::RecvError;

use crate::access::Audience;
use crate::error::ApiError;
use crate::feeds::feed::Event;
use crate::state::AppState;

fn event_stream() -> HttpResponseBuilder {
    let mut r = HttpResponse::Ok();
    r.insert_header((CONTENT_TYPE, HeaderValue::from_static("text/event-stream")))
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        // Proxies (nginx, cloudflared) must pass events on at once, not buffer them.
        .insert_header(("X-Accel-Buffering", HeaderValue::from_static("no")));
    r
}

/// What a client asked of its stream in the query: `view=page` (the page's own stream:
/// the tiles that changed, see [`crate::hub::patch`]), `since=<version>` (the
/// version of the page it holds, as the page's `data-since` or the last event's `id`
/// say: the first burst brings it from there) and `host=<name>` (the host its system
/// panel shows; this host when it names none).
/// `/api/stream` without them is the documented JSON stream.
#[derive(Debug, Default, PartialEq)]
pub struct Mode {
    pub page: bool,
    pub since: Option<u64>,
    pub host: Option<String>,
}

impl Mode {
    /// The mode `req` asks for; a `view` other than `page` is an error (other keys and a
    /// malformed `since` are ignored: they only cost the client a whole first burst).
    pub(crate) fn of(req: &HttpRequest) -> Result<Mode, ApiError> {
        let mut m = Mode::default();
        for pair in req.query_string().split('&') {
            match pair.split_once('=') {
                Some(("view", "page")) => m.page = true,
                Some(("view", _)) => return Err(ApiError::UnknownView),
                Some(("since", v)) => m.since = crate::routes::pages::since_version(v),
                Some(("host", v)) => {
                    m.host = web::Query::<std::collections::HashMap<String, String>>::from_query(
                        &format!("host={v}"),
                    )
                    .ok()
                    .and_then(|q| q.get("host").cloned());
                }
                _ => {}
            }
        }
        Ok(m)
    }
}

/// Opens a stream: a `retry:` hint and the current state of every event first (so a
/// page is complete at once), then every hub frame in the client's audience's version.
/// Subscribing before taking that state means a change in between arrives twice at
/// worst, never not at all.
///
/// A HEAD request gets the headers and no stream: it has no body to hold a slot with
/// (a HEAD that subscribed would never write, so its closed peer would never be seen).
pub async fn stream(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mode = Mode::of(&req)?;
    if req.method() == Method::HEAD {
        return Ok(event_stream().finish());
    }
    let Some((slot, rx)) = state.hub.subscribe() else {
        return Err(ApiError::TooManyClients);
    };
    // Judged after subscribing: a reload that changes the rules in between then
    // revokes this slot's view (the reload swaps the rules first, then revokes).
    let audience = crate::routes::audience::audience(&req);
    let (first, had) = if mode.page {
        page_burst(&state, &mode, audience)
    } else {
        (json_burst(&state, audience), 0)
    };
    let page = mode.page.then(|| {
        let config = state.config();
        mode.host
            .filter(|h| config.peers.iter().any(|p| &p.name == h))
            .unwrap_or_else(|| config.host.name.clone())
    });
    let page: Option<std::sync::Arc<str>> = page.map(Into::into);
    let body = stream::unfold((Some(first), rx, slot), move |(first, mut rx, slot)| {
        let page = page.clone();
        async move {
            // A private view is only as good as the rules that granted it: after a
            // reload changed them, the stream ends and the page reconnects.
            let revoked = |slot: &crate::hub::ClientSlot| {
                audience == Audience::Private && slot.view_revoked()
            };
            if let Some(b) = first {
                if revoked(&slot) {
                    return None;
                }
                slot.took_frame();
                return Some((Ok::<_, actix_web::Error>(b), (None, rx, slot)));
            }
            loop {
                if slot.released() || revoked(&slot) {
                    return None;
                }
                match rx.recv().await {
                    Ok(f) => {
                        let Some(b) = f.for_client(audience, page.as_deref(), had).cloned() else {
                            continue;
                        };
                        if b.is_empty() || slot.released() || revoked(&slot) {
                            return None;
                        }
                        slot.took_frame();
                        return Some((Ok(b), (None, rx, slot)));
                    }
                    // The page's stream sends bars cell by cell: after a gap it would
                    // misdraw them, so it ends and the page reconnects for a whole state.
                    Err(RecvError::Lagged(_)) if page.is_some() => return None,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    });
    Ok(event_stream().streaming(body))
}

/// The documented stream's first burst: `retry:` and the current body of every event.
fn json_burst(state: &AppState, audience: Audience) -> Bytes {
    let mut first = b"retry: 3000\n\n".to_vec();
    for event in Event::ALL {
        if let Some(json) = state.event_body(event, audience) {
            first.extend_from_slice(&crate::hub::frame(event, &json));
        }
    }
    Bytes::from(first)
}

/// A page's first burst: `retry:` and what changed since the page's version, built once
/// per version and shared by the clients that hold the same page; and that version.
fn page_burst(state: &AppState, mode: &Mode, audience: Audience) -> (Bytes, u64) {
    let config = state.config();
    let host = mode
        .host
        .as_deref()
        .filter(|h| config.peers.iter().any(|p| p.name == *h))
        .unwrap_or(&config.host.name);
    crate::routes::view_tiles::catch_up(state, host, audience, mode.since)
}
