//! The weather feed: wttr.in `?format=j1` fetched in the background and parsed into
//! [`Weather`] (numbers as numbers, descriptions trimmed, a three-day forecast).

use serde_json::Value;

use super::error::FetchError;
use super::scheduler::Failure;
use super::{http, Forecast, Weather};
use crate::config::WeatherConfig;
use crate::text::{clean, finite_in, MAX_MESSAGE, MAX_NAME};

/// The j1 URL for `config`: `<url>/<location>?format=j1`; an empty location asks wttr.in
/// for the weather where the request comes from (the server's own location).
pub(crate) fn url(config: &WeatherConfig) -> String {
    let loc = http::encode_segment(config.location.trim());
    config.url.join(&format!("/{loc}?format=j1"))
}

/// Fetches and parses the current weather once.
pub(crate) fn fetch(agent: &ureq::Agent, config: &WeatherConfig) -> Result<Weather, Failure> {
    let host = http::host_of(config.url.as_str());
    let resp = http::get(agent, &url(config), &[("Accept", "application/json")])?;
    let failure = |error: FetchError| Failure {
        error,
        retry_after: resp.retry_after.map(std::time::Duration::from_secs),
    };
    let doc: Value = resp.json(&host).map_err(failure)?;
    parse(&doc).map_err(|e| {
        failure(FetchError::bad_data(format!(
            "unexpected j1 document from {host}: {e}"
        )))
    })
}

/// A number wttr.in may send as a string ("9") or as a number (9).
fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// `[{"value": "text"}]` → "text", cleaned and capped.
fn first_value(v: &Value, max: usize) -> Option<String> {
    let s = clean(v.get(0)?.get("value")?.as_str()?, max);
    (!s.is_empty()).then_some(s)
}

/// Plausible ranges: anything outside is a broken or forged document, not weather.
const CELSIUS: (f64, f64) = (-100.0, 70.0);
const PERCENT: (f64, f64) = (0.0, 100.0);
const KMPH: (f64, f64) = (0.0, 500.0);

/// A number in `range`, or an error naming `what`.
fn checked(v: Option<f64>, range: (f64, f64), what: &str) -> Result<Option<f64>, String> {
    match v {
        None => Ok(None),
        Some(x) => finite_in(x, range.0, range.1)
            .map(Some)
            .ok_or_else(|| format!("{what} out of range: {x}")),
    }
}

