//! The page's live updates as the difference between two renderings of a tile. A tile's
//! HTML (the same template as the first paint) is read as a skeleton — tags, attribute
//! names, static text — and fields: every attribute value, and the text of every element
//! that holds only text. While the skeleton stays the same an update sends only the
//! fields that changed, keyed by element position; a new skeleton sends the whole tile.
//! The [`Book`] keeps each tile's last rendering per host and audience with the version
//! at which each field changed, so a client that holds the page of version `since`
//! catches up with exactly what changed after it.
//!
//! The page stream's events (`/api/stream?view=page`), each with `id: <since token>`
//! (the version the page holds once it applied the event; the script reconnects with it):
//!
//! - `event: tile`, `data: <tile id>` and then the tile's HTML, one `data:` line per
//!   line: the element with that id is replaced by it.
//! - `event: patch`, `data: {"<tile id>": {"<n>": "text", "<n> <attr>": "value",
//!   "<n> points+": "x,y x,y"}}`: in the tile, element `n` (0 is the tile's own element,
//!   then its descendants in document order) takes that text or attribute value;
//!   `points+` appends sparkline points beyond the line's last x (the x axis is absolute,
//!   the svg's `viewBox` moves, points left of it are dropped). Keys come in document
//!   order, so a `viewBox` is set before its line's points.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use bytes::Bytes;

use crate::access::Audience;

/// Appends remembered per sparkline: enough to catch a page up by this many samples.
const APPENDS_KEPT: usize = 160;

/// Catch-up bursts kept per version (clients that hold the same page share one).
const BURSTS_KEPT: usize = 16;

/// Where a field is in its tile's HTML: no copies, a field is three ranges of the text
/// (a tile of nine cards has thousands of fields, rendered every sample).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    /// The element's position in the tile (0: the tile's own element).
    element: u32,
    /// The attribute's name (`start..end` in the HTML); `None` for an element's text.
    attr: Option<(u32, u32)>,
    /// The value as written in the HTML (escaped), `start..end`.
    value: (u32, u32),
}

impl Span {
    fn attr<'a>(&self, html: &'a str) -> Option<&'a str> {
        self.attr
            .and_then(|(a, b)| html.get(a as usize..b as usize))
    }

    /// The value as it stands in the HTML (escaped).
    fn raw<'a>(&self, html: &'a str) -> &'a str {
        html.get(self.value.0 as usize..self.value.1 as usize)
            .unwrap_or_default()
    }

    /// `"<n>"` for an element's text, `"<n> <attribute>"` for an attribute.
    fn key(&self, html: &str) -> String {
        match self.attr(html) {
            Some(a) => format!("{} {a}", self.element),
            None => self.element.to_string(),
        }
    }
}

/// One field of a rendered tile.
#[derive(Debug, Clone)]
struct Field {
    span: Span,
    /// The version at which the value last changed.
    changed_at: u64,
    /// The version at which a sparkline's points last changed other than by appending.
    whole_at: u64,
    /// For sparkline points: the versions at which points were appended, and how many.
    appends: VecDeque<(u64, usize)>,
}

/// One tile as last rendered.
#[derive(Debug, Clone)]
struct Tile {
    id: &'static str,
    html: String,
    skeleton: u64,
    skeleton_at: u64,
    content_at: u64,
    fields: Vec<Field>,
}

/// Every tile of each host and audience, as last rendered, and the bursts built for
/// clients catching up.
#[derive(Default)]
pub struct Book {
    version: u64,
    /// `(host, [private tiles, public tiles])`.
    /// A tile that reads the same for both audiences is kept once.
    hosts: Vec<(String, [Vec<Arc<Tile>>; 2])>,
    /// `(host, audience index, since) → burst` for the current version.
    bursts: Vec<(BurstKey, Bytes)>,
}

/// A first burst's client: host, audience index, the version its page holds.
type BurstKey = (String, usize, Option<u64>);

