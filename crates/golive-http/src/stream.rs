//! `GET /v1/stream`: server-sent events announcing each new head of the ledger (`event: head`,
//! `data: {"seq", "hash"}`) and each new signed checkpoint (`event: checkpoint`, `data:
//! {"size"}`), the current ones first on connect. The dashboard redraws on them and polls
//! `/v1/head` when the stream cannot be had.
//!
//! One watcher task per server reads the store's head (a lock-free copy) and its latest signed
//! checkpoint every [`STREAM_WATCH_MS`] while anyone listens, and publishes them on a `watch`
//! channel: subscribers cost a channel receiver each, not a poll each, and whatever appends to
//! the store (the consumer loop, a repair) is announced without coupling the writers to HTTP.
//! At most [`STREAM_SUBSCRIBERS_MAX`] subscribers at once; one more is a 503.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use golive_store::Store;
use tokio::sync::watch;

use crate::{ApiError, AppState};

/// Subscribers of `/v1/stream` at once.
pub const STREAM_SUBSCRIBERS_MAX: usize = 64;
/// How often the watcher reads the head while anyone listens.
pub const STREAM_WATCH_MS: u64 = 100;
/// A comment line this often keeps proxies from closing an idle stream.
pub const STREAM_KEEP_ALIVE_SECS: u64 = 15;

/// What is announced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Heads {
    seq: u64,
    hash: String,
    checkpoint_size: u64,
}

/// The watcher's channel and the subscriber count.
pub struct HeadWatch {
    tx: watch::Sender<Heads>,
    running: AtomicBool,
    subscribers: Arc<AtomicUsize>,
    /// True once the server shuts down: every stream ends, so that a graceful shutdown, which
    /// waits for open connections, is not held up by dashboards left open.
    closed: watch::Sender<bool>,
}

impl Default for HeadWatch {
    fn default() -> Self {
        Self {
            tx: watch::channel(Heads::default()).0,
            running: AtomicBool::new(false),
            subscribers: Arc::default(),
            closed: watch::channel(false).0,
        }
    }
}

/// Holds a subscriber's place; gives it back when the stream is dropped (the client left).
struct Place(Arc<AtomicUsize>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn read(store: &Store) -> Heads {
    let head = store.head();
    Heads {
        seq: head.seq,
        hash: golive_verify::to_hex(&head.hash),
        checkpoint_size: store
            .latest_signed_checkpoint()
            .ok()
            .flatten()
            .map_or(0, |(size, _)| size),
    }
}

impl HeadWatch {
    /// `shutdown`, then every stream ended: what the server waits on before it stops.
    pub async fn closing(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        shutdown.await;
        self.closed.send_replace(true);
    }

    /// Subscribers now (for `/metrics` and the tests).
    pub fn subscribers(&self) -> usize {
        self.subscribers.load(Ordering::Acquire)
    }

    fn place(&self) -> Option<Place> {
        let n = self.subscribers.fetch_add(1, Ordering::AcqRel);
        let place = Place(self.subscribers.clone());
        (n < STREAM_SUBSCRIBERS_MAX).then_some(place)
    }

    /// Starts the watcher unless it runs; it stops when nobody listens.
    fn start(self: &Arc<Self>, store: Store) {
        if self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                let now = read(&store);
                me.tx.send_if_modified(|h| {
                    let changed = *h != now;
                    *h = now;
                    changed
                });
                tokio::time::sleep(Duration::from_millis(STREAM_WATCH_MS)).await;
                if me.tx.receiver_count() == 0 {
                    me.running.store(false, Ordering::Release);
                    // A subscriber that came between the count and the store starts no watcher
                    // of its own (it saw this one running): take the place back for it.
                    if me.tx.receiver_count() == 0 || me.running.swap(true, Ordering::AcqRel) {
                        return;
                    }
                }
            }
        });
    }
}

fn head_event(h: &Heads) -> Event {
    Event::default()
        .event("head")
        .data(format!(r#"{{"seq":{},"hash":"{}"}}"#, h.seq, h.hash))
}

fn checkpoint_event(h: &Heads) -> Event {
    Event::default()
        .event("checkpoint")
        .data(format!(r#"{{"size":{}}}"#, h.checkpoint_size))
}

/// `GET /v1/stream`.
pub(crate) async fn stream(State(state): State<AppState>) -> Result<Response, ApiError> {
    let watch = state.head_watch.clone();
    let Some(place) = watch.place() else {
        return Err(ApiError::Unavailable(format!(
            "/v1/stream has its {STREAM_SUBSCRIBERS_MAX} subscribers already; poll /v1/head"
        )));
    };
    let mut rx = watch.tx.subscribe();
    if *watch.closed.borrow() {
        return Err(ApiError::Unavailable(
            "the ledger is shutting down".to_owned(),
        ));
    }
    watch.start(state.store.clone());
    // The current state first (read now: the watcher may not have run yet).
    let first = read(&state.store);
    let mut events = vec![head_event(&first)];
    if first.checkpoint_size > 0 {
        events.push(checkpoint_event(&first));
    }
    let opening = futures::stream::iter(events.into_iter().map(Ok::<_, Infallible>));
    let closed = watch.closed.subscribe();
    rx.mark_unchanged();
    let later = futures::stream::unfold(
        (rx, first, place, closed),
        |(mut rx, mut last, place, mut closed)| async move {
            loop {
                tokio::select! {
                    r = rx.changed() => r.ok()?,
                    _ = closed.wait_for(|c| *c) => return None,
                }
                let now = rx.borrow_and_update().clone();
                let mut out = Vec::new();
                if now.seq != last.seq {
                    out.push(Ok::<_, Infallible>(head_event(&now)));
                }
                if now.checkpoint_size != last.checkpoint_size && now.checkpoint_size > 0 {
                    out.push(Ok(checkpoint_event(&now)));
                }
                last = now;
                if !out.is_empty() {
                    return Some((futures::stream::iter(out), (rx, last, place, closed)));
                }
            }
        },
    );
    let body = futures::StreamExt::chain(opening, futures::StreamExt::flatten(later));
    Ok(Sse::new(body)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(STREAM_KEEP_ALIVE_SECS)))
        .into_response())
}