/// Parses a j1 document. Fails when there is no current condition at all (a document
/// that is not weather); anything else missing becomes a default, not an error.
pub fn parse(doc: &Value) -> Result<Weather, String> {
    let cur = doc
        .get("current_condition")
        .and_then(|c| c.get(0))
        .filter(|c| c.is_object())
        .ok_or("no current_condition")?;
    let get = |k: &str| cur.get(k).and_then(num);
    let temp_c =
        checked(get("temp_C"), CELSIUS, "temp_C")?.ok_or("current_condition has no temp_C")?;
    let location = doc
        .get("nearest_area")
        .and_then(|a| a.get(0))
        .map(|a| {
            [a.get("areaName"), a.get("country")]
                .into_iter()
                .flatten()
                .filter_map(|v| first_value(v, MAX_NAME))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let forecast = doc
        .get("weather")
        .and_then(Value::as_array)
        .map(|days| days.iter().take(3).filter_map(day).collect())
        .unwrap_or_default();
    let location = clean(&location, MAX_NAME);
    Ok(Weather {
        location,
        temp_c,
        feels_like_c: checked(get("FeelsLikeC"), CELSIUS, "FeelsLikeC")?.unwrap_or(temp_c),
        humidity: checked(get("humidity"), PERCENT, "humidity")?.unwrap_or(0.0),
        description: cur
            .get("weatherDesc")
            .and_then(|v| first_value(v, MAX_MESSAGE))
            .unwrap_or_default(),
        wind_kmph: checked(get("windspeedKmph"), KMPH, "windspeedKmph")?.unwrap_or(0.0),
        wind_dir: cur
            .get("winddir16Point")
            .and_then(Value::as_str)
            .map(|s| clean(s, 8))
            .unwrap_or_default(),
        code: get("weatherCode")
            .filter(|c| *c >= 0.0 && *c <= f64::from(u32::MAX))
            .map(|c| c as u32)
            .unwrap_or(0),
        forecast,
    })
}

/// One forecast day; its description is the one for midday (or the middle hour given).
fn day(d: &Value) -> Option<Forecast> {
    let date = d.get("date")?.as_str()?.trim();
    if date.len() != 10 {
        return None;
    }
    let hourly = d.get("hourly").and_then(Value::as_array);
    let description = hourly
        .and_then(|h| {
            h.iter()
                .find(|x| x.get("time").and_then(num) == Some(1200.0))
                .or_else(|| h.get(h.len() / 2))
        })
        .and_then(|x| x.get("weatherDesc"))
        .and_then(|v| first_value(v, MAX_MESSAGE))
        .unwrap_or_default();
    let celsius = |k: &str| finite_in(d.get(k).and_then(num)?, CELSIUS.0, CELSIUS.1);
    let valid_date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok();
    valid_date.then_some(())?;
    Some(Forecast {
        date: date.to_string(),
        max_c: celsius("maxtempC")?,
        min_c: celsius("mintempC")?,
        description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const J1: &str = include_str!("../../tests/fixtures/wttr/j1.json");

    #[test]
    fn j1_becomes_numbers_and_three_days() {
        let w = parse(&serde_json::from_str(J1).unwrap()).unwrap();
        assert_eq!(w.location, "Heideck, Germany");
        assert_eq!(w.temp_c, 9.0);
        assert_eq!(w.feels_like_c, 8.0);
        assert_eq!(w.humidity, 58.0);
        assert_eq!(w.description, "Overcast");
        assert_eq!(w.wind_kmph, 8.0);
        assert_eq!(w.wind_dir, "SW");
        assert_eq!(w.code, 122);
        assert_eq!(w.forecast.len(), 3);
        assert_eq!(w.forecast[0].date, "2026-04-03");
        assert_eq!(w.forecast[0].max_c, 11.0);
        assert_eq!(w.forecast[0].min_c, 1.0);
        assert_eq!(w.forecast[0].description, "Patchy rain nearby");
        let json = serde_json::to_value(&w).unwrap();
        assert!(json["temp_c"].is_number() && json["forecast"][2]["max_c"].is_number());
    }

    #[test]
    fn numbers_or_strings_and_trimmed_text() {
        let doc = serde_json::json!({
            "current_condition": [{"temp_C": -3, "FeelsLikeC": " -7 ", "humidity": "x",
                "weatherDesc": [{"value": "  Light snow \n"}], "weatherCode": "338"}],
            "weather": [{"date": "2026-01-01", "maxtempC": 1, "mintempC": "-4", "hourly": []},
                        {"date": "bad"}]
        });
        let w = parse(&doc).unwrap();
        assert_eq!((w.temp_c, w.feels_like_c, w.humidity), (-3.0, -7.0, 0.0));
        assert_eq!(w.description, "Light snow");
        assert_eq!(w.code, 338);
        assert_eq!(w.location, "");
        assert_eq!(w.forecast.len(), 1);
        assert_eq!(w.forecast[0].min_c, -4.0);
    }

    #[test]
    fn absurd_numbers_and_hostile_text_are_not_weather() {
        let doc = serde_json::json!({"current_condition": [{"temp_C": "1e308"}]});
        assert!(parse(&doc).unwrap_err().contains("temp_C out of range"));
        let doc = serde_json::json!({"current_condition": [{"temp_C": 5, "humidity": 400}]});
        assert!(parse(&doc).unwrap_err().contains("humidity"));
        let doc = serde_json::json!({
            "current_condition": [{"temp_C": 5,
                "weatherDesc": [{"value": "Sunny\n\u{202e}INFO forged"}]}],
            "weather": [{"date": "2026-13-45", "maxtempC": 1, "mintempC": 0},
                        {"date": "2026-04-03", "maxtempC": 1e300, "mintempC": 0}]
        });
        let w = parse(&doc).unwrap();
        assert_eq!(w.description, "Sunny INFO forged");
        assert!(
            w.forecast.is_empty(),
            "bad dates and absurd numbers are dropped"
        );
    }

    #[test]
    fn not_weather_is_an_error() {
        for doc in [
            serde_json::json!({}),
            serde_json::json!({"current_condition": []}),
            serde_json::json!({"current_condition": [{"temp_C": null}]}),
            serde_json::json!("Unknown location"),
        ] {
            assert!(parse(&doc).is_err(), "{doc}");
        }
    }

    #[test]
    fn location_is_one_encoded_segment() {
        let mut c = crate::config::WeatherConfig {
            url: crate::config::HttpUrl::parse("k", "https://wttr.in/").unwrap(),
            location: "New York, NY".into(),
            refresh: std::time::Duration::from_secs(1800),
        };
        assert_eq!(url(&c), "https://wttr.in/New%20York%2C%20NY?format=j1");
        c.location = "../../admin?x=1#".into();
        assert_eq!(
            url(&c),
            "https://wttr.in/..%2F..%2Fadmin%3Fx%3D1%23?format=j1"
        );
        c.location = String::new();
        assert_eq!(url(&c), "https://wttr.in/?format=j1");
    }
}
