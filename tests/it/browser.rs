//! The portal page in real headless Chromium, driven over W3C WebDriver (`chromedriver`
//! on a loopback port, spoken to with ureq + serde_json): no console errors, live values,
//! the host switcher, feed states, untrusted text staying text, the no-JS page, and the
//! 360 px layout. Screenshots land in `target/screenshots/`.
//!
//! Without chromium/chromedriver the tests skip with a message, unless `CI=true`, where
//! they fail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{fixture, free_port, get, Portal};
use crate::stub::{Reply, Stub};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long any wait in these tests may take before it fails (a bound, not a timing claim).
const WAIT: Duration = Duration::from_secs(15);

/// One browser at a time: the machine is small and Chromium is not.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// chromedriver on a free loopback port; killed on drop.
struct Driver {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Driver {
    /// Starts chromedriver, or returns `None` (skip) when the browser is not installed
    /// locally. In CI a missing browser is a failure.
    fn start() -> Option<Driver> {
        let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
            .into_iter()
            .filter(|p| !Path::new(p).exists())
            .collect();
        if !missing.is_empty() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but {missing:?} not installed (apt-get install chromium chromium-driver)"
            );
            eprintln!("skipping browser test: {missing:?} not installed");
            return None;
        }
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let d = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            agent,
        };
        let t = Instant::now();
        loop {
            if let Ok(mut r) = d.agent.get(format!("{}/status", d.base)).call() {
                let v: Value = r.body_mut().read_json().unwrap_or_default();
                if v["value"]["ready"] == true {
                    return Some(d);
                }
            }
            assert!(t.elapsed() < WAIT, "chromedriver did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends one command; panics with the driver's message on a WebDriver error.
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{}", self.base, path);
        let resp = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self.agent.post(&url).send_json(body.unwrap_or(json!({}))),
        };
        let mut resp = resp.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let v: Value = resp
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_json()
            .unwrap_or_else(|e| panic!("{method} {path}: bad JSON: {e}"));
        if !resp.status().is_success() {
            panic!("{method} {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    /// A new browser session; `javascript: false` turns scripts off for the profile.
    fn session(&self, javascript: bool) -> Session<'_> {
        let profile = tempfile::tempdir().unwrap();
        let mut prefs = json!({});
        if !javascript {
            prefs = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic",
                    "--hide-scrollbars", "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": prefs,
            }
        }}});
        let v = self.cmd("POST", "/session", Some(caps));
        let id = v["sessionId"].as_str().unwrap().to_string();
        Session {
            driver: self,
            id,
            _profile: profile,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Session<'a> {
    driver: &'a Driver,
    id: String,
    _profile: tempfile::TempDir,
}

impl Session<'_> {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver
            .cmd(method, &format!("/session/{}{}", self.id, path), body)
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its result.
    fn js(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// The text of the first element matching `css` ("" when there is none).
    fn text(&self, css: &str) -> String {
        self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';",
            json!([css]),
        )
        .as_str()
        .unwrap_or("")
        .to_string()
    }

    /// How many elements match `css`.
    fn count(&self, css: &str) -> u64 {
        self.js(
            "return document.querySelectorAll(arguments[0]).length;",
            json!([css]),
        )
        .as_u64()
        .unwrap_or(0)
    }

    fn attr(&self, css: &str, name: &str) -> String {
        self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;",
            json!([css, name]),
        )
        .as_str()
        .unwrap_or("")
        .to_string()
    }

    /// Sizes the viewport (not the window) to `w` × `h` CSS pixels.
    fn viewport(&self, w: i64, h: i64) {
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({ "width": w, "height": h })),
        );
        let inner = self.js("return [window.innerWidth, window.innerHeight];", json!([]));
        let (iw, ih) = (inner[0].as_i64().unwrap(), inner[1].as_i64().unwrap());
        if (iw, ih) != (w, h) {
            self.cmd(
                "POST",
                "/window/rect",
                Some(json!({ "width": 2 * w - iw, "height": 2 * h - ih })),
            );
        }
    }

    fn click(&self, css: &str) {
        let e = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        let id = e["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap()
            .to_string();
        self.cmd("POST", &format!("/element/{id}/click"), None);
    }

    /// Polls `f` until it returns `Some`, for at most `limit`.
    fn wait<T>(&self, what: &str, limit: Duration, mut f: impl FnMut(&Self) -> Option<T>) -> T {
        let t = Instant::now();
        loop {
            if let Some(v) = f(self) {
                return v;
            }
            assert!(t.elapsed() < limit, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Browser console entries at SEVERE level (errors, CSP violations, failed loads).
    fn console_errors(&self) -> Vec<String> {
        let logs = self.cmd("POST", "/se/log", Some(json!({ "type": "browser" })));
        logs.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or("").to_string())
            .collect()
    }

    fn screenshot(&self, name: &str) {
        let b64 = self.cmd("GET", "/screenshot", None);
        let png = base64_decode(b64.as_str().unwrap());
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), png).unwrap();
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let url = format!("{}/session/{}", self.driver.base, self.id);
        let _ = self.driver.agent.delete(&url).call();
    }
}

/// Standard base64 (screenshots), without a dependency for it.
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

const EVIL: &str = "<img src=x onerror=window.__pwned=1> fix: escape commit messages";

/// A Forgejo on 127.0.0.1 (the recorded bodies) with one repository whose newest commit
/// message tries to be HTML.
fn evil_forgejo() -> Stub {
    let read = |rel: &str| -> Value {
        serde_json::from_slice(&std::fs::read(fixture(rel)).unwrap()).unwrap()
    };
    let mut search = read("forgejo/repos_search.json");
    search["data"].as_array_mut().unwrap().truncate(1);
    let mut commits = read("forgejo/repo_commits_fast.json");
    commits[0]["commit"]["message"] = json!(format!("{EVIL}\n\n<script>window.__pwned=2</script>"));
    let stub = Stub::start();
    stub.set("/api/v1/repos/search", Reply::json(200, search.to_string()));
    stub.set(
        "/api/v1/repos/user2/kiteportal/commits",
        Reply::json(200, commits.to_string()),
    );
    stub
}

/// A portal sampling every 250 ms, with no services (nothing to probe) unless `extra`
/// lists some.
fn fast_portal(name: &str, extra: &str) -> Portal {
    let services = if extra.contains("[[services]]") {
        ""
    } else {
        "services = []\n"
    };
    Portal::builder()
        .config(&format!(
            "{services}{extra}\n[metrics]\ninterval = \"250ms\"\n"
        ))
        .env("KITEPORTAL_HOSTNAME", name)
        .start()
}

/// Services on loopback ports where nothing listens: they check as down, no traffic
/// leaves the machine.
fn loopback_services() -> String {
    let mut t = String::new();
    for (name, icon, group) in [
        ("Forgejo", "forgejo", "Core"),
        ("Grafana", "grafana", "Ops"),
        ("Mystery", "no-such-icon", "Ops"),
    ] {
        t.push_str(&format!(
            "[[services]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:{}/\"\ndescription = \"{name} on loopback\"\nicon = \"{icon}\"\ngroup = \"{group}\"\n",
            crate::common::closed_port()
        ));
    }
    t
}

