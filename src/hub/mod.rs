//! The live-update hub: background tasks publish named events once (in a private and a
//! public version), every connected Server-Sent-Events client receives the frame of its
//! audience. The client count is bounded; one heartbeat for all clients, no per-client
//! timers; a client that stops taking frames loses its slot at the next heartbeats.
//! The pages' own streams receive the tiles that changed instead (see [`patch`]),
//! rendered once per publication by the installed [`Renderer`], and a first burst built
//! once per version.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use tokio::sync::broadcast;

use crate::access::Audience;
use crate::feeds::feed::Event;

pub mod patch;

use patch::{Book, Rendered};

/// Renders the page's tiles at a version: the version as pages write it, and per host
/// the tiles for `[private, public]` (the routes install it; the hub only diffs and
/// sends what it returns).
pub type Renderer = dyn Fn(u64) -> (String, Vec<(String, [Rendered; 2])>) + Send + Sync;

/// Frames buffered per client before a slow client starts missing (not blocking) events.
const BUFFER: usize = 64;

/// One published frame in both versions (the same bytes when they do not differ), and
/// what the pages' own streams receive for it.
#[derive(Debug, Clone)]
pub struct Frame {
    private: Bytes,
    public: Bytes,
    page: PageFrames,
    /// The publication's version (0: a heartbeat, "close").
    version: u64,
}

/// What a page's stream receives of a frame.
#[derive(Debug, Clone)]
enum PageFrames {
    /// The same as the documented stream (a heartbeat, "close").
    Same,
    /// Per host the page can show, `[private, public]`: the tiles that changed (empty
    /// when nothing did). Built once per publication, shared by every client.
    Tiles(Arc<Vec<(String, [Bytes; 2])>>),
}

impl Frame {
    /// The version for `audience`; empty means "close the stream".
    pub fn for_audience(&self, audience: Audience) -> &Bytes {
        match audience {
            Audience::Private => &self.private,
            Audience::Public => &self.public,
        }
    }

    /// The version for a client of `audience`, reading the page's stream of host
    /// `page` or the documented one (`None`); `None` when it has nothing for this client.
    /// A page's stream whose first burst brought it to version `had` skips what that
    /// burst held already.
    pub fn for_client(&self, audience: Audience, page: Option<&str>, had: u64) -> Option<&Bytes> {
        match (&self.page, page) {
            (PageFrames::Tiles(_), Some(_)) if self.version <= had => None,
            (PageFrames::Tiles(hosts), Some(host)) => hosts
                .iter()
                .find(|(h, _)| h == host)
                .map(|(_, b)| &b[audience.index()])
                .filter(|b| !b.is_empty()),
            _ => Some(self.for_audience(audience)),
        }
    }

    fn same(b: Bytes) -> Self {
        Frame {
            private: b.clone(),
            public: b,
            page: PageFrames::Same,
            version: 0,
        }
    }
}

/// The two audiences' frames of one event body each (one copy when they are equal).
fn framed(event: Event, private: &[u8], public: &[u8]) -> [Bytes; 2] {
    let p = frame(event, private);
    let q = if public == private {
        p.clone()
    } else {
        frame(event, public)
    };
    [p, q]
}

/// What the hub knows of one client: whether its slot is still counted, and the last
/// heartbeat it took (to find clients that stopped taking frames).
#[derive(Debug)]
pub struct Presence {
    released: AtomicBool,
    last_beat: AtomicU64,
}

pub struct Hub {
    tx: broadcast::Sender<Frame>,
    clients: AtomicUsize,
    max_clients: AtomicUsize,
    /// Counts publications: anything shown on the page changed when this moved.
    version: AtomicU64,
    /// Counts heartbeats sent.
    beats: AtomicU64,
    /// Counts changes of who counts as the owner (a reload of `access` or
    /// `trusted_proxies`): a private stream opened before the last one is closed.
    views: AtomicU64,
    presences: Mutex<Vec<Weak<Presence>>>,
    /// The page's tiles as last published (held while publishing, so publications are
    /// numbered and sent in one order).
    book: Mutex<Book>,
    renderer: Mutex<Option<Arc<Renderer>>>,
}

