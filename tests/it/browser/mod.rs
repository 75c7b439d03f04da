//! The portal page in real headless Chromium, driven over W3C WebDriver (`chromedriver`
//! on a loopback port, spoken to with ureq + serde_json; the client is this file's
//! `Driver` and `Session`): the first paint and layout (`first_paint.rs`), the live page
//! (`live.rs`), the services' search and filters (`services.rs`). Screenshots land in
//! `target/screenshots/`.
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

mod first_paint;
mod live;
mod services;

const CHROMIUM: &str = "/usr/bin/chromium";

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long any wait in these tests may take before it fails (a bound, not a timing claim).
const WAIT: Duration = Duration::from_secs(15);

/// One browser at a time: the machine is small and Chromium is not.
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// chromedriver on a free loopback port; killed on drop.
pub(crate) struct Driver {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Driver {
    /// Starts chromedriver, or returns `None` (skip) when the browser is not installed
    /// locally. In CI a missing browser is a failure.
    pub(crate) fn start() -> Option<Driver> {
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
    pub(crate) fn session(&self, javascript: bool) -> Session<'_> {
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
                    // The dark scheme, the portal's own (headless Chromium prefers light).
                    "--blink-settings=preferredColorScheme=0",
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

pub(crate) struct Session<'a> {
    driver: &'a Driver,
    id: String,
    _profile: tempfile::TempDir,
}

impl Session<'_> {
    pub(crate) fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver
            .cmd(method, &format!("/session/{}{}", self.id, path), body)
    }

    pub(crate) fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its result.
    pub(crate) fn js(&self, script: &str, args: Value) -> Value {
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
    pub(crate) fn viewport(&self, w: i64, h: i64) {
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
    pub(crate) fn wait<T>(
        &self,
        what: &str,
        limit: Duration,
        mut f: impl FnMut(&Self) -> Option<T>,
    ) -> T {
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

    pub(crate) fn screenshot(&self, name: &str) {
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

/// Standard base64 (screenshots).
pub(crate) fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .unwrap_or_default()
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

fn shot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
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

/// Every 24 h bar's texts: the figures, the text equivalent and each cell's (or run of
/// like cells') title, and how many half hours the cells span.
fn bar_texts(s: &Session<'_>) -> Value {
    s.js(
        "return [...document.querySelectorAll('.card')].map((c) => ({ name: c.dataset.name,\
           upt: c.querySelector('.upt').textContent, label: c.querySelector('.bar24').getAttribute('aria-label'),\
           cells: [...c.querySelectorAll('.bar24 path')].map((r) => r.getAttribute('data-share') + ' ' + r.textContent),\
           halves: [...c.querySelectorAll('.bar24 path')].reduce((n, r) => n + Number(r.getAttribute('d').split('h')[1]), 0) }));",
        json!([]),
    )
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