/// A 60-character name without a break opportunity.
const LONG_NAME: &str = "Averyveryveryverylongservicenamewithoutanyspacesatallinsideit";

/// Services on a stub: two up (with landing pages), one at a closed port (down), one
/// with a name no card can fit on one line.
fn services_stub() -> (Stub, String) {
    let stub = Stub::start();
    for p in ["/grafana", "/forgejo", "/long"] {
        stub.set(
            p,
            Reply::with_type(200, "text/html", "<!doctype html><title>landing</title>"),
        );
    }
    let u = stub.url();
    let mut cfg = String::from("services_interval = \"250ms\"\n");
    for (name, url, desc, group) in [
        ("Forgejo", format!("{u}/forgejo"), "Git hosting", "Core"),
        (
            "Grafana",
            format!("{u}/grafana"),
            "Dashboards for both hosts",
            "Ops",
        ),
        (
            LONG_NAME,
            format!("{u}/long"),
            "Adescriptionthatisalsofartoolongtofitonanyphonescreenwithoutwrapping",
            "Ops",
        ),
        (
            "Kavita",
            format!("http://127.0.0.1:{}/", crate::common::closed_port()),
            "eBooks",
            "Library",
        ),
    ] {
        cfg.push_str(&format!(
            "[[services]]\nname = \"{name}\"\nurl = \"{url}\"\ndescription = \"{desc}\"\ngroup = \"{group}\"\n"
        ));
    }
    (stub, cfg)
}

/// Layout facts at the current viewport, measured in the page.
fn layout(s: &Session) -> Value {
    s.js(
        r#"
        const r = (e) => e ? e.getBoundingClientRect() : null;
        const svc = r(document.querySelector('#services')), sys = r(document.querySelector('#sys'));
        const cards = [...document.querySelectorAll('.card a')];
        const overflow = cards.filter((a) => a.scrollWidth > a.clientWidth + 1 ||
            [...a.querySelectorAll('.name, .desc, .state, .hist')].some((c) => r(c).right > r(a).right + 1))
            .map((a) => a.textContent.trim().slice(0, 40));
        const rows = new Map();
        for (const a of cards) {
            const b = r(a), k = `${a.closest('ul').dataset.k || ''}${Math.round(b.top)}`;
            if (!rows.has(k)) rows.set(k, new Set());
            rows.get(k).add(Math.round(b.height));
        }
        const small = [...document.querySelectorAll('body *')].filter((e) =>
            !e.closest('.sr, svg, [hidden]') && [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()) &&
            parseFloat(getComputedStyle(e).fontSize) < 12).map((e) => e.className || e.tagName);
        const targets = [...document.querySelectorAll('.card a, .summary a, .host-tab, #find')]
            .filter((e) => !e.hidden && r(e).width > 0)
            .filter((e) => r(e).width < 24 || r(e).height < 24).map((e) => e.className || e.id);
        const first = r(document.querySelector('.card a'));
        return { scroll: document.documentElement.scrollWidth, width: innerWidth, height: innerHeight,
          svcTop: svc.top + scrollY, sysTop: sys.top + scrollY, svcWidth: svc.width,
          headBottom: r(document.querySelector('header.top')).bottom + scrollY,
          svcHead: r(document.querySelector('#svc-h')).top + scrollY, firstCardBottom: first.bottom + scrollY,
          overflow, unevenRows: [...rows.values()].filter((h) => h.size > 1).length, small, targets };
        "#,
        json!([]),
    )
}

#[test]
fn services_come_first_with_summary_bar_and_no_overflow() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let (_stub, cfg) = services_stub();
    let portal = fast_portal("testhost", &cfg);
    let s = d.session(true);
    s.viewport(390, 844);
    s.goto(&portal.url("/"));
    // Kavita is down after two failed checks; the page says so without a reload.
    s.wait("the summary to report the outage", WAIT, |s| {
        (s.attr("#summary", "data-health") == "down").then_some(())
    });
    let summary = s.text("#summary-text");
    assert!(summary.starts_with("3/4 up · Kavita down "), "{summary}");
    assert!(
        s.text(".feed[data-feed=services] .feed-label")
            .starts_with("3/4 up"),
        "the badge contradicts the cards"
    );
    assert_eq!(s.attr(".feed[data-feed=services]", "data-health"), "down");
    let kavita = ".card[data-name=Kavita]";
    assert_eq!(s.attr(kavita, "data-status"), "down");
    assert_eq!(s.text(&format!("{kavita} .why")), "connection refused");
    assert!(s
        .text(&format!("{kavita} .since"))
        .starts_with("down since "));
    // The 24 h bar: 48 cells and a text equivalent.
    assert_eq!(s.count(&format!("{kavita} .bar24 rect")), 48);
    let label = s.attr(&format!("{kavita} .bar24"), "aria-label");
    assert!(
        label.starts_with("last 24 h: 0") && label.contains("up"),
        "{label}"
    );
    assert_eq!(s.attr(&format!("{kavita} .bar24"), "role"), "img");
    // The live update reads exactly like the server's first paint.
    let html = get(portal.addr, "/", &[])
        .unwrap()
        .text()
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    for (css, text) in [
        ("#summary-text", s.text("#summary-text")),
        (
            ".card[data-name=Kavita] .since time",
            s.text(&format!("{kavita} .since time")),
        ),
        (
            ".card[data-name=Kavita] .upt",
            s.text(&format!("{kavita} .upt")),
        ),
    ] {
        assert!(
            html.contains(&format!(">{text}<")),
            "{css}: {text:?} not in the first paint"
        );
    }
    assert!(html.contains(&format!("aria-label=\"{label}\"")), "{label}");
    assert!(s.count(".bar24 rect[data-share=ok]") >= 3);

    let l = layout(&s);
    assert!(l["svcTop"].as_f64() < l["sysTop"].as_f64(), "{l}");
    assert!(
        l["svcTop"].as_f64().unwrap() - l["headBottom"].as_f64().unwrap() < 40.0,
        "services do not follow the header: {l}"
    );
    s.screenshot("services-phone.png");

    for (w, h) in [
        (320, 700),
        (390, 844),
        (768, 1024),
        (1440, 900),
        (2560, 1440),
    ] {
        // A resize can land late; size again until the viewport is what was asked.
        for _ in 0..5 {
            s.viewport(w, h);
            std::thread::sleep(Duration::from_millis(100));
            let l = layout(&s);
            if (l["width"].as_i64(), l["height"].as_i64()) == (Some(w), Some(h)) {
                break;
            }
        }
        let l = layout(&s);
        assert_eq!(
            (l["width"].as_i64(), l["height"].as_i64()),
            (Some(w), Some(h))
        );
        assert!(
            l["scroll"].as_i64().unwrap() <= w,
            "{w} px scrolls sideways: {l}"
        );
        assert_eq!(
            l["overflow"],
            json!([]),
            "{w} px: content overflows its card"
        );
        assert_eq!(
            l["unevenRows"], 0,
            "{w} px: cards in a row differ in height: {l}"
        );
        assert_eq!(l["small"], json!([]), "{w} px: text under 12 px");
        assert_eq!(l["targets"], json!([]), "{w} px: touch targets under 24 px");
        if w == 1440 {
            assert!(l["firstCardBottom"].as_f64().unwrap() <= 900.0, "{l}");
            assert!(l["svcHead"].as_f64().unwrap() < 900.0);
            s.screenshot("services-desktop.png");
        }
        if w == 2560 {
            assert!(
                l["svcWidth"].as_f64().unwrap() > 0.8 * 2560.0,
                "a narrow column at 2560 px: {l}"
            );
            s.screenshot("services-2560.png");
        }
    }
    let errors = s.console_errors();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
}

