//! Notices over real sockets: the owner's `[[notices]]` in and out of their window, and
//! Uptime Kuma's pinned incident and maintenance (every strategy and status, hostile
//! text) in `/api/services` and on the page without JavaScript; SIGHUP applies them;
//! `check-config` names the key of a bad one.

use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::common::{bin, fixture, get, wait_for, Portal};
use crate::stub::{Reply, Stub};
use crate::trust::reload_with;

const PAGE: &str = "/api/status-page/kitestacks";
const BEATS: &str = "/api/status-page/heartbeat/kitestacks";

fn services(p: &Portal) -> Value {
    get(p.addr, "/api/services", &[]).unwrap().json()
}

/// The notices once the services feed has run a round (and Kuma is `kuma`).
fn notices_when(p: &Portal, what: &str, mut done: impl FnMut(&Value) -> bool) -> Vec<Value> {
    wait_for(Duration::from_secs(15), what, || {
        let v = services(p);
        let ok = v["status"] == "ok" && done(&v["data"]);
        ok.then(|| v["data"]["notices"].as_array().cloned().unwrap_or_default())
    })
}

fn ids(list: &[Value]) -> Vec<&str> {
    list.iter().map(|n| n["id"].as_str().unwrap()).collect()
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The page's HTML (no JavaScript runs: what a visitor with scripts off reads).
fn page(p: &Portal) -> String {
    get(p.addr, "/", &[]).unwrap().text()
}

/// The notices section of the page's HTML.
fn notices_html(html: &str) -> &str {
    let start = html
        .find("<section class=\"notices\"")
        .expect("a notices section");
    let end = html[start..].find("</section>").unwrap() + start;
    &html[start..end]
}

/// A status page in the fixture's shape: `incident` and maintenance of every strategy and
/// status around `now` (a single one in local time at +01:00).
fn kuma_page(now: DateTime<Utc>, incident: Value) -> Value {
    let mut page: Value = serde_json::from_slice(
        &std::fs::read(fixture("uptime-kuma/status-page-incident.json")).unwrap(),
    )
    .unwrap();
    let local = |t: DateTime<Utc>| {
        (t + chrono::Duration::hours(1))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let h = chrono::Duration::hours;
    let m = |id: u32, strategy: &str, status: &str, slots: Value| {
        json!({"id": id, "title": format!("maintenance {id}"), "description": "",
               "strategy": strategy, "status": status, "timeslotList": slots,
               "timezone": "Europe/Amsterdam", "timezoneOffset": "+01:00"})
    };
    let iso = |a: DateTime<Utc>, b: DateTime<Utc>| json!([{"startDate": a.to_rfc3339(), "endDate": b.to_rfc3339()}]);
    page["incident"] = incident;
    page["maintenanceList"] = json!([
        m(10, "manual", "under-maintenance", json!([])),
        m(
            11,
            "single",
            "under-maintenance",
            json!([{"startDate": local(now - h(1)), "endDate": local(now + h(2))}])
        ),
        m(
            12,
            "recurring-interval",
            "scheduled",
            iso(now + h(3), now + h(4))
        ),
        m(13, "recurring-weekday", "scheduled", json!([])),
        m(
            14,
            "recurring-day-of-month",
            "ended",
            iso(now - h(3), now - h(2))
        ),
        m(15, "cron", "inactive", iso(now + h(3), now + h(4))),
        m(16, "single", "unknown", iso(now - h(1), now + h(1))),
        m(
            17,
            "cron",
            "scheduled",
            iso(now + h(24 * 30), now + h(24 * 30 + 1))
        ),
    ]);
    page
}

#[test]
fn kuma_incident_and_maintenance_reach_the_api_and_the_page_as_text() {
    let own = Stub::start();
    own.set("/up", Reply::text(200, "ok"));
    let beats = std::fs::read(fixture("uptime-kuma/heartbeat-1.23.json")).unwrap();
    let hostile = json!({
        "id": 3, "style": "danger", "pin": true,
        "title": "<script>window.__pwned=1</script> disks \u{202E}gnp.exe",
        "content": format!("**Streams** may stutter.\n<img src=x onerror=alert(1)>\n{}",
                           "A".repeat((1 << 20) - (16 << 10))),
        "createdDate": "2026-11-28 19:04:11", "lastUpdatedDate": "2026-11-29 08:15:40"
    });
    for incident in [Value::Null, hostile] {
        let now = Utc::now();
        let kuma = Stub::start();
        let body = kuma_page(now, incident.clone()).to_string();
        assert!(body.len() < 1 << 20);
        kuma.set(PAGE, Reply::json(200, body));
        kuma.set(BEATS, Reply::json(200, beats.clone()));
        let p = Portal::builder()
            .config(&format!(
                "timezone = \"UTC\"\nservices_interval = \"250ms\"\n\
                 [uptime_kuma]\nurl = \"{}\"\nslug = \"kitestacks\"\n\
                 [[services]]\nname = \"Portal\"\nurl = \"{}/up\"\n",
                kuma.url(),
                own.url()
            ))
            .start();
        let list = notices_when(&p, "Kuma's notices", |d| d["uptime_kuma"] == "ok");
        let mut want = vec![
            "kuma-maintenance-11",
            "kuma-maintenance-10",
            "kuma-maintenance-12",
        ];
        if !incident.is_null() {
            want.insert(0, "kuma-incident-3");
        }
        assert_eq!(ids(&list), want, "{list:#?}");
        let by = |id: &str| list.iter().find(|n| n["id"] == id).unwrap().clone();
        let single = by("kuma-maintenance-11");
        assert_eq!(single["kind"], "maintenance");
        assert_eq!(single["source"], "uptime_kuma");
        assert_eq!(single["style"], "maintenance");
        let secs = |t: DateTime<Utc>| rfc(DateTime::from_timestamp(t.timestamp(), 0).unwrap());
        // Read in the maintenance's own offset (+01:00), served in UTC.
        assert_eq!(single["ends_at"], secs(now + chrono::Duration::hours(2)));
        assert_eq!(single["starts_at"], secs(now - chrono::Duration::hours(1)));
        assert!(
            single["when"].as_str().unwrap().starts_with("until "),
            "{single}"
        );
        assert_eq!(by("kuma-maintenance-10")["ends_at"], Value::Null);
        let upcoming = by("kuma-maintenance-12");
        assert!(
            upcoming["when"].as_str().unwrap().starts_with("from "),
            "{upcoming}"
        );
        let html = page(&p);
        let section = notices_html(&html);
        assert!(!section.contains(" hidden"), "{section}");
        assert!(section.contains("maintenance 11"), "{section}");
        if incident.is_null() {
            assert!(!section.contains("data-kind=\"incident\""));
            continue;
        }
        let inc = by("kuma-incident-3");
        assert_eq!(
            (inc["kind"].as_str(), inc["style"].as_str()),
            (Some("incident"), Some("danger"))
        );
        assert_eq!(inc["starts_at"], "2026-11-28T19:04:11Z");
        assert_eq!(inc["updated_at"], "2026-11-29T08:15:40Z");
        let title = inc["title"].as_str().unwrap();
        assert_eq!(title, "<script>window.__pwned=1</script> disks gnp.exe");
        let body = inc["body"].as_str().unwrap();
        assert!(
            body.starts_with("Streams may stutter.\n<img src=x"),
            "{}",
            &body[..60]
        );
        assert!(body.chars().count() <= 2000, "{}", body.len());
        // On the page: escaped text, no markup from Kuma, no bidi override.
        assert!(
            section.contains("&#60;script&#62;window.__pwned=1&#60;/script&#62;"),
            "{section}"
        );
        assert!(section.contains("&#60;img src=x onerror=alert(1)&#62;"));
        assert!(!html.contains("<script>window") && !html.contains("<img src=x"));
        assert!(!html.contains('\u{202E}'));
    }
}

#[test]
fn owner_notices_show_in_their_window_on_the_page_and_on_their_cards() {
    let own = Stub::start();
    own.set("/up", Reply::text(200, "ok"));
    let now = Utc::now();
    let h = chrono::Duration::hours;
    let notice = |title: &str, extra: &str| format!("[[notices]]\ntitle = \"{title}\"\n{extra}\n");
    let local = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M").to_string();
    let cfg = format!(
        "timezone = \"UTC\"\nservices_interval = \"250ms\"\n\
         [[services]]\nname = \"Grafana\"\nurl = \"{}/up\"\n\
         [[services]]\nname = \"Forgejo\"\nurl = \"{}/up\"\n{}{}{}{}",
        own.url(),
        own.url(),
        notice(
            "Disk swap",
            &format!(
                "style = \"maintenance\"\nservices = [\"Grafana\"]\nbody = \"Dashboards <b>read-only</b>.\"\n\
                 starts = \"{}\"\nends = \"{}\"",
                rfc(now - h(1)),
                local(now + h(2))
            )
        ),
        notice("Over already", &format!("ends = \"{}\"", rfc(now - h(1)))),
        notice(
            "Not yet",
            &format!("starts = \"{}\"\nservices = [\"Forgejo\"]", rfc(now + h(1)))
        ),
        notice("Welcome", "style = \"info\""),
    );
    let p = Portal::builder().config(&cfg).start();
    let list = notices_when(&p, "the owner's notices", |d| {
        d["notices"].as_array().is_some_and(|l| l.len() == 2)
    });
    let titles: Vec<&str> = list.iter().map(|n| n["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Disk swap", "Welcome"]);
    let swap = &list[0];
    assert_eq!(swap["source"], "owner");
    assert_eq!(swap["kind"], "maintenance");
    assert_eq!(swap["services"], json!(["Grafana"]));
    assert!(swap["id"].as_str().unwrap().starts_with("owner-"));
    let ends =
        DateTime::parse_from_str(&format!("{} +0000", local(now + h(2))), "%Y-%m-%d %H:%M %z")
            .unwrap();
    assert_eq!(swap["ends_at"], rfc(ends.to_utc()));
    let until = format!("until {} UTC", ends.format("%H:%M"));
    let until_day = format!("until {} UTC", ends.format("%a %-d %b %H:%M"));
    assert!(swap["when"] == until || swap["when"] == until_day, "{swap}");
    // The page, as read with JavaScript off: the notices first, then the card's note.
    let html = page(&p);
    let section = notices_html(&html);
    assert!(!section.contains(" hidden"));
    assert!(section.contains("Disk swap") && section.contains("Welcome"));
    assert!(
        section.contains("Dashboards &#60;b&#62;read-only&#60;/b&#62;."),
        "{section}"
    );
    assert!(!section.contains("Over already") && !section.contains("Not yet"));
    assert!(html.find("id=\"notices\"").unwrap() < html.find("id=\"services\"").unwrap());
    let note = format!("maintenance {}", swap["when"].as_str().unwrap());
    assert!(
        html.contains(&format!(
            "<span class=\"n-note\" data-style=\"maintenance\">{note}</span>"
        )),
        "{note}"
    );
    assert_eq!(html.matches("class=\"n-note\"").count(), 1);

    // SIGHUP applies them: none, then one again.
    reload_with(&p, cfg.split("[[notices]]").next().unwrap(), "notices");
    notices_when(&p, "no notices", |d| d["notices"] == json!([]));
    assert!(notices_html(&page(&p)).contains(" hidden"));
    reload_with(
        &p,
        &format!("{cfg}{}", notice("Back", "style = \"danger\"")),
        "notices",
    );
    let back = notices_when(&p, "the notice back", |d| {
        d["notices"].as_array().is_some_and(|l| l.len() == 3)
    });
    assert_eq!(back[0]["title"], "Back");
}

#[test]
fn check_config_names_the_key_of_a_bad_notice() {
    let dir = tempfile::tempdir().unwrap();
    let svc = "[[services]]\nname = \"Grafana\"\nurl = \"https://g.test\"\n";
    let cases = [
        (
            "title = \"a\"\nstarts = \"2026-11-29 18:00\"\nends = \"2026-11-29T16:00:00Z\"",
            "notices[0].ends: '2026-11-29T16:00:00+00:00' is not after notices[0].starts",
        ),
        (
            "title = \"a\"\nservices = [\"Grafna\"]",
            "notices[0].services: 'Grafna' names no [[services]] entry",
        ),
        ("title = \"\"", "notices[0].title: '' must not be empty"),
        (
            "title = \"a\"\nstyle = \"warn\"",
            "notices[0].style: 'warn' must be \"info\", \"warning\", \"danger\" or \"maintenance\"",
        ),
        (
            "title = \"a\"\nstarts = \"next week\"",
            "notices[0].starts: 'next week' is not a time",
        ),
    ];
    for (i, (fields, want)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("n{i}.toml"));
        std::fs::write(
            &path,
            format!("timezone = \"UTC\"\n{svc}[[notices]]\n{fields}\n"),
        )
        .unwrap();
        let out = Command::new(bin())
            .args(["check-config", "--config"])
            .arg(&path)
            .env_remove("KITEPORTAL_CONFIG")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{fields}: {err}");
        assert!(err.contains(want), "{fields}: {err}");
    }
    // And a good one is printed.
    let path = dir.path().join("ok.toml");
    std::fs::write(&path, format!("timezone = \"UTC\"\n{svc}[[notices]]\ntitle = \"Hi\"\nservices = [\"Grafana\"]\nstarts = \"2026-11-29 18:00\"\n")).unwrap();
    let out = Command::new(bin())
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["notices"][0]["starts"], "2026-11-29T18:00:00Z");
    assert_eq!(v["notices"][0]["style"], "info");
}
