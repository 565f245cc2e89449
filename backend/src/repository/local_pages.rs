//! An in-process copy of the hottest cache entries — public course pages, as the exact JSON
//! bytes of the response — in front of Redis, so a cached page costs no network round trip.
//!
//! **Staying correct across backend instances.** Every instance subscribes to one Redis
//! channel ([`channel`]). A writer that replaces or drops a course page in Redis then
//! publishes the course id there; each subscriber drops its local copy on receipt. Three
//! rules make that safe:
//!
//! 1. *Live only while subscribed.* The local layer is used only while the subscription is
//!    confirmed. When it is lost (Redis restarted, connection dropped) every local copy is
//!    dropped at once and lookups go to Redis until the subscription is back; on
//!    resubscribing the copies are dropped again, since messages sent in the gap were missed.
//! 2. *No late fill.* A reader takes a [`Ticket`] before asking Redis; every invalidation
//!    bumps a generation counter, and a fill whose ticket is older is discarded. So a page read
//!    before an edit cannot be stored after the edit's message was handled.
//! 3. *Bounded staleness.* A local copy lives at most [`LOCAL_TTL`], so even a lost message
//!    (a publish that failed while subscribers stayed connected) cannot keep an edit hidden
//!    longer than that.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures_util::StreamExt;
use prometheus::IntCounter;

/// The longest a local copy is served without asking Redis again.
pub const LOCAL_TTL: Duration = Duration::from_secs(1);

/// Local copies kept at most; beyond that new pages are not kept until old ones expire.
const MAX_ENTRIES: usize = 4096;

/// Wait before resubscribing after the subscription broke.
const RESUBSCRIBE_DELAY: Duration = Duration::from_millis(250);

/// The message that drops every local copy (e.g. after a bulk change).
pub const DROP_ALL: &str = "*";

/// The invalidation channel for a key prefix.
pub fn channel(key_prefix: &str) -> String {
    format!("{key_prefix}:invalidate:course")
}

/// A course page as served: its JSON, or `None` when there is no public page.
pub type PageBody = Option<Bytes>;

/// The generation a reader saw before asking Redis; see rule 2 in the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

/// The local page layer. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LocalPages {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    entries: RwLock<HashMap<i64, Entry>>,
    generation: AtomicU64,
    live: AtomicBool,
    hits: IntCounter,
}

#[derive(Debug, Clone)]
struct Entry {
    body: PageBody,
    stored: Instant,
}

impl LocalPages {
    /// A layer that is not live until [`Self::listen`]'s task has subscribed. `hits` counts
    /// pages served from it.
    pub fn new(hits: IntCounter) -> Self {
        Self {
            inner: Arc::new(Inner {
                entries: RwLock::default(),
                generation: AtomicU64::new(0),
                live: AtomicBool::new(false),
                hits,
            }),
        }
    }

    /// Whether local copies are in use now (the subscription is confirmed).
    pub fn is_live(&self) -> bool {
        self.inner.live.load(Ordering::Acquire)
    }

    /// The local copy of a course page, if live and fresh.
    pub fn get(&self, course_id: i64) -> Option<PageBody> {
        if !self.is_live() {
            return None;
        }
        let entries = self.inner.entries.read().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(&course_id)?;
        if entry.stored.elapsed() >= LOCAL_TTL {
            return None;
        }
        self.inner.hits.inc();
        Some(entry.body.clone())
    }

    /// Take before reading the page from Redis or PostgreSQL; pass to [`Self::fill`].
    pub fn ticket(&self) -> Ticket {
        Ticket(self.inner.generation.load(Ordering::Acquire))
    }

    /// Keeps a page read with `ticket`, unless an invalidation came since or the layer is off.
    pub fn fill(&self, course_id: i64, body: PageBody, ticket: Ticket) {
        if !self.is_live() {
            return;
        }
        let mut entries = self
            .inner
            .entries
            .write()
            .unwrap_or_else(|e| e.into_inner());
        // Checked under the write lock: `invalidate` bumps the generation under it too.
        if self.inner.generation.load(Ordering::Acquire) != ticket.0 || !self.is_live() {
            return;
        }
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&course_id) {
            entries.retain(|_, e| e.stored.elapsed() < LOCAL_TTL);
            if entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        entries.insert(
            course_id,
            Entry {
                body,
                stored: Instant::now(),
            },
        );
    }