impl Session<'_> {
    /// Types `keys` into whatever has focus (WebDriver key actions; "\u{E007}" is
    /// Enter, "\u{E00C}" Escape).
    fn press(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                [
                    json!({"type": "keyDown", "value": c.to_string()}),
                    json!({"type": "keyUp", "value": c.to_string()}),
                ]
            })
            .collect();
        self.cmd(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        );
    }

    fn visible_cards(&self) -> Vec<String> {
        let v = self.js(
            "return [...document.querySelectorAll('.card')].filter((c) => !c.hidden && c.offsetParent).map((c) => c.dataset.name);",
            json!([]),
        );
        serde_json::from_value(v).unwrap()
    }
}

#[test]
fn type_to_launch_filters_and_opens() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let (stub, cfg) = services_stub();
    let portal = fast_portal("testhost", &cfg);

    // Without JavaScript: no search box, every link there.
    let s = d.session(false);
    s.goto(&portal.url("/"));
    assert_eq!(
        s.js(
            "const f = document.querySelector('#find'); return f.hidden && getComputedStyle(f).visibility === 'hidden';",
            json!([])
        ),
        true
    );
    assert_eq!(s.count(".card a[href^='http']"), 4);
    drop(s);

    let s = d.session(true);
    s.viewport(1440, 900);
    s.goto(&portal.url("/"));
    // A labelled search box for screen readers.
    assert_eq!(s.attr("#find", "aria-label"), "Find a service");
    // "/" focuses it; typing filters by name, description or group.
    s.press("/");
    assert_eq!(s.js("return document.activeElement.id;", json!([])), "find");
    s.press("dash");
    assert_eq!(s.visible_cards(), ["Grafana"]);
    s.press("\u{E00C}");
    assert_eq!(s.visible_cards().len(), 4);
    assert_ne!(s.js("return document.activeElement.id;", json!([])), "find");
    // Typing with nothing focused starts a search too; a group name matches.
    s.press("library");
    assert_eq!(
        s.js("return document.querySelector('#find').value;", json!([])),
        "library"
    );
    assert_eq!(s.visible_cards(), ["Kavita"]);
    s.press("\u{E00C}");
    s.press("/forg");
    assert_eq!(s.visible_cards(), ["Forgejo"]);
    // Enter opens the first match.
    s.press("\u{E007}");
    s.wait("the service's page", WAIT, |s| {
        s.js("return location.href;", json!([]))
            .as_str()
            .is_some_and(|h| h.ends_with("/forgejo"))
            .then_some(())
    });
    assert!(stub.count("/forgejo") >= 1);
}

fn shot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

#[test]
fn page_loads_clean_and_goes_live() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let portal = fast_portal("testhost", &loopback_services());
    let s = d.session(true);
    s.viewport(1440, 900);
    s.goto(&portal.url("/"));
    let icons = s.count(".card .ico svg");
    assert_eq!(
        icons, 3,
        "every service has an icon, unknown ones the generic glyph"
    );
    s.wait("the live indicator", WAIT, |s| {
        (s.attr("#live", "data-state") == "live").then_some(())
    });
    // Values change live: the sample time shown moves on by itself, and the CPU
    // percentage is a number once two samples exist.
    let first = s.attr("#sampled", "datetime");
    s.wait("a new sample on the page", WAIT, |s| {
        let now = s.attr("#sampled", "datetime");
        (!now.is_empty() && now != first).then_some(())
    });
    s.wait("a CPU percentage", WAIT, |s| {
        s.text("[data-m=cpu_pct]").ends_with('%').then_some(())
    });
    assert_eq!(s.text("#live-text"), "live");
    assert_eq!(s.text("#served-by"), "testhost");
    s.screenshot("desktop.png");
    s.viewport(390, 844);
    s.screenshot("phone.png");
    let errors = s.console_errors();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    assert!(shot_dir().join("desktop.png").exists());
}

#[test]
fn the_page_goes_live_through_a_caching_proxy() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let portal = fast_portal("testhost", &loopback_services());
    let Some(edge) = crate::edge::Varnish::start(portal.addr) else {
        return;
    };
    let s = d.session(true);
    s.goto(&edge.url("/"));
    s.wait("live through the edge", WAIT, |s| {
        (s.attr("#live", "data-state") == "live").then_some(())
    });
    let first = s.attr("#sampled", "datetime");
    s.wait("a new sample through the edge", WAIT, |s| {
        let now = s.attr("#sampled", "datetime");
        (!now.is_empty() && now != first).then_some(())
    });
    let errors = s.console_errors();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
}

#[test]
fn no_horizontal_scroll_at_360px() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let portal = fast_portal("a-rather-long-replica-host-name", "");
    let s = d.session(true);
    s.viewport(360, 740);
    s.goto(&portal.url("/"));
    s.wait("the first sample", WAIT, |s| {
        (s.attr("#sys", "data-ready") == "true").then_some(())
    });
    let w = s.js(
        "return [document.documentElement.scrollWidth, window.innerWidth];",
        json!([]),
    );
    assert_eq!(w[1], 360, "viewport is not 360 px wide");
    assert!(
        w[0].as_i64().unwrap() <= 360,
        "page scrolls sideways at 360 px: scrollWidth {}",
        w[0]
    );
    s.screenshot("narrow-360.png");
}

#[test]
fn without_javascript_the_numbers_are_there() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let portal = fast_portal("testhost", "");
    // Wait until the sampler has two samples, so the page has rates and percentages.
    let t = Instant::now();
    while get(portal.addr, "/api/metrics", &[])
        .map(|r| r.status != 200 || r.json()["cpu"]["percent"].is_null())
        .unwrap_or(true)
    {
        assert!(t.elapsed() < WAIT, "no CPU percentage from the sampler");
        std::thread::sleep(Duration::from_millis(50));
    }
    let s = d.session(false);
    s.viewport(1440, 900);
    s.goto(&portal.url("/"));
    assert_eq!(s.attr("#live", "data-state"), "snapshot", "scripts ran");
    let cpu = s.text("[data-m=cpu_pct]");
    assert!(cpu.ends_with('%') && cpu != "—", "CPU: {cpu:?}");
    let mem = s.text("[data-m=mem_total]");
    assert!(mem.ends_with("iB"), "memory total: {mem:?}");
    // Every filesystem the sampler saw is listed (a container may see none: then the
    // list says so instead of being blank).
    let want = get(portal.addr, "/api/metrics", &[]).unwrap().json()["disks"]
        .as_array()
        .map_or(0, Vec::len);
    let disks = s.count("#disks li:not(.none)");
    assert_eq!(disks as usize, want, "filesystems listed");
    assert!(!s.text("#disks").trim().is_empty());
    let cards = s.count(".card");
    assert_eq!(cards, 0, "the test config has no services");
    s.screenshot("no-js.png");
}

