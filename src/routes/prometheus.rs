//! `GET /metrics`: Prometheus text exposition of the latest sample, the feeds and the
//! process's own request counters.

use std::fmt::Write as _;

use actix_web::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{web, HttpResponse};

use crate::state::AppState;

/// Renders the exposition text.
pub fn render(state: &AppState) -> String {
    let mut out = String::with_capacity(4096);
    let _ = writeln!(
        out,
        "# HELP kiteportal_http_requests_total Requests answered, by status class."
    );
    let _ = writeln!(out, "# TYPE kiteportal_http_requests_total counter");
    for (class, n) in state.requests.counts() {
        let _ = writeln!(
            out,
            "kiteportal_http_requests_total{{code=\"{class}\"}} {n}"
        );
    }
    out
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        ))
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(render(&state))
}
