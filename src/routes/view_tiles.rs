//! The page's tiles: each is one partial of `templates/tiles/` (the summary, the host
//! switcher, the notices, the services badge and cards, the system panel, the weather,
//! the activity), included by `index.html` for the first paint and rendered here again,
//! once per host and audience at each publication, for the live page. What a page's
//! stream carries is the difference ([`crate::hub::patch`] says how it reads): the
//! browser swaps and patches, it formats nothing.

use askama::Template;
use bytes::Bytes;

use super::view::PageView;
use crate::access::Audience;
use crate::hub::patch::Rendered;
use crate::state::AppState;

macro_rules! tile {
    ($name:ident, $path:literal) => {
        #[derive(Template)]
        #[template(path = $path)]
        struct $name<'a> {
            v: &'a PageView,
        }
    };
}

tile!(Summary, "tiles/summary.html");
tile!(HostTabs, "tiles/hosts.html");
tile!(Notices, "tiles/notices.html");
tile!(ServicesBadge, "tiles/svc_feed.html");
tile!(Services, "tiles/services.html");
tile!(System, "tiles/sys.html");
tile!(WeatherTile, "tiles/weather.html");
tile!(ActivityTile, "tiles/activity.html");

/// Every tile of `v`: `(element id, html)`.
pub fn render(v: &PageView) -> Rendered {
    let mut out: Rendered = Vec::with_capacity(8);
    let mut add = |id: &'static str, r: askama::Result<String>| match r {
        Ok(html) => out.push((id, html.trim().to_string())),
        Err(e) => log::error!("tile {id} failed: {e}"),
    };
    add("summary", Summary { v }.render());
    if !v.hosts.is_empty() {
        add("host-tabs", HostTabs { v }.render());
    }
    add("notices", Notices { v }.render());
    add("svc-feed", ServicesBadge { v }.render());
    add("svc-groups", Services { v }.render());
    add("sys", System { v }.render());
    add("weather", WeatherTile { v }.render());
    add("activity", ActivityTile { v }.render());
    out
}

/// The tiles of every host the page can show (this host, then each peer), each for the
/// owner and for the public.
fn render_all(state: &AppState) -> Vec<(String, [Rendered; 2])> {
    let config = state.config();
    let now = chrono::Utc::now();
    let hosts = std::iter::once(config.host.name.clone())
        .chain(config.peers.iter().map(|p| p.name.clone()));
    hosts
        .map(|host| {
            let view = |a| render(&PageView::build(state, now, a, &host, false));
            let both = [view(Audience::Private), view(Audience::Public)];
            (host, both)
        })
        .collect()
}

/// Makes the hub render the page's tiles at each publication while a stream is open (once
/// per host and audience, whatever the number of clients), else when a page or stream
/// next needs them.
pub fn install(state: &AppState) {
    let st = state.clone();
    state.hub.set_renderer(std::sync::Arc::new(move |version| {
        (super::pages::since_token(version), render_all(&st))
    }));
}

/// The first burst of a page's stream: what a page of host `host` and `audience` that
/// holds version `since` needs to be current (built once per version for all the
/// clients that hold the same page), and the version it brings the page to.
pub fn catch_up(
    state: &AppState,
    host: &str,
    audience: Audience,
    since: Option<u64>,
) -> (Bytes, u64) {
    let mut book = state.hub.fresh_book();
    if book.version() == 0 {
        // Nothing published yet: the tiles as they are, without telling anyone.
        let version = state.hub.version();
        book.update(
            version,
            &super::pages::since_token(version),
            render_all(state),
        );
    }
    let token = super::pages::since_token(book.version());
    let burst = book
        .catch_up(host, audience, since, &token)
        .unwrap_or_else(|| Bytes::from_static(b"retry: 3000\n\n"));
    (burst, book.version())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, Overrides};
    use crate::hub::patch::scan;

    fn state() -> AppState {
        let cfg = config::build(&Overrides::default(), config::parse_toml("").unwrap()).unwrap();
        AppState::new(cfg)
    }

    /// The first paint and the live tiles are one template: every tile the stream sends
    /// reads, field for field, like the same tile in the page rendered at that moment.
    #[test]
    fn the_live_tiles_read_exactly_like_the_first_paint() {
        let st = state();
        let now = chrono::Utc::now();
        for audience in [Audience::Private, Audience::Public] {
            let own = st.config().host.name.clone();
            let v = PageView::build(&st, now, audience, &own, false);
            let page = crate::routes::pages::IndexPage {
                assets: crate::routes::asset_store::AssetUrls::get(),
                v: PageView::build(&st, now, audience, &own, false),
                since: "x".into(),
            }
            .render()
            .unwrap();
            let tiles = render(&v);
            assert!(tiles.len() >= 7);
            for (id, html) in tiles {
                let start = page.find(&format!("id=\"{id}\"")).unwrap();
                let open = page[..start].rfind('<').unwrap();
                let in_page = &page[open..];
                assert!(in_page.starts_with(&html), "tile {id} is not the page's");
                assert!(!scan(&html).1.is_empty(), "tile {id} has no fields");
            }
        }
    }

    #[test]
    fn a_new_page_gets_every_tile_and_a_current_one_nothing() {
        let st = state();
        let (first, _) = catch_up(&st, &st.config().host.name, Audience::Public, None);
        let first = String::from_utf8_lossy(&first).to_string();
        for id in ["summary", "svc-groups", "sys", "weather"] {
            assert!(
                first.contains("event: tile\nid: ") && first.contains(&format!("\ndata: {id}\n")),
                "{id}"
            );
        }
        let since = st.hub.version();
        let (quiet, _) = catch_up(&st, &st.config().host.name, Audience::Public, Some(since));
        assert_eq!(&quiet[..], b"retry: 3000\n\n");
    }
}