#[test]
fn feed_states_render_honestly() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let s = d.session(true);
    s.viewport(1440, 900);

    // Weather at a closed port (the harness default) → error, with its reason.
    let portal = fast_portal("testhost", "");
    s.goto(&portal.url("/"));
    s.wait("the weather error", WAIT, |s| {
        (s.attr(".feed[data-feed=weather]", "data-status") == "error").then_some(())
    });
    let reason = s.text(".feed[data-feed=weather] .feed-error");
    assert!(!reason.trim().is_empty(), "error without a reason");
    assert!(s
        .text(".feed[data-feed=weather] .feed-label")
        .starts_with("error"));
    // Forgejo unset → disabled, said in words.
    assert_eq!(
        s.attr(".feed[data-feed=activity]", "data-status"),
        "disabled"
    );
    assert!(s
        .text(".feed[data-feed=activity] .feed-label")
        .contains("not configured"));
    assert!(
        s.text("#commits").contains("forgejo.url"),
        "disabled card says how to enable it"
    );
    // No feed card is ever blank.
    for id in ["#wx-body", "#commits"] {
        assert!(!s.text(id).trim().is_empty(), "{id} is blank");
    }
    s.screenshot("feeds-error.png");
    drop(portal);

    // Weather that worked once and then fails → stale: the last forecast stays, with
    // its age and the reason.
    let wttr = Stub::start();
    wttr.set(
        "/",
        Reply::json(200, std::fs::read(fixture("wttr/j1.json")).unwrap()),
    );
    let portal = Portal::builder()
        .config("services = []\n[metrics]\ninterval = \"250ms\"\n[weather]\nrefresh = \"250ms\"\n")
        .env("KITEPORTAL_WEATHER_URL", &wttr.url())
        .start();
    s.goto(&portal.url("/"));
    s.wait("the weather", WAIT, |s| {
        (s.attr(".feed[data-feed=weather]", "data-status") == "ok").then_some(())
    });
    let temp = s.text(".wx-temp");
    assert!(temp.ends_with("°C"), "temperature: {temp:?}");
    wttr.set("/", Reply::text(503, "upstream down"));
    s.wait("the stale weather", WAIT, |s| {
        (s.attr(".feed[data-feed=weather]", "data-status") == "stale").then_some(())
    });
    assert!(s
        .text(".feed[data-feed=weather] .feed-label")
        .starts_with("stale"));
    assert!(!s
        .text(".feed[data-feed=weather] .feed-error")
        .trim()
        .is_empty());
    assert_eq!(s.text(".wx-temp"), temp, "stale data must stay on screen");
    let days = s.count(".days li");
    assert_eq!(days, 3, "current weather and three days");
    s.screenshot("feeds-stale.png");
}

#[test]
fn commit_messages_are_text_not_html() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let forgejo = evil_forgejo();
    let portal = Portal::builder()
        .config("services = []\n[metrics]\ninterval = \"250ms\"\n[forgejo]\nrefresh = \"250ms\"\n")
        .env("KITEPORTAL_FORGEJO_URL", &forgejo.url())
        .env("KITEPORTAL_FORGEJO_TOKEN", "test-token")
        .start();
    // Server side: auto-escaped in the first paint once the feed has it.
    let t = Instant::now();
    loop {
        let page = get(portal.addr, "/", &[]).unwrap().text();
        if page.contains("fix: escape commit messages") {
            let escaped = ["&lt;img src=x onerror", "&#60;img src=x onerror"];
            assert!(
                escaped.iter().any(|e| page.contains(e)),
                "message not escaped"
            );
            assert!(!page.contains("<img src=x"));
            break;
        }
        assert!(
            t.elapsed() < WAIT,
            "the activity feed never showed the commit"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let s = d.session(true);
    s.viewport(1440, 900);
    s.goto(&portal.url("/"));
    s.wait("the live indicator", WAIT, |s| {
        (s.attr("#live", "data-state") == "live").then_some(())
    });
    // Let the script re-render the list from /api/activity and the stream.
    s.wait("the commit rendered by the script", WAIT, |s| {
        (s.text("#commits .msg") == EVIL).then_some(())
    });
    let imgs = s.count("#commits img");
    assert_eq!(imgs, 0, "the message became markup");
    let pwned = s.js("return window.__pwned === undefined;", json!([]));
    assert_eq!(pwned, true, "the message ran script");
}

#[test]
fn peer_appears_and_switching_shows_its_numbers() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let peer = fast_portal("kscloud1", "");
    let portal = fast_portal(
        "monk",
        &format!(
            "[[peers]]\nname = \"kscloud1\"\nurl = \"{}\"\n",
            peer.url("")
        ),
    );
    let s = d.session(true);
    s.viewport(1440, 900);
    s.goto(&portal.url("/"));
    s.wait("the peer tab", WAIT, |s| {
        (s.js(
            "return !!document.querySelector('.host-tab[data-host=\"kscloud1\"]');",
            json!([]),
        ) == true)
            .then_some(())
    });
    // The peer's data must have reached this portal before switching means anything.
    let t = Instant::now();
    loop {
        let hosts = get(portal.addr, "/api/hosts", &[]).unwrap().json();
        if !hosts["data"][1]["metrics"].is_null() {
            break;
        }
        assert!(t.elapsed() < WAIT, "no peer metrics in /api/hosts: {hosts}");
        std::thread::sleep(Duration::from_millis(100));
    }
    s.click(".host-tab[data-host=\"kscloud1\"]");
    assert_eq!(
        s.attr(".host-tab[data-host=\"kscloud1\"]", "aria-pressed"),
        "true"
    );
    assert_eq!(s.text("#sys-host"), "kscloud1");
    // What is shown is the peer's sample: a timestamp from the peer's own history, and
    // none of this host's.
    // The page writes the sample's time to the millisecond.
    let ms = |t: &str| chrono::DateTime::parse_from_rfc3339(t).map_or(0, |t| t.timestamp_millis());
    let stamps = |addr| -> Vec<i64> {
        get(addr, "/api/metrics/history", &[]).unwrap().json()["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| ms(p["timestamp"].as_str().unwrap()))
            .collect()
    };
    s.wait("the peer's sample on the page", WAIT, |s| {
        let shown = ms(&s.attr("#sampled", "datetime"));
        let mem = s.text("[data-m=mem_total]");
        (stamps(peer.addr).contains(&shown) && mem != "—").then_some(())
    });
    let shown = ms(&s.attr("#sampled", "datetime"));
    assert!(
        !stamps(portal.addr).contains(&shown),
        "shows this host's sample"
    );
    s.screenshot("peer.png");
    // And back.
    s.click(".host-tab[data-host=\"monk\"]");
    assert_eq!(s.text("#sys-host"), "monk");
}

#[test]
fn refused_stream_falls_back_to_polling() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    // No stream slots at all: /api/stream answers 503, the page polls the JSON API.
    let portal = fast_portal("testhost", "[stream]\nmax_clients = 0\n");
    assert_eq!(get(portal.addr, "/api/stream", &[]).unwrap().status, 503);
    let s = d.session(true);
    s.viewport(1440, 900);
    s.goto(&portal.url("/"));
    s.wait("the polling indicator", WAIT, |s| {
        (s.attr("#live", "data-state") == "polling").then_some(())
    });
    let first = s.attr("#sampled", "datetime");
    s.wait("a polled sample on the page", WAIT, |s| {
        let now = s.attr("#sampled", "datetime");
        (!now.is_empty() && now != first).then_some(())
    });
}