    /// Drops one page (`Some`) or all of them (`None`), and voids every outstanding ticket.
    pub fn invalidate(&self, course_id: Option<i64>) {
        let mut entries = self
            .inner
            .entries
            .write()
            .unwrap_or_else(|e| e.into_inner());
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        match course_id {
            Some(id) => {
                entries.remove(&id);
            }
            None => entries.clear(),
        }
    }

    fn set_live(&self, live: bool) {
        // Drop everything on both edges: on loss because messages will be missed from now on,
        // on (re)subscription because messages were missed before it.
        self.invalidate(None);
        self.inner.live.store(live, Ordering::Release);
        self.invalidate(None);
    }

    /// Applies one message from the channel.
    fn apply(&self, payload: &[u8]) {
        let id = std::str::from_utf8(payload)
            .ok()
            .and_then(|s| s.parse::<i64>().ok());
        if id.is_none() && payload != DROP_ALL.as_bytes() {
            tracing::warn!(payload = %String::from_utf8_lossy(payload), "unknown invalidation message; dropping every local page");
        }
        self.invalidate(id);
    }

    /// Starts the subscriber task on the current Tokio runtime. It ends when every clone of
    /// this layer is dropped (checked at each message and each reconnection).
    pub fn listen(&self, client: redis::Client, channel: String) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(subscribe_loop(weak, client, channel));
    }
}

async fn subscribe_loop(weak: Weak<Inner>, client: redis::Client, channel: String) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let pages = LocalPages { inner };
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    pages.set_live(true);
                    tracing::debug!(%channel, "local page cache live");
                    drop(pages);
                    let mut messages = pubsub.on_message();
                    while let Some(msg) = messages.next().await {
                        let Some(inner) = weak.upgrade() else { return };
                        LocalPages { inner }.apply(msg.get_payload_bytes());
                    }
                    let Some(inner) = weak.upgrade() else { return };
                    LocalPages { inner }.set_live(false);
                    tracing::warn!(%channel, "invalidation subscription lost; local page cache off until resubscribed");
                }
                Err(err) => {
                    pages.set_live(false);
                    tracing::debug!(error = %err, "cannot subscribe to cache invalidations");
                }
            },
            Err(err) => {
                pages.set_live(false);
                tracing::debug!(error = %err, "cannot connect for cache invalidations");
            }
        }
        tokio::time::sleep(RESUBSCRIBE_DELAY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> LocalPages {
        let pages = LocalPages::new(IntCounter::new("t", "t").expect("valid counter"));
        pages.set_live(true);
        pages
    }

    #[test]
    fn off_until_live_and_dropped_when_lost() {
        let pages = LocalPages::new(IntCounter::new("t", "t").expect("valid counter"));
        pages.fill(1, Some(Bytes::from_static(b"{}")), pages.ticket());
        assert_eq!(pages.get(1), None, "not live: nothing kept");
        pages.set_live(true);
        pages.fill(1, Some(Bytes::from_static(b"{}")), pages.ticket());
        assert_eq!(pages.get(1), Some(Some(Bytes::from_static(b"{}"))));
        pages.set_live(false);
        assert_eq!(pages.get(1), None);
        pages.set_live(true);
        assert_eq!(pages.get(1), None, "copies from before the gap are gone");
    }

    #[test]
    fn a_fill_older_than_an_invalidation_is_discarded() {
        let pages = live();
        let ticket = pages.ticket();
        pages.apply(b"7");
        pages.fill(7, Some(Bytes::from_static(b"old")), ticket);
        assert_eq!(pages.get(7), None);
        pages.fill(7, None, pages.ticket());
        assert_eq!(pages.get(7), Some(None), "a known-absent page is kept too");
        pages.apply(DROP_ALL.as_bytes());
        assert_eq!(pages.get(7), None);
    }
}
