//! The Forgejo activity feed over real sockets: the real binary against a stub Forgejo
//! serving the recorded bodies and hostile variants (gone, empty and odd repositories,
//! a token that must never show, failures that must read as reasons).

use std::time::Duration;

use serde_json::json;

use crate::common::{get, Portal};
use crate::feeds::{api, read, read_json, wait_api, SseClient};
use crate::stub::{Reply, Stub};

/// A Forgejo with four repositories: one good, one gone (404), one empty (409, not
/// flagged), one with the 2022 key set, one with a hostile message.
fn forgejo_stub() -> Stub {
    let stub = Stub::start();
    let mut search = read_json("forgejo/repos_search.json");
    let repos = search["data"].as_array_mut().unwrap();
    repos[2]["empty"] = json!(false); // scratch: its /commits answers 409
    let mut other = repos[0].clone();
    other["name"] = json!("other");
    other["full_name"] = json!("user2/other");
    other["html_url"] = json!("https://forgejo.example.org/user2/other");
    repos.push(other);
    repos.push(read_json("forgejo/captured/repository_codeberg_2022.json"));
    stub.set("/api/v1/repos/search", Reply::json(200, search.to_string()));
    stub.set(
        "/api/v1/repos/user2/kiteportal/commits",
        Reply::json(200, read("forgejo/repo_commits_fast.json")),
    );
    stub.set(
        "/api/v1/repos/user2/repo16/commits",
        Reply::json(404, read("forgejo/errors/404_not_found.json")),
    );
    stub.set(
        "/api/v1/repos/user2/scratch/commits",
        Reply::json(409, read("forgejo/errors/409_empty_repository.json")),
    );
    let other_commits = json!([
        {"sha": "c0ffee0000000000000000000000000000000001",
         "html_url": "https://forgejo.example.org/user2/other/commit/c0ffee0000000000000000000000000000000001",
         "commit": {"message": "<img src=x onerror=alert(1)>\n\n<script>alert(2)</script>",
                    "author": {"name": "Mallory", "date": "2025-06-03T15:00:00-05:00"},
                    "committer": {"name": "Mallory", "date": "2025-06-03T15:00:00-05:00"}},
         "author": null},
        {"sha": "d00d000000000000000000000000000000000002",
         "commit": {"message": "Between the others",
                    "committer": {"date": "2025-06-03T19:30:00Z"}}}
    ]);
    stub.set(
        "/api/v1/repos/user2/other/commits",
        Reply::json(200, other_commits.to_string()),
    );
    let one = read_json("forgejo/captured/git_commit_single_woodpecker.json");
    stub.set(
        "/api/v1/repos/meisam/woodpecktester/commits",
        Reply::json(200, json!([one]).to_string()),
    );
    stub
}

fn unique_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("kptok{}x{nanos}", std::process::id())
}