/// Held by each connected client; frees its slot when the connection ends (or earlier,
/// when the hub found the client stuck).
pub struct ClientSlot {
    hub: Arc<Hub>,
    presence: Arc<Presence>,
    /// The hub's `views` when the client connected.
    view: u64,
}

impl ClientSlot {
    /// Records that the client took a frame sent at the current heartbeat count.
    pub fn took_frame(&self) {
        let beats = self.hub.beats.load(Ordering::Acquire);
        self.presence.last_beat.store(beats, Ordering::Release);
    }

    /// Whether the hub released this slot (the client stopped taking frames).
    pub fn released(&self) -> bool {
        self.presence.released.load(Ordering::Acquire)
    }

    /// Whether the rules that judged this client's audience changed since it connected.
    pub fn view_revoked(&self) -> bool {
        self.hub.views.load(Ordering::Acquire) != self.view
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.hub.release(&self.presence);
    }
}

/// Formats one SSE frame: `event: NAME\ndata: JSON\n\n`. JSON has no raw newlines.
pub fn frame(event: Event, json: &[u8]) -> Bytes {
    let event = event.name();
    let mut b = Vec::with_capacity(json.len() + event.len() + 16);
    b.extend_from_slice(b"event: ");
    b.extend_from_slice(event.as_bytes());
    b.extend_from_slice(b"\ndata: ");
    // serde_json never emits raw newlines in compact form; guard anyway so a frame
    // can never be split into two events.
    b.extend(
        json.iter()
            .map(|&c| if c == b'\n' || c == b'\r' { b' ' } else { c }),
    );
    b.extend_from_slice(b"\n\n");
    Bytes::from(b)
}

impl Hub {
    pub fn new(max_clients: usize) -> Self {
        let (tx, _) = broadcast::channel(BUFFER);
        Hub {
            tx,
            clients: AtomicUsize::new(0),
            max_clients: AtomicUsize::new(max_clients),
            version: AtomicU64::new(0),
            beats: AtomicU64::new(0),
            views: AtomicU64::new(0),
            presences: Mutex::new(Vec::new()),
            book: Mutex::new(Book::default()),
            renderer: Mutex::new(None),
        }
    }

    /// Changes the client bound (live configuration); open streams beyond it stay open.
    pub fn set_max_clients(&self, n: usize) {
        self.max_clients.store(n, Ordering::Release);
    }

    /// Sends `event` to every client of the documented stream: `private` to the owner's,
    /// `public` to the others; and to the pages' streams the tiles that changed, rendered
    /// once per host and audience by the installed [`Renderer`]. With no stream open
    /// nothing is rendered: the tiles wait for the next page or stream ([`Hub::fresh_book`]).
    pub fn publish(&self, event: Event, private: &[u8], public: &[u8]) {
        let mut book = self.book();
        let version = self.next_version();
        let page = match self.renderer() {
            Some(render) if self.tx.receiver_count() > 0 => {
                let (token, tiles) = render(version);
                book.update(version, &token, tiles)
            }
            _ => Vec::new(),
        };
        self.send(event, version, [private, public], page);
    }

    fn renderer(&self) -> Option<Arc<Renderer>> {
        self.renderer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The page's tiles at the current version, rendered now if publications went
    /// unrendered (no stream was open), held so no publication comes in between: a page
    /// served meanwhile, or a stream's first burst, is then exactly at
    /// [`Hub::version`], and later changes are diffed against what it holds.
    pub fn fresh_book(&self) -> std::sync::MutexGuard<'_, Book> {
        let mut book = self.book();
        let version = self.version();
        if book.version() < version {
            if let Some(render) = self.renderer() {
                let (token, tiles) = render(version);
                // Nobody was listening: only the book's record of what changed matters.
                let _ = book.update(version, &token, tiles);
            }
        }
        book
    }

    /// Installs what renders the page's tiles at each publication.
    pub fn set_renderer(&self, renderer: Arc<Renderer>) {
        *self.renderer.lock().unwrap_or_else(|e| e.into_inner()) = Some(renderer);
    }

