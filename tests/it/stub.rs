//! A stub upstream on 127.0.0.1: plain std sockets and threads serving recorded bodies
//! and hostile behaviours (error statuses, bodies that never end, connections that are
//! accepted and never answered), recording every request it sees.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the stub does for a route.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete response.
    Full {
        status: u16,
        content_type: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Accepts, reads the request, never answers (until the stub is dropped).
    Hang,
    /// Status line and headers, then body bytes as fast as the client reads, forever
    /// (bounded at 64 MiB so a broken client cannot fill the test machine).
    Endless,
    /// Headers, then one byte every 100 ms, forever (bounded at 5 minutes).
    Trickle,
    /// The inner reply, after a pause (a slow but working upstream).
    Delayed(Duration, Box<Reply>),
}

impl Reply {
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply::with_type(status, "application/json;charset=utf-8", body)
    }

    pub fn text(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply::with_type(status, "text/plain; charset=utf-8", body)
    }

    pub fn with_type(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Full {
            status,
            content_type: content_type.into(),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a response header (only for `Full`).
    pub fn header(mut self, k: &str, v: &str) -> Reply {
        if let Reply::Full { headers, .. } = &mut self {
            headers.push((k.into(), v.into()));
        }
        self
    }
}

/// A request as the stub received it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// The request target as sent (path and query, still percent-encoded).
    pub target: String,
    pub headers: Vec<(String, String)>,
    /// The request body (by `Content-Length`, at most 64 KiB).
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

type Routes = HashMap<(Option<String>, String), Reply>;

struct Inner {
    routes: Mutex<Routes>,
    seen: Mutex<Vec<Seen>>,
    stop: AtomicBool,
}

/// A running stub; stops (and releases hanging connections) when dropped.
pub struct Stub {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

impl Stub {
    pub fn start() -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let inner = Arc::new(Inner {
            routes: Mutex::new(HashMap::new()),
            seen: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let i = inner.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if i.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let i = i.clone();
                std::thread::spawn(move || serve(conn, &i));
            }
        });
        Stub { addr, inner }
    }

    /// `http://127.0.0.1:port`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets the reply for `path` (without the query), any method.
    pub fn set(&self, path: &str, reply: Reply) {
        self.set_for(None, path, reply);
    }

    /// Sets the reply for `path` and one method only (wins over the any-method reply).
    pub fn set_for(&self, method: Option<&str>, path: &str, reply: Reply) {
        self.inner
            .routes
            .lock()
            .unwrap()
            .insert((method.map(str::to_string), path.to_string()), reply);
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.inner.seen.lock().unwrap().clone()
    }

    /// How many requests for `path` were seen.
    pub fn count(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path() == path).count()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn read_head(conn: &mut TcpStream) -> Option<Seen> {
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 || buf.len() > 64 << 10 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect::<Vec<(String, String)>>();
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(64 << 10);
    let mut body = buf[end..].to_vec();
    while body.len() < len {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    body.truncate(len);
    Some(Seen {
        method,
        target,
        headers,
        body,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn serve(mut conn: TcpStream, inner: &Inner) {
    let Some(seen) = read_head(&mut conn) else {
        return;
    };
    inner.seen.lock().unwrap().push(seen.clone());
    let reply = {
        let routes = inner.routes.lock().unwrap();
        let path = seen.path().to_string();
        routes
            .get(&(Some(seen.method.clone()), path.clone()))
            .or_else(|| routes.get(&(None, path)))
            .cloned()
            .unwrap_or_else(|| Reply::json(404, r#"{"message":"stub: no such route"}"#))
    };
    let stopped = || inner.stop.load(Ordering::SeqCst);
    let reply = match reply {
        Reply::Delayed(pause, inner_reply) => {
            std::thread::sleep(pause);
            *inner_reply
        }
        r => r,
    };
    match reply {
        Reply::Full {
            status,
            content_type,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
                reason(status),
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = conn.write_all(head.as_bytes());
            if seen.method != "HEAD" {
                let _ = conn.write_all(&body);
            }
        }
        Reply::Hang => {
            let t = Instant::now();
            while !stopped() && t.elapsed() < Duration::from_secs(120) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Reply::Endless => {
            let _ = conn.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[",
            );
            let chunk = vec![b' '; 64 << 10];
            for _ in 0..1024 {
                if stopped() || conn.write_all(&chunk).is_err() {
                    break;
                }
            }
        }
        Reply::Delayed(..) => {}
        Reply::Trickle => {
            let _ = conn.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[",
            );
            let t = Instant::now();
            while !stopped() && t.elapsed() < Duration::from_secs(300) {
                if conn.write_all(b" ").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    let _ = conn.flush();
}