/// The raw first paint (no browser needed): numbers present, nothing the CSP would block.
#[test]
fn first_paint_html_is_complete_and_csp_clean() {
    let portal = fast_portal("testhost", &loopback_services());
    let t = Instant::now();
    while get(portal.addr, "/api/metrics", &[])
        .map(|r| r.status != 200 || r.json()["cpu"]["percent"].is_null())
        .unwrap_or(true)
    {
        assert!(t.elapsed() < WAIT, "no CPU percentage from the sampler");
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = get(portal.addr, "/", &[]).unwrap();
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-security-policy")
        .unwrap()
        .contains("script-src 'self'"));
    let html = r.text();
    let attr = |name: &str| -> Option<String> {
        let start = html.find(&format!("data-m=\"{name}\">"))? + name.len() + 10;
        Some(html[start..].split('<').next()?.to_string())
    };
    let cpu = attr("cpu_pct").unwrap();
    assert!(cpu.ends_with('%') && cpu.len() > 2, "CPU: {cpu:?}");
    assert!(attr("mem_total").unwrap().ends_with("iB"));
    assert!(attr("uptime").unwrap() != "—");
    assert!(html.contains("<polyline class=\"s-cpu\" data-spark=\"cpu\" points=\""));
    // Nothing inline: no style attributes, no inline scripts, no handler attributes.
    assert!(!html.contains(" style="), "style attribute in the page");
    for (i, _) in html.match_indices("<script") {
        assert!(html[i..].starts_with("<script type=\"module\" src=\"/assets/"));
    }
    let lower = html.to_ascii_lowercase();
    for handler in [" onclick=", " onload=", " onerror=", " onmouseover="] {
        assert!(!lower.contains(handler), "{handler} in the page");
    }
    // Icons inline from our own files; an unknown icon name gets the generic glyph.
    assert_eq!(
        html.matches("<span class=\"ico\" aria-hidden=\"true\"><svg")
            .count(),
        3
    );
    // Compressed for clients that accept it.
    let z = get(portal.addr, "/", &[("Accept-Encoding", "gzip, br")]).unwrap();
    assert_eq!(z.header("content-encoding"), Some("gzip"));
    assert!(
        z.body.len() * 2 < html.len(),
        "gzip did not shrink the page"
    );
    // The first-load budget: the page and every asset it links, as a browser gets them.
    let mut total = z.body.len();
    for (i, _) in html.match_indices("\"/assets/") {
        let url = html[i + 1..].split('"').next().unwrap();
        let a = get(
            portal.addr,
            url,
            &[("Accept-Encoding", "gzip, deflate, br")],
        )
        .unwrap();
        assert_eq!(a.status, 200, "{url}");
        total += a.body.len();
    }
    assert!(
        total <= 100 * 1024,
        "first load is {total} bytes compressed"
    );
}

/// The containers tile: the table the server renders and the one the script redraws
/// from a live sample read the same (one set of formatting rules), and it fits a phone.
#[test]
fn containers_tile_reads_the_same_live_and_fits_a_phone() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let fake = crate::containers::FakeCgroups::new();
    let portal = crate::containers::start(&fake, &fake.path("cgroup"));
    // Two samples, so CPU shares are numbers (0.0 %: the fake counters stand still).
    let t = Instant::now();
    while get(portal.addr, "/api/metrics", &[])
        .map(|r| r.json()["containers"][0]["cpu_percent"].is_null())
        .unwrap_or(true)
    {
        assert!(
            t.elapsed() < WAIT,
            "no container CPU share from the sampler"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let table = "return Array.from(document.querySelectorAll('#ctr-body tr'))\
                 .map((r) => Array.from(r.children).map((c) => c.textContent.trim()));";
    let plain = d.session(false);
    plain.viewport(1440, 900);
    plain.goto(&portal.url("/"));
    let server = plain.js(table, json!([]));
    drop(plain);
    assert_eq!(server[0][0], "forgejo web", "{server}");

    let s = d.session(true);
    s.viewport(360, 740);
    s.goto(&portal.url("/"));
    s.wait("the live indicator", WAIT, |s| {
        (s.attr("#live", "data-state") == "live").then_some(())
    });
    let first = s.attr("#sampled", "datetime");
    s.wait("a live sample on the page", WAIT, |s| {
        let now = s.attr("#sampled", "datetime");
        (!now.is_empty() && now != first).then_some(())
    });
    let live = s.js(table, json!([]));
    assert_eq!(
        live, server,
        "script and server render the tile differently"
    );
    assert_eq!(s.text("#ctr-count"), "3");
    // A kill in the postgres container (linked to the Forgejo card) appears live: a mark
    // in the tile and a note on the card.
    fake.set_state(1);
    s.wait("the OOM mark and the card's note", WAIT, |s| {
        (s.count("#ctr-body .oom-mark") == 1
            && s.count(".card[data-name='Forgejo'] .ctr-note") == 1)
            .then_some(())
    });
    assert!(
        s.text(".card[data-name='Forgejo'] .ctr-note")
            .starts_with("container OOM-killed"),
        "{}",
        s.text(".card[data-name='Forgejo'] .ctr-note")
    );
    let w = s.js(
        "return [document.documentElement.scrollWidth, window.innerWidth];",
        json!([]),
    );
    assert!(w[0].as_i64().unwrap() <= 360, "page scrolls sideways: {w}");
    s.js(
        "document.getElementById('containers').scrollIntoView();",
        json!([]),
    );
    s.screenshot("containers-360.png");
    s.viewport(1440, 900);
    s.js(
        "document.getElementById('containers').scrollIntoView();",
        json!([]),
    );
    s.screenshot("containers-desktop.png");
    let errors = s.console_errors();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
}

#[test]
fn one_time_zone_for_the_server_and_the_live_page() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    // The zone comes from the host's zoneinfo under host.root (here a fixture tree).
    let tz_root = crate::common::fixture("tz");
    let portal = Portal::builder()
        .config("timezone = \"Asia/Kolkata\"\n[metrics]\ninterval = \"250ms\"\n")
        .env("HOST_ROOT", tz_root.to_str().unwrap())
        .start();
    let html = get(portal.addr, "/", &[]).unwrap().text();
    assert!(
        html.contains("data-tz=\"Asia/Kolkata\""),
        "zone not on the page"
    );
    assert!(html.contains("times in <span id=\"tz\">Asia/Kolkata (IST)</span>"));
    let served = html
        .split("id=\"clock\"")
        .nth(1)
        .and_then(|t| t.split('>').nth(1))
        .and_then(|t| t.split('<').next())
        .unwrap_or("")
        .to_string();
    assert!(served.ends_with(" IST"), "server clock {served:?}");
    // UTC+05:30, whatever zone this machine or the browser is in.
    let ist = chrono::Utc::now() + chrono::Duration::minutes(330);
    let s = d.session(true);
    s.goto(&portal.url("/"));
    s.wait("the live indicator", WAIT, |s| {
        (s.attr("#live", "data-state") == "live").then_some(())
    });
    let live = s.text("#clock");
    let sampled = s.text("#sampled");
    let allowed: Vec<String> = [ist, ist - chrono::Duration::minutes(1)]
        .iter()
        .map(|t| t.format("%H:%M IST").to_string())
        .collect();
    assert!(
        allowed.contains(&live),
        "live clock {live:?}, want one of {allowed:?}"
    );
    assert!(
        allowed.contains(&served) || served == live,
        "server {served:?} and live {live:?} disagree"
    );
    assert!(sampled.ends_with(" IST"), "sample time {sampled:?}");
    let errors = s.console_errors();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
}

