//! Error types: [`StartupError`] (a message for the operator, exit status 2) and
//! [`ApiError`] (a JSON error body for API clients).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use std::fmt;

/// Anything that stops the program before it serves: bad config, a port in use.
/// Printed as one line on stderr; the process exits with status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupError {
    message: String,
}

impl StartupError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        StartupError {
            message: message.into(),
        }
    }

    /// `key: 'value' why` — the form every configuration error takes.
    pub(crate) fn config(key: &str, value: &str, why: &str) -> Self {
        let shown: String = value.chars().take(120).collect();
        StartupError::new(format!("{key}: '{shown}' {why}"))
    }
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StartupError {}

/// An error answered to an API client as `{"error": "..."}` with a status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("too many stream clients, poll the JSON endpoints instead")]
    TooManyClients,
    /// Only in the first moments of start-up, before the sampler's first sample.
    #[error("no sample yet")]
    NoSampleYet,
    /// A path under `/api/` that is not part of the API.
    #[error("no such API endpoint; see /api/openapi.json")]
    NotFound,
    /// A `view` the API does not have (only `page`).
    #[error("view: only 'page' is known")]
    UnknownView,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::TooManyClients | ApiError::NoSampleYet => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::UnknownView => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status_code());
        r.insert_header(("Cache-Control", "no-store"));
        match self {
            ApiError::TooManyClients => r.insert_header(("Retry-After", "30")),
            ApiError::NoSampleYet => r.insert_header(("Retry-After", "1")),
            ApiError::NotFound | ApiError::UnknownView => &mut r,
        };
        r.json(serde_json::json!({ "error": self.to_string() }))
    }
}
