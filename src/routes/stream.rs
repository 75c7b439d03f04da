//! `GET /api/stream`: Server-Sent Events from the hub, bounded in clients.

use actix_web::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use bytes::Bytes;
use futures_util::stream;
use tokio::sync::broadcast::error::RecvError;

use crate::access::Audience;
use crate::error::ApiError;
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
/// its 24 h bars cell by cell, no 90 days) and `since=<version>` (the version of the page
/// it holds, as the page's `data-since` says: the services come first only when they
/// changed after it).
/// `/api/stream` without them is the documented JSON stream.
#[derive(Debug, Default, PartialEq)]
pub struct Mode {
    pub page: bool,
    pub since: Option<u64>,
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
    let audience = crate::routes::client::audience(&req);
    let mut first = b"retry: 3000\n\n".to_vec();
    for event in crate::state::EVENTS {
        // The page holds the services as rendered (the heavy event: every bar); the
        // small events come anyway, so the page's ages tick from their timestamps.
        let unchanged = mode
            .since
            .is_some_and(|v| state.hub.published_at(event) <= v);
        if event == "services" && unchanged {
            continue;
        }
        let json = if mode.page {
            state.page_event_json(event, audience, true)
        } else {
            state.event_json(event, audience)
        };
        if let Some(json) = json {
            first.extend_from_slice(&crate::hub::frame(event, &json));
        }
    }
    let page = mode.page;
    let body = stream::unfold(
        (Some(Bytes::from(first)), rx, slot),
        move |(first, mut rx, slot)| async move {
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
                        let b = f.for_client(audience, page).clone();
                        if b.is_empty() || slot.released() || revoked(&slot) {
                            return None;
                        }
                        slot.took_frame();
                        return Some((Ok(b), (None, rx, slot)));
                    }
                    // The page's stream sends bars cell by cell: after a gap it would
                    // misdraw them, so it ends and the page reconnects for a whole state.
                    Err(RecvError::Lagged(_)) if page => return None,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(event_stream().streaming(body))
}
