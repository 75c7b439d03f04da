//! The activity feed: the newest commits across the Forgejo (or Gitea) repositories the
//! token can see. Two calls per refresh round: the most recently updated repositories
//! (`/repos/search`), then each one's latest commits (`/repos/{owner}/{repo}/commits`),
//! merged and ordered by instant.
//!
//! The commit endpoints give structured JSON, so the activity feed's `content` strings
//! (whose format differs between Forgejo and Gitea versions) are never parsed here.
//! The token travels only in the `Authorization: token …` header, never in a URL, and is
//! scrubbed from any upstream text quoted in an error.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::error::{FetchError, Reason};
use super::http;
use super::scheduler::Failure;
use super::{Activity, Commit};
use crate::config::ForgejoConfig;
use crate::text::{clean, mask, plausible_date, MAX_MESSAGE, MAX_NAME};

/// How many of the most recently updated repositories are asked for commits.
pub(crate) const MAX_REPOS: usize = 10;

/// A repository as the search result describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Repo {
    pub owner: String,
    pub name: String,
    pub full_name: String,
    pub html_url: String,
    pub empty: bool,
}

/// Fetches one round: the newest `config.limit` commits.
pub(crate) fn fetch(agent: &ureq::Agent, config: &ForgejoConfig) -> Result<Activity, Failure> {
    let Some(base) = &config.url else {
        return Err(Failure::from(FetchError::new(
            Reason::NotConfigured,
            "forgejo.url is not set",
        )));
    };
    let token = config.token.as_ref().map(|t| t.expose());
    let scrub = |e: FetchError| e.map_detail(|d| mask(&d, token));
    let auth = token.map(|t| format!("token {t}"));
    let mut headers = vec![("Accept", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    let host = http::host_of(base.as_str());

    let search = base.join(&format!(
        "/api/v1/repos/search?limit={MAX_REPOS}&sort=updated&order=desc"
    ));
    let doc: Value = http::get(agent, &search, &headers)
        .and_then(|r| r.json(&host))
        .map_err(|e| Failure::from(scrub(e)))?;
    let repos = parse_repos(&doc, base.as_str())
        .map_err(|e| Failure::from(scrub(FetchError::bad_data(e))))?;
    let wanted: Vec<&Repo> = repos.iter().filter(|r| !r.empty).take(MAX_REPOS).collect();

    let results: Vec<Result<Vec<Commit>, FetchError>> = std::thread::scope(|s| {
        let handles: Vec<_> = wanted
            .iter()
            .map(|repo| {
                let headers = &headers;
                let host = &host;
                s.spawn(move || {
                    let url = base.join(&format!(
                        "/api/v1/repos/{}/{}/commits?limit={}&stat=false&verification=false&files=false",
                        http::encode_segment(&repo.owner),
                        http::encode_segment(&repo.name),
                        config.limit
                    ));
                    let resp = http::get(agent, &url, headers)?;
                    // 409: the repository has no commits yet; 404: it went away between
                    // the two calls. Neither is a failure of the feed.
                    if resp.status == 409 || resp.status == 404 {
                        return Ok(Vec::new());
                    }
                    let doc: Value = resp.json(host)?;
                    Ok(parse_commits(&doc, repo, base.as_str()))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(FetchError::bad_data("commit fetch panicked")))
            })
            .collect()
    });

    let mut lists = Vec::new();
    let mut first_error = None;
    for (repo, r) in wanted.iter().zip(results) {
        match r {
            Ok(list) => lists.push(list),
            Err(e) => {
                let e = scrub(e);
                log::debug!("forgejo: commits of {} skipped: {e}", repo.full_name);
                let name = mask(&repo.full_name, token);
                first_error.get_or_insert(e.map_detail(|d| format!("{name}: {d}")));
            }
        }
    }
    // Some repositories answering is a (partial) success; none answering is a failure.
    if lists.is_empty() {
        if let Some(e) = first_error {
            return Err(Failure::from(e));
        }
    }
    let mut items = merge(lists, config.limit);
    for c in &mut items {
        mask_commit(c, token);
    }
    Ok(Activity { items })
}

/// Masks the token in every text of a commit: an upstream that echoes it (in a
/// repository name, a message, a link) must not publish it.
fn mask_commit(c: &mut Commit, token: Option<&str>) {
    for field in [
        &mut c.repo,
        &mut c.repo_url,
        &mut c.message,
        &mut c.author,
        &mut c.url,
    ] {
        *field = mask(field, token);
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for k in path {
        cur = cur.get(k)?;
    }
    cur.as_str().map(str::trim).filter(|s| !s.is_empty())
}

/// An upstream link we will put in an `href`: the configuration's rule for URLs.
fn safe_link(s: Option<&str>) -> Option<String> {
    crate::config::HttpUrl::check(s?).ok().map(str::to_string)
}

/// The repositories of a `/repos/search` answer (`{"ok": true, "data": […]}`), in the
/// server's order. `{"ok": false, "error": …}` is an error; entries without an owner or
/// name are skipped; every other missing key has a default.
pub fn parse_repos(doc: &Value, base: &str) -> Result<Vec<Repo>, String> {
    if doc.get("ok").and_then(Value::as_bool) == Some(false) {
        let why = str_at(doc, &["error"]).unwrap_or("no reason given");
        return Err(format!(
            "repository search failed: {}",
            crate::text::clip(why)
        ));
    }
    let list = doc
        .get("data")
        .or(Some(doc))
        .and_then(Value::as_array)
        .ok_or("repository search answer has no data list")?;
    Ok(list
        .iter()
        .filter_map(|r| {
            let owner = str_at(r, &["owner", "login"])
                .or_else(|| str_at(r, &["owner", "username"]))?
                .to_string();
            let name = str_at(r, &["name"])?.to_string();
            let full_name = clean(
                &str_at(r, &["full_name"])
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{owner}/{name}")),
                MAX_NAME,
            );
            let html_url = safe_link(str_at(r, &["html_url"]))
                .unwrap_or_else(|| format!("{base}/{owner}/{name}"));
            Some(Repo {
                empty: r.get("empty").and_then(Value::as_bool).unwrap_or(false),
                owner,
                name,
                full_name,
                html_url,
            })
        })
        .collect())
}

fn date_of(c: &Value) -> Option<DateTime<Utc>> {
    [
        &["commit", "committer", "date"][..],
        &["commit", "author", "date"],
        &["created"],
    ]
    .iter()
    .filter_map(|p| str_at(c, p))
    .find_map(|s| DateTime::parse_from_rfc3339(s).ok())
    .map(|d| d.with_timezone(&Utc))
}

/// The commits of one `/repos/{o}/{r}/commits` answer. Entries without a usable SHA or
/// date are skipped; a `null` account (the e-mail matches no user) falls back to the
/// commit's own author name.
pub fn parse_commits(doc: &Value, repo: &Repo, base: &str) -> Vec<Commit> {
    let Some(list) = doc.as_array() else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|c| {
            let sha = str_at(c, &["sha"])
                .or_else(|| str_at(c, &["id"]))
                .filter(|s| {
                    (7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
                })?
                .to_ascii_lowercase();
            let date = plausible_date(date_of(c)?, Utc::now())?;
            let message = c
                .get("commit")
                .and_then(|m| m.get("message"))
                .and_then(Value::as_str)
                .and_then(|m| m.lines().map(str::trim).find(|l| !l.is_empty()))
                .map(|l| clean(l, MAX_MESSAGE))
                .unwrap_or_default();
            let author = str_at(c, &["author", "full_name"])
                .or_else(|| str_at(c, &["author", "login"]))
                .or_else(|| str_at(c, &["author", "username"]))
                .or_else(|| str_at(c, &["commit", "author", "name"]))
                .map(|a| clean(a, MAX_NAME))
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| "unknown".into());
            let url = safe_link(str_at(c, &["html_url"]))
                .unwrap_or_else(|| format!("{}/commit/{sha}", repo.html_url));
            Some(Commit {
                repo: repo.full_name.clone(),
                repo_url: if repo.html_url.is_empty() {
                    format!("{base}/{}", repo.full_name)
                } else {
                    repo.html_url.clone()
                },
                short_sha: sha[..10.min(sha.len())].to_string(),
                sha,
                message,
                author,
                date,
                url,
            })
        })
        .collect()
}

/// All lists as one: newest instant first, each commit once (forks share commits),
/// at most `limit`.
pub(crate) fn merge(lists: Vec<Vec<Commit>>, limit: usize) -> Vec<Commit> {
    let mut all: Vec<Commit> = lists.into_iter().flatten().collect();
    all.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.sha.cmp(&b.sha)));
    let mut seen = HashSet::new();
    all.retain(|c| seen.insert(c.sha.clone()));
    all.truncate(limit);
    all
}

#[cfg(test)]
mod tests {
    use super::super::stub::{Reply, Stub};
    use super::*;

    const SEARCH: &str = include_str!("../../tests/fixtures/forgejo/repos_search.json");
    const FAST: &str = include_str!("../../tests/fixtures/forgejo/repo_commits_fast.json");
    const FULL: &str = include_str!("../../tests/fixtures/forgejo/repo_commits.json");
    const OLD_REPO: &str =
        include_str!("../../tests/fixtures/forgejo/captured/repository_codeberg_2022.json");
    const ONE: &str =
        include_str!("../../tests/fixtures/forgejo/captured/git_commit_single_woodpecker.json");
    const BASE: &str = "https://forgejo.example.org";

    fn repo() -> Repo {
        Repo {
            owner: "user2".into(),
            name: "kiteportal".into(),
            full_name: "user2/kiteportal".into(),
            html_url: format!("{BASE}/user2/kiteportal"),
            empty: false,
        }
    }

    #[test]
    fn search_gives_repos_in_order_with_empty_flagged() {
        let repos = parse_repos(&serde_json::from_str(SEARCH).unwrap(), BASE).unwrap();
        let names: Vec<_> = repos.iter().map(|r| r.full_name.as_str()).collect();
        assert_eq!(names, ["user2/kiteportal", "user2/repo16", "user2/scratch"]);
        assert_eq!(
            repos.iter().map(|r| r.empty).collect::<Vec<_>>(),
            [false, false, true]
        );
        let err: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/forgejo/errors/500_search_error.json"
        ))
        .unwrap();
        assert!(parse_repos(&err, BASE)
            .unwrap_err()
            .contains("context deadline exceeded"));
    }

    #[test]
    fn old_repository_shape_is_tolerated() {
        let old: Value = serde_json::from_str(OLD_REPO).unwrap();
        let doc = serde_json::json!({"ok": true, "data": [old, {"name": "no-owner"}, null]});
        let repos = parse_repos(&doc, BASE).unwrap();
        assert_eq!(repos.len(), 1);
        assert!(!repos[0].empty);
        assert!(repos[0].html_url.starts_with("http"));
    }

    #[test]
    fn commits_first_line_author_fallback_and_utc() {
        let list = parse_commits(&serde_json::from_str(FAST).unwrap(), &repo(), BASE);
        assert_eq!(list.len(), 3);
        assert_eq!(
            list[0].message,
            "weather: parse wttr.in j1 numbers leniently"
        );
        assert_eq!(list[0].author, "User Two");
        assert_eq!(list[0].short_sha, "9f3c2d8e1b");
        assert_eq!(list[0].date.to_rfc3339(), "2025-06-03T19:13:52+00:00");
        assert_eq!(list[2].author, "Someone Without Account");
        assert_eq!(list[2].date.to_rfc3339(), "2025-01-12T15:05:44+00:00");
        assert!(list[0]
            .url
            .ends_with("/commit/9f3c2d8e1b7a4c6d5e0f1a2b3c4d5e6f7a8b9c0d"));
        let full = parse_commits(&serde_json::from_str(FULL).unwrap(), &repo(), BASE);
        assert_eq!(full.len(), 3);
        // The captured commit lacks `committer` and `parents`; login is used when the
        // account has no full name.
        let one: Value = serde_json::from_str(ONE).unwrap();
        let c = parse_commits(&Value::Array(vec![one]), &repo(), BASE);
        assert_eq!(c[0].author, "qwerty287");
        assert_eq!(c[0].message, "README.md aktualisiert");
    }

    #[test]
    fn hostile_and_broken_entries() {
        let doc = serde_json::json!([
            {"sha": "abcdef1234567", "html_url": "javascript:alert(1)",
             "commit": {"message": "<img src=x onerror=alert(1)>\nrest",
                        "author": {"date": "2025-06-01T00:00:00+14:00"}}},
            {"sha": "not-hex!", "commit": {"committer": {"date": "2025-06-01T00:00:00Z"}}},
            {"sha": "abcdef1234568", "commit": {"committer": {"date": "yesterday"}}},
            {"sha": null},
            42
        ]);
        let c = parse_commits(&doc, &repo(), BASE);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].message, "<img src=x onerror=alert(1)>");
        assert_eq!(c[0].author, "unknown");
        assert_eq!(
            c[0].url,
            format!("{BASE}/user2/kiteportal/commit/abcdef1234567")
        );
        assert_eq!(c[0].date.to_rfc3339(), "2025-05-31T10:00:00+00:00");
        assert!(parse_commits(&serde_json::json!({"message": "x"}), &repo(), BASE).is_empty());
    }

    #[test]
    fn merge_orders_by_instant_not_by_text() {
        let mk = |sha: &str, date: &str| {
            let doc = serde_json::json!([{"sha": sha, "commit": {"committer": {"date": date}}}]);
            parse_commits(&doc, &repo(), BASE)
        };
        let merged = merge(
            vec![
                mk("aaaaaaa1", "2025-06-03T21:13:52+02:00"), // 19:13:52Z
                mk("bbbbbbb2", "2025-06-03T15:00:00-05:00"), // 20:00:00Z
                mk("ccccccc3", "2025-06-03T19:30:00Z"),
                mk("aaaaaaa1", "2025-06-03T21:13:52+02:00"), // a fork's copy
            ],
            10,
        );
        let order: Vec<_> = merged.iter().map(|c| c.sha.as_str()).collect();
        assert_eq!(order, ["bbbbbbb2", "ccccccc3", "aaaaaaa1"]);
        assert_eq!(merge(vec![merged], 2).len(), 2);
    }

    #[test]
    fn upstream_links_are_kept_when_safe_and_replaced_when_not() {
        let commit = |link: &str| {
            let doc = serde_json::json!([{"sha": "abcdef1234567", "html_url": link,
                "commit": {"committer": {"date": "2025-06-01T00:00:00Z"}}}]);
            parse_commits(&doc, &repo(), BASE).remove(0).url
        };
        let own = "https://git.example.net/mirror/commit/abcdef1234567";
        assert_eq!(commit(own), own);
        let fallback = format!("{BASE}/user2/kiteportal/commit/abcdef1234567");
        for bad in [
            "https://git.example.net/a b",
            "javascript:alert(1)",
            "//evil.example",
        ] {
            assert_eq!(commit(bad), fallback, "{bad}");
        }
        let doc = serde_json::json!([{"owner": {"login": "o"}, "name": "r",
            "html_url": "https://git.example.net/o/r"}]);
        assert_eq!(
            parse_repos(&doc, BASE).unwrap()[0].html_url,
            "https://git.example.net/o/r"
        );
    }

    fn config(base: &str, token: &str) -> ForgejoConfig {
        ForgejoConfig {
            url: Some(crate::config::HttpUrl::parse("forgejo.url", base).unwrap()),
            token: Some(crate::config::Secret::new(token.into())),
            limit: 10,
            refresh: std::time::Duration::from_secs(300),
        }
    }

    /// The stub upstream answering each path with a JSON status and body.
    fn forgejo(routes: &[(&str, u16, &str)]) -> Stub {
        let stub = Stub::start();
        for (path, status, body) in routes {
            stub.set(path, Reply::json(*status, body.to_string()));
        }
        stub
    }

    fn search(repos: &[&str]) -> String {
        let data: Vec<Value> = repos
            .iter()
            .map(|r| serde_json::json!({"owner": {"login": "user2"}, "name": r}))
            .collect();
        serde_json::json!({"ok": true, "data": data}).to_string()
    }

    #[test]
    fn a_repository_that_vanishes_or_has_no_commits_is_not_a_failure() {
        let stub = forgejo(&[
            ("/api/v1/repos/search", 200, &search(&["gone"])),
            (
                "/api/v1/repos/user2/gone/commits",
                404,
                r#"{"message":"not found"}"#,
            ),
        ]);
        let agent = http::agent(std::time::Duration::from_secs(3));
        let token = "s3cr3t-token-value";
        let activity = fetch(&agent, &config(&stub.url(), token)).expect("not a failure");
        assert!(activity.items.is_empty());
        let seen = stub.seen();
        assert_eq!(seen.len(), 2);
        let auth = format!("token {token}");
        assert!(
            seen.iter()
                .all(|h| h.header("authorization") == Some(auth.as_str())),
            "{seen:?}"
        );

        let stub = forgejo(&[
            (
                "/api/v1/repos/search",
                200,
                &search(&["fresh", "kiteportal"]),
            ),
            (
                "/api/v1/repos/user2/fresh/commits",
                409,
                r#"{"message":"empty"}"#,
            ),
            ("/api/v1/repos/user2/kiteportal/commits", 200, FAST),
        ]);
        let activity = fetch(&agent, &config(&stub.url(), token)).expect("one list is enough");
        assert_eq!(activity.items.len(), 3);
    }

    #[test]
    fn a_failing_repository_fails_the_round_only_when_none_answers() {
        let token = "s3cr3t-token-value";
        let stub = forgejo(&[
            ("/api/v1/repos/search", 200, &search(&["broken"])),
            (
                "/api/v1/repos/user2/broken/commits",
                500,
                &format!(r#"{{"message":"db error {token}"}}"#),
            ),
        ]);
        let agent = http::agent(std::time::Duration::from_secs(3));
        let e = fetch(&agent, &config(&stub.url(), token)).expect_err("nothing answered");
        let detail = e.error.detail;
        assert!(
            detail.starts_with("user2/broken: HTTP 500 from"),
            "{detail}"
        );
        assert!(!detail.contains(token), "{detail}");
    }
}
