//! The JSON API: health, metrics and history (pre-serialised bytes from the sampler),
//! and the feed envelopes. No handler reads a file or calls an upstream. Public answers
//! may be kept by the edge for one interval; every answer has a strong ETag (304 on
//! `If-None-Match`).

use actix_web::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use bytes::Bytes;

use super::edge::{self, Kind};
use super::negotiation::{conditional, Encoding, Representation};
use crate::access::Audience;
use crate::error::ApiError;
use crate::feeds::envelope_json;
use crate::feeds::feed::Event;
use crate::state::AppState;

/// A JSON body with `Cache-Control: no-store`.
pub(crate) fn json_bytes(body: Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")))
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(body)
}

/// A JSON answer of the API for `audience`: `Cache-Control` by audience (the edge may
/// keep a public one for one metrics interval), a strong ETag, 304 on `If-None-Match`.
fn answer(req: &HttpRequest, state: &AppState, audience: Audience, body: Bytes) -> HttpResponse {
    let interval = state.config().metrics.interval;
    conditional(
        req,
        Representation {
            etag: &edge::etag(&body),
            body: &body,
            encoding: Encoding::Identity,
            content_type: &HeaderValue::from_static("application/json"),
            cache_control: &edge::cache_control(Kind::Json, audience, interval),
            vary: false,
        },
    )
}

/// Any other path under `/api/`: a JSON 404 (an API client reads the error, not a page).
pub(crate) async fn not_found() -> HttpResponse {
    ApiError::NotFound.error_response()
}

/// `GET /api/health`: `{"ok":true}`, or 503 with the reason when the sampler has stalled
/// (the container HEALTHCHECK then restarts a portal that would serve frozen numbers).
pub(crate) async fn health(state: web::Data<AppState>) -> HttpResponse {
    match state.metrics.stalled() {
        None => json_bytes(Bytes::from_static(br#"{"ok":true}"#)),
        Some(s) => HttpResponse::ServiceUnavailable()
            .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .json(serde_json::json!({ "ok": false, "error": s.reason() })),
    }
}

/// The OpenAPI 3 description of this API (kept true by a test that checks every route).
pub const OPENAPI: &str = include_str!("openapi.json");

/// `GET /api/openapi.json`
pub(crate) async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")))
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .body(OPENAPI)
}

/// `GET /api/metrics`: the sampler's last sample, as it serialised it for the audience;
/// when the sampler has stalled, a copy with the reason under `errors["sampler"]`.
pub(crate) async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
    audience: Audience,
) -> HttpResponse {
    match (state.metrics.latest(), state.metrics.stalled()) {
        (Some(p), None) => answer(&req, &state, audience, p.json(audience).clone()),
        (Some(p), Some(stalled)) => {
            let mut sample = p.sample(audience).clone();
            sample.errors.insert("sampler".into(), stalled.reason());
            // Frozen numbers: not for a shared cache.
            json_bytes(Bytes::from(serde_json::to_vec(&sample).unwrap_or_default()))
        }
        (None, _) => ApiError::NoSampleYet.error_response(),
    }
}

/// `GET /api/metrics/history`
pub(crate) async fn history(
    req: HttpRequest,
    state: web::Data<AppState>,
    audience: Audience,
) -> HttpResponse {
    match state.metrics.latest() {
        Some(p) => answer(&req, &state, audience, p.history_json.clone()),
        None => ApiError::NoSampleYet.error_response(),
    }
}

/// `GET /api/weather`
pub(crate) async fn weather(
    req: HttpRequest,
    state: web::Data<AppState>,
    audience: Audience,
) -> HttpResponse {
    let body = envelope_json(&state.feeds().weather.snapshot(), audience);
    answer(&req, &state, audience, body)
}

/// `GET /api/activity`
pub(crate) async fn activity(
    req: HttpRequest,
    state: web::Data<AppState>,
    audience: Audience,
) -> HttpResponse {
    let body = envelope_json(&state.feeds().activity.snapshot(), audience);
    answer(&req, &state, audience, body)
}

/// `GET /api/services`; `?view=page` (the page's polling fallback) leaves out the 90 days, as the page's
/// stream does: the page does not redraw them.
pub(crate) async fn services(
    req: HttpRequest,
    state: web::Data<AppState>,
    audience: Audience,
) -> HttpResponse {
    let page = match super::stream::Mode::of(&req) {
        Ok(m) => m.page,
        Err(e) => return e.error_response(),
    };
    let body = if page {
        state.page_event_body(Event::Services, audience)
    } else {
        None
    }
    .unwrap_or_else(|| envelope_json(&state.feeds().services.snapshot(), audience));
    answer(&req, &state, audience, body)
}

/// `GET /api/hosts/{name}/history`: the `/api/metrics/history` body of this host or a
/// peer (the page fills a peer's sparklines from it at once); JSON 404 for other names.
pub(crate) async fn host_history(
    req: HttpRequest,
    state: web::Data<AppState>,
    audience: Audience,
    name: web::Path<String>,
) -> HttpResponse {
    match state.history_json(&name) {
        Some(body) => answer(&req, &state, audience, body),
        None => ApiError::NotFound.error_response(),
    }
}

/// `GET /api/hosts`
pub(crate) async fn hosts(
    req: HttpRequest,
    state: web::Data<AppState>,
    audience: Audience,
) -> HttpResponse {
    let body = envelope_json(&state.hosts_snapshot(), audience);
    answer(&req, &state, audience, body)
}
