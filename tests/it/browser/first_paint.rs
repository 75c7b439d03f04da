//! The page as first painted: complete without JavaScript, clean for the CSP, honest
//! feed states, upstream text kept text, and a layout that fits from 360 px up and does
//! not move when the script takes over.

use super::*;

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
    assert!(s.text(&format!("{kavita} .since")).starts_with("since "));
    // The 24 h bar: 48 half hours (runs of like ones are one element) and a text equivalent.
    let halves = s.js(
        "return [...document.querySelectorAll(arguments[0])].reduce((n, p) => n + Number(p.getAttribute('d').split('h')[1]), 0);",
        json!([format!("{kavita} .bar24 path")]),
    );
    assert_eq!(halves, 48);
    let label = s.attr(&format!("{kavita} .bar24"), "aria-label");
    assert!(
        label.starts_with("last 24 h: 0") && label.contains("up"),
        "{label}"
    );
    assert_eq!(s.attr(&format!("{kavita} .bar24"), "role"), "img");
    // The live update reads exactly like the server's first paint. Checks run every
    // 250 ms, so a round may land between reading the page and fetching it: the two
    // must agree within a few tries.
    let mismatch = || -> Option<String> {
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
        let lead = s.js(
            "return document.querySelector('#summary-text').firstChild.textContent;",
            json!([]),
        );
        let lead = lead.as_str().unwrap_or_default();
        if !html.contains(&format!("id=\"summary-text\">{lead}<time")) {
            return Some(format!("#summary-text: {lead:?} not in the first paint"));
        }
        for (css, text) in [
            ("#summary-text time", s.text("#summary-text time")),
            (
                ".card[data-name=Kavita] .since time",
                s.text(&format!("{kavita} .since time")),
            ),
            (
                ".card[data-name=Kavita] .upt",
                s.text(&format!("{kavita} .upt")),
            ),
        ] {
            if !html.contains(&format!(">{text}<")) {
                return Some(format!("{css}: {text:?} not in the first paint"));
            }
        }
        let label = s.attr(&format!("{kavita} .bar24"), "aria-label");
        (!html.contains(&format!("aria-label=\"{label}\""))).then_some(label)
    };
    let mut last = None;
    for _ in 0..10 {
        last = mismatch();
        if last.is_none() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(last.is_none(), "{last:?}");
    assert!(s.count(".bar24 path[data-share=ok]") >= 3);

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
        for _ in 0..20 {
            s.viewport(w, h);
            std::thread::sleep(Duration::from_millis(200));
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
