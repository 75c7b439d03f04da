//! How the page looks to a visitor, in real browsers: the light variant under a light
//! preference (Chromium through the DevTools protocol, Firefox through its content
//! override) with readable contrast in both schemes, inputs iOS will not zoom into, and
//! a compact host panel on a visitor's phone while the owner keeps the full one.

use std::time::Duration;

use serde_json::{json, Value};

use crate::browser::{serial, Driver, Session};
use crate::common::{closed_port, Portal};
use crate::engines::{installed, rgba};

/// Loopback is public here: the browser is a visitor.
const PUBLIC: &str = "[access]\nprivate_networks = [\"100.64.0.0/10\"]\n";

/// A portal sampling every 250 ms with a few services on closed ports (all down), one
/// with a simple-icons mark and one with an unknown name.
fn portal(extra: &str) -> Portal {
    let mut t = String::from("[metrics]\ninterval = \"250ms\"\n");
    t.push_str(extra);
    for (name, icon) in [
        ("Jellyfin", "jellyfin"),
        ("Nextcloud", "nextcloud"),
        ("Grafana", "grafana"),
        ("Mystery", "no-such-mark"),
    ] {
        t.push_str(&format!(
            "[[services]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:{}/\"\nicon = \"{icon}\"\ndescription = \"{name} on loopback\"\n",
            closed_port()
        ));
    }
    Portal::builder().config(&t).start()
}

/// Makes the page see `prefers-color-scheme: light` (or dark) through the DevTools
/// protocol, as a phone set to light mode would.
fn prefer(s: &Session<'_>, scheme: &str) {
    s.cmd(
        "POST",
        "/goog/cdp/execute",
        Some(json!({ "cmd": "Emulation.setEmulatedMedia", "params": {
            "features": [{ "name": "prefers-color-scheme", "value": scheme }] } })),
    );
}

/// Loads `url` and waits for the first host sample on the page.
fn load(s: &Session<'_>, url: &str) {
    s.goto(url);
    s.wait("the first sample", Duration::from_secs(15), |s| {
        (s.js(
            "return document.getElementById('sys').dataset.ready",
            json!([]),
        ) == "true")
            .then_some(())
    });
}

/// In the page: the scheme the stylesheet chose, the body's background luminance, and
/// the lowest text contrast of any visible text (WCAG ratio against the first opaque
/// background behind it), with the worst offenders.
const CONTRAST_JS: &str = r#"
const rgb = c => (c.match(/[\d.]+/g) || []).map(Number);
const lum = ([r, g, b]) => {
  const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
};
const bgOf = el => {
  for (let e = el; e; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
  }
  return rgb(getComputedStyle(document.documentElement).backgroundColor).slice(0, 3);
};
const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
const bad = [];
let worst = 99;
for (const el of document.querySelectorAll('body *')) {
  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  if (!own || !el.getClientRects().length) continue;
  const cs = getComputedStyle(el);
  if (cs.visibility !== 'visible' || +cs.opacity === 0 || el.closest('.sr,[hidden],[aria-hidden="true"]')) continue;
  const fg = rgb(cs.color);
  const bg = bgOf(el);
  // Semi-transparent text over its background, as the eye sees it.
  const a = fg.length === 4 ? fg[3] : 1;
  const seen = [0, 1, 2].map(i => fg[i] * a + bg[i] * (1 - a));
  const r = ratio(seen, bg);
  worst = Math.min(worst, r);
  if (r < 4.5) bad.push(`${el.tagName}.${el.className} ${r.toFixed(2)}`);
}
const body = rgb(getComputedStyle(document.body).backgroundColor);
return { scheme: getComputedStyle(document.documentElement).colorScheme,
         bodyLum: lum(body), worst, bad: bad.slice(0, 8) };
"#;