/// Tiles as rendered: `(tile id, html)`.
pub type Rendered = Vec<(&'static str, String)>;

impl Book {
    /// The version last rendered (0: never).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Whether `host` has been rendered.
    pub fn has(&self, host: &str) -> bool {
        self.hosts.iter().any(|(h, _)| h == host)
    }

    /// Takes the tiles rendered at `version` for each host (`[private, public]`) and
    /// returns what each host's clients receive for it: the frames of the tiles that
    /// changed (empty when nothing did). `token` is the version as the page writes it.
    pub fn update(
        &mut self,
        version: u64,
        token: &str,
        rendered: Vec<(String, [Rendered; 2])>,
    ) -> Vec<(String, [Bytes; 2])> {
        let previous = self.version;
        self.bursts.clear();
        let mut out = Vec::with_capacity(rendered.len());
        let mut hosts = Vec::with_capacity(rendered.len());
        for (host, both) in rendered {
            let old = self
                .hosts
                .iter_mut()
                .find(|(h, _)| *h == host)
                .map(|(_, t)| std::mem::take(t));
            let before = |i: usize| old.as_ref().map(|o| o[i].as_slice()).unwrap_or_default();
            let find = |t: &[Arc<Tile>], id: &str| t.iter().find(|t| t.id == id).cloned();
            let [private, public] = both;
            let private: Vec<Arc<Tile>> = private
                .into_iter()
                .map(|(id, html)| {
                    let prior = find(before(0), id);
                    Arc::new(Tile::next(prior.as_deref(), id, html, version))
                })
                .collect();
            let public: Vec<Arc<Tile>> = public
                .into_iter()
                .map(|(id, html)| {
                    let prior = find(before(1), id);
                    // The owner's tile when it reads the same and always did.
                    let twin = find(&private, id).filter(|t| {
                        t.html == html
                            && match (&prior, find(before(0), id)) {
                                (Some(a), Some(b)) => Arc::ptr_eq(a, &b),
                                (None, None) => true,
                                _ => false,
                            }
                    });
                    twin.unwrap_or_else(|| {
                        Arc::new(Tile::next(prior.as_deref(), id, html, version))
                    })
                })
                .collect();
            let since = old.as_ref().map(|_| previous);
            let first = burst(&private, since, token);
            let same = private.len() == public.len()
                && private.iter().zip(&public).all(|(a, b)| Arc::ptr_eq(a, b));
            let second = if same {
                first.clone()
            } else {
                burst(&public, since, token)
            };
            let frames = [first, second];
            let tiles = [private, public];
            out.push((host.clone(), frames));
            hosts.push((host, tiles));
        }
        self.hosts = hosts;
        self.version = version;
        out
    }

    /// What a client of `host` and `audience` that holds the page of version `since`
    /// (`None`: unknown) needs to be current, after a `retry:` hint; `None` when the host
    /// was never rendered.
    pub fn catch_up(
        &mut self,
        host: &str,
        audience: Audience,
        since: Option<u64>,
        token: &str,
    ) -> Option<Bytes> {
        let key = (host.to_string(), audience.index(), since);
        if let Some((_, b)) = self.bursts.iter().find(|(k, _)| *k == key) {
            return Some(b.clone());
        }
        let (_, tiles) = self.hosts.iter().find(|(h, _)| h == host)?;
        let mut b = b"retry: 3000\n\n".to_vec();
        b.extend_from_slice(&burst(&tiles[audience.index()], since, token));
        let b = Bytes::from(b);
        if self.bursts.len() >= BURSTS_KEPT {
            self.bursts.remove(0);
        }
        self.bursts.push((key, b.clone()));
        Some(b)
    }
}

impl Tile {
    /// The tile rendered as `html` at `version`, after `prior`.
    fn next(prior: Option<&Tile>, id: &'static str, html: String, version: u64) -> Tile {
        let (skeleton, found) = scan_spans(&html);
        let same = prior.filter(|p| p.skeleton == skeleton && p.fields.len() == found.len());
        let Some(p) = same else {
            let fields = found
                .into_iter()
                .map(|span| Field {
                    span,
                    changed_at: version,
                    whole_at: version,
                    appends: VecDeque::new(),
                })
                .collect();
            return Tile {
                id,
                html,
                skeleton,
                skeleton_at: version,
                content_at: version,
                fields,
            };
        };
        let mut changed = false;
        // The scanned strings are kept and only the bookkeeping is carried over: no
        // copy of an unchanged field (a render every sample must not churn the heap).
        let fields = p
            .fields
            .iter()
            .zip(found)
            .map(|(old, span)| {
                let mut f = Field {
                    span,
                    changed_at: old.changed_at,
                    whole_at: old.whole_at,
                    appends: VecDeque::new(),
                };
                let (was, now) = (old.span.raw(&p.html), span.raw(&html));
                if was == now {
                    f.appends.clone_from(&old.appends);
                    return f;
                }
                changed = true;
                f.changed_at = version;
                let points = span.attr(&html) == Some("points");
                match appended(points, was, now) {
                    Some(n) => {
                        f.appends.clone_from(&old.appends);
                        f.appends.push_back((version, n));
                        if f.appends.len() > APPENDS_KEPT {
                            f.appends.pop_front();
                        }
                    }
                    None => f.whole_at = version,
                }
                f
            })
            .collect();
        Tile {
            id,
            html,
            skeleton,
            skeleton_at: p.skeleton_at,
            content_at: if changed { version } else { p.content_at },
            fields,
        }
    }
}

/// How many points `new` appends to `old` when the field is a sparkline's `points` and
/// `new` is `old` less some of its first points plus some new ones; `None` otherwise.
fn appended(points: bool, old: &str, new: &str) -> Option<usize> {
    if !points {
        return None;
    }
    let o: Vec<&str> = old.split(' ').filter(|s| !s.is_empty()).collect();
    let n: Vec<&str> = new.split(' ').filter(|s| !s.is_empty()).collect();
    let last = *o.last()?;
    let j = n.iter().rposition(|t| *t == last)?;
    let kept = &n[..=j];
    (o.len() >= kept.len() && o[o.len() - kept.len()..] == *kept).then_some(n.len() - j - 1)
}

/// The frames that bring a page of version `since` (`None`: unknown) to these tiles.
fn burst(tiles: &[Arc<Tile>], since: Option<u64>, token: &str) -> Bytes {
    let mut out = Vec::new();
    let mut patch = String::new();
    for t in tiles {
        match since {
            Some(s) if t.content_at <= s => {}
            Some(s) if t.skeleton_at <= s => {
                let body = t.patch_since(s);
                if !body.is_empty() {
                    if !patch.is_empty() {
                        patch.push(',');
                    }
                    patch.push_str(&json_str(t.id));
                    patch.push_str(":{");
                    patch.push_str(&body);
                    patch.push('}');
                }
            }
            _ => tile_frame(&mut out, t, token),
        }
    }
    if !patch.is_empty() {
        out.extend_from_slice(
            format!("event: patch\nid: {token}\ndata: {{{patch}}}\n\n").as_bytes(),
        );
    }
    Bytes::from(out)
}

fn tile_frame(out: &mut Vec<u8>, t: &Tile, token: &str) {
    out.extend_from_slice(format!("event: tile\nid: {token}\ndata: {}\n", t.id).as_bytes());
    for line in t.html.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.trim_end_matches('\r').as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
}

impl Tile {
    /// The JSON members (without braces) of the fields that changed after `since`.
    fn patch_since(&self, since: u64) -> String {
        let mut b = String::new();
        for f in self.fields.iter().filter(|f| f.changed_at > since) {
            let tail = (f.whole_at <= since)
                .then(|| {
                    let n: usize = f
                        .appends
                        .iter()
                        .filter(|(v, _)| *v > since)
                        .map(|(_, n)| n)
                        .sum();
                    let reaches = f.appends.front().is_some_and(|(v, _)| *v <= since + 1)
                        || f.appends.len() < APPENDS_KEPT;
                    reaches.then_some(n)
                })
                .flatten();
            if !b.is_empty() {
                b.push(',');
            }
            match tail {
                Some(n) => {
                    let value = unescape(f.span.raw(&self.html));
                    let pts: Vec<&str> = value.split(' ').filter(|s| !s.is_empty()).collect();
                    let from = pts.len().saturating_sub(n);
                    b.push_str(&json_str(&format!("{}+", f.span.key(&self.html))));
                    b.push(':');
                    b.push_str(&json_str(&pts[from..].join(" ")));
                }
                None => {
                    b.push_str(&json_str(&f.span.key(&self.html)));
                    b.push(':');
                    b.push_str(&json_str(&unescape(f.span.raw(&self.html))));
                }
            }
        }
        b
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// Elements whose start tag has no content or end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

/// Reads `html` as (a hash of its skeleton, its fields in document order): each field's
/// key (`"<n>"` or `"<n> <attribute>"`) and its value as the browser reads it.
#[cfg(test)]
pub fn scan(html: &str) -> (u64, Vec<(String, String)>) {
    let (hash, spans) = scan_spans(html);
    let fields = spans
        .iter()
        .map(|s| (s.key(html), unescape(s.raw(html))))
        .collect();
    (hash, fields)
}

/// Where `s` starts in `whole`, of which it is a slice.
fn offset(whole: &str, s: &str) -> u32 {
    (s.as_ptr() as usize - whole.as_ptr() as usize) as u32
}

/// [`scan`] as positions in `html`.
fn scan_spans(html: &str) -> (u64, Vec<Span>) {
    let mut hash = std::collections::hash_map::DefaultHasher::new();
    let mut fields = Vec::new();
    let mut n = 0usize;
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        rest[..lt].hash(&mut hash);
        rest = &rest[lt..];
        let Some(gt) = rest.find('>') else {
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if tag.starts_with('/') || tag.starts_with('!') {
            tag.hash(&mut hash);
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name_end = tag
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(tag.len());
        let name = &tag[..name_end];
        name.hash(&mut hash);
        for (attr, value) in attributes(&tag[name_end..]) {
            attr.hash(&mut hash);
            if let Some(v) = value {
                let a = offset(html, attr);
                let at = offset(html, v);
                fields.push(Span {
                    element: n as u32,
                    attr: Some((a, a + attr.len() as u32)),
                    value: (at, at + v.len() as u32),
                });
            }
        }
        let void = self_closing || VOID.contains(&name.to_ascii_lowercase().as_str());
        if !void {
            let text_end = rest.find('<').unwrap_or(rest.len());
            let closes = rest[text_end..]
                .strip_prefix("</")
                .is_some_and(|r| r.starts_with(name) && r[name.len()..].starts_with('>'));
            if closes {
                let at = offset(html, rest);
                fields.push(Span {
                    element: n as u32,
                    attr: None,
                    value: (at, at + text_end as u32),
                });
                rest = &rest[text_end..];
            }
        }
        n += 1;
    }
    rest.hash(&mut hash);
    (hash.finish(), fields)
}

/// The attributes of a start tag's remainder: `(name, value)` (no value: a boolean one).
fn attributes(mut s: &str) -> Vec<(&str, Option<&str>)> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start();
        if s.is_empty() {
            return out;
        }
        let end = s
            .find(|c: char| c == '=' || c.is_ascii_whitespace())
            .unwrap_or(s.len());
        let name = &s[..end];
        s = &s[end..];
        if let Some(after) = s.strip_prefix('=') {
            let (q, body) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => (q, &after[1..]),
                _ => {
                    let e = after.find(char::is_whitespace).unwrap_or(after.len());
                    out.push((name, Some(&after[..e])));
                    s = &after[e..];
                    continue;
                }
            };
            let e = body.find(q).unwrap_or(body.len());
            out.push((name, Some(&body[..e])));
            s = body.get(e + 1..).unwrap_or("");
        } else {
            out.push((name, None));
        }
    }
}

/// Text as the browser reads it: the entities askama writes decoded.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let ent = &rest[1..semi];
        let c = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => ent.strip_prefix('#').and_then(|d| {
                let n = match d.strip_prefix(['x', 'X']) {
                    Some(h) => u32::from_str_radix(h, 16).ok(),
                    None => d.parse().ok(),
                };
                n.and_then(char::from_u32)
            }),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[path = "patch_tests.rs"]
mod tests;