    /// The page's tiles as last published (held while publishing, so publications are
    /// numbered, rendered and sent in one order).
    pub fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Numbers a publication (called with [`Hub::book`] held).
    fn next_version(&self) -> u64 {
        self.version.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Sends the bodies (private, public) of `event` to the documented stream's clients
    /// and `page`, the frames of each host's tiles, to the pages' streams.
    fn send(
        &self,
        event: Event,
        version: u64,
        bodies: [&[u8]; 2],
        page: Vec<(String, [Bytes; 2])>,
    ) {
        if self.tx.receiver_count() > 0 {
            let [private, public] = framed(event, bodies[0], bodies[1]);
            let _ = self.tx.send(Frame {
                private,
                public,
                page: PageFrames::Tiles(Arc::new(page)),
                version,
            });
        }
    }

    /// Sends a comment line that keeps idle connections open through proxies (and makes
    /// a closed connection show on the next write), then releases the slots of clients
    /// that did not take the previous heartbeat: they stopped reading.
    pub fn heartbeat(&self) {
        let beat = self.beats.fetch_add(1, Ordering::AcqRel) + 1;
        if self.tx.receiver_count() > 0 {
            let _ = self
                .tx
                .send(Frame::same(Bytes::from_static(b": keep-alive\n\n")));
        }
        let stuck: Vec<Arc<Presence>> = {
            let mut p = self.presences.lock().unwrap_or_else(|e| e.into_inner());
            p.retain(|w| w.strong_count() > 0);
            p.iter()
                .filter_map(Weak::upgrade)
                .filter(|c| c.last_beat.load(Ordering::Acquire) + 2 <= beat)
                .collect()
        };
        for c in stuck {
            if self.release(&c) {
                log::info!("stream: a client stopped taking events; its slot is freed");
            }
        }
    }

    /// Frees `presence`'s slot once; true when this call freed it.
    fn release(&self, presence: &Presence) -> bool {
        if presence.released.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.clients.fetch_sub(1, Ordering::AcqRel);
        true
    }

    /// Ends every open stream: clients receive an empty frame, which means "close".
    /// Called at shutdown so long-lived streams do not hold up the graceful stop.
    pub fn close(&self) {
        let _ = self.tx.send(Frame::same(Bytes::new()));
    }

    /// Who counts as the owner changed: every private stream is closed (an empty frame
    /// in the private version; each also checks [`ClientSlot::view_revoked`] before
    /// any frame, should it have missed this one), public streams carry on.
    pub fn revoke_views(&self) {
        self.views.fetch_add(1, Ordering::AcqRel);
        let _ = self.tx.send(Frame {
            private: Bytes::new(),
            public: Bytes::from_static(b": keep-alive\n\n"),
            page: PageFrames::Same,
            version: 0,
        });
    }

    /// A slot and a receiver, or `None` when `max_clients` are already connected.
    pub fn subscribe(self: &Arc<Self>) -> Option<(ClientSlot, broadcast::Receiver<Frame>)> {
        let mut n = self.clients.load(Ordering::Acquire);
        loop {
            if n >= self.max_clients.load(Ordering::Acquire) {
                return None;
            }
            match self
                .clients
                .compare_exchange(n, n + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(now) => n = now,
            }
        }
        let presence = Arc::new(Presence {
            released: AtomicBool::new(false),
            last_beat: AtomicU64::new(self.beats.load(Ordering::Acquire)),
        });
        self.presences
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(&presence));
        let slot = ClientSlot {
            hub: self.clone(),
            presence,
            view: self.views.load(Ordering::Acquire),
        };
        Some((slot, self.tx.subscribe()))
    }

