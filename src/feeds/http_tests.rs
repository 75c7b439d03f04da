//! Unit tests of the shared HTTP client: reasons, caps and the log guard, over a real
//! socket where the client itself is under test.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A response as the client hands it over: no redirect, no Retry-After.
fn fetched(status: u16, content_type: &str, body: &[u8]) -> Fetched {
    Fetched {
        status,
        content_type: Some(content_type.into()),
        location: None,
        retry_after: None,
        body: body.to_vec(),
    }
}

#[test]
fn reasons_are_short_and_quote_the_upstream() {
    let f = fetched(
        503,
        "text/plain",
        b"\nSorry, we are running out of queries\nmore\n",
    );
    let e = f.expect_ok("wttr.in").unwrap_err();
    assert_eq!(
        e.detail,
        "HTTP 503 from wttr.in: Sorry, we are running out of queries"
    );
    assert_eq!(e.reason, Reason::Http(503));
    let r = Fetched {
        status: 302,
        location: Some("https://evil.example/login".into()),
        ..f
    };
    assert!(r
        .expect_ok("h")
        .unwrap_err()
        .detail
        .contains("redirected to https://evil.example/login"));
}

#[test]
fn json_error_bodies_give_their_message() {
    let api = b"{\n  \"message\": \"token is required\",\n  \"url\": \"x\"\n}";
    assert_eq!(error_text(api), "token is required");
    assert_eq!(
        error_text(br#"{"ok": false, "error": "deadline"}"#),
        "deadline"
    );
    assert_eq!(error_text(br#"{"message": ""}"#), "");
    assert_eq!(error_text(br#"{"a": 1}"#), r#"{"a": 1}"#);
    assert_eq!(
        error_text(br#"{"status": "fail", "msg": "Status Page Not Found"}"#),
        "Status Page Not Found"
    );
    assert_eq!(
        error_text(br#"{"error": {"code": 5}}"#),
        r#"{"error": {"code": 5}}"#
    );
    assert_eq!(error_text(b"plain\ntext"), "plain");
}

#[test]
fn json_errors_say_where() {
    let e = parse_json::<serde_json::Value>(b"{\"a\": ")
        .unwrap_err()
        .detail;
    assert!(e.starts_with("invalid JSON: EOF while parsing"), "{e}");
    let e = parse_json::<serde_json::Value>(b"Unknown location; please try ~1,2")
        .unwrap_err()
        .detail;
    assert_eq!(e, "not JSON: Unknown location; please try ~1,2");
    let e = parse_json::<serde_json::Value>(b"  ").unwrap_err().detail;
    assert_eq!(e, "empty body instead of JSON");
}

#[test]
fn html_is_not_data() {
    let f = fetched(
        200,
        "text/html; charset=utf-8",
        b"<!doctype html><title>Login</title>",
    );
    let e = f.json::<serde_json::Value>("h").unwrap_err().detail;
    assert!(e.starts_with("expected JSON from h, got text/html"), "{e}");
}

/// A logger that takes everything and counts what reached it.
#[derive(Default)]
struct Count(AtomicUsize);
impl log::Log for Count {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, _: &log::Record) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    fn flush(&self) {}
}

#[test]
fn client_logs_below_info_are_silenced() {
    use log::{Level, Log};
    type G = ClientLogGuard<Count>;
    assert!(G::silenced("ureq_proto::util", Level::Trace));
    assert!(G::silenced("ureq", Level::Debug));
    assert!(G::silenced("rustls::client::hs", Level::Debug));
    assert!(!G::silenced("ureq::run", Level::Warn));
    assert!(!G::silenced("ureqx", Level::Trace));
    assert!(!G::silenced("kiteportal::feeds", Level::Trace));
    let g = ClientLogGuard(Count::default());
    let m = log::Metadata::builder()
        .target("ureq::run")
        .level(Level::Debug)
        .build();
    assert!(!g.enabled(&m));
}

#[test]
fn transport_failures_get_their_class() {
    let io = |kind, msg: &str| ureq::Error::Io(std::io::Error::new(kind, msg.to_string()));
    let class = |e: ureq::Error| reason(&e, 10.0).reason;
    use std::io::ErrorKind as K;
    assert_eq!(class(ureq::Error::HostNotFound), Reason::Dns);
    assert_eq!(
        class(io(
            K::Other,
            "failed to lookup address information: Temporary failure in name resolution"
        )),
        Reason::Dns
    );
    assert_eq!(class(io(K::ConnectionRefused, "refused")), Reason::Refused);
    assert_eq!(class(io(K::TimedOut, "slow")), Reason::Timeout);
    assert_eq!(
        class(io(K::InvalidData, "received fatal alert: HandshakeFailure")),
        Reason::Tls
    );
    assert_eq!(
        class(io(K::ConnectionReset, "reset by peer")),
        Reason::Unreachable
    );
    assert_eq!(
        class(ureq::Error::Timeout(ureq::Timeout::Global)),
        Reason::Timeout
    );
}

#[test]
fn helpers() {
    assert_eq!(encode_segment("New York, NY"), "New%20York%2C%20NY");
    assert_eq!(encode_segment("~Eiffel"), "~Eiffel");
    assert_eq!(encode_segment("Zürich"), "Z%C3%BCrich");
    assert_eq!(host_of("https://wttr.in/x?y"), "wttr.in");
    assert_eq!(host_of("http://127.0.0.1:9/api"), "127.0.0.1:9");
    assert_eq!(first_line(b"\r\n  a\x07b \nc"), "ab");
    assert_eq!(timeout_for(Duration::from_millis(250)), MIN_TIMEOUT);
    assert_eq!(timeout_for(Duration::from_secs(1800)), MAX_TIMEOUT);
}

#[test]
fn a_body_is_read_whole_up_to_the_cap_and_refused_past_it() {
    use super::super::stub::{Reply, Stub};
    let big =
        |len: u64| Reply::with_type(200, "application/octet-stream", vec![b'x'; len as usize]);
    let stub = Stub::start();
    stub.set("/full", big(MAX_BODY));
    stub.set("/over", big(MAX_BODY + 1));
    let a = agent(Duration::from_secs(5));
    let full = get(&a, &format!("{}/full", stub.url()), &[]).expect("a body of the cap");
    assert_eq!(full.body.len() as u64, MAX_BODY);
    assert_eq!(
        full.content_type.as_deref(),
        Some("application/octet-stream")
    );
    let over = get(&a, &format!("{}/over", stub.url()), &[]).expect_err("past the cap");
    assert_eq!(over.reason, Reason::BadData);
    assert_eq!(over.detail, "body larger than 1 MiB");
    // HEAD reads no body; the header the caller passed went on the request.
    let head = request(
        &a,
        Method::Head,
        &format!("{}/full", stub.url()),
        &[("X-Probe", "1")],
        true,
    )
    .expect("HEAD");
    assert_eq!((head.status, head.body.len()), (200, 0));
    let seen = stub.seen();
    assert!(
        seen.last().is_some_and(|h| h.method == "HEAD"
            && h.path() == "/full"
            && h.header("x-probe") == Some("1")),
        "{seen:?}"
    );
}

#[test]
fn json_types_are_data_and_html_or_xhtml_are_not() {
    let with = |ct: &str| fetched(200, ct, br#"{"a": 1}"#);
    for ok in [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
    ] {
        assert!(with(ok).json::<serde_json::Value>("h").is_ok(), "{ok}");
    }
    for bad in ["application/xhtml+xml", "TEXT/HTML"] {
        let e = with(bad).json::<serde_json::Value>("h").expect_err(bad);
        assert_eq!(e.reason, Reason::BadData, "{bad}");
    }
}

#[test]
fn transport_failures_say_what_happened_in_a_few_words() {
    use std::io::ErrorKind as K;
    let io = |kind| ureq::Error::Io(std::io::Error::from(kind));
    let said = |e: ureq::Error, secs| reason(&e, secs);
    assert_eq!(
        said(io(K::ConnectionReset), 10.0).detail,
        "connection reset"
    );
    assert_eq!(
        said(io(K::UnexpectedEof), 10.0).detail,
        "connection closed early"
    );
    assert_eq!(
        said(io(K::ConnectionRefused), 10.0).detail,
        "connection refused"
    );
    let t = said(ureq::Error::Timeout(ureq::Timeout::Global), 2.5);
    assert_eq!(
        (t.reason, t.detail.as_str()),
        (Reason::Timeout, "timed out after 2.5s")
    );
    assert_eq!(said(io(K::TimedOut), 10.0).detail, "timed out after 10s");
    assert_eq!(said(ureq::Error::TlsRequired, 10.0).reason, Reason::Tls);
    assert_eq!(
        said(ureq::Error::HostNotFound, 10.0).detail,
        "host not found (DNS)"
    );
}

#[test]
fn the_guard_passes_on_what_it_does_not_silence() {
    use log::Log;
    let g = ClientLogGuard(Count::default());
    let record = |target, level| {
        g.log(
            &log::Record::builder()
                .target(target)
                .level(level)
                .args(format_args!("x"))
                .build(),
        );
    };
    record("kiteportal::feeds", log::Level::Info);
    record("ureq::run", log::Level::Warn);
    record("ureq::run", log::Level::Debug);
    assert_eq!(g.0 .0.load(Ordering::Relaxed), 2);
}

#[test]
fn json_of_the_wrong_shape_is_invalid_and_text_is_not_json() {
    #[derive(Debug, serde::Deserialize)]
    struct Shape {
        #[allow(dead_code)]
        a: u32,
    }
    let wrong = parse_json::<Shape>(b"42").unwrap_err().detail;
    assert!(wrong.starts_with("invalid JSON: invalid type"), "{wrong}");
    let text = parse_json::<Shape>(b"Unknown location; please try ~Eiffel")
        .unwrap_err()
        .detail;
    assert_eq!(text, "not JSON: Unknown location; please try ~Eiffel");
}