#[test]
fn chromium_follows_a_light_preference_with_readable_contrast() {
    let _one = serial();
    let Some(d) = Driver::start() else { return };
    let p = portal("");
    for (w, h) in [(390, 844), (1440, 900)] {
        for scheme in ["dark", "light"] {
            let s = d.session(true);
            s.viewport(w, h);
            prefer(&s, scheme);
            load(&s, &p.url("/"));
            let v = s.js(CONTRAST_JS, json!([]));
            s.screenshot(&format!("looks-{scheme}-{w}.png"));
            assert_eq!(v["scheme"], scheme, "{w}px: {v}");
            let body = v["bodyLum"].as_f64().unwrap();
            if scheme == "light" {
                assert!(body > 0.8, "{w}px light: body background is light: {v}");
            } else {
                assert!(body < 0.02, "{w}px dark: body background stays dark: {v}");
            }
            assert!(v["worst"].as_f64().unwrap() >= 4.5, "{w}px {scheme}: {v}");
            // The simple-icons mark arrived from its own file and is drawn in the
            // card's colour.
            let mark = s.wait("the Jellyfin mark", Duration::from_secs(10), |s| {
                let m = s.js(
                    "const u = document.querySelector('[data-name=Jellyfin] .ico use');
                     const b = u && u.getBBox();
                     return b && b.width > 10 ? getComputedStyle(u).fill : null;",
                    json!([]),
                );
                m.as_str().map(str::to_string)
            });
            let ico = s.js(
                "return getComputedStyle(document.querySelector('[data-name=Jellyfin] .ico')).color;",
                json!([]),
            );
            assert_eq!(json!(mark), ico, "{w}px {scheme}");
        }
    }
}

/// Mean luminance (0–255) of the top `rows` pixel rows of a PNG screenshot.
fn top_luma(path: &std::path::Path, rows: u32) -> f64 {
    let (w, h, px) = rgba(path);
    let rows = rows.min(h);
    let n = f64::from(w * rows);
    let sum: f64 = px[..(w * rows * 4) as usize]
        .chunks(4)
        .map(|c| 0.2126 * f64::from(c[0]) + 0.7152 * f64::from(c[1]) + 0.0722 * f64::from(c[2]))
        .sum();
    sum / n
}

/// A Firefox screenshot of `url` at 1440 × 900 with the content told light (1) or dark (0).
fn firefox_shot(url: &str, dir: &std::path::Path, light: bool) -> std::path::PathBuf {
    let profile = dir.join(format!("ff-{light}"));
    std::fs::create_dir_all(&profile).unwrap();
    let (over, dark) = if light { (1, 0) } else { (0, 1) };
    std::fs::write(
        profile.join("user.js"),
        format!(
            "user_pref(\"layout.css.prefers-color-scheme.content-override\", {over});\n\
             user_pref(\"ui.systemUsesDarkTheme\", {dark});\n\
             user_pref(\"app.update.enabled\", false);\n\
             user_pref(\"browser.shell.checkDefaultBrowser\", false);\n\
             user_pref(\"datareporting.policy.dataSubmissionEnabled\", false);\n\
             user_pref(\"toolkit.telemetry.enabled\", false);\n"
        ),
    )
    .unwrap();
    let out = dir.join(format!("firefox-{light}.png"));
    let o = std::process::Command::new("timeout")
        .arg("90")
        .arg("firefox-esr")
        .args(["--headless", "--no-remote", "--profile"])
        .arg(&profile)
        .args(["--window-size=1440,900", "--screenshot"])
        .arg(&out)
        .arg(url)
        .env("MOZ_HEADLESS", "1")
        .output()
        .unwrap();
    assert!(out.exists(), "firefox made no screenshot: {o:?}");
    out
}

