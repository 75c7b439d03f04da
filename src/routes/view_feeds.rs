//! The weather and activity tiles' views, and the freshness line every feed card shows.

use super::format::*;
use crate::access::Audience;
use crate::feeds::feed::Feed;
use crate::feeds::{FeedStatus, Snapshot, Weather};

/// A relative age the page keeps counting from its timestamp (`<time datetime data-age>`),
/// also after the server is gone.
pub struct AgeView {
    pub iso: String,
    /// "3 min ago".
    pub text: String,
}

impl AgeView {
    /// The age of `t` at `now`.
    pub fn of(t: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> Self {
        AgeView {
            iso: t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            text: ago(t, now),
        }
    }
}

/// A state and how long it has lasted: `at` ("since 14:02 UTC") as written, the
/// duration (`<time datetime data-span>`, "12 min") counting on in the page. Empty when
/// nothing is known, so the card keeps the same elements (and height) either way.
#[derive(Default)]
pub struct LastingView {
    pub at: String,
    pub iso: String,
    /// "12 min", "3 h 5 min".
    pub text: String,
}

impl LastingView {
    /// What began at `t`, seen at `now`.
    pub fn of(
        at: String,
        t: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        LastingView {
            at,
            iso: t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            text: span((now - t).num_seconds().max(0) as u64),
        }
    }
}

/// A feed's state line: what the card says about its data's freshness.
pub struct FeedState {
    /// The envelope status.
    pub status: FeedStatus,
    /// Short human text before the age ("updated", "stale · last good"), or all of it
    /// when there is no age ("pending · fetching weather…").
    pub label: String,
    /// How old the data is ("3 min ago"), for ok and stale.
    pub age: Option<AgeView>,
    /// The last error, shown for stale and error.
    pub error: Option<String>,
    /// What the card says when it has nothing to list.
    pub empty: String,
}

impl FeedState {
    /// The state line of `s`, the snapshot of `feed`, as `audience` may read it: the
    /// owner gets the error's detail, the public its short class.
    pub fn of<T>(s: &Snapshot<T>, feed: Feed, audience: Audience) -> Self {
        let what = noun(feed);
        let now = chrono::Utc::now();
        let when = s.updated_at.map(|t| AgeView::of(t, now));
        let label = match (s.status, &when) {
            (FeedStatus::Ok, Some(_)) => "updated".to_string(),
            (FeedStatus::Ok, None) => "updated just now".to_string(),
            (FeedStatus::Stale, Some(_)) => "stale · last good".to_string(),
            (FeedStatus::Stale, None) => "stale · last good a while ago".to_string(),
            (FeedStatus::Pending, _) => format!("pending · fetching {what}…"),
            (FeedStatus::Error, _) => format!("error · no {what} yet"),
            (FeedStatus::Disabled, _) => format!("disabled · {what} is not configured"),
        };
        let fresh = matches!(s.status, FeedStatus::Ok | FeedStatus::Stale);
        FeedState {
            status: s.status,
            label,
            age: when.filter(|_| fresh),
            error: s.error.as_ref().map(|e| match audience {
                Audience::Private => e.detail.clone(),
                Audience::Public => e.reason.label().into_owned(),
            }),
            empty: empty_text(s.status, feed),
        }
    }
}

/// What a feed's card calls its data ("fetching weather…", "no service checks yet").
fn noun(feed: Feed) -> &'static str {
    match feed {
        Feed::Weather | Feed::Activity => feed.name(),
        Feed::Services => "service checks",
        Feed::UptimeKuma => "Uptime Kuma",
        Feed::Peer => "metrics",
    }
}

/// The body of `feed`'s card with nothing to show, by feed status.
fn empty_text(status: FeedStatus, feed: Feed) -> String {
    let what = noun(feed);
    match status {
        FeedStatus::Pending => format!("Fetching {what}…"),
        FeedStatus::Error => format!("No {what} yet; retrying in the background."),
        FeedStatus::Disabled if feed == Feed::Activity => {
            "Set forgejo.url (and a token) to list recent commits here.".to_string()
        }
        FeedStatus::Disabled => format!("{what} is turned off."),
        FeedStatus::Ok | FeedStatus::Stale => format!("No {what} to show."),
    }
}

