//! The upstream sections: `[weather]`, `[forgejo]` (with the token's three sources and
//! the refused flag) and `[uptime_kuma]`.

use std::time::Duration;

use super::args::Overrides;
use super::field_checks::{check_token, duration, MIN_INTERVAL};
use super::file::{read_regular_bounded, FileForgejo, FileUptimeKuma, FileWeather};
use super::validated::{ForgejoConfig, UptimeKumaConfig, WeatherConfig};
use super::value_types::{HttpUrl, Secret};
use crate::error::StartupError;

/// Largest token file accepted.
const MAX_TOKEN_BYTES: u64 = 64 << 10;

pub(super) fn weather(o: &Overrides, fw: FileWeather) -> Result<WeatherConfig, StartupError> {
    let url_raw = o
        .weather_url
        .clone()
        .or(fw.url)
        .unwrap_or_else(|| "https://wttr.in".into());
    let url = HttpUrl::parse("weather.url", &url_raw)?;
    let location = o
        .weather_location
        .clone()
        .or(fw.location)
        .unwrap_or_default();
    if location.len() > 200 || location.chars().any(char::is_control) {
        return Err(StartupError::config(
            "weather.location",
            &location,
            "must be at most 200 printable characters",
        ));
    }
    Ok(WeatherConfig {
        url,
        location: location.trim().to_string(),
        refresh: duration(
            "weather.refresh",
            fw.refresh,
            Duration::from_secs(1800),
            MIN_INTERVAL,
        )?,
    })
}

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

/// `[uptime_kuma]`: both keys or neither.
pub(super) fn uptime_kuma(
    fu: Option<FileUptimeKuma>,
) -> Result<Option<UptimeKumaConfig>, StartupError> {
    let (url, slug) = match fu {
        None => return Ok(None),
        Some(FileUptimeKuma {
            url: None,
            slug: None,
        }) => return Ok(None),
        Some(FileUptimeKuma { url: None, .. }) => {
            return Err(StartupError::config(
                "uptime_kuma.url",
                "",
                "is required when uptime_kuma.slug is set",
            ))
        }
        Some(FileUptimeKuma { slug: None, .. }) => {
            return Err(StartupError::config(
                "uptime_kuma.slug",
                "",
                "is required when uptime_kuma.url is set",
            ))
        }
        Some(FileUptimeKuma {
            url: Some(url),
            slug: Some(slug),
        }) => (url, slug),
    };
    let ok = (1..=64).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(StartupError::config(
            "uptime_kuma.slug",
            &slug,
            "must be 1-64 letters, digits, '-' or '_'",
        ));
    }
    Ok(Some(UptimeKumaConfig {
        url: HttpUrl::parse("uptime_kuma.url", &url)?,
        slug,
    }))
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
