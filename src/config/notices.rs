//! `[[notices]]`: the owner's announcements for the page (a title, a plain-text body, a
//! style, the services they concern, a window from `starts` to `ends`), validated with
//! the key of each entry (`notices[1].ends`) and their times resolved to UTC.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::services::Service;
use crate::error::StartupError;
use crate::timezone::Zone;

/// Most notices in the configuration.
pub const MAX_NOTICES: usize = 20;
/// Longest title, in characters.
pub const MAX_TITLE: usize = 120;
/// Longest body, in characters.
pub const MAX_BODY: usize = 2000;

/// How a notice looks (and how serious it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum NoticeStyle {
    // In order of precedence: the page lists the more serious first.
    Danger,
    Warning,
    Maintenance,
    Info,
}

crate::names::display_by_name!(NoticeStyle);

impl NoticeStyle {
    /// The style named `s` exactly.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        crate::names::parse(s)
    }
}

/// `[[notices]]` as written in the file: an announcement by the owner. Times are RFC 3339
/// (a string or a TOML date-time) or `"YYYY-MM-DD HH:MM"` in the configured timezone.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileNotice {
    pub title: String,
    pub body: Option<String>,
    pub style: Option<String>,
    pub services: Option<Vec<String>>,
    pub starts: Option<toml::Value>,
    pub ends: Option<toml::Value>,
}

/// One `[[notices]]` entry, validated.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NoticeConfig {
    /// `owner-<hash of title and start>`: stable across reloads and reordering.
    pub id: String,
    pub title: String,
    /// Plain text; line breaks kept.
    pub body: String,
    pub style: NoticeStyle,
    /// Names of configured `[[services]]` whose cards carry the notice.
    pub services: Vec<String>,
    /// Shown from (`None`: always).
    pub starts: Option<DateTime<Utc>>,
    /// Shown until (`None`: until removed).
    pub ends: Option<DateTime<Utc>>,
}

/// `[[notices]]`: at most [`MAX_NOTICES`]; times without an offset are read in `zone`.
pub(super) fn notices(
    list: Option<Vec<FileNotice>>,
    services: &[Service],
    zone: &Zone,
) -> Result<Vec<NoticeConfig>, StartupError> {
    let list = list.unwrap_or_default();
    if list.len() > MAX_NOTICES {
        return Err(StartupError::config(
            "notices",
            &list.len().to_string(),
            &format!("lists more than {MAX_NOTICES} notices"),
        ));
    }
    let mut out: Vec<NoticeConfig> = Vec::with_capacity(list.len());
    for (i, n) in list.into_iter().enumerate() {
        let mut notice = notice(i, n, services, zone)?;
        if out.iter().any(|o| o.id == notice.id) {
            notice.id = format!("{}-{i}", notice.id);
        }
        out.push(notice);
    }
    Ok(out)
}

fn notice(
    i: usize,
    n: FileNotice,
    services: &[Service],
    zone: &Zone,
) -> Result<NoticeConfig, StartupError> {
    let k = |f: &str| format!("notices[{i}].{f}");
    let title = n.title.trim().to_string();
    if title.is_empty() {
        return Err(StartupError::config(
            &k("title"),
            &n.title,
            "must not be empty",
        ));
    }
    text(&k("title"), &title, MAX_TITLE, false)?;
    let body = n.body.unwrap_or_default().trim().replace("\r\n", "\n");
    text(&k("body"), &body, MAX_BODY, true)?;
    let style = match n.style {
        None => NoticeStyle::Info,
        Some(s) => NoticeStyle::parse(s.trim()).ok_or_else(|| {
            StartupError::config(
                &k("style"),
                &s,
                "must be \"info\", \"warning\", \"danger\" or \"maintenance\"",
            )
        })?,
    };
    let mut names = Vec::new();
    for s in n.services.unwrap_or_default() {
        let name = s.trim();
        if !services.iter().any(|x| x.name == name) {
            return Err(StartupError::config(
                &k("services"),
                &s,
                "names no [[services]] entry",
            ));
        }
        if !names.iter().any(|x| x == name) {
            names.push(name.to_string());
        }
    }
    let starts = n.starts.map(|t| time(&k("starts"), &t, zone)).transpose()?;
    let ends = n.ends.map(|t| time(&k("ends"), &t, zone)).transpose()?;
    if let (Some(s), Some(e)) = (starts, ends) {
        if e <= s {
            return Err(StartupError::config(
                &k("ends"),
                &e.to_rfc3339(),
                &format!("is not after {} ({})", k("starts"), s.to_rfc3339()),
            ));
        }
    }
    Ok(NoticeConfig {
        id: id_of(&title, starts),
        title,
        body,
        style,
        services: names,
        starts,
        ends,
    })
}

/// At most `max` characters, no control characters (but line breaks and tabs where
/// `lines`).
fn text(key: &str, s: &str, max: usize, lines: bool) -> Result<(), StartupError> {
    if s.chars().count() > max {
        return Err(StartupError::config(
            key,
            s,
            &format!("is longer than {max} characters"),
        ));
    }
    let bad = |c: char| c.is_control() && !(lines && (c == '\n' || c == '\t'));
    if s.chars().any(|c| bad(c) || crate::text::is_invisible(c)) {
        return Err(StartupError::config(
            key,
            s,
            "contains control or invisible characters",
        ));
    }
    Ok(())
}

