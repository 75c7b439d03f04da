//! The HTTP server: middleware (method filter, security headers, access log with the
//! real client address, request counters), timeouts and limits, and the start and
//! graceful stop of the background tasks around it.

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, ALLOW};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{Condition, DefaultHeaders};
use actix_web::{web, App, HttpResponse, HttpServer};

use std::sync::{Arc, Mutex};

use crate::access_log::TARGET as ACCESS_LOG;
use crate::config::{Config, Overrides};
use crate::error::StartupError;
use crate::state::AppState;

/// The Content-Security-Policy of every response: nothing inline, nothing third-party.
pub(crate) const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
frame-ancestors 'none'";

const ALLOWED: &str = "GET, HEAD, OPTIONS";

/// The headers every response carries.
pub(crate) fn security_headers(host_name: &str) -> DefaultHeaders {
    // A host name with characters not allowed in a header is shown sanitised.
    let served_by = HeaderValue::from_str(host_name).unwrap_or_else(|_| {
        let clean: String = host_name.chars().filter(|c| c.is_ascii_graphic()).collect();
        HeaderValue::from_str(&clean).unwrap_or(HeaderValue::from_static("kiteportal"))
    });
    DefaultHeaders::new()
        .add(("Content-Security-Policy", CSP))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "strict-origin-when-cross-origin"))
        .add(("X-Frame-Options", "DENY"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
        ))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add((HeaderName::from_static("x-served-by"), served_by))
}

/// Longest request target accepted (the portal's own URLs are short; nginx's default
/// large_client_header_buffers is 8 KiB too).
pub(crate) const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest total size of request headers accepted.
pub(crate) const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Answers oversized requests, OPTIONS and unsupported methods before routing: the whole
/// surface is read-only and small.
fn request_filter(req: &ServiceRequest) -> Option<HttpResponse> {
    let target_len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target_len > MAX_URI_BYTES {
        return Some(HttpResponse::UriTooLong().finish());
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Some(HttpResponse::build(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).finish());
    }
    let m = req.method();
    if m == Method::GET || m == Method::HEAD {
        return None;
    }
    let allow = HeaderValue::from_static(ALLOWED);
    if m == Method::OPTIONS {
        return Some(
            HttpResponse::NoContent()
                .insert_header((ALLOW, allow))
                .finish(),
        );
    }
    Some(
        HttpResponse::MethodNotAllowed()
            .insert_header((ALLOW, allow))
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({ "error": "method not allowed" })),
    )
}

/// Builds the actix `App` for `state`: used by `run` and by the tests.
pub fn app(
    state: AppState,
) -> App<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cfg = state.clone();
    let counters = state.requests.clone();
    let headers = security_headers(&state.config().host.name);
    App::new()
        .app_data(web::Data::new(state))
        // The rendered page, per worker (rendering is once per change and audience).
        .app_data(web::Data::new(crate::routes::pages::PageCache::default()))
        .configure(crate::routes::configure)
        .wrap_fn(|req, srv| {
            use actix_web::dev::Service as _;
            use futures_util::future::{Either, FutureExt};
            match request_filter(&req) {
                Some(resp) => Either::Left(std::future::ready(Ok(req
                    .into_response(resp)
                    .map_into_right_body()))),
                None => Either::Right(srv.call(req).map(|r| r.map(|r| r.map_into_left_body()))),
            }
        })
        .wrap(headers)
        .wrap_fn(move |req, srv| {
            use actix_web::dev::Service as _;
            use futures_util::future::FutureExt;
            let counters = counters.clone();
            srv.call(req).map(move |res| {
                if let Ok(r) = &res {
                    counters.record(r.status().as_u16());
                }
                res
            })
        })
        // The Logger renders the request side of its format (request line, User-Agent,
        // client address) on every request even when the line is then filtered out, so it
        // is only installed when access logging is on (measured: bench/, docs/BENCHMARKS.md).
        .wrap(Condition::new(
            log::log_enabled!(target: ACCESS_LOG, log::Level::Info),
            crate::access_log::logger(move |req| {
                crate::routes::audience::client(req.request(), &cfg.config()).log_field()
            }),
        ))
}

/// Most worker threads started: each holds a runtime and (with glibc) its own malloc
/// arena, and the work per request is microseconds.
pub(crate) const MAX_WORKERS: usize = 4;

/// Worker threads and connections per worker for a total cap of `max_connections`.
///
/// actix's `max_connections` counts per worker, so the total is split evenly and rounded
/// down (never above the configured cap); there are never more workers than connections.
pub(crate) fn connection_split(max_connections: usize, cores: usize) -> (usize, usize) {
    let workers = cores.clamp(1, MAX_WORKERS).min(max_connections.max(1));
    (workers, (max_connections / workers).max(1))
}

