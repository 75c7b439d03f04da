//! The HTTP surface: one file per surface, wired up by `configure` (shared by the
//! server and the tests).

pub(crate) mod api;
pub(crate) mod asset_store;
pub(crate) mod assets;
pub(crate) mod atom;
pub(crate) mod audience;
pub(crate) mod edge;
pub(crate) mod errors;
pub(crate) mod format;
pub mod negotiation;
pub(crate) mod pages;
pub(crate) mod prometheus;
pub(crate) mod stream;
pub(crate) mod view;
pub(crate) mod view_containers;
pub(crate) mod view_days;
pub(crate) mod view_feeds;
pub(crate) mod view_hosts;
pub(crate) mod view_services;
pub(crate) mod view_system;
pub(crate) mod view_tiles;

use actix_web::{guard, web, Route};

/// A route for GET and HEAD (other methods are answered by the method filter in
/// `server.rs` before routing).
fn get() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// A path and the route that answers it.
pub type PathRoute = (&'static str, fn() -> Route);

/// The JSON API and the Prometheus endpoint, each path with its route: the OpenAPI
/// document (`/api/openapi.json`) describes exactly these paths.
pub const API: [PathRoute; 11] = [
    ("/api/health", || get().to(api::health)),
    ("/api/metrics", || get().to(api::metrics)),
    ("/api/metrics/history", || get().to(api::history)),
    ("/api/weather", || get().to(api::weather)),
    ("/api/activity", || get().to(api::activity)),
    ("/api/services", || get().to(api::services)),
    ("/api/hosts", || get().to(api::hosts)),
    ("/api/hosts/{name}/history", || get().to(api::host_history)),
    ("/api/stream", || get().to(stream::stream)),
    ("/api/openapi.json", || get().to(api::openapi)),
    ("/metrics", || get().to(prometheus::metrics)),
];

/// Registers every route of the portal.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", get().to(pages::index));
    for (path, route) in API {
        cfg.route(path, route());
    }
    cfg.route("/status.atom", get().to(atom::feed))
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
