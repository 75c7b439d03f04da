//! Upstream feeds over real sockets: the real binary against stub upstreams serving the
//! recorded wttr.in bodies and hostile variants (Forgejo's are in `activity`); the live
//! stream read by a real SSE client; service checks; a second portal as the peer.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{closed_port, fixture, get, wait_for, Portal};
use crate::stub::{Reply, Stub};

pub(crate) fn api(p: &Portal, path: &str) -> Value {
    let r = get(p.addr, path, &[]).unwrap();
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

/// Waits until `path`'s envelope satisfies `ok`, returns it.
pub(crate) fn wait_api(p: &Portal, path: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(15) {
        last = api(p, path);
        if ok(&last) {
            return last;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{path}: timed out waiting for {what}; last: {last}");
}

pub(crate) fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap()
}

pub(crate) fn read_json(rel: &str) -> Value {
    serde_json::from_slice(&read(rel)).unwrap()
}

fn j1() -> Reply {
    Reply::json(200, read("wttr/j1.json"))
}

fn log_lines(p: &Portal, needle: &str) -> Vec<String> {
    p.log_text()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

fn weather_portal(stub: &Stub, extra: &str) -> Portal {
    Portal::builder()
        .env("KITEPORTAL_WEATHER_URL", &stub.url())
        .config(&format!("[weather]\nrefresh = \"250ms\"\n{extra}"))
        .start()
}

#[test]
fn weather_from_j1_with_numbers_as_numbers() {
    let stub = Stub::start();
    // A slow upstream (answering after 800 ms, within the 2 s timeout) still delivers.
    stub.set(
        "/Heideck%2C%20Bayern",
        Reply::Delayed(Duration::from_millis(800), Box::new(j1())),
    );
    let p = weather_portal(&stub, "location = \"Heideck, Bayern\"");
    let w = wait_api(&p, "/api/weather", "ok", |v| v["status"] == "ok");
    let d = &w["data"];
    assert!(d["temp_c"].is_number() && d["humidity"].is_number(), "{d}");
    assert_eq!(d["temp_c"].as_f64(), Some(9.0));
    assert_eq!(d["feels_like_c"].as_f64(), Some(8.0));
    assert_eq!(d["wind_kmph"].as_f64(), Some(8.0));
    assert_eq!(d["code"], 122);
    assert_eq!(d["description"], "Overcast");
    assert_eq!(d["location"], "Heideck, Germany");
    assert_eq!(d["forecast"].as_array().unwrap().len(), 3);
    assert!(d["forecast"][1]["max_c"].is_number());
    assert!(w["error"].is_null() && w["updated_at"].is_string());
    let seen = stub.seen();
    assert_eq!(seen[0].target, "/Heideck%2C%20Bayern?format=j1");
    let ua = seen[0].header("user-agent").unwrap();
    assert!(ua.starts_with("kiteportal/"), "{ua}");
    assert!(seen[0].header("authorization").is_none());
}

#[test]
fn weather_error_bodies_are_errors_not_data() {
    let stub = Stub::start();
    let unknown = read("wttr/errors/unknown_location_legacy.txt");
    stub.set("/", Reply::json(200, unknown.clone()));
    let p = weather_portal(&stub, "");
    let cases: Vec<(Reply, Vec<&str>)> = vec![
        (
            Reply::json(200, unknown.clone()),
            vec!["not JSON: Unknown location; please try ~-82.1081821,34.37824"],
        ),
        (
            Reply::text(503, read("wttr/errors/capacity_limit_503.txt")),
            vec![
                "HTTP 503 from 127.0.0.1",
                "Sorry, we are running out of queries",
            ],
        ),
        (
            Reply::text(500, read("wttr/errors/data_source_unavailable_500.txt")),
            vec!["HTTP 500", "weather data source not available"],
        ),
        (
            Reply::text(500, read("wttr/errors/location_not_found_500.txt")),
            vec!["HTTP 500", "location not found: upstream error"],
        ),
        (
            Reply::text(429, read("wttr/errors/rate_limited_429.txt")),
            vec!["HTTP 429", "Not so fast!"],
        ),
        (
            Reply::text(404, unknown.clone()),
            vec!["HTTP 404", "Unknown location"],
        ),
        (
            Reply::json(200, r#"{"current_condition": [{"temp_C": "9""#),
            vec!["invalid JSON: EOF while parsing"],
        ),
        (
            Reply::json(200, r#"{"current_condition": []}"#),
            vec!["unexpected j1 document", "no current_condition"],
        ),
        (
            Reply::with_type(200, "text/html", "<html><title>Sign in</title></html>"),
            vec!["expected JSON", "text/html"],
        ),
        (
            Reply::text(302, "").header("Location", "http://elsewhere.invalid/x"),
            vec!["redirected to http://elsewhere.invalid/x"],
        ),
        (Reply::Endless, vec!["body larger than 1 MiB"]),
        (Reply::Trickle, vec!["timed out after 2s"]),
        (Reply::text(500, "between"), vec!["between"]),
        (Reply::Hang, vec!["timed out after 2s"]),
    ];
    let n = cases.len();
    for (reply, wanted) in cases {
        stub.set("/", reply);
        let w = wait_api(&p, "/api/weather", &format!("{wanted:?}"), |v| {
            let e = v["error"].as_str().unwrap_or("");
            wanted.iter().all(|w| e.contains(w))
        });
        assert_eq!(w["status"], "error", "{w}");
        assert!(w["data"].is_null(), "{w}");
        assert!(w["error"].as_str().unwrap().chars().count() < 240, "{w}");
    }
    // Dozens of failed attempts, one state change, one log line.
    assert!(stub.count("/") >= n);
    let lines = log_lines(&p, "feed weather:");
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("pending -> error"), "{lines:#?}");
    assert!(get(p.addr, "/api/health", &[]).unwrap().status == 200);
}

#[test]
fn weather_goes_stale_keeps_last_good_data_and_recovers() {
    let stub = Stub::start();
    stub.set("/", j1());
    let p = weather_portal(&stub, "");
    wait_api(&p, "/api/weather", "ok", |v| v["status"] == "ok");

    stub.set(
        "/",
        Reply::text(503, read("wttr/errors/capacity_limit_503.txt")),
    );
    let before = stub.count("/");
    let w = wait_api(&p, "/api/weather", "stale", |v| v["status"] == "stale");
    assert_eq!(w["data"]["temp_c"].as_f64(), Some(9.0), "{w}");
    assert!(w["error"].as_str().unwrap().starts_with("HTTP 503"), "{w}");
    // Several failed attempts while stale (backoff stays under the 250 ms refresh).
    wait_for(Duration::from_secs(10), "more attempts", || {
        (stub.count("/") >= before + 4).then_some(())
    });
    assert_eq!(api(&p, "/api/weather")["status"], "stale");

    stub.set("/", j1());
    let w = wait_api(&p, "/api/weather", "ok again", |v| v["status"] == "ok");
    assert!(w["error"].is_null());
    let lines = log_lines(&p, "feed weather:");
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(lines[0].contains("pending -> ok"));
    assert!(lines[1].contains("ok -> stale: HTTP 503"));
    assert!(lines[2].contains("stale -> ok"));
}

#[test]
fn a_hanging_upstream_holds_up_nothing_else() {
    let weather = Stub::start();
    weather.set("/", Reply::Hang);
    let up = Stub::start();
    up.set("/health", Reply::text(200, "ok"));
    let mut p = Portal::builder()
        .env("KITEPORTAL_WEATHER_URL", &weather.url())
        .config(&format!(
            "services_interval = \"250ms\"\n[weather]\nrefresh = \"250ms\"\n\
             [[services]]\nname = \"a\"\nurl = \"{}/health\"\n",
            up.url()
        ))
        .start();
    // The service checks keep running while the weather request hangs.
    let mut stamps = std::collections::HashSet::new();
    wait_for(Duration::from_secs(10), "three service rounds", || {
        let s = api(&p, "/api/services");
        if s["status"] == "ok" {
            assert_eq!(s["data"]["services"][0]["status"], "up");
            stamps.insert(s["data"]["services"][0]["checked_at"].as_str()?.to_string());
        }
        (stamps.len() >= 3).then_some(())
    });
    assert_eq!(get(p.addr, "/api/health", &[]).unwrap().status, 200);
    let w = wait_api(&p, "/api/weather", "timeout", |v| v["status"] == "error");
    assert_eq!(w["error"], "timed out after 2s");
    // A request stuck upstream does not hold up the shutdown either.
    assert!(p.terminate(Duration::from_secs(10)).is_some());
}

/// A minimal Server-Sent-Events client over a raw socket (chunked transfer decoded).
pub(crate) struct SseClient {
    stream: TcpStream,
    raw: Vec<u8>,
    /// The decoded event-stream text received so far.
    pub(crate) text: String,
    consumed: usize,
    status: u16,
    /// The last (zero-length) chunk arrived: the server ended the stream cleanly.
    ended: bool,
}

impl SseClient {
    pub(crate) fn connect(p: &Portal) -> SseClient {
        let mut stream = TcpStream::connect(p.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        stream
            .write_all(b"GET /api/stream HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n")
            .unwrap();
        let mut c = SseClient {
            stream,
            raw: Vec::new(),
            text: String::new(),
            consumed: 0,
            status: 0,
            ended: false,
        };
        let t = Instant::now();
        while c.status == 0 && t.elapsed() < Duration::from_secs(5) {
            c.pump();
        }
        assert_eq!(c.status, 200, "{}", String::from_utf8_lossy(&c.raw));
        c
    }

    /// Reads what is there and decodes complete chunks into `text`.
    fn pump(&mut self) {
        let mut buf = [0u8; 16384];
        match self.stream.read(&mut buf) {
            Ok(n) => self.raw.extend_from_slice(&buf[..n]),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
        if self.status == 0 {
            let Some(end) = self.raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                return;
            };
            let head = String::from_utf8_lossy(&self.raw[..end]).into_owned();
            self.status = head.split(' ').nth(1).unwrap().parse().unwrap();
            self.raw.drain(..end + 4);
        }
        loop {
            let Some(i) = self.raw.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let n =
                usize::from_str_radix(String::from_utf8_lossy(&self.raw[..i]).trim(), 16).unwrap();
            if self.raw.len() < i + 2 + n + 2 {
                return;
            }
            if n == 0 {
                self.ended = true;
            }
            self.text
                .push_str(&String::from_utf8_lossy(&self.raw[i + 2..i + 2 + n]));
            self.raw.drain(..i + 2 + n + 2);
        }
    }

    /// The next event named `name` (earlier events of other names are skipped); its data.
    pub(crate) fn next_event(&mut self, name: &str, limit: Duration) -> Option<Value> {
        let t = Instant::now();
        loop {
            while let Some(end) = self.text[self.consumed..].find("\n\n") {
                let frame = self.text[self.consumed..self.consumed + end].to_string();
                self.consumed += end + 2;
                let mut event = None;
                let mut data = None;
                for line in frame.lines() {
                    if let Some(e) = line.strip_prefix("event: ") {
                        event = Some(e.to_string());
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data = Some(d.to_string());
                    }
                }
                if event.as_deref() == Some(name) {
                    return Some(serde_json::from_str(&data.unwrap()).unwrap());
                }
            }
            if t.elapsed() > limit {
                return None;
            }
            self.pump();
        }
    }
}

fn without_age(mut v: Value) -> Value {
    v["age_seconds"] = Value::Null;
    v
}

#[test]
fn stream_sends_every_event_at_once_then_changes() {
    let stub = Stub::start();
    stub.set("/", j1());
    let p = weather_portal(&stub, "");
    wait_api(&p, "/api/weather", "ok", |v| v["status"] == "ok");
    // Whether this build samples the host: then a metrics event must arrive too.
    let sampling = {
        let t = Instant::now();
        loop {
            if get(p.addr, "/api/metrics", &[]).unwrap().status == 200 {
                break true;
            }
            if t.elapsed() > Duration::from_secs(3) {
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let mut sse = SseClient::connect(&p);
    let first = Instant::now();
    while !sse.text.contains("event: hosts") && first.elapsed() < Duration::from_secs(5) {
        sse.pump();
    }
    assert!(sse.text.starts_with("retry: "), "{}", sse.text);
    for e in ["weather", "activity", "services", "hosts"] {
        assert!(
            sse.text.contains(&format!("event: {e}\ndata: {{")),
            "{e}: {}",
            sse.text
        );
    }
    let w = sse.next_event("weather", Duration::from_secs(1)).unwrap();
    assert_eq!(w["status"], "ok");
    assert_eq!(without_age(w), without_age(api(&p, "/api/weather")));
    if sampling {
        let mut m = SseClient::connect(&p);
        let sample = m.next_event("metrics", Duration::from_secs(10)).unwrap();
        assert_eq!(sample["host"], "testhost");
    } else {
        eprintln!("no host sampler in this build: metrics event not checked");
    }

    // The upstream fails: a weather event with the new status arrives by itself.
    stub.set("/", Reply::text(503, "down for maintenance"));
    let w = sse
        .next_event("weather", Duration::from_secs(10))
        .expect("a weather event after the change");
    assert_eq!(w["status"], "stale", "{w}");
    assert_eq!(
        w["error"],
        "HTTP 503 from ".to_string() + &stub.addr.to_string() + ": down for maintenance"
    );
    assert_eq!(w["data"]["temp_c"].as_f64(), Some(9.0));
    let now = api(&p, "/api/weather");
    assert_eq!(without_age(w), without_age(now));
}

#[test]
fn stream_clients_are_bounded() {
    // Service rounds every 250 ms publish (their check times change), so a client that
    // went away is noticed at the next write and its slot freed.
    let p = Portal::builder()
        .config(&format!(
            "services_interval = \"250ms\"\n[stream]\nmax_clients = 1\n\
             [[services]]\nname = \"x\"\nurl = \"http://127.0.0.1:{}/\"\n",
            closed_port()
        ))
        .start();
    let mut first = SseClient::connect(&p);
    first
        .next_event("services", Duration::from_secs(5))
        .unwrap();
    let r = get(p.addr, "/api/stream", &[]).unwrap();
    assert_eq!(r.status, 503);
    assert!(r.header("retry-after").is_some());
    assert!(r.json()["error"].as_str().unwrap().contains("too many"));
    drop(first);
    // The slot is freed when the client goes away.
    let mut again = wait_for(Duration::from_secs(10), "a free slot", || {
        let mut s = TcpStream::connect(p.addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(b"GET /api/stream HTTP/1.1\r\nHost: t\r\n\r\n")
            .ok()?;
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).ok()?;
        String::from_utf8_lossy(&buf[..n])
            .starts_with("HTTP/1.1 200")
            .then_some(s)
    });
    let _ = again.flush();
}

#[test]
fn shutdown_ends_open_streams_cleanly() {
    let mut p = Portal::builder().start();
    let mut sse = SseClient::connect(&p);
    sse.next_event("hosts", Duration::from_secs(5)).unwrap();
    let status = p.terminate(Duration::from_secs(10)).expect("exits");
    assert!(status.success(), "{status}");
    let t = Instant::now();
    while !sse.ended && t.elapsed() < Duration::from_secs(2) {
        sse.pump();
    }
    // The stream got its final chunk: it was ended by the server, not cut by the exit.
    assert!(sse.ended);
}

#[test]
fn services_up_down_and_head_refused() {
    let stub = Stub::start();
    stub.set("/up", Reply::text(200, "ok"));
    stub.set("/down", Reply::text(500, "broken"));
    stub.set_for(Some("HEAD"), "/nohead", Reply::text(405, ""));
    stub.set_for(Some("GET"), "/nohead", Reply::text(200, "hello"));
    stub.set("/teapot", Reply::text(418, "short and stout"));
    stub.set(
        "/login",
        Reply::text(302, "").header("Location", "https://sso.example/"),
    );
    stub.set("/health", Reply::text(200, "ok"));
    let u = stub.url();
    let closed = closed_port();
    let svc = |name: &str, url: String, extra: &str| {
        format!("[[services]]\nname = \"{name}\"\nurl = \"{url}\"\n{extra}\n")
    };
    let cfg = [
        "services_interval = \"250ms\"\n".to_string(),
        svc("up", format!("{u}/up"), "group = \"Core\"\nicon = \"i\""),
        svc("down", format!("{u}/down"), ""),
        svc("nohead", format!("{u}/nohead"), ""),
        svc("teapot", format!("{u}/teapot"), "accept_status = [418]"),
        svc("sso", format!("{u}/login"), ""),
        svc("closed", format!("http://127.0.0.1:{closed}/"), ""),
        svc(
            "checked",
            format!("{u}/landing"),
            &format!("check_url = \"{u}/health\""),
        ),
    ]
    .concat();
    let p = Portal::builder().config(&cfg).start();
    // Down needs two failed checks in a row: wait for the second round.
    let s = wait_api(&p, "/api/services", "two rounds", |v| {
        v["data"]["summary"]["down"] == 2
    });
    let d = s["data"]["services"].as_array().unwrap();
    let got: Vec<(&str, &str, Value)> = d
        .iter()
        .map(|x| {
            (
                x["name"].as_str().unwrap(),
                x["status"].as_str().unwrap(),
                x["http_status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("up", "up", json!(200)),
            ("down", "down", json!(500)),
            ("nohead", "up", json!(200)),
            ("teapot", "up", json!(418)),
            ("sso", "up", json!(302)),
            ("closed", "down", Value::Null),
            ("checked", "up", json!(200)),
        ]
    );
    assert!(d[0]["latency_ms"].is_u64() && d[0]["checked_at"].is_string());
    assert_eq!(
        s["data"]["summary"],
        json!({"up": 5, "down": 2, "unknown": 0, "maintenance": 0, "total": 7})
    );
    let reasons: Vec<&Value> = d.iter().map(|x| &x["reason"]).collect();
    assert_eq!(
        reasons,
        [
            &Value::Null,
            &json!("HTTP 500"),
            &Value::Null,
            &Value::Null,
            &Value::Null,
            &json!("connection refused"),
            &Value::Null
        ]
    );
    for x in d {
        assert_eq!(x["history"].as_array().unwrap().len(), 48);
        assert_eq!(x["source"], "probe");
        assert!(
            x["since"].is_string() && x["uptime"]["24h"].is_number(),
            "{x}"
        );
    }
    assert_eq!(d[0]["group"], "Core");
    assert!(d[5]["latency_ms"].is_null() && d[5]["checked_at"].is_string());
    assert_eq!(d[6]["url"], format!("{u}/landing"));
    let seen = stub.seen();
    let nohead: Vec<&str> = seen
        .iter()
        .filter(|s| s.path() == "/nohead")
        .map(|s| s.method.as_str())
        .take(2)
        .collect();
    assert_eq!(nohead, ["HEAD", "GET"]);
    assert!(seen
        .iter()
        .filter(|s| s.path() == "/up")
        .all(|s| s.method == "HEAD"));
    assert_eq!(stub.count("/landing"), 0);
}

#[test]
fn hosts_lists_self_and_peers() {
    // A stub replica answering with a recorded sample, and one that is down.
    let sample = kiteportal::host::Sample {
        host: "stubpeer".into(),
        timestamp: chrono::Utc::now(),
        interval_seconds: 2.0,
        processes: Some(42),
        ..Default::default()
    };
    let stub = Stub::start();
    stub.set(
        "/api/metrics",
        Reply::json(200, serde_json::to_vec(&sample).unwrap()),
    );
    // The other replica: a second portal process.
    let peer = Portal::builder()
        .env("KITEPORTAL_HOSTNAME", "peerhost")
        .config("[metrics]\ninterval = \"250ms\"")
        .start();
    // Whether this build samples the host (then the peer must show up "ok").
    let peer_samples = {
        let t = Instant::now();
        loop {
            if get(peer.addr, "/api/metrics", &[]).unwrap().status == 200 {
                break true;
            }
            if t.elapsed() > Duration::from_secs(3) {
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let closed = closed_port();
    let p = Portal::builder()
        .config(&format!(
            "[[peers]]\nname = \"kscloud1\"\nurl = \"{}\"\n\
             [[peers]]\nname = \"peerhost\"\nurl = \"http://{}\"\n\
             [[peers]]\nname = \"gone\"\nurl = \"http://127.0.0.1:{closed}\"\n",
            stub.url(),
            peer.addr
        ))
        .start();
    let h = wait_api(&p, "/api/hosts", "every peer tried", |v| {
        v["data"]
            .as_array()
            .is_some_and(|d| d.iter().skip(1).all(|e| e["status"] != "pending"))
    });
    let d = h["data"].as_array().unwrap();
    let names: Vec<(&str, bool)> = d
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["self"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("testhost", true),
            ("kscloud1", false),
            ("peerhost", false),
            ("gone", false)
        ]
    );
    assert_eq!(d[1]["status"], "ok");
    assert_eq!(d[1]["metrics"]["host"], "stubpeer");
    assert_eq!(d[1]["metrics"]["processes"], 42);
    if peer_samples {
        let h = wait_api(&p, "/api/hosts", "the portal peer", |v| {
            v["data"][2]["status"] == "ok"
        });
        assert_eq!(h["data"][2]["metrics"]["host"], "peerhost");
    } else {
        // The peer answers 503 "no sample yet": an error that says so.
        assert_eq!(d[2]["status"], "error", "{h}");
    }
    assert_eq!(d[3]["status"], "error");
    assert!(d[3]["metrics"].is_null());
    assert_eq!(h["status"], "stale");
}

#[test]
fn tls_failures_are_errors_with_a_reason() {
    // An https:// URL whose server answers the ClientHello with plain HTTP bytes, as a
    // misconfigured proxy would: the handshake fails at once.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(200) {
            let Ok(mut c) = conn else { break };
            let _ = std::io::Write::write_all(
                &mut c,
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let p = Portal::builder()
        .env("KITEPORTAL_WEATHER_URL", &format!("https://{addr}"))
        .config("[weather]\nrefresh = \"250ms\"")
        .start();
    let w = wait_api(&p, "/api/weather", "a TLS error", |v| {
        v["status"] == "error"
    });
    let e = w["error"].as_str().unwrap().to_lowercase();
    assert!(
        e.contains("tls") || e.contains("handshake") || e.contains("corrupt"),
        "{w}"
    );
    assert!(w["data"].is_null());
    assert_eq!(api(&p, "/api/health")["ok"], true);
}
