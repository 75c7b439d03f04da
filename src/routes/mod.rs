//! The HTTP surface: one file per surface, wired up by [`configure`] (shared by the
//! server and the tests).

pub mod api;
pub mod asset_store;
pub mod assets;
pub mod atom;
pub mod client;
pub mod edge;
pub mod errors;
pub mod negotiation;
pub mod pages;
pub mod prometheus;
pub mod stream;
pub mod view;
pub mod view_containers;
pub mod view_days;
pub mod view_feeds;
pub mod view_hosts;
pub mod view_services;
pub mod view_system;
pub mod view_tiles;

use actix_web::{guard, web, Route};

/// A route for GET and HEAD (other methods are answered by the method filter in
/// `server.rs` before routing).
fn get() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Registers every route of the portal.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", get().to(pages::index))
        .route("/api/health", get().to(api::health))
        .route("/api/metrics", get().to(api::metrics))
        .route("/api/metrics/history", get().to(api::history))
        .route("/api/weather", get().to(api::weather))
        .route("/api/activity", get().to(api::activity))
        .route("/api/services", get().to(api::services))
        .route("/api/hosts", get().to(api::hosts))
        .route("/api/hosts/{name}/history", get().to(api::host_history))
        .route("/api/stream", get().to(stream::stream))
        .route("/api/openapi.json", get().to(api::openapi))
        .route("/metrics", get().to(prometheus::metrics))
        .route("/status.atom", get().to(atom::feed))
        // A scope with a static prefix, not a `{path:.*}` pattern: a dynamic pattern is a
        // regex run on every asset request (11% of the CPU of a CSS request when profiled).
        .service(web::scope("/assets").default_service(get().to(assets::asset)))
        .route("/robots.txt", get().to(assets::root_file))
        .route("/favicon.ico", get().to(assets::root_file))
        .route("/manifest.webmanifest", get().to(assets::root_file))
        .route("/icon-192.png", get().to(assets::root_file))
        .route("/icon-512.png", get().to(assets::root_file))
        .route("/apple-touch-icon.png", get().to(assets::root_file))
        // Unknown API paths answer JSON, not the HTML page: an API client reads the error.
        .service(web::scope("/api").default_service(web::to(api::not_found)))
        .default_service(web::to(errors::fallback));
}