/// A time as written: RFC 3339 (`2026-11-29T18:00:00+01:00`, a TOML date-time), or a
/// wall-clock time in the page's zone (`2026-11-29 18:00`).
fn time(key: &str, raw: &toml::Value, zone: &Zone) -> Result<DateTime<Utc>, StartupError> {
    let s = match raw {
        toml::Value::String(s) => s.trim().to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        other => other.type_str().to_string(),
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
        return Ok(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(&s, f).ok())
    .map(|local| zone.local_to_utc(local))
    .ok_or_else(|| {
        StartupError::config(
            key,
            &s,
            "is not a time (RFC 3339, or \"YYYY-MM-DD HH:MM\" in the configured timezone)",
        )
    })
}

/// `owner-` and 8 hex digits of an FNV-1a hash of the title and the start.
fn id_of(title: &str, starts: Option<DateTime<Utc>>) -> String {
    let mut h: u32 = 0x811c_9dc5;
    let start = starts.map(|t| t.timestamp()).unwrap_or(0).to_string();
    for b in title.bytes().chain([0]).chain(start.bytes()) {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("owner-{h:08x}")
}

#[cfg(test)]
mod tests {
    use crate::config::{build, parse_toml, Overrides};
    use crate::error::StartupError;

    fn cfg(toml: &str) -> Result<crate::config::Config, StartupError> {
        let f = parse_toml(&format!("timezone = \"UTC\"\n{toml}")).map_err(StartupError::new)?;
        build(&Overrides::default(), f)
    }

    const SVC: &str = "[[services]]\nname = \"Grafana\"\nurl = \"https://g.test\"\n";

    #[test]
    fn a_notice_reads_its_times_in_either_form() {
        let c = cfg(&format!(
            "{SVC}[[notices]]\ntitle = \" Disk swap \"\nbody = \"line one\\nline two\"\n\
             style = \"maintenance\"\nservices = [\"Grafana\", \"Grafana\"]\n\
             starts = \"2026-11-29 07:00\"\nends = 2026-11-29T11:00:00+01:00\n\
             [[notices]]\ntitle = \"Hello\"\n"
        ))
        .unwrap();
        let n = &c.notices[0];
        assert_eq!(n.title, "Disk swap");
        assert_eq!(n.body, "line one\nline two");
        assert_eq!(n.style, crate::config::NoticeStyle::Maintenance);
        assert_eq!(n.services, ["Grafana"]);
        assert_eq!(n.starts.unwrap().to_rfc3339(), "2026-11-29T07:00:00+00:00");
        assert_eq!(n.ends.unwrap().to_rfc3339(), "2026-11-29T10:00:00+00:00");
        assert!(n.id.starts_with("owner-") && n.id.len() == 14);
        let h = &c.notices[1];
        assert_eq!(
            (h.style, h.starts, h.ends),
            (crate::config::NoticeStyle::Info, None, None)
        );
        assert_ne!(n.id, h.id);
    }

    #[test]
    fn bad_notices_name_the_key() {
        let long = "x".repeat(121);
        let body = "y".repeat(2001);
        let table = [
            ("title = \"\"", "notices[0].title: '' must not be empty"),
            ("title = \"  \"", "notices[0].title: '  ' must not be empty"),
            (&format!("title = \"{long}\"")[..], "notices[0].title: 'xxx"),
            (
                "title = \"a\"\nstyle = \"warn\"",
                "notices[0].style: 'warn' must be",
            ),
            (
                &format!("title = \"a\"\nbody = \"{body}\"")[..],
                "is longer than 2000 characters",
            ),
            (
                "title = \"a\"\nservices = [\"Nope\"]",
                "notices[0].services: 'Nope' names no [[services]] entry",
            ),
            (
                "title = \"a\"\nstarts = \"tomorrow\"",
                "notices[0].starts: 'tomorrow' is not a time",
            ),
            (
                "title = \"a\"\nstarts = \"2026-11-29 18:00\"\nends = \"2026-11-29 17:00\"",
                "notices[0].ends: '2026-11-29T17:00:00+00:00' is not after notices[0].starts",
            ),
            ("title = \"a\\u202e\"", "notices[0].title"),
            ("title = \"a\"\ncolour = \"red\"", "colour"),
        ];
        for (fields, want) in table {
            let err = cfg(&format!("{SVC}[[notices]]\n{fields}\n"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(want),
                "{fields:?} gave {err:?}, wanted {want:?}"
            );
        }
        let many = "[[notices]]\ntitle = \"a\"\n".repeat(21);
        let err = cfg(&many).unwrap_err().to_string();
        assert!(err.contains("notices: '21' lists more than 20"), "{err}");
        let twenty = cfg(&"[[notices]]\ntitle = \"a\"\n".repeat(20)).unwrap();
        let mut ids: Vec<&str> = twenty.notices.iter().map(|n| n.id.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 20, "ids are unique");
    }
}
