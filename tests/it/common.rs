//! Shared test helpers: start the real binary on a free loopback port with a config,
//! wait for it to answer, stop it on drop; and small HTTP helpers over real sockets.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Path of the built binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kiteportal"))
}

/// A free port on 127.0.0.1 (bound then released; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running portal; killed (SIGTERM, then SIGKILL) when dropped.
pub struct Portal {
    pub child: Option<Child>,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub log: PathBuf,
}

/// Builder for a portal process: config text and environment.
pub struct PortalBuilder {
    config: String,
    env: Vec<(String, String)>,
    args: Vec<String>,
}

impl Default for PortalBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PortalBuilder {
    /// Defaults suitable for tests: no network upstreams (weather points at a closed
    /// loopback port, services list empty unless the config lists some).
    pub fn new() -> Self {
        PortalBuilder {
            config: String::new(),
            env: Vec::new(),
            args: Vec::new(),
        }
    }

    /// TOML config text (appended to the test defaults unless it sets the same keys).
    pub fn config(mut self, toml: &str) -> Self {
        self.config.push_str(toml);
        self.config.push('\n');
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.into());
        self
    }

    /// Starts the binary and waits until `/api/health` answers 200 (10 s at most).
    pub fn start(self) -> Portal {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("kiteportal.toml");
        // The built-in defaults probe the nine public KiteStacks services; a test never
        // reaches the internet, so a test that lists no services gets none.
        let mut text = self.config.clone();
        let lists_services = text.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with("[[services]]")
                || l.starts_with("services =")
                || l.starts_with("services=")
        });
        if !lists_services {
            text.insert_str(0, "services = []\n");
        }
        std::fs::write(&cfg, &text).unwrap();
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let log = dir.path().join("portal.log");
        let logf = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(bin());
        cmd.arg("--config")
            .arg(&cfg)
            .args(&self.args)
            .env_remove("KITEPORTAL_CONFIG")
            .env("KITEPORTAL_BIND", addr.to_string())
            .env("KITEPORTAL_HOSTNAME", "testhost")
            .env(
                "KITEPORTAL_WEATHER_URL",
                format!("http://127.0.0.1:{}", closed_port()),
            )
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(logf.try_clone().unwrap())
            .stderr(logf);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let mut p = Portal {
            child: Some(child),
            addr,
            dir,
            log,
        };
        p.wait_healthy(Duration::from_secs(10));
        p
    }
}

/// A loopback port with nothing listening (connections are refused at once).
pub fn closed_port() -> u16 {
    free_port()
}

impl Portal {
    pub fn builder() -> PortalBuilder {
        PortalBuilder::new()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn wait_healthy(&mut self, limit: Duration) {
        let t = Instant::now();
        while t.elapsed() < limit {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!("portal exited early with {status}: {}", self.log_text());
                }
            }
            if let Ok(r) = get(self.addr, "/api/health", &[]) {
                if r.status == 200 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("portal not healthy within {limit:?}: {}", self.log_text());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit status (at most `limit`).
    pub fn terminate(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let t = Instant::now();
        while t.elapsed() < limit {
            if let Ok(Some(s)) = child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// First header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Sends raw request bytes and reads one response: up to the end of its body as given by
/// Content-Length, or the connection's end (works with and without keep-alive).
pub fn raw(addr: SocketAddr, request: &[u8]) -> std::io::Result<Response> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    exchange(s, request)
}

/// A connection to `addr` from the loopback address `from` (127.0.0.2 plays a proxy).
pub fn connect_from(from: std::net::IpAddr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    s.bind(&SocketAddr::new(from, 0).into())?;
    s.connect_timeout(&addr.into(), Duration::from_secs(2))?;
    Ok(s.into())
}

/// [`raw`] from the loopback address `from`.
pub fn raw_from(
    from: std::net::IpAddr,
    addr: SocketAddr,
    request: &[u8],
) -> std::io::Result<Response> {
    exchange(connect_from(from, addr)?, request)
}

fn exchange(mut s: TcpStream, request: &[u8]) -> std::io::Result<Response> {
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(request)?;
    let head_only = request.starts_with(b"HEAD ");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let no_body =
                head_only || head.starts_with("http/1.1 304") || head.starts_with("http/1.1 204");
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if no_body || len.is_some_and(|n| buf.len() >= end + 4 + n) {
                break;
            }
            if head.contains("transfer-encoding: chunked") && buf.ends_with(b"0\r\n\r\n") {
                break;
            }
        }
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if buf.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    parse_response(&buf, head_only)
}

fn parse_response(buf: &[u8], head: bool) -> std::io::Result<Response> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head_text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head_text.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("no status line"))?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = buf[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked && !head {
        body = dechunk(&body);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..i]).trim(), 16).unwrap_or(0);
        if n == 0 || b.len() < i + 2 + n {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + n]);
        b = &b[(i + 4 + n).min(b.len())..];
    }
    out
}