#[test]
fn firefox_shows_the_same_light_variant_as_chromium() {
    if !installed("firefox-esr") {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but firefox-esr is not installed"
        );
        eprintln!("skipping: firefox-esr not installed");
        return;
    }
    let _one = serial();
    let Some(d) = Driver::start() else { return };
    let p = portal("");
    let dir = tempfile::tempdir().unwrap();
    let s = d.session(true);
    s.viewport(1440, 900);
    prefer(&s, "light");
    load(&s, &p.url("/"));
    let shot = dir.path().join("chromium-light.png");
    let b64 = s.cmd("GET", "/screenshot", None);
    std::fs::write(&shot, crate::browser::base64_decode(b64.as_str().unwrap())).unwrap();
    let chromium = top_luma(&shot, 60);
    let light = top_luma(&firefox_shot(&p.url("/"), dir.path(), true), 60);
    let dark = top_luma(&firefox_shot(&p.url("/"), dir.path(), false), 60);
    assert!(chromium > 200.0, "chromium light header: {chromium}");
    assert!(light > 200.0, "firefox light header: {light}");
    assert!(dark < 40.0, "firefox dark header: {dark}");
    assert!(
        (light - chromium).abs() < 20.0,
        "same light header in both engines: firefox {light}, chromium {chromium}"
    );
}

#[test]
fn inputs_are_large_enough_that_phones_do_not_zoom() {
    let _one = serial();
    let Some(d) = Driver::start() else { return };
    let p = portal(PUBLIC);
    let s = d.session(true);
    for w in [390, 1440, 2560] {
        s.viewport(w, 900);
        load(&s, &p.url("/"));
        let sizes: Value = s.js(
            "return [...document.querySelectorAll('input, select, textarea')]
               .map(e => [e.id || e.name, parseFloat(getComputedStyle(e).fontSize)]);",
            json!([]),
        );
        let sizes = sizes.as_array().unwrap();
        assert!(!sizes.is_empty(), "the search box is there");
        for pair in sizes {
            assert!(pair[1].as_f64().unwrap() >= 16.0, "{w}px: {pair}");
        }
    }
}

/// The system panel's height at 390 px, and which of its details are shown.
fn phone_panel(s: &Session<'_>, url: &str) -> Value {
    s.viewport(390, 844);
    load(s, url);
    s.js(
        "const shown = sel => { const e = document.querySelector(sel); return !!e && e.getClientRects().length > 0; };
         return { height: document.getElementById('sys').getBoundingClientRect().height,
                  iowait: shown('[data-m=iowait]'), ifaces: shown('#ifaces'),
                  view: shown('[data-m=view]'), cpu: shown('[data-m=cpu_pct]'),
                  mem: shown('[data-m=mem_pct]'), disks: shown('#disks'),
                  overflow: document.documentElement.scrollWidth > window.innerWidth };",
        json!([]),
    )
}

#[test]
fn a_visitors_phone_gets_a_compact_host_panel_the_owner_the_full_one() {
    let _one = serial();
    let Some(d) = Driver::start() else { return };
    let public = portal(PUBLIC);
    let owner = portal("");
    let s = d.session(true);
    let visitor = phone_panel(&s, &public.url("/"));
    s.screenshot("looks-public-390.png");
    let full = phone_panel(&s, &owner.url("/"));
    eprintln!("system panel at 390 px: visitor {visitor}, owner {full}");
    let (vh, fh) = (
        visitor["height"].as_f64().unwrap(),
        full["height"].as_f64().unwrap(),
    );
    assert!(vh <= 700.0, "a visitor's phone panel is compact: {visitor}");
    assert!(fh >= 1.5 * vh, "the owner keeps the full panel: {full}");
    for k in ["cpu", "mem", "disks"] {
        assert_eq!(visitor[k], true, "{k} stays for the visitor: {visitor}");
    }
    for k in ["iowait", "ifaces", "view"] {
        assert_eq!(
            visitor[k], false,
            "{k} is owner detail on a phone: {visitor}"
        );
        assert_eq!(full[k], true, "{k} is there for the owner: {full}");
    }
    assert_eq!(visitor["overflow"], false);
    // Wider than a phone the visitor sees every tile's detail again.
    s.viewport(1440, 900);
    load(&s, &public.url("/"));
    let wide = s.js(
        "return document.querySelector('[data-m=iowait]').getClientRects().length > 0;",
        json!([]),
    );
    assert_eq!(wide, true);
}
