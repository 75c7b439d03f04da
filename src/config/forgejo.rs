//! `[forgejo]`: the activity feed's instance, its token (from the environment, a token
//! file or the file itself; never from a flag), how many items and how often.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::args::Overrides;
use super::field_checks::{duration, MIN_INTERVAL};
use super::file::read_regular_bounded;
use super::value_types::{humantime_serde_compat, HttpUrl, RawDuration, Secret};
use crate::error::StartupError;

/// Largest token file accepted.
const MAX_TOKEN_BYTES: u64 = 64 << 10;

/// `[forgejo]` as written in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileForgejo {
    pub url: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    pub limit: Option<i64>,
    pub refresh: Option<RawDuration>,
}

/// `[forgejo]`, validated (the token masked when printed).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ForgejoConfig {
    /// `None` disables the activity feed.
    pub url: Option<HttpUrl>,
    pub token: Option<Secret>,
    pub limit: usize,
    #[serde(with = "humantime_serde_compat")]
    pub refresh: Duration,
}

/// Validates `[forgejo]`.
pub(super) fn forgejo(o: &Overrides, ff: FileForgejo) -> Result<ForgejoConfig, StartupError> {
    let url = match o.forgejo_url.clone().or(ff.url.clone()) {
        Some(u) if u.trim().is_empty() => None,
        Some(u) => Some(HttpUrl::parse("forgejo.url", &u)?),
        None => None,
    };
    let token = forgejo_token(o, &ff)?;
    let limit = match ff.limit {
        None => 10,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(n) => {
            return Err(StartupError::config(
                "forgejo.limit",
                &n.to_string(),
                "must be between 1 and 100",
            ))
        }
    };
    Ok(ForgejoConfig {
        url,
        token,
        limit,
        refresh: duration(
            "forgejo.refresh",
            ff.refresh,
            Duration::from_secs(300),
            MIN_INTERVAL,
        )?,
    })
}

/// The token: environment, else the token file (flag or file), else `forgejo.token`.
/// Never from a flag, and never both `token` and `token_file` in the file.
fn forgejo_token(o: &Overrides, ff: &FileForgejo) -> Result<Option<Secret>, StartupError> {
    if o.forgejo_token_flag.is_some() {
        return Err(StartupError::new(
            "--forgejo-token is not accepted: a token on the command line shows in `ps`; \
set KITEPORTAL_FORGEJO_TOKEN or forgejo.token_file (--forgejo-token-file)",
        ));
    }
    if ff.token.is_some() && ff.token_file.is_some() {
        return Err(StartupError::config(
            "forgejo.token",
            "********",
            "is set together with forgejo.token_file; use one",
        ));
    }
    if let Some(t) = o.forgejo_token.clone().filter(|t| !t.is_empty()) {
        return Ok(Some(check_token("KITEPORTAL_FORGEJO_TOKEN", t)?));
    }
    if let Some(p) = o.forgejo_token_file.clone().or(ff.token_file.clone()) {
        let text = read_regular_bounded(&p, MAX_TOKEN_BYTES).map_err(|why| {
            StartupError::config("forgejo.token_file", &p.display().to_string(), &why)
        })?;
        return Ok(Some(check_token(
            "forgejo.token_file",
            text.trim().to_string(),
        )?));
    }
    ff.token
        .clone()
        .map(|t| check_token("forgejo.token", t))
        .transpose()
}

/// The token's form: it goes into an HTTP header.
fn check_token(key: &str, t: String) -> Result<Secret, StartupError> {
    if t.is_empty() {
        return Err(StartupError::config(key, "", "is empty"));
    }
    // The token goes into an HTTP header: it must be visible ASCII, no spaces.
    if t.len() > 4096 || !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(StartupError::config(
            key,
            "********",
            "must be printable ASCII without spaces",
        ));
    }
    Ok(Secret::new(t))
}

#[cfg(test)]
mod tests {
    use crate::config::{build, parse_toml, Overrides};

    #[test]
    fn token_file_is_read_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        std::fs::write(&p, "s3cr3t-token\n").unwrap();
        let f = parse_toml(&format!(
            "[forgejo]\nurl = \"https://git.example\"\ntoken_file = {:?}",
            p
        ))
        .unwrap();
        let c = build(&Overrides::default(), f).unwrap();
        assert_eq!(c.forgejo.token.as_ref().unwrap().expose(), "s3cr3t-token");
        let shown = format!("{} {:?}", c.to_pretty_json(), c);
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("********"));
    }
}