/// Starts the background tasks, serves until SIGTERM/SIGINT (SIGHUP reloads the
/// configuration), then stops everything.
pub(crate) fn run(config: Config, overrides: Overrides) -> Result<(), StartupError> {
    let bind = config.bind;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (workers, per_worker) = connection_split(config.limits.max_connections, cores);
    let state = AppState::new(config);
    crate::routes::view_tiles::install(&state);
    let background = crate::background::start(&state)
        .map_err(|e| StartupError::new(format!("cannot start background tasks: {e}")))?;
    let background = Arc::new(Mutex::new(Some(background)));

    let sys = actix_web::rt::System::new();
    let result = sys.block_on(async {
        let st = state.clone();
        let server = HttpServer::new(move || app(st.clone()))
            .bind(bind)
            .map_err(|e| StartupError::new(format!("bind: '{bind}' cannot be used: {e}")))?
            // Slow clients must not hold workers: a request's head must arrive within 5 s,
            // idle keep-alive connections close after 30 s.
            .client_request_timeout(Duration::from_secs(5))
            .client_disconnect_timeout(Duration::from_secs(1))
            .keep_alive(Duration::from_secs(30))
            // limits.max_connections in total: beyond it the workers stop accepting and
            // new connections wait in the backlog, so a flood of idle connections cannot
            // grow memory past the container's limit.
            .workers(workers)
            .max_connections(per_worker)
            .backlog(1024)
            .shutdown_timeout(3)
            .disable_signals()
            .run();
        log::info!(
            "kiteportal {} listening on http://{bind} ({workers} workers, at most \
{per_worker} connections each)",
            env!("CARGO_PKG_VERSION")
        );
        let handle = server.handle();
        let st = state.clone();
        let bg = background.clone();
        actix_web::rt::spawn(async move {
            signals(&st, overrides, bg).await;
            log::info!("stopping: finishing in-flight requests");
            st.hub.close();
            handle.stop(true).await;
        });
        server
            .await
            .map_err(|e| StartupError::new(format!("server failed: {e}")))
    });
    stop_background(&state, background, STOP_DEADLINE);
    log::info!("stopped");
    result
}

/// How long the stop waits for the background tasks and the last save of the history
/// before the process exits anyway: a stop is answered whatever a file does.
pub(crate) const STOP_DEADLINE: Duration = Duration::from_secs(2);

/// Stops the background tasks and saves the history on a thread of its own, waiting at
/// most `deadline`: a reload stuck on a file (holding the tasks) or a save stuck on a
/// hung filesystem cannot keep the process from exiting.
fn stop_background(state: &AppState, background: SharedBackground, deadline: Duration) {
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let st = state.clone();
    let stopper = std::thread::Builder::new()
        .name("stop".into())
        .spawn(move || {
            let taken = background.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(bg) = taken {
                bg.stop(&st, Duration::from_millis(1500));
            }
            let _ = done_tx.send(());
        });
    if stopper.is_err() || done_rx.recv_timeout(deadline).is_err() {
        log::warn!(
            "background tasks did not stop within {}s (a file or an upstream that does not \
             answer); exiting without them",
            deadline.as_secs()
        );
    }
}

/// Waits for SIGTERM or SIGINT; reloads the configuration on each SIGHUP meanwhile.
async fn signals(state: &AppState, overrides: Overrides, background: SharedBackground) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        log::warn!("cannot install signal handlers; stop with SIGKILL");
        std::future::pending::<()>().await;
        return;
    };
    let overrides = Arc::new(overrides);
    let reloading = Arc::new(std::sync::atomic::AtomicBool::new(false));
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = int.recv() => return,
            _ = hup.recv() => {
                use std::sync::atomic::Ordering;
                if reloading.swap(true, Ordering::AcqRel) {
                    log::warn!("reload: the previous reload is still running; ignoring SIGHUP");
                    continue;
                }
                // Reading files and joining the old feed tasks block: on a thread of its
                // own, never awaited here, so SIGTERM and SIGINT are always answered.
                let (st, o, bg) = (state.clone(), overrides.clone(), background.clone());
                let flag = reloading.clone();
                let spawned = std::thread::Builder::new().name("reload".into()).spawn(move || {
                    let mut guard = bg.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(bg) = guard.as_mut() {
                        crate::reload::reload(&st, &o, bg);
                    }
                    flag.store(false, Ordering::Release);
                });
                if let Err(e) = spawned {
                    reloading.store(false, Ordering::Release);
                    log::error!("reload: cannot start: {e}");
                }
            }
        }
    }
}

type SharedBackground = Arc<Mutex<Option<crate::background::Background>>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_is_split_over_the_workers_never_above_it() {
        assert_eq!(connection_split(2048, 2), (2, 1024));
        assert_eq!(connection_split(2048, 64), (MAX_WORKERS, 512));
        assert_eq!(connection_split(9, 2), (2, 4));
        assert_eq!(connection_split(1, 8), (1, 1));
        assert_eq!(connection_split(3, 0), (1, 3));
    }
}
