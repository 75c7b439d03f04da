//! The live-update hub: background tasks publish named events once, every connected
//! Server-Sent-Events client receives the same pre-formatted frame. The client count is
//! bounded; one heartbeat for all clients, no per-client timers.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::broadcast;

/// Frames buffered per client before a slow client starts missing (not blocking) events.
const BUFFER: usize = 64;

pub struct Hub {
    tx: broadcast::Sender<Bytes>,
    clients: AtomicUsize,
    max_clients: usize,
    /// Counts publications: anything shown on the page changed when this moved.
    version: AtomicU64,
}

/// Held by each connected client; frees its slot when the connection ends.
pub struct ClientSlot {
    hub: Arc<Hub>,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.hub.clients.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Formats one SSE frame: `event: NAME\ndata: JSON\n\n`. JSON has no raw newlines.
pub fn frame(event: &str, json: &[u8]) -> Bytes {
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
            max_clients,
            version: AtomicU64::new(0),
        }
    }

    /// Sends `event` with `json` as data to every client (no-op without clients).
    pub fn publish(&self, event: &str, json: &[u8]) {
        self.version.fetch_add(1, Ordering::AcqRel);
        if self.tx.receiver_count() > 0 {
            let _ = self.tx.send(frame(event, json));
        }
    }

    /// Sends a comment line that keeps idle connections open through proxies.
    pub fn heartbeat(&self) {
        if self.tx.receiver_count() > 0 {
            let _ = self.tx.send(Bytes::from_static(b": keep-alive\n\n"));
        }
    }

    /// Ends every open stream: clients receive an empty frame, which means "close".
    /// Called at shutdown so long-lived streams do not hold up the graceful stop.
    pub fn close(&self) {
        let _ = self.tx.send(Bytes::new());
    }

    /// A slot and a receiver, or `None` when `max_clients` are already connected.
    pub fn subscribe(self: &Arc<Self>) -> Option<(ClientSlot, broadcast::Receiver<Bytes>)> {
        let mut n = self.clients.load(Ordering::Acquire);
        loop {
            if n >= self.max_clients {
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
        Some((ClientSlot { hub: self.clone() }, self.tx.subscribe()))
    }

    /// How many events were published so far (the page cache's key).
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }
}
