//! Test-only upstream: a small HTTP/1.1 server on 127.0.0.1 that answers each request
//! by its path from a fixed table, so the feeds' unit tests go over a real socket.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One canned answer: the path it serves (query ignored), status, content type, body.
pub struct Route {
    pub path: String,
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// A JSON answer to `path`.
pub fn json(path: &str, status: u16, body: &str) -> Route {
    Route {
        path: path.to_string(),
        status,
        content_type: "application/json",
        body: body.as_bytes().to_vec(),
    }
}

/// A running stub: its base URL and the request heads it received, in order.
pub struct Stub {
    pub base: String,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Stub {
    /// The request heads received so far.
    pub fn seen(&self) -> Vec<String> {
        self.requests.lock().expect("stub log").clone()
    }
}

/// Serves `routes` until the test process ends; unknown paths get a 404.
pub fn serve(routes: Vec<Route>) -> Stub {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&requests);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && head.len() < 64 << 10 {
                match conn.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let path = head
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.split('?').next())
                .unwrap_or("")
                .to_string();
            log.lock().expect("stub log").push(head);
            let missing = json(&path, 404, r#"{"message":"not found"}"#);
            let r = routes.iter().find(|r| r.path == path).unwrap_or(&missing);
            let mut out = format!(
                "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                r.status,
                r.content_type,
                r.body.len()
            )
            .into_bytes();
            out.extend_from_slice(&r.body);
            let _ = conn.write_all(&out);
        }
    });
    Stub { base, requests }
}