/// Every text and level the system panel shows, as the browser sees it now.
fn system_panel_texts(s: &Session<'_>) -> Value {
    s.js(
        "const sys = document.querySelector('#sys');\
         const t = (sel) => Array.from(sys.querySelectorAll(sel)).map((e) => e.textContent.replace(/\\s+/g, ''));\
         const lv = (sel) => Array.from(sys.querySelectorAll(sel)).map((e) => e.getAttribute('data-level'));\
         return { m: Array.from(sys.querySelectorAll('[data-m]')).map((e) => e.dataset.m + '=' + e.textContent.trim()),\
           rows: t('#ifaces li, #disks li, #io li, #temps li, #errors li'),\
           cores: t('#cores title'), levels: lv('[data-level]'),\
           every: document.querySelector('#every').textContent, host: document.querySelector('#sys-host').textContent };",
        json!([]),
    )
}

#[test]
fn the_live_system_panel_reads_exactly_like_the_first_paint() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    // The committed fake host, sampled once an hour: the page and the script show the
    // very same sample (the one primed at start).
    let host = fixture("host");
    let portal = Portal::builder()
        .config("[metrics]\ninterval = \"1h\"\nhistory = \"2h\"\n")
        .env("HOST_PROC", host.join("proc").to_str().unwrap())
        .env("HOST_SYS", host.join("sys").to_str().unwrap())
        .env("HOST_ROOT", host.join("root").to_str().unwrap())
        .env("HOST_CGROUP", "/nonexistent")
        .start();
    let off = d.session(false);
    off.goto(&portal.url("/"));
    let first_paint = system_panel_texts(&off);
    let on = d.session(true);
    on.goto(&portal.url("/"));
    on.wait("the live indicator", WAIT, |s| {
        (s.attr("#live", "data-state") == "live").then_some(())
    });
    // The stream's first burst re-rendered the panel from the JSON sample.
    on.wait("the script's render", WAIT, |s| {
        (s.attr("#sys", "data-ready") == "true").then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));
    let live = system_panel_texts(&on);
    assert!(
        first_paint["m"].as_array().is_some_and(|m| m.len() > 10),
        "{first_paint}"
    );
    for key in ["m", "rows", "cores", "levels", "every", "host"] {
        assert_eq!(
            live[key], first_paint[key],
            "{key}: the script writes it differently from the server"
        );
    }
}

/// Lighthouse's mobile viewport: the script taking over (live indicator, clock, feeds)
/// must not move what the first paint laid out.
#[test]
fn no_layout_shift_when_the_script_takes_over_on_a_phone() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let portal = Portal::builder().start();
    let s = d.session(true);
    s.viewport(412, 823);
    s.goto(&portal.url("/"));
    std::thread::sleep(Duration::from_secs(3));
    let v = s.js(
        "return new Promise((done) => { const out = []; new PerformanceObserver((l) => { for (const e of l.getEntries()) out.push({v: e.value, t: e.startTime, src: (e.sources||[]).map((x) => (x.node && x.node.outerHTML ? x.node.outerHTML.slice(0, 120) : String(x.node)) + ' ' + JSON.stringify(x.previousRect) + ' -> ' + JSON.stringify(x.currentRect))}); }).observe({type: 'layout-shift', buffered: true}); setTimeout(() => done(out), 500); });",
        json!([]),
    );
    let total: f64 = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["v"].as_f64().unwrap_or(0.0))
        .sum();
    assert!(total < 0.01, "layout shifts {total:.3}: {v:#}");
}

/// The notices and the cards' notes as the browser shows them.
fn notice_texts(s: &Session<'_>) -> Value {
    s.js(
        "const t = (e, q) => { const x = e.querySelector(q); return x ? x.textContent : null; };
         return { hidden: document.querySelector('#notices').hidden,
           notices: [...document.querySelectorAll('#notices li')].map((li) => [li.dataset.style,
             li.dataset.kind, t(li, '.n-kind'), t(li, '.n-title'), t(li, '.n-when'), t(li, '.n-body')]),
           notes: [...document.querySelectorAll('.card')].map((c) => [c.dataset.name,
             t(c, '.n-note'), c.querySelector('.n-note') ? c.querySelector('.n-note').dataset.style : null]) };",
        json!([]),
    )
}

