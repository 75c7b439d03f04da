//! `[weather]`: the wttr.in-style service the weather card reads, the location asked
//! for, and how often.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::args::Overrides;
use super::field_checks::{duration, MIN_INTERVAL};
use super::value_types::{humantime_serde_compat, HttpUrl, RawDuration};
use crate::error::StartupError;

/// `[weather]` as written in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWeather {
    pub url: Option<String>,
    pub location: Option<String>,
    pub refresh: Option<RawDuration>,
}

/// `[weather]`, validated.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WeatherConfig {
    pub url: HttpUrl,
    pub location: String,
    #[serde(with = "humantime_serde_compat")]
    pub refresh: Duration,
}

/// Validates `[weather]`; the URL and location may come from flags.
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
