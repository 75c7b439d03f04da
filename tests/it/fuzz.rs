//! Property tests (fuzzing within `cargo test`) of the parsers that take untrusted text:
//! the config file, Accept-Encoding / If-None-Match headers. Any crash found becomes a
//! regression case below.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use kiteportal::config::{build, parse_toml, Overrides};
use kiteportal::routes::assets::{if_none_match, negotiate, Encoding};
use proptest::prelude::*;

fn headers(name: &'static str, value: &str) -> Option<HeaderMap> {
    let v = HeaderValue::from_str(value).ok()?;
    let mut h = HeaderMap::new();
    h.insert(HeaderName::from_static(name), v);
    Some(h)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn accept_encoding_never_panics_and_picks_an_available_variant(
        value in "[ -~]{0,200}", has_gzip: bool, has_br: bool
    ) {
        if let Some(h) = headers("accept-encoding", &value) {
            match negotiate(&h, has_gzip, has_br) {
                Encoding::Gzip => prop_assert!(has_gzip),
                Encoding::Brotli => prop_assert!(has_br),
                Encoding::Identity => {}
            }
        }
    }

    #[test]
    fn if_none_match_never_panics(value in "[ -~]{0,200}") {
        if let Some(h) = headers("if-none-match", &value) {
            let _ = if_none_match(&h, &HeaderValue::from_static("\"abc\""));
        }
    }

    #[test]
    fn config_text_never_panics(text in "(?s).{0,400}") {
        if let Ok(file) = parse_toml(&text) {
            let _ = build(&Overrides::default(), file);
        }
    }

    #[test]
    fn config_values_never_panic(
        interval in "[ -~]{0,20}", url in "[ -~]{0,60}", bind in "[ -~]{0,30}",
        cidr in "[ -~]{0,30}", limit in any::<i64>(), secs in any::<f64>()
    ) {
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let text = format!(
            "bind = \"{}\"\ntrusted_proxies = [\"{}\"]\nservices_interval = {secs:?}\n\
             [metrics]\ninterval = \"{}\"\n[weather]\nurl = \"{}\"\n[forgejo]\nlimit = {limit}\n",
            esc(&bind), esc(&cidr), esc(&interval), esc(&url)
        );
        if let Ok(file) = parse_toml(&text) {
            let _ = build(&Overrides::default(), file);
        }
    }
}

#[test]
fn regressions() {
    // Seeds worth keeping: odd q-values and separators.
    for v in [
        "br;q=NaN",
        "gzip;q=-1",
        "br;q=1e999",
        ";;;,,,",
        "*;q=0.0000001",
        "gzip;q",
    ] {
        let h = headers("accept-encoding", v).unwrap();
        let _ = negotiate(&h, true, true);
    }
    for t in [
        "[metrics]\ninterval = 1e300",
        "[metrics]\ninterval = -0.0",
        "services_interval = nan",
        "services_interval = inf",
    ] {
        if let Ok(file) = parse_toml(t) {
            assert!(build(&Overrides::default(), file).is_err(), "{t}");
        }
    }
}