#[test]
fn a_notice_appears_live_and_reads_like_the_first_paint() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let own = Stub::start();
    own.set("/up", Reply::text(200, "ok"));
    let base = format!(
        "timezone = \"UTC\"\nservices_interval = \"250ms\"\n\
         [[services]]\nname = \"Grafana\"\nurl = \"{0}/up\"\n\
         [[services]]\nname = \"Forgejo\"\nurl = \"{0}/up\"\n\
         [metrics]\ninterval = \"250ms\"\n",
        own.url()
    );
    let portal = Portal::builder().config(&base).start();
    let s = d.session(true);
    s.viewport(1280, 900);
    s.goto(&portal.url("/"));
    s.wait("the live indicator", WAIT, |s| {
        (s.attr("#live", "data-state") == "live").then_some(())
    });
    let none = notice_texts(&s);
    assert_eq!(none["hidden"], true, "{none}");
    assert_eq!(none["notices"], json!([]));
    s.js("window.__samePage = 1;", json!([]));

    // A notice added by SIGHUP appears without a reload of the page.
    let ends = (chrono::Utc::now() + chrono::Duration::hours(3)).format("%Y-%m-%d %H:%M");
    let with = format!(
        "{base}[[notices]]\ntitle = \"<b>Disk swap</b> \u{2014} Grafana\"\nstyle = \"maintenance\"\n\
         body = \"Read-only\\nuntil done.\"\nservices = [\"Grafana\"]\nends = \"{ends}\"\n"
    );
    crate::trust::reload_with(&portal, &with, "notices");
    let live = s.wait("the notice in the page", WAIT, |s| {
        let v = notice_texts(s);
        (v["notices"].as_array().is_some_and(|l| !l.is_empty())).then_some(v)
    });
    assert_eq!(
        s.js("return window.__samePage;", json!([])),
        1,
        "the page was reloaded"
    );
    assert_eq!(live["hidden"], false);
    assert_eq!(live["notices"][0][3], "<b>Disk swap</b> \u{2014} Grafana");
    assert_eq!(s.count("#notices .n-title b"), 0, "the title became markup");
    let until = format!("until {} UTC", &ends.to_string()[11..]);
    assert_eq!(live["notices"][0][4], until.as_str());
    assert_eq!(live["notices"][0][5], "Read-only\nuntil done.");
    assert_eq!(
        live["notes"],
        json!([
            ["Grafana", format!("maintenance {until}"), "maintenance"],
            ["Forgejo", null, null]
        ])
    );
    // On a desktop the body shows.
    let shown = "const b = document.querySelector('#notices .n-body'); return b.getBoundingClientRect().height > 0 && b.checkVisibility();";
    assert_eq!(s.js(shown, json!([])), true);

    s.screenshot("notice-desktop.png");
    // The same state, served to a browser with JavaScript off, reads the same.
    let off = d.session(false);
    off.viewport(1280, 900);
    off.goto(&portal.url("/"));
    assert_eq!(off.attr("#live", "data-state"), "snapshot");
    assert_eq!(notice_texts(&off), live);
    // A phone: one line (title and when), the body behind a tap.
    off.viewport(360, 740);
    let phone = off.js(
        "const sum = document.querySelector('#notices summary'), b = document.querySelector('#notices .n-body');
         const line = parseFloat(getComputedStyle(sum).lineHeight) || 20;
         const wide = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 361).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 12);
         return [sum.getBoundingClientRect().height < 1.6 * line, b.checkVisibility(), document.documentElement.scrollWidth, wide];",
        json!([]),
    );
    assert_eq!(phone, json!([true, false, 360, []]), "{phone}");
    off.click("#notices summary");
    assert_eq!(off.js(shown, json!([])), true, "the tap opens the body");
    off.screenshot("notice-phone.png");

    // Removed again: the list and the card's note go, still without a reload.
    crate::trust::reload_with(&portal, &base, "notices");
    s.wait("the notice gone", WAIT, |s| {
        let v = notice_texts(s);
        (v["hidden"] == true && v["notes"][0][1].is_null()).then_some(())
    });
    assert_eq!(s.js("return window.__samePage;", json!([])), 1);
    let errors = s.console_errors();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
}

/// The services on a stub, one of them ("Flip") switched up and down by the test.
fn flip_stub() -> (Stub, String) {
    let (stub, mut cfg) = services_stub();
    stub.set("/flip", Reply::text(200, "ok"));
    cfg.push_str(&format!(
        "[[services]]\nname = \"Flip\"\nurl = \"{}/flip\"\ngroup = \"Core\"\n",
        stub.url()
    ));
    (stub, cfg)
}

fn location(s: &Session<'_>) -> String {
    s.js("return location.pathname + location.search;", json!([]))
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn the_summary_filters_what_is_broken_in_place() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let (_stub, cfg) = services_stub();
    let portal = fast_portal("testhost", &cfg);
    let s = d.session(true);
    s.viewport(1440, 900);
    s.goto(&portal.url("/"));
    s.wait("Kavita down", WAIT, |s| {
        (s.attr(".card[data-name=Kavita]", "data-status") == "down").then_some(())
    });
    assert_eq!(s.visible_cards().len(), 4);
    s.js("window.__same = 1;", json!([]));
    s.click("#summary-link");
    s.wait("the filter", WAIT, |s| {
        (s.visible_cards() == ["Kavita"]).then_some(())
    });
    // In place (the same document), the URL kept, a clear way back.
    assert_eq!(s.js("return window.__same;", json!([])), 1);
    assert_eq!(location(&s), "/?status=down");
    assert_eq!(
        s.js(
            "return !document.querySelector('#filter').hidden;",
            json!([])
        ),
        true
    );
    assert_eq!(s.text("#show-all"), "show all");
    // Said to a screen reader too.
    assert_eq!(s.text("#find-count"), "1 service not up");
    s.screenshot("services-filtered.png");
    s.click("#show-all");
    s.wait("all cards again", WAIT, |s| {
        (s.visible_cards().len() == 4).then_some(())
    });
    assert_eq!(location(&s), "/");
    assert_eq!(s.js("return window.__same;", json!([])), 1);
    // Back goes to the filter again.
    s.js("history.back();", json!([]));
    s.wait("the filter after back", WAIT, |s| {
        (s.visible_cards() == ["Kavita"]).then_some(())
    });
    assert!(s.console_errors().is_empty(), "{:?}", s.console_errors());
}

#[test]
fn the_tab_title_tells_of_an_outage_live() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let (stub, cfg) = flip_stub();
    let portal = fast_portal("testhost", &cfg);
    let title = |s: &Session<'_>| s.js("return document.title;", json!([]));
    let s = d.session(true);
    s.goto(&portal.url("/"));
    s.wait("Kavita down, Flip up", WAIT, |s| {
        (title(s) == "(1 down) KiteStacks — testhost").then_some(())
    });
    stub.set("/flip", Reply::text(503, "no"));
    s.wait("the title to tell of two", WAIT, |s| {
        (title(s) == "(2 down) KiteStacks — testhost").then_some(())
    });
    // The server writes the same title.
    let html = get(portal.addr, "/", &[]).unwrap().text();
    assert!(html.contains("<title>(2 down) KiteStacks — testhost</title>"));
    stub.set("/flip", Reply::text(200, "ok"));
    s.wait("back to one", WAIT, |s| {
        (title(s) == "(1 down) KiteStacks — testhost").then_some(())
    });
}

/// Every 24 h bar's texts: the figures, the text equivalent and each cell's title.
fn bar_texts(s: &Session<'_>) -> Value {
    s.js(
        "return [...document.querySelectorAll('.card')].map((c) => ({ name: c.dataset.name,\
           upt: c.querySelector('.upt').textContent, label: c.querySelector('.bar24').getAttribute('aria-label'),\
           cells: [...c.querySelectorAll('.bar24 rect')].map((r) => r.getAttribute('data-share') + ' ' + r.textContent) }));",
        json!([]),
    )
}

#[test]
fn the_24h_cells_tell_their_time_and_count_alike_first_paint_and_live() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    // Checked once (a long interval) and no stream: the page polls the whole services
    // data, which does not change, so the script's render must equal the first paint.
    let (_stub, cfg) = services_stub();
    let cfg = cfg.replace("\"250ms\"", "\"1h\"") + "[stream]\nmax_clients = 0\n";
    let portal = fast_portal("testhost", &cfg);
    wait_for_checks(&portal);
    let off = d.session(false);
    off.goto(&portal.url("/"));
    let first_paint = bar_texts(&off);
    let kavita = first_paint
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Kavita")
        .unwrap()
        .clone();
    let cells = kavita["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 48);
    let newest = cells[47].as_str().unwrap();
    assert!(
        newest.starts_with("bad ") && newest.ends_with(" UTC · 0/1 up"),
        "{newest}"
    );
    assert!(cells[0].as_str().unwrap().ends_with(" UTC · no checks"));
    assert!(
        kavita["upt"]
            .as_str()
            .unwrap()
            .starts_with("24 h 0.0% · 7 d "),
        "{kavita}"
    );
    let label = kavita["label"].as_str().unwrap();
    assert!(label.contains("; not all up: "), "{label}");
    assert!(label.ends_with(&newest[4..]), "{label}");

    let on = d.session(true);
    on.goto(&portal.url("/"));
    on.wait("polling", WAIT, |s| {
        (s.attr("#live", "data-state") == "polling").then_some(())
    });
    // Scramble the texts; the next poll of the services redraws them.
    on.js(
        "for (const t of document.querySelectorAll('.bar24 title, .upt')) t.textContent = 'x';\
         for (const b of document.querySelectorAll('.bar24')) b.setAttribute('aria-label', 'x');",
        json!([]),
    );
    let live = on.wait("the script's redraw", Duration::from_secs(40), |s| {
        let v = bar_texts(s);
        (!v.to_string().contains("\"x\"") && !v.to_string().contains(" x\"")).then_some(v)
    });
    assert_eq!(live, first_paint, "the script writes the bars differently");
}