#[test]
fn activity_merges_commits_by_instant_and_never_shows_the_token() {
    let stub = forgejo_stub();
    let token = unique_token();
    let p = Portal::builder()
        .env("KITEPORTAL_FORGEJO_TOKEN", &token)
        // Everything at every level, and the HTTP client's own hex dumps asked for by name.
        .env(
            "RUST_LOG",
            "trace,ureq=trace,ureq_proto::util=trace,rustls=trace",
        )
        .config(&format!(
            "[forgejo]\nurl = \"{}\"\nlimit = 6\nrefresh = \"250ms\"\n",
            stub.url()
        ))
        .start();
    let a = wait_api(&p, "/api/activity", "ok", |v| v["status"] == "ok");
    let items = a["data"]["items"].as_array().unwrap();
    let shas: Vec<&str> = items
        .iter()
        .map(|c| c["short_sha"].as_str().unwrap())
        .collect();
    // 20:00Z (written -05:00), 19:30Z, 19:13:52Z (written +02:00), 06-02, 01-12, 01-05.
    assert_eq!(
        shas,
        [
            "c0ffee0000",
            "d00d000000",
            "9f3c2d8e1b",
            "4b1d0c9e8f",
            "1a2b3c4d5e",
            "0d1a26e67d"
        ]
    );
    assert_eq!(items[0]["date"], "2025-06-03T20:00:00Z");
    assert_eq!(items[0]["message"], "<img src=x onerror=alert(1)>");
    assert_eq!(items[0]["author"], "Mallory");
    assert_eq!(items[0]["repo"], "user2/other");
    assert_eq!(items[2]["date"], "2025-06-03T19:13:52Z");
    assert_eq!(items[2]["author"], "User Two");
    assert_eq!(
        items[2]["repo_url"],
        "https://forgejo.example.org/user2/kiteportal"
    );
    assert_eq!(items[4]["author"], "Someone Without Account");
    assert_eq!(items[5]["author"], "qwerty287");
    assert_eq!(items[5]["repo"], "meisam/woodpecktester");
    // The hostile message is JSON text: escaped by the serializer, no raw markup outside it.
    let raw = get(p.addr, "/api/activity", &[]).unwrap().text();
    assert!(
        raw.contains(r#""message":"<img src=x onerror=alert(1)>""#),
        "{raw}"
    );

    // The token went in the header, on every request, and never in a URL.
    let seen = stub.seen();
    assert!(seen.len() >= 6);
    for s in &seen {
        assert_eq!(
            s.header("authorization"),
            Some(format!("token {token}").as_str())
        );
        assert!(!s.target.contains(&token), "{}", s.target);
    }
    let search = seen
        .iter()
        .find(|s| s.path() == "/api/v1/repos/search")
        .unwrap();
    assert!(search.target.contains("sort=updated") && search.target.contains("order=desc"));

    // An upstream that echoes the token back: the reason is scrubbed.
    stub.set(
        "/api/v1/repos/search",
        Reply::json(500, format!(r#"{{"message": "bad token {token}"}}"#)),
    );
    let a = wait_api(&p, "/api/activity", "stale", |v| v["status"] == "stale");
    assert!(
        a["error"].as_str().unwrap().contains("bad token ********"),
        "{a}"
    );
    assert_eq!(a["data"]["items"].as_array().unwrap().len(), 6);

    let mut outputs = Vec::new();
    for path in [
        "/",
        "/api/activity",
        "/api/weather",
        "/api/services",
        "/api/hosts",
        "/api/metrics",
        "/metrics",
        "/nope",
    ] {
        outputs.push(get(p.addr, path, &[]).unwrap().text());
    }
    let mut sse = SseClient::connect(&p);
    sse.next_event("activity", Duration::from_secs(5)).unwrap();
    outputs.push(sse.text.clone());
    for o in &outputs {
        assert!(!o.contains(&token), "token in output: {o}");
    }
    let log = p.log_text();
    assert!(!log.is_empty());
    assert!(!log.contains(&token), "token in the log");
    // The client's debug/trace output (which dumps request bytes) is never written.
    for l in log.lines() {
        let client = l.contains(" ureq") || l.contains(" rustls");
        assert!(
            !(client && (l.contains("DEBUG") || l.contains("TRACE"))),
            "{l}"
        );
    }
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "trace logging is on"
    );
}

#[test]
fn activity_failures_are_reasons() {
    let stub = Stub::start();
    stub.set(
        "/api/v1/repos/search",
        Reply::json(401, read("forgejo/errors/401_token_required.json")),
    );
    let p = Portal::builder()
        .config(&format!(
            "[forgejo]\nurl = \"{}\"\nrefresh = \"250ms\"\n",
            stub.url()
        ))
        .start();
    let a = wait_api(&p, "/api/activity", "error", |v| v["status"] == "error");
    assert!(
        a["error"].as_str().unwrap().contains("HTTP 401")
            && a["error"].as_str().unwrap().contains("token is required"),
        "{a}"
    );
    // Every repository failing is an error too; missing keys are not.
    stub.set(
        "/api/v1/repos/search",
        Reply::json(
            200,
            r#"{"ok": true, "data": [{"name": "r", "owner": {"login": "o"}}]}"#,
        ),
    );
    stub.set(
        "/api/v1/repos/o/r/commits",
        Reply::json(500, read("forgejo/errors/500_production.json")),
    );
    let a = wait_api(&p, "/api/activity", "500 reason", |v| {
        v["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("o/r: HTTP 500"))
    });
    assert_eq!(a["status"], "error");
    stub.set("/api/v1/repos/o/r/commits", Reply::json(200, "[]"));
    let a = wait_api(&p, "/api/activity", "ok", |v| v["status"] == "ok");
    assert_eq!(a["data"]["items"], json!([]));
    // Without Forgejo configured the feed is disabled.
    let off = Portal::builder().start();
    assert_eq!(api(&off, "/api/activity")["status"], "disabled");
}
