//! The time zone the page's times are written in: the configured one (`timezone`, `TZ`),
//! else the host's (`<root>/etc/localtime`), read from the host's own zoneinfo under
//! `host.root` (the image has none of its own), UTC when neither can be had.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveDateTime, Offset as _, Utc};

/// Largest zoneinfo file read (the biggest in tzdata is a few KiB).
const MAX_TZIF: u64 = 256 * 1024;

/// A resolved time zone: its name and rules.
#[derive(Debug, Clone)]
pub struct Zone {
    name: String,
    rules: tz::TimeZone,
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Zone {
    pub(crate) fn utc() -> Self {
        Zone {
            name: "UTC".into(),
            rules: tz::TimeZone::utc(),
        }
    }

    /// The zone named by `spec` (an IANA name such as `Europe/Amsterdam`, optionally
    /// with a leading `:`, `UTC`, or a POSIX TZ rule such as `CET-1CEST,M3.5.0,M10.5.0/3`),
    /// or with `None` the host's (`<root>/etc/localtime`, else `<root>/etc/timezone`,
    /// else UTC). An error says what was not found.
    pub(crate) fn resolve(spec: Option<&str>, root: &Path) -> Result<Zone, String> {
        match spec.map(|s| s.trim().trim_start_matches(':')) {
            None | Some("") => Ok(Self::host(root)),
            Some("UTC" | "Etc/UTC" | "UTC0" | "Z") => Ok(Self::utc()),
            Some(name) if is_zone_name(name) => {
                let rules = read_zone(root, name).ok_or_else(|| {
                    format!(
                        "is not a time zone (no {} nor /usr/share/zoneinfo/{name})",
                        zoneinfo(root).join(name).display()
                    )
                })?;
                Ok(Zone {
                    name: name.to_string(),
                    rules,
                })
            }
            // TZ=/etc/localtime or another file: this system's file.
            Some(file) if file.starts_with('/') && !file.contains("..") => {
                let rules = read_tzif(Path::new(file))
                    .ok_or_else(|| format!("is not a readable time zone file ({file})"))?;
                let name = file.split_once("zoneinfo/").map_or("local", |(_, n)| n);
                Ok(Zone {
                    name: name.to_string(),
                    rules,
                })
            }
            Some(rule) if is_posix_rule(rule) => tz::TimeZone::from_posix_tz(rule)
                .map(|rules| Zone {
                    name: rule.to_string(),
                    rules,
                })
                .map_err(|_| "is neither a time zone name nor a POSIX TZ rule".to_string()),
            Some(_) => Err("is not a time zone name (like Europe/Amsterdam)".to_string()),
        }
    }

    /// The host's zone; UTC when it cannot be read.
    fn host(root: &Path) -> Zone {
        let localtime = root.join("etc/localtime");
        // A symlink into zoneinfo names the zone; an absolute target lives under `root`.
        let name = std::fs::read_link(&localtime).ok().and_then(|t| {
            let t = t.to_string_lossy().into_owned();
            t.split_once("zoneinfo/").map(|(_, n)| n.to_string())
        });
        let name = name.or_else(|| {
            let mut s = String::new();
            crate::files::open_regular(&root.join("etc/timezone"))
                .ok()?
                .take(256)
                .read_to_string(&mut s)
                .ok()?;
            Some(s.trim().to_string()).filter(|n| is_zone_name(n))
        });
        match name {
            Some(n) if matches!(n.as_str(), "UTC" | "Etc/UTC" | "Etc/Universal" | "Zulu") => {
                Self::utc()
            }
            Some(n) if is_zone_name(&n) => match read_zone(root, &n) {
                Some(rules) => Zone { name: n, rules },
                None => Self::utc(),
            },
            _ => read_tzif(&localtime)
                .map(|rules| Zone {
                    name: "local".into(),
                    rules,
                })
                .unwrap_or_else(Self::utc),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The offset from UTC and the zone's abbreviation ("CET", "+0530") at `t`.
    pub(crate) fn at(&self, t: DateTime<Utc>) -> (FixedOffset, String) {
        let utc = || (Utc.fix(), "UTC".to_string());
        match self.rules.find_local_time_type(t.timestamp()) {
            Ok(lt) => match FixedOffset::east_opt(lt.ut_offset()) {
                Some(off) => {
                    let abbr = match lt.time_zone_designation() {
                        "" if lt.ut_offset() == 0 => "UTC".to_string(),
                        "" => off.to_string(),
                        a => a.to_string(),
                    };
                    (off, abbr)
                }
                None => utc(),
            },
            Err(_) => utc(),
        }
    }

    /// The instant a wall-clock time in this zone names. In a gap (clocks jump forward)
    /// the offset before the jump is used; when a time occurs twice, the first.
    pub(crate) fn local_to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let guess = local.and_utc();
        let day = chrono::Duration::days(1);
        // The offsets on either side of any transition near that time.
        let before = self.at(guess - day).0;
        let after = self.at(guess + day).0;
        let valid = |off: FixedOffset| {
            let t = guess - off;
            (self.at(t).0 == off).then_some(t)
        };
        match (valid(before), valid(after)) {
            (Some(a), Some(b)) => a.min(b),
            (Some(t), None) | (None, Some(t)) => t,
            (None, None) => guess - before,
        }
    }

    /// `t` in this zone, formatted with `fmt` (chrono's strftime), then the abbreviation:
    /// "14:02 CET".
    pub(crate) fn format(&self, t: DateTime<Utc>, fmt: &str) -> String {
        let (off, abbr) = self.at(t);
        format!("{} {abbr}", t.with_timezone(&off).format(fmt))
    }
}

/// An IANA zone name: letters, digits, `_ + -`, parts separated by `/`, no `..`.
fn is_zone_name(name: &str) -> bool {
    name.len() <= 64
        && name.contains('/')
        && Path::new(name)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '/'))
}

