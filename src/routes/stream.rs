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
        if let Some(json) = state.event_json(event, audience) {
            first.extend_from_slice(&crate::hub::frame(event, &json));
        }
    }
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
                        let b = f.for_audience(audience).clone();
                        if b.is_empty() || slot.released() || revoked(&slot) {
                            return None;
                        }
                        slot.took_frame();
                        return Some((Ok(b), (None, rx, slot)));
                    }
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(event_stream().streaming(body))
}