    /// Clients holding a slot now.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Acquire)
    }

    /// How many events were published so far (the page cache's key).
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_freed_once() {
        let hub = Arc::new(Hub::new(2));
        let a = hub.subscribe().unwrap();
        let b = hub.subscribe().unwrap();
        assert!(hub.subscribe().is_none());
        drop(a);
        assert_eq!(hub.clients(), 1);
        let c = hub.subscribe().unwrap();
        drop((b, c));
        assert_eq!(hub.clients(), 0);
    }

    #[test]
    fn a_client_that_stops_taking_frames_loses_its_slot() {
        let hub = Arc::new(Hub::new(4));
        let (reader, _rx1) = hub.subscribe().unwrap();
        let (stuck, _rx2) = hub.subscribe().unwrap();
        hub.heartbeat();
        reader.took_frame();
        assert_eq!(hub.clients(), 2);
        hub.heartbeat();
        reader.took_frame();
        // `stuck` took neither heartbeat: freed; `reader` keeps its slot.
        assert_eq!(hub.clients(), 1);
        assert!(stuck.released() && !reader.released());
        drop(stuck);
        assert_eq!(hub.clients(), 1, "a released slot is not freed twice");
        drop(reader);
        assert_eq!(hub.clients(), 0);
    }

    #[test]
    fn revoking_views_closes_private_streams_only() {
        let hub = Arc::new(Hub::new(4));
        let (slot, mut rx) = hub.subscribe().unwrap();
        assert!(!slot.view_revoked());
        hub.revoke_views();
        assert!(slot.view_revoked());
        let f = rx.try_recv().unwrap();
        assert!(f.for_audience(Audience::Private).is_empty());
        assert!(!f.for_audience(Audience::Public).is_empty());
        let (later, _rx) = hub.subscribe().unwrap();
        assert!(!later.view_revoked());
    }

    /// With no stream open a publication renders nothing; a page (or a stream's first
    /// burst) brings the book to the current version first, so a change made and undone
    /// while nobody listened still reaches a page that showed it.
    #[test]
    fn tiles_are_rendered_only_when_a_stream_or_page_needs_them() {
        use std::sync::atomic::AtomicUsize;
        let hub = Arc::new(Hub::new(4));
        let renders = Arc::new(AtomicUsize::new(0));
        let shown = Arc::new(Mutex::new("up"));
        let (r, s) = (renders.clone(), shown.clone());
        hub.set_renderer(Arc::new(move |v: u64| {
            r.fetch_add(1, Ordering::SeqCst);
            let text = *s.lock().unwrap();
            let tile = || vec![("t", format!("<p id=\"t\">{text}</p>"))];
            (format!("v{v}"), vec![("h".to_string(), [tile(), tile()])])
        }));
        for _ in 0..3 {
            hub.publish(Event::Services, b"{}", b"{}");
        }
        assert_eq!(
            renders.load(Ordering::SeqCst),
            0,
            "nobody listens: nothing rendered"
        );
        // A page is served: the book at its version, held while the page is built.
        *shown.lock().unwrap() = "down";
        let page_version = {
            let book = hub.fresh_book();
            assert_eq!(book.version(), hub.version());
            book.version()
        };
        assert_eq!(renders.load(Ordering::SeqCst), 1);
        assert_eq!(
            hub.fresh_book().version(),
            page_version,
            "fresh: not rendered again"
        );
        assert_eq!(renders.load(Ordering::SeqCst), 1);
        // Back up while nobody listens, then the page's stream opens.
        *shown.lock().unwrap() = "up";
        hub.publish(Event::Services, b"{}", b"{}");
        let (_slot, mut rx) = hub.subscribe().unwrap();
        let burst = hub
            .fresh_book()
            .catch_up("h", Audience::Public, Some(page_version), "now")
            .unwrap();
        assert!(
            String::from_utf8_lossy(&burst).contains("up"),
            "the page that showed down learns it is up again: {burst:?}"
        );
        // With a stream open, every publication renders and sends what changed.
        *shown.lock().unwrap() = "down";
        hub.publish(Event::Services, b"{}", b"{}");
        assert_eq!(renders.load(Ordering::SeqCst), 3);
        let f = rx.try_recv().unwrap();
        let page = f.for_client(Audience::Public, Some("h"), 0).unwrap();
        assert!(String::from_utf8_lossy(page).contains("down"), "{page:?}");
    }

    #[test]
    fn each_audience_gets_its_version() {
        let hub = Arc::new(Hub::new(4));
        let (_s, mut rx) = hub.subscribe().unwrap();
        hub.publish(
            Event::Services,
            b"{\"error\":\"detail\"}",
            b"{\"error\":\"timeout\"}",
        );
        let f = rx.try_recv().unwrap();
        assert!(String::from_utf8_lossy(f.for_audience(Audience::Public)).contains("timeout"));
        assert!(String::from_utf8_lossy(f.for_audience(Audience::Private)).contains("detail"));
    }
}
