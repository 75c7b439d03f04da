//! `GET /api/stream`: Server-Sent Events from the hub, bounded in clients.

use actix_web::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{web, HttpResponse};
use bytes::Bytes;
use futures_util::stream;
use tokio::sync::broadcast::error::RecvError;

use crate::error::ApiError;
use crate::state::AppState;

/// Opens a stream: a `retry:` hint and the current state of every event first (so a
/// page is complete at once), then every hub frame. Subscribing before taking that
/// state means a change in between arrives twice at worst, never not at all.
pub async fn stream(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let Some((slot, rx)) = state.hub.subscribe() else {
        return Err(ApiError::TooManyClients);
    };
    let mut first = b"retry: 3000\n\n".to_vec();
    for event in crate::feeds::EVENTS {
        if let Some(json) = crate::feeds::event_json(&state, event) {
            first.extend_from_slice(&crate::hub::frame(event, &json));
        }
    }
    let body = stream::unfold(
        (Some(Bytes::from(first)), rx, slot),
        |(first, mut rx, slot)| async move {
            if let Some(b) = first {
                return Some((Ok::<_, actix_web::Error>(b), (None, rx, slot)));
            }
            loop {
                match rx.recv().await {
                    Ok(b) if b.is_empty() => return None,
                    Ok(b) => return Some((Ok(b), (None, rx, slot))),
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, HeaderValue::from_static("text/event-stream")))
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header(("X-Accel-Buffering", HeaderValue::from_static("no")))
        .streaming(body))
}
