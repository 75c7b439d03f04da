//! The live page: it goes live (also through a caching proxy), polls when the stream is
//! refused, switches hosts, and every tile it is sent reads exactly like the first paint.

use super::*;

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
    // The script writes the clock only when it shows another minute than now (as a page
    // from a cache would): make it so, and the script writes the minute in the zone.
    s.js(
        "document.getElementById('clock').setAttribute('datetime', '2001-01-01T00:00:00Z'); \
         document.getElementById('clock').textContent = 'old';",
        json!([]),
    );
    s.wait("the script's clock", WAIT, |s| {
        (s.text("#clock") != "old").then_some(())
    });
    let live = s.text("#clock");
    let sampled = s.text("#sampled");
    // The minute may turn between reading the time here and in the page.
    let minute = chrono::Duration::minutes(1);
    let allowed: Vec<String> = [ist - minute, ist, ist + minute]
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
         return [sum.getBoundingClientRect().height < 1.6 * line, b.checkVisibility(), document.documentElement.scrollWidth <= 360, wide];",
        json!([]),
    );
    // (The page keeps the scrollbar's room, so its width may be under 360.)
    assert_eq!(phone, json!([true, false, true, []]), "{phone}");
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

/// "After the server stopped, the header read OFFLINE but the services still said
/// 'updated just now' and every card stayed green": a page that lost its server says
/// so, dims what it can no longer vouch for, and its ages keep counting from their
/// timestamps.
#[test]
fn a_page_that_lost_its_server_dims_and_its_ages_keep_counting() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let portal = fast_portal("testhost", &loopback_services());
    let s = d.session(true);
    s.viewport(1440, 900);
    s.goto(&portal.url("/"));
    s.wait("the live indicator", WAIT, |s| {
        (s.attr("#live", "data-state") == "live").then_some(())
    });
    s.wait("an age on the page", WAIT, |s| {
        (s.count("time[data-age]") > 0).then_some(())
    });
    let opacity = |s: &Session<'_>| {
        s.js(
            "return getComputedStyle(document.querySelector('main')).opacity;",
            json!([]),
        )
        .as_str()
        .and_then(|o| o.parse::<f64>().ok())
        .unwrap_or(1.0)
    };
    assert_eq!(opacity(&s), 1.0, "a live page is not dimmed");
    drop(portal);
    s.wait("the offline indicator", Duration::from_secs(40), |s| {
        (s.attr("#live", "data-state") == "offline").then_some(())
    });
    s.wait("the page dimmed", WAIT, |s| {
        (opacity(s) < 0.9).then_some(())
    });
    assert_eq!(
        s.js("return document.body.dataset.live;", json!([])),
        "offline"
    );
    // An age written three minutes ago reads so at the next tick, with no server.
    s.js(
        "const t = document.querySelector('time[data-age]');\
         t.setAttribute('datetime', new Date(Date.now() - 185000).toISOString());",
        json!([]),
    );
    s.wait("the age counting on", Duration::from_secs(20), |s| {
        (s.text("time[data-age]") == "3 min ago").then_some(())
    });
    // So does how long a service has been in its state ("since 14:02 UTC (2 h 5 min)").
    s.js(
        "const t = document.querySelector('.card .since time[data-span]');\
         t.setAttribute('datetime', new Date(Date.now() - (2 * 3600 + 5 * 60 + 10) * 1000).toISOString());",
        json!([]),
    );
    s.wait("the duration counting on", Duration::from_secs(20), |s| {
        (s.text(".card .since time[data-span]") == "2 h 5 min").then_some(())
    });
    s.screenshot("offline.png");
}
