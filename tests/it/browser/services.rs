//! The services on the live page: type to launch, the ranked search, the in-place
//! filter of what is broken, the tab's title, and the 24 h cells first painted and live.

use super::*;

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
    assert_eq!(kavita["halves"], 48, "{kavita}");
    // Checked once: the unchecked half hours are one run, the newest its own cell.
    assert_eq!(cells.len(), 2, "{kavita}");
    let newest = cells[1].as_str().unwrap();
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
            "return document.querySelector('.card[data-name=Grafana] .bar24 path:last-child').textContent;",
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
        let cells = card["cells"].as_array().unwrap();
        for cell in &cells[..cells.len() - 1] {
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

/// The server's page of what is broken (`/?status=down`, opened from a shared link) keeps
/// its cards current too: a service that goes down appears on it.
#[test]
fn the_down_page_keeps_its_cards_current() {
    let _g = serial();
    let Some(d) = Driver::start() else { return };
    let (stub, cfg) = flip_stub();
    let portal = fast_portal("testhost", &cfg);
    let s = d.session(true);
    s.goto(&portal.url("/"));
    s.wait("Kavita down, Flip up", WAIT, |s| {
        (s.js("return document.title;", json!([])) == "(1 down) KiteStacks — testhost")
            .then_some(())
    });
    s.goto(&portal.url("/?status=down"));
    let flip = ".card[data-name='Flip']";
    assert_eq!(s.count(flip), 0, "Flip is up: not on the page");
    stub.set("/flip", Reply::text(503, "no"));
    s.wait("Flip on the page, down", WAIT, |s| {
        (s.count(flip) == 1 && s.attr(flip, "data-status") == "down").then_some(())
    });
}