/// Waits until every configured service has been checked once.
fn wait_for_checks(p: &Portal) {
    let t = Instant::now();
    loop {
        let v = get(p.addr, "/api/services", &[]).unwrap().json();
        let done = v["data"]["services"].as_array().is_some_and(|l| {
            l.iter().all(|s| {
                s["history"]
                    .as_array()
                    .is_some_and(|h| h.iter().any(|c| c["checks"] == 1))
            })
        });
        if done {
            return;
        }
        assert!(t.elapsed() < WAIT, "no first check: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_streamed_newest_cell_keeps_its_title_right() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let (_stub, cfg) = services_stub();
    let portal = fast_portal("testhost", &cfg);
    let s = d.session(true);
    s.goto(&portal.url("/"));
    let newest = |s: &Session<'_>| {
        s.js(
            "return document.querySelector('.card[data-name=Grafana] .bar24 rect:last-child').textContent;",
            json!([]),
        )
        .as_str()
        .unwrap()
        .to_string()
    };
    let first = newest(&s);
    // The stream sends the newest cell alone; its count grows in place.
    let later = s.wait("the newest cell to count on", WAIT, |s| {
        let now = newest(s);
        (now != first).then_some(now)
    });
    let (time, count) = later.split_once(" UTC · ").unwrap();
    assert_eq!(
        time,
        first.split_once(" UTC · ").unwrap().0,
        "{first} -> {later}"
    );
    let (up, checks) = count.strip_suffix(" up").unwrap().split_once('/').unwrap();
    assert_eq!(up, checks, "{later}");
    assert!(checks.parse::<u32>().unwrap() > 1, "{later}");
    // The older cells keep their titles: the server's page writes the same ones.
    let live = bar_texts(&s);
    let html = get(portal.addr, "/", &[]).unwrap().text();
    for card in live.as_array().unwrap() {
        for cell in &card["cells"].as_array().unwrap()[..47] {
            let title = cell.as_str().unwrap().split_once(' ').unwrap().1;
            assert!(html.contains(&format!("<title>{title}</title>")), "{title}");
        }
    }
    assert!(s.console_errors().is_empty(), "{:?}", s.console_errors());
}

#[test]
fn search_ranks_name_prefix_first_and_moves_its_target() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let stub = Stub::start();
    let u = stub.url();
    let mut cfg = String::from("services_interval = \"250ms\"\n");
    for (name, path, desc) in [
        ("Authentik", "/authentik", "Single sign-on"),
        ("Karakeep", "/karakeep", "Bookmarks"),
        ("Grafana", "/grafana", "Dashboards on a kiosk"),
        ("Kavita", "/kavita", "eBooks"),
        ("Uptime Kuma", "/kuma", "Checks"),
        ("Kiwix", "/kiwix", "Offline wikis"),
    ] {
        stub.set(
            path,
            Reply::with_type(200, "text/html", "<!doctype html><title>landing</title>"),
        );
        cfg.push_str(&format!(
            "[[services]]\nname = \"{name}\"\nurl = \"{u}{path}\"\ndescription = \"{desc}\"\n"
        ));
    }
    // Kavita's check goes nowhere: it turns down.
    cfg = cfg.replace(
        &format!("{u}/kavita"),
        &format!("http://127.0.0.1:{}/", crate::common::closed_port()),
    );
    let portal = fast_portal("testhost", &cfg);
    let s = d.session(true);
    s.viewport(1440, 900);
    s.goto(&portal.url("/"));
    s.wait("Kavita down", WAIT, |s| {
        (s.attr(".card[data-name=Kavita]", "data-status") == "down").then_some(())
    });
    let target = |s: &Session<'_>| {
        s.js(
            "const a = document.querySelectorAll('.card a[aria-current]'); return a.length === 1 ? a[0].closest('.card').dataset.name : a.length;",
            json!([]),
        )
    };
    let count = |s: &Session<'_>| s.text("#find-count");
    assert_eq!(s.attr("#find-count", "aria-live"), "polite");
    s.press("/k");
    // Every card with a k, the name prefixes first (in their order), then a word of a
    // name, then inside a name, then a description.
    assert_eq!(target(&s), "Karakeep");
    assert_eq!(count(&s), "6 services match");
    let mut order = Vec::new();
    for _ in 0..6 {
        order.push(target(&s));
        s.press("\u{E015}"); // ↓
    }
    assert_eq!(
        order,
        [
            "Karakeep",
            "Kavita",
            "Kiwix",
            "Uptime Kuma",
            "Authentik",
            "Grafana"
        ]
    );
    assert_eq!(target(&s), "Karakeep", "↓ wraps around");
    s.press("\u{E013}"); // ↑
    assert_eq!(target(&s), "Grafana");
    s.press("\u{E013}\u{E013}\u{E013}");
    assert_eq!(target(&s), "Kiwix");
    // The target is marked for the eye, not only for a screen reader (after the
    // border's short transition).
    s.wait("the target's outline", WAIT, |s| {
        s.js(
            "const a = document.querySelector('.card a[aria-current]'), b = document.querySelector('.card a:not([aria-current])');\
             return getComputedStyle(a).borderColor === 'rgb(255, 79, 176)' && getComputedStyle(b).borderColor !== getComputedStyle(a).borderColor;",
            json!([]),
        )
        .as_bool()
        .unwrap()
        .then_some(())
    });
    s.screenshot("search-target.png");
    // Status words filter by status.
    s.press("\u{E00C}");
    assert_eq!(count(&s), "");
    s.press("/down");
    assert_eq!(s.visible_cards(), ["Kavita"]);
    assert_eq!(count(&s), "1 service matches");
    s.press(" x");
    assert_eq!(count(&s), "0 services match");
    s.press("\u{E00C}");
    s.press("/up k");
    assert_eq!(
        s.visible_cards(),
        ["Authentik", "Karakeep", "Grafana", "Uptime Kuma", "Kiwix"]
    );
    s.press("\u{E00C}");
    // "k" and Enter opens the first name that starts with a k.
    s.press("/k\u{E007}");
    s.wait("Karakeep's page", WAIT, |s| {
        s.js("return location.href;", json!([]))
            .as_str()
            .is_some_and(|h| h.ends_with("/karakeep"))
            .then_some(())
    });
}
