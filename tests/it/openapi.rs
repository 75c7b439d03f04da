//! The OpenAPI document served at /api/openapi.json stays true: every API route is in
//! it, every path in it is routed, and the version matches the crate's.

use std::io::{Read, Write};
use std::time::Duration;

use crate::common::{get, Portal};

/// The API paths `routes::configure` registers.
fn routed_paths() -> Vec<String> {
    kiteportal::routes::API
        .iter()
        .map(|(path, _)| path.to_string())
        .collect()
}

/// The status line of a response whose body may never end (the event stream).
fn status_only(addr: std::net::SocketAddr, path: &str) -> u16 {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n])
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap()
}

#[test]
fn every_api_route_is_documented_and_every_documented_path_is_served() {
    let p = Portal::builder().start();
    let r = get(p.addr, "/api/openapi.json", &[]).unwrap();
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let documented: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();

    let api_routes = routed_paths();
    assert!(api_routes.len() >= 10, "{api_routes:?}");
    for route in &api_routes {
        assert!(
            documented.contains(route),
            "{route} is routed but not documented"
        );
    }
    for path in &documented {
        assert!(
            api_routes.contains(path),
            "{path} is documented but not routed"
        );
        // A templated path is asked for this host (the test portal's name).
        let concrete = path.replace("{name}", "testhost");
        let status = if path == "/api/stream" {
            status_only(p.addr, path)
        } else {
            get(p.addr, &concrete, &[]).unwrap().status
        };
        assert!(status == 200 || status == 503, "{path}: {status}");
        let op = &doc["paths"][path]["get"];
        assert!(
            op["responses"][status.to_string()].is_object(),
            "{path} answered {status}, which the document does not describe"
        );
    }
}