/// `GET path` with extra headers.
pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> std::io::Result<Response> {
    request(addr, "GET", path, headers)
}

/// Any method, with extra headers, `Connection: close`.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    raw(addr, req.as_bytes())
}

/// Path of a file under `tests/fixtures/`.
/// The text after the first `marker` in `text` up to the next `"`: an attribute's value
/// when `marker` ends with `="`.
pub fn quoted_after<'a>(text: &'a str, marker: &str) -> &'a str {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {text}"))
        + marker.len();
    let len = text[start..].find('"').unwrap_or(text.len() - start);
    &text[start..start + len]
}

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Polls `f` every 50 ms until it gives `Some`, at most `limit`; panics with `what`.
pub fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let t = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `GET /api/metrics` as JSON (the owner's view), asserting a 200 JSON answer.
pub fn metrics_json(p: &Portal) -> serde_json::Value {
    let r = get(p.addr, "/api/metrics", &[]).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("cache-control"), Some("private, no-store"));
    r.json()
}

/// Polls until a sample newer than `after` is published (10 s at most).
pub fn next_sample(p: &Portal, after: &serde_json::Value) -> serde_json::Value {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        let s = metrics_json(p);
        if s["timestamp"] != after["timestamp"] {
            return s;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("no new sample within 10 s: {}", p.log_text());
}

/// Advances a fake host one counter step (`step(k)`, k = 1..=6) after each sample until a
/// sample reads exactly the golden values of its step (`check` lists what differs), and
/// returns that sample. A step applied while a sample was being read mixes two states;
/// the next step then gives a clean interval, so a few attempts are allowed.
pub fn step_until_golden(
    p: &Portal,
    mut last: serde_json::Value,
    mut step: impl FnMut(u64),
    mut check: impl FnMut(&serde_json::Value, u64) -> Vec<String>,
) -> serde_json::Value {
    let mut failures = Vec::new();
    for k in 1..=6 {
        step(k);
        let s = next_sample(p, &last);
        let bad = check(&s, k);
        last = s;
        if bad.is_empty() {
            return last;
        }
        failures.push(bad);
    }
    panic!("no sample matched: {failures:#?}\n{last:#}");
}

/// Runs `promtool check metrics` on an exposition text and asserts it passes.
pub fn promtool_check(promtool: &Path, text: &str) {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Points the symlink `at` to `target` atomically (a new link renamed over the old), so a
/// reader of the tree never sees it missing: how the fake host trees advance a step.
pub fn swap_symlink(target: &Path, at: &Path) {
    let new = at.with_extension("new");
    let _ = std::fs::remove_file(&new);
    std::os::unix::fs::symlink(target, &new).unwrap();
    std::fs::rename(&new, at).unwrap();
}

/// Sends SIGHUP to the portal (reload its configuration).
pub fn hup(p: &Portal) {
    let ok = Command::new("kill")
        .args(["-HUP", &p.pid().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}
