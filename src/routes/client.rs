//! Who is asking: the real client address (forwarding headers believed only from
//! `trusted_proxies`) and the request's [`Audience`] as an extractor for handlers.

use std::future::{ready, Ready};
use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use crate::access::Audience;
use crate::config::Config;
use crate::state::AppState;

/// The client's address: the peer, or, when the peer is a trusted proxy,
/// `CF-Connecting-IP` or the nearest untrusted hop of `X-Forwarded-For`.
pub fn client_ip(req: &HttpRequest, config: &Config) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !config.is_trusted_proxy(peer) {
        return Some(peer);
    }
    let h = req.headers();
    if let Some(ip) = h
        .get("cf-connecting-ip")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<IpAddr>().ok())
    {
        return Some(ip);
    }
    if let Some(xff) = h.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        // Walk from the right (nearest hop) and take the first address we do not trust.
        let mut last = None;
        for hop in xff.rsplit(',').take(16) {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) if config.is_trusted_proxy(ip) => last = Some(ip),
                Ok(ip) => return Some(ip),
                Err(_) => break,
            }
        }
        if let Some(ip) = last {
            return Some(ip);
        }
    }
    Some(peer)
}

/// The audience of `req` under the running configuration.
pub fn audience(req: &HttpRequest) -> Audience {
    match req.app_data::<web::Data<AppState>>() {
        Some(state) => {
            let config = state.config();
            Audience::of(client_ip(req, &config), &config.access)
        }
        None => Audience::Public,
    }
}

impl FromRequest for Audience {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(audience(req)))
    }
}