/// A POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3", "IST-5:30"): an offset with digits,
/// never a path (a `/` only after the first `,`, as in the rule's times).
fn is_posix_rule(rule: &str) -> bool {
    let head = rule.split(',').next().unwrap_or("");
    rule.len() <= 64
        && rule.starts_with(|c: char| c.is_ascii_alphabetic() || c == '<')
        && head.contains(|c: char| c.is_ascii_digit())
        && !head.contains('/')
        && !rule.contains("..")
        && rule
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-:,./<>".contains(c))
}

fn zoneinfo(root: &Path) -> PathBuf {
    root.join("usr/share/zoneinfo")
}

/// Zone `name` from the host's zoneinfo under `root`, else this system's.
fn read_zone(root: &Path, name: &str) -> Option<tz::TimeZone> {
    read_tzif(&zoneinfo(root).join(name))
        .or_else(|| read_tzif(&Path::new("/usr/share/zoneinfo").join(name)))
}

fn read_tzif(path: &Path) -> Option<tz::TimeZone> {
    let mut bytes = Vec::new();
    crate::files::open_regular(path)
        .ok()?
        .take(MAX_TZIF)
        .read_to_end(&mut bytes)
        .ok()?;
    tz::TimeZone::from_tz_data(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tz")
    }

    #[test]
    fn names_rules_and_refusals() {
        let root = fixtures();
        let z = Zone::resolve(Some("Europe/Amsterdam"), &root).unwrap();
        let winter = DateTime::parse_from_rfc3339("2026-01-15T13:02:00Z")
            .unwrap()
            .to_utc();
        let summer = DateTime::parse_from_rfc3339("2026-07-15T12:02:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(z.format(winter, "%H:%M"), "14:02 CET");
        assert_eq!(z.format(summer, "%H:%M"), "14:02 CEST");
        let k = Zone::resolve(Some(":Asia/Kolkata"), &root).unwrap();
        assert_eq!(k.format(winter, "%H:%M"), "18:32 IST");
        let p = Zone::resolve(Some("CET-1CEST,M3.5.0,M10.5.0/3"), &root).unwrap();
        assert_eq!(p.format(summer, "%H:%M"), "14:02 CEST");
        assert_eq!(Zone::resolve(Some("UTC"), &root).unwrap(), Zone::utc());
        let f = root.join("usr/share/zoneinfo/Asia/Kolkata");
        let by_file = Zone::resolve(Some(&format!(":{}", f.display())), &root).unwrap();
        assert_eq!(by_file.name(), "Asia/Kolkata");
        for bad in [
            "Mars/Base",
            "../../etc/passwd",
            "/etc/passwd",
            "Europe/../x",
            "/nonexistent",
        ] {
            assert!(Zone::resolve(Some(bad), &root).is_err(), "{bad}");
        }
    }

    #[test]
    fn wall_clock_times_read_in_the_zone() {
        let z = Zone::resolve(Some("Europe/Amsterdam"), &fixtures()).unwrap();
        let at = |s: &str| {
            z.local_to_utc(NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap())
                .to_rfc3339()
        };
        assert_eq!(at("2026-11-29 18:00"), "2026-11-29T17:00:00+00:00");
        assert_eq!(at("2026-07-15 14:02"), "2026-07-15T12:02:00+00:00");
        // 02:30 does not exist on 29 March 2026 (02:00 -> 03:00): the winter offset.
        assert_eq!(at("2026-03-29 02:30"), "2026-03-29T01:30:00+00:00");
        // 02:30 happens twice on 25 October 2026: the first.
        assert_eq!(at("2026-10-25 02:30"), "2026-10-25T00:30:00+00:00");
        assert_eq!(
            Zone::utc().local_to_utc(
                NaiveDateTime::parse_from_str("2026-01-01 00:00", "%Y-%m-%d %H:%M").unwrap()
            ),
            DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap()
        );
    }

    #[test]
    fn the_hosts_zone_from_its_localtime_link() {
        let root = fixtures();
        let z = Zone::resolve(None, &root).unwrap();
        assert_eq!(z.name(), "Europe/Amsterdam");
        // No localtime at all: UTC.
        assert_eq!(
            Zone::resolve(None, Path::new("/nonexistent")).unwrap(),
            Zone::utc()
        );
    }
}