pub struct ForecastView {
    pub day: String,
    pub max: String,
    pub min: String,
    pub description: String,
}

pub struct WeatherView {
    /// Glyph for the current conditions (`#wx-<kind>` in the page's sprite).
    pub kind: &'static str,
    pub location: String,
    pub temp: String,
    pub feels: String,
    pub humidity: String,
    pub wind: String,
    pub description: String,
    pub forecast: Vec<ForecastView>,
}

impl WeatherView {
    pub fn new(w: &Weather) -> Self {
        WeatherView {
            kind: weather_kind(w.code),
            location: w.location.clone(),
            temp: format!("{:.0}°C", w.temp_c),
            feels: format!("{:.0}°C", w.feels_like_c),
            humidity: format!("{:.0}%", w.humidity),
            wind: format!("{:.0} km/h {}", w.wind_kmph, w.wind_dir),
            description: w.description.clone(),
            forecast: w
                .forecast
                .iter()
                .take(3)
                .map(|f| ForecastView {
                    day: day_label(&f.date),
                    max: format!("{:.0}°", f.max_c),
                    min: format!("{:.0}°", f.min_c),
                    description: f.description.clone(),
                })
                .collect(),
        }
    }
}

/// The glyph for a wttr.in (WWO) weather code: sun, part, cloud, fog, rain, snow, storm.
pub fn weather_kind(code: u32) -> &'static str {
    match code {
        113 => "sun",
        116 => "part",
        119 | 122 => "cloud",
        143 | 248 | 260 => "fog",
        200 | 386 | 389 | 392 | 395 => "storm",
        179 | 182 | 185 | 227 | 230 | 317 | 320 | 323..=338 | 350 | 362..=377 => "snow",
        176 | 263..=314 | 353..=359 => "rain",
        _ => "cloud",
    }
}

/// "2026-11-27" → "Fri 27" (the date itself when it does not parse).
pub fn day_label(date: &str) -> String {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map(|d| d.format("%a %d").to_string())
        .unwrap_or_else(|_| date.chars().take(16).collect())
}

pub struct CommitView {
    pub repo: String,
    pub repo_url: String,
    pub short_sha: String,
    pub message: String,
    pub author: String,
    pub when: String,
    pub date: String,
    pub url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_states_say_what_is_going_on() {
        use crate::feeds::{Cached, FetchError, Reason};
        let private = Audience::Private;
        let c: Cached<u32> = Cached::new(std::time::Duration::from_secs(60));
        assert!(FeedState::of(&c.snapshot(), Feed::Weather, private)
            .label
            .starts_with("pending"));
        c.set_error(FetchError::new(
            Reason::Refused,
            "connection refused by 10.0.0.5:8080",
        ));
        let s = FeedState::of(&c.snapshot(), Feed::Weather, private);
        assert_eq!(
            (s.status, s.error.as_deref()),
            (
                FeedStatus::Error,
                Some("connection refused by 10.0.0.5:8080")
            )
        );
        let public = FeedState::of(&c.snapshot(), Feed::Weather, Audience::Public);
        assert_eq!(public.error.as_deref(), Some("connection refused"));
        c.set_ok(1);
        c.set_error(FetchError::new(Reason::Http(503), "HTTP 503 from x: busy"));
        let s = FeedState::of(&c.snapshot(), Feed::Weather, private);
        assert_eq!(s.status, FeedStatus::Stale);
        assert_eq!(s.label, "stale · last good");
        assert_eq!(s.age.map(|a| a.text).as_deref(), Some("just now"));
        let d: Cached<u32> = Cached::disabled();
        assert!(FeedState::of(&d.snapshot(), Feed::Activity, private)
            .label
            .contains("not configured"));
    }
}
