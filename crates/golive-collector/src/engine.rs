//! The collector's engine: one task that owns the outbox and its in-memory mirror, and drives
//! reading, publishing and receipts from a single `select!` loop. Nothing here is shared
//! mutable state: the reader thread sends records in, a sender task sends publishes out in
//! outbox order, and everything comes back to this loop as a message.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::connection::State;
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use async_nats::{Client, RequestErrorKind};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use golive_model::EventId;
use golive_model::protocol::{
    RECEIPT_IDS_MAX, RECEIPTS_SUBJECT, ReceiptStatus, decode_receipt_reply, encode_receipt_query,
};
use tokio::sync::mpsc;

use crate::error::CollectError;
use crate::feed::{FeedRecord, LocalRejection};
use crate::input::ReadItem;
use crate::outbox::{EntryState, FileKey, Outbox, OutboxEntry, PublishState, msg_id, now_unix_ms};
use crate::{
    CollectOutcome, CollectSummary, CollectorConfig, Progress, REJECTIONS_KEPT_MAX, RefusedSubject,
};

/// Reason recorded for an event the ledger dead-lettered.
pub const REJECTED_BY_LEDGER: &str = "rejected by the ledger";
/// How long a JetStream publish may wait for its ack before it counts as failed.
pub const PUBLISH_ACK_TIMEOUT_MS: u64 = 5_000;
/// Receipt queries sent at once in one round (each up to [`RECEIPT_IDS_MAX`] ids).
pub const RECEIPT_QUERIES_PER_ROUND: usize = 4;
/// Records taken from the reader per loop turn.
const READ_BATCH_MAX: usize = 1024;
/// Events read into the outbox but not yet covered by a flush, at most: reading pauses there
/// until a flush makes them publishable.
const UNFLUSHED_EVENTS_MAX: usize = 8 * READ_BATCH_MAX;
/// How often publish-state changes (acked, attempts) are written to the outbox. They are not
/// needed for safety (a lost one means a repeated publish after a crash), and most events are
/// confirmed and deleted before their state would be written at all.
const STATE_WRITE_INTERVAL_MS: u64 = 1_000;
/// Payloads of newly read events kept in memory for their first publish (saves reading them
/// back from sled); beyond this many, the first publish reads the outbox like any other.
const FRESH_PAYLOADS_MAX: usize = 65_536;
/// Least time between progress reports.
const PROGRESS_INTERVAL_MS: u64 = 100;
/// Least gap between receipt rounds while receipts are confirming events.
const RECEIPT_ROUND_GAP_MS: u64 = 5;
/// How nats-server words the error it sends when a client may not publish on a subject; the
/// subject follows in double quotes.
const PUBLISH_REFUSED_PREFIX: &str = "Permissions Violation for Publish to ";
/// How async-nats reports a connect attempt the server refused (`ConnectErrorKind`'s words).
const CONNECT_REFUSED: [&str; 2] = ["authorization violation", "failed signing nonce"];

/// The subject named by a nats-server publish permissions violation, if `error` is one.
fn refused_publish_subject(error: &str) -> Option<&str> {
    let rest = error.strip_prefix(PUBLISH_REFUSED_PREFIX)?;
    let subject = rest.trim().trim_matches('"');
    (!subject.is_empty() && !subject.contains('"')).then_some(subject)
}

/// Re-publishing an event that stays unknown waits `republish_after_ms * 2^n` after the n-th
/// re-publish, n capped here: a ledger that is merely slow is not flooded with copies.
const REPUBLISH_BACKOFF_DOUBLINGS_MAX: u32 = 4;

/// Exponential backoff: 100 ms doubling to 5 s.
#[derive(Debug, Clone)]
pub struct Backoff {
    next_ms: u64,
}

impl Backoff {
    pub const FIRST_MS: u64 = 100;
    pub const MAX_MS: u64 = 5_000;

    pub fn new() -> Self {
        Self {
            next_ms: Self::FIRST_MS,
        }
    }

    /// The delay to wait now; the next one is twice as long, up to the maximum.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next_ms;
        self.next_ms = (self.next_ms * 2).min(Self::MAX_MS);
        Duration::from_millis(d)
    }

    pub fn reset(&mut self) {
        self.next_ms = Self::FIRST_MS;
    }

    /// The delay of the `attempt`-th retry (1-based) without state, for the NATS client's
    /// reconnect callback: 0 for the first attempt, then 100 ms doubling to 5 s.
    pub fn delay_of_attempt(attempt: usize) -> Duration {
        if attempt <= 1 {
            return Duration::ZERO;
        }
        let doublings = u32::try_from(attempt - 2).unwrap_or(u32::MAX).min(16);
        Duration::from_millis((Self::FIRST_MS << doublings).min(Self::MAX_MS))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

/// What the NATS client's callbacks tell the engine.
#[derive(Debug, Default)]
pub(crate) struct LinkWatch {
    /// When the client will next try to connect (set by the reconnect-delay callback).
    pub next_attempt_at: Option<Instant>,
    /// The last connection or server error since the last successful connect.
    pub last_error: Option<String>,
}

pub(crate) type SharedLink = Arc<Mutex<LinkWatch>>;

/// One publish for the sender task.
pub(crate) struct PublishJob {
    seq: u64,
    epoch: u64,
    subject: String,
    payload: Bytes,
    msg_id: String,
}

/// The sender task's answer: the ack future, or why the publish could not be sent.
pub(crate) struct Sent {
    seq: u64,
    epoch: u64,
    result: Result<PublishAckFuture, String>,
}

struct AckDone {
    seq: u64,
    epoch: u64,
    /// The JetStream stream sequence of the message (of the earlier copy for a duplicate).
    result: Result<u64, String>,
}

struct ReceiptDone {
    ids: Vec<(u64, EventId)>,
    result: Result<Vec<ReceiptStatus>, LedgerSilence>,
}

/// Why no usable receipt came back. None of these is an error: the events stay in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LedgerSilence {
    NoResponders,
    TimedOut,
    Failed(String),
}

/// Sends publishes one at a time, in the order the engine dispatched them, so that JetStream
/// receives events in outbox order; the acks are awaited concurrently by the engine.
pub(crate) async fn sender_task(
    js: async_nats::jetstream::Context,
    client: Client,
    mut jobs: mpsc::Receiver<PublishJob>,
    sent: mpsc::Sender<Sent>,
) {
    while let Some(job) = jobs.recv().await {
        let result = if client.connection_state() != State::Connected {
            Err("not connected to NATS".to_owned())
        } else {
            let msg = PublishMessage::build()
                .payload(job.payload)
                .message_id(&job.msg_id);
            js.send_publish(job.subject, msg)
                .await
                .map_err(|e| e.to_string())
        };
        let out = Sent {
            seq: job.seq,
            epoch: job.epoch,
            result,
        };
        if sent.send(out).await.is_err() {
            break;
        }
    }
}

/// An event in the outbox, as the engine tracks it (the payload stays on disk).
#[derive(Debug, Clone)]
struct Slot {
    event_id: EventId,
    st: EntryState,
    in_flight: bool,
    last_publish: Option<Instant>,
    /// JetStream stream sequence of the last acknowledged publish, this run.
    stream_seq: Option<u64>,
}

/// How the link to JetStream stands, for logging once per change.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Link {
    Connecting,
    Up,
    Unreachable,
    PublishFailing(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ledger {
    NotAsked,
    Answering,
    Silent(LedgerSilence),
}

pub(crate) struct Engine<F> {
    cfg: CollectorConfig,
    outbox: Outbox,
    progress_cb: F,
    client: Client,
    link_watch: SharedLink,

    slots: BTreeMap<u64, Slot>,
    by_id: HashMap<EventId, u64>,
    to_publish: BTreeSet<u64>,
    /// Seqs JetStream acknowledged and the ledger has not confirmed: what receipts ask about.
    awaiting: BTreeSet<u64>,
    in_flight: usize,
    /// Subjects of the publishes in flight, to match a server's permissions violation.
    in_flight_subjects: HashMap<u64, String>,
    /// Events whose publish the NATS server refused this run -> their subject. They stay in the
    /// outbox (marked refused) and are not published again until the next run.
    refused: BTreeMap<u64, String>,
    /// Subjects the server refused to let these credentials publish on -> its words.
    refused_subjects: HashMap<String, String>,
    /// Events marked refused on disk (by this run or an earlier one): the mark goes when a
    /// publish is acknowledged.
    marked_refused: HashSet<u64>,
    next_seq: u64,
    /// Publish-state changes not yet written (see [`STATE_WRITE_INTERVAL_MS`]).
    state_updates: HashMap<u64, EntryState>,
    last_state_write: Instant,
    /// Group commit: the flush in progress and the entries it makes durable; entries written
    /// meanwhile wait in `unflushed` for the next flush. Only flushed entries are published.
    flushing: Option<BoxFuture<'static, Result<(), CollectError>>>,
    flushing_seqs: Vec<u64>,
    unflushed: Vec<u64>,
    /// See [`FRESH_PAYLOADS_MAX`]: seq -> (subject, canonical bytes).
    fresh: HashMap<u64, (String, Bytes)>,

    jobs_tx: mpsc::Sender<PublishJob>,
    sent_rx: mpsc::Receiver<Sent>,
    acks: FuturesUnordered<BoxFuture<'static, AckDone>>,
    receipts: FuturesUnordered<BoxFuture<'static, ReceiptDone>>,

    epoch: u64,
    backoff: Backoff,
    retry_at: Option<Instant>,
    link: Link,
    ledger: Ledger,
    next_round_at: Instant,
    round_started: Instant,
    round_progress: bool,
    receipt_cursor: u64,
    /// Highest stream sequence among events the ledger confirmed this run, and when it last
    /// confirmed one: the ledger consumes the stream in order, so an unknown event below that
    /// sequence was lost, while one above it may only be waiting in a backlog.
    confirmed_stream_seq_max: u64,
    last_confirmed_at: Option<Instant>,

    reading: bool,
    reading_done_at: Option<Instant>,
    outbox_full_logged: bool,
    summary: CollectSummary,
    last_progress: Option<Instant>,
}

impl<F: FnMut(&Progress) + Send> Engine<F> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        cfg: CollectorConfig,
        outbox: Outbox,
        progress_cb: F,
        client: Client,
        link_watch: SharedLink,
        jobs_tx: mpsc::Sender<PublishJob>,
        sent_rx: mpsc::Receiver<Sent>,
    ) -> Result<Self, CollectError> {
        let now = Instant::now();
        let now_ms = now_unix_ms();
        let mut slots = BTreeMap::new();
        let mut by_id = HashMap::new();
        let mut to_publish = BTreeSet::new();
        let mut awaiting = BTreeSet::new();
        for entry in outbox.entries() {
            let e = entry?;
            let last_publish = e.state.last_publish_unix_ms.and_then(|t| {
                let ago = u64::try_from(now_ms.saturating_sub(t)).unwrap_or(0);
                now.checked_sub(Duration::from_millis(ago))
            });
            match e.state.state {
                PublishState::Queued => to_publish.insert(e.seq),
                PublishState::Published => awaiting.insert(e.seq),
            };
            by_id.insert(e.event_id, e.seq);
            slots.insert(
                e.seq,
                Slot {
                    event_id: e.event_id,
                    st: e.state,
                    in_flight: false,
                    last_publish,
                    stream_seq: None,
                },
            );
        }
        if !slots.is_empty() {
            tracing::info!(
                pending = slots.len(),
                never_published = to_publish.len(),
                outbox = %outbox.path().display(),
                "resuming: events from an earlier run are in the outbox"
            );
        }
        let next_seq = outbox.next_seq()?;
        let marked_refused: HashSet<u64> = outbox
            .refused_marks()?
            .into_iter()
            .map(|(seq, _, _)| seq)
            .collect();
        if !marked_refused.is_empty() {
            tracing::info!(
                refused = marked_refused.len(),
                "events the NATS server refused in an earlier run are tried once more"
            );
        }
        Ok(Self {
            cfg,
            outbox,
            progress_cb,
            client,
            link_watch,
            slots,
            by_id,
            to_publish,
            awaiting,
            in_flight: 0,
            in_flight_subjects: HashMap::new(),
            refused: BTreeMap::new(),
            refused_subjects: HashMap::new(),
            marked_refused,
            next_seq,
            state_updates: HashMap::new(),
            last_state_write: now,
            flushing: None,
            flushing_seqs: Vec::new(),
            unflushed: Vec::new(),
            fresh: HashMap::new(),
            jobs_tx,
            sent_rx,
            acks: FuturesUnordered::new(),
            receipts: FuturesUnordered::new(),
            epoch: 0,
            backoff: Backoff::new(),
            retry_at: None,
            link: Link::Connecting,
            ledger: Ledger::NotAsked,
            next_round_at: now,
            round_started: now,
            round_progress: false,
            receipt_cursor: 0,
            confirmed_stream_seq_max: 0,
            last_confirmed_at: None,
            reading: true,
            reading_done_at: None,
            outbox_full_logged: false,
            summary: CollectSummary::default(),
            last_progress: None,
        })
    }

    /// Runs until the input is done and every event is confirmed (or the receipt wait
    /// elapsed), or until `shutdown` completes.
    pub(crate) async fn run(
        mut self,
        mut items: mpsc::Receiver<ReadItem>,
        mut nats_events: mpsc::Receiver<async_nats::Event>,
        shutdown: impl std::future::Future<Output = ()> + Send,
        stop_when_done: bool,
    ) -> Result<CollectSummary, CollectError> {
        tokio::pin!(shutdown);
        let mut buf: Vec<ReadItem> = Vec::with_capacity(READ_BATCH_MAX);
        let outcome = loop {
            let now = Instant::now();
            self.observe_link(now);
            self.dispatch(now)?;
            self.start_receipt_round(now);
            if now.duration_since(self.last_state_write)
                >= Duration::from_millis(STATE_WRITE_INTERVAL_MS)
            {
                self.apply_state_updates(false)?;
                self.last_state_write = now;
            }
            self.start_flush();
            self.report(now, false);

            if stop_when_done && !self.reading {
                if self.slots.is_empty() {
                    break CollectOutcome::AllConfirmed;
                }
                // Only refused events are left: nothing more can happen to them in this run.
                if self.slots.len() == self.refused.len() {
                    break CollectOutcome::SomeRefused;
                }
                let waited = self.reading_done_at.map(|t| now.duration_since(t));
                if let (Some(max), Some(waited)) = (self.cfg.wait_for_receipts_ms, waited)
                    && waited >= Duration::from_millis(max)
                {
                    break CollectOutcome::ReceiptWaitElapsed;
                }
            }

            // Read no further ahead of the outbox's flushes than a few batches: what is read
            // is published only once flushed, so reading a whole file first would delay every
            // publish until the end of the file.
            let space = self
                .space()
                .min(UNFLUSHED_EVENTS_MAX.saturating_sub(self.unflushed.len()));
            let read_limit = READ_BATCH_MAX.min(space);
            let wake = self.next_wake(now);
            tokio::select! {
                biased;
                () = &mut shutdown => break CollectOutcome::Shutdown,
                Some(sent) = self.sent_rx.recv() => self.on_sent(sent)?,
                Some(done) = self.acks.next(), if !self.acks.is_empty() => self.on_ack(done)?,
                Some(done) = self.receipts.next(), if !self.receipts.is_empty() => {
                    self.on_receipt(done)?;
                }
                // Before reading: with `biased`, a reader that always has input would otherwise
                // keep a finished flush unobserved, and nothing would be published until the
                // input ended (profiled: docs/BENCHMARKS.md).
                r = async { self.flushing.as_mut().expect("guarded").await }, if self.flushing.is_some() => {
                    r?;
                    self.on_flushed();
                }
                n = items.recv_many(&mut buf, read_limit.max(1)), if self.reading && read_limit > 0 => {
                    if n == 0 {
                        self.end_of_input(now);
                    } else {
                        self.on_items(&mut buf)?;
                    }
                }
                Some(ev) = nats_events.recv() => self.on_nats_event(ev)?,
                () = tokio::time::sleep_until(wake.into()) => {}
            }
        };
        if let Some(f) = self.flushing.take() {
            f.await?;
            self.on_flushed();
        }
        // At exit everything is written: there is no next round.
        self.apply_state_updates(true)?;
        self.outbox.flush().await?;
        self.summary.outcome = outcome;
        self.summary.pending_at_exit = self.slots.len() as u64;
        self.summary.refused = self.refused.len() as u64;
        let mut by_subject: BTreeMap<&str, u64> = BTreeMap::new();
        for subject in self.refused.values() {
            *by_subject.entry(subject).or_default() += 1;
        }
        self.summary.refused_subjects = by_subject
            .into_iter()
            .map(|(subject, events)| RefusedSubject {
                subject: subject.to_owned(),
                reason: self
                    .refused_subjects
                    .get(subject)
                    .cloned()
                    .unwrap_or_default(),
                events,
            })
            .collect();
        self.report(Instant::now(), true);
        match outcome {
            CollectOutcome::AllConfirmed => tracing::info!(
                confirmed = self.summary.confirmed,
                dead_lettered = self.summary.dead_lettered,
                rejected_locally = self.summary.rejected_locally,
                "every event is confirmed by the ledger; the outbox is empty"
            ),
            CollectOutcome::SomeRefused => tracing::warn!(
                confirmed = self.summary.confirmed,
                refused = self.refused.len(),
                "every event is confirmed by the ledger except those the NATS server refused; \
                 they stay in the outbox and are tried again on the next run"
            ),
            CollectOutcome::ReceiptWaitElapsed => tracing::warn!(
                pending = self.slots.len(),
                "stopped waiting for receipts; the pending events stay in the outbox and are \
                 published again on the next run"
            ),
            CollectOutcome::Shutdown => tracing::info!(
                pending = self.slots.len(),
                "shut down; pending events stay in the outbox"
            ),
        }
        Ok(self.summary)
    }

    fn space(&self) -> usize {
        let max = usize::try_from(self.cfg.outbox_events_max).unwrap_or(usize::MAX);
        max.saturating_sub(self.slots.len())
    }

    fn connected(&self) -> bool {
        self.client.connection_state() == State::Connected
    }

    fn next_wake(&self, now: Instant) -> Instant {
        let mut wake = now + Duration::from_millis(PROGRESS_INTERVAL_MS);
        if let Some(t) = self.retry_at {
            wake = wake.min(t);
        }
        if self.receipts.is_empty() && !self.awaiting.is_empty() {
            wake = wake.min(self.next_round_at);
        }
        if let (Some(done), Some(max)) = (self.reading_done_at, self.cfg.wait_for_receipts_ms) {
            wake = wake.min(done + Duration::from_millis(max));
        }
        wake.max(now)
    }

    // ---- reading -----------------------------------------------------------------------

    fn end_of_input(&mut self, now: Instant) {
        if self.reading {
            self.reading = false;
            self.reading_done_at = Some(now);
            tracing::info!(
                read = self.summary.read,
                queued = self.summary.queued,
                rejected_locally = self.summary.rejected_locally,
                "input read"
            );
        }
    }

    /// Writes a batch of read records to the outbox; they are published once a flush covers
    /// them (see [`Engine::start_flush`]).
    /// queued for publishing.
    fn on_items(&mut self, buf: &mut Vec<ReadItem>) -> Result<(), CollectError> {
        let now_ms = now_unix_ms();
        let mut new_entries: Vec<OutboxEntry> = Vec::new();
        let mut batch_ids: HashMap<EventId, usize> = HashMap::new();
        let mut files: Vec<FileKey> = Vec::new();
        let mut failure = None;
        let mut ended = false;
        for item in buf.drain(..) {
            match item {
                ReadItem::Record {
                    source,
                    record: FeedRecord::Event(ev),
                } => {
                    self.summary.read += 1;
                    let existing = match batch_ids.get(&ev.event_id) {
                        Some(&i) => Some(new_entries[i].payload == ev.canonical),
                        None => match self.by_id.get(&ev.event_id) {
                            Some(&seq) => Some(
                                self.outbox
                                    .get(seq)?
                                    .is_none_or(|e| e.payload == ev.canonical),
                            ),
                            None => None,
                        },
                    };
                    match existing {
                        Some(true) => self.summary.already_queued += 1,
                        Some(false) => self.reject(LocalRejection {
                            source: source.to_string(),
                            line: ev.line,
                            field: "event_id".to_owned(),
                            reason: "an event with this event_id and different content is \
                                     already in the outbox; give a correction its own event_id \
                                     and `supersedes`"
                                .to_owned(),
                        }),
                        None => {
                            let seq = self.next_seq;
                            self.next_seq += 1;
                            batch_ids.insert(ev.event_id, new_entries.len());
                            new_entries.push(OutboxEntry {
                                seq,
                                event_id: ev.event_id,
                                subject: ev.subject,
                                payload: ev.canonical,
                                state: EntryState {
                                    state: PublishState::Queued,
                                    republishes: 0,
                                    publish_attempts: 0,
                                    queued_unix_ms: now_ms,
                                    last_publish_unix_ms: None,
                                },
                            });
                        }
                    }
                }
                ReadItem::Record {
                    record: FeedRecord::Rejected(r),
                    ..
                } => {
                    self.summary.read += 1;
                    self.reject(r);
                }
                ReadItem::FileDone(key) => files.push(key),
                ReadItem::Failed(e) => failure = Some(e),
                ReadItem::End => ended = true,
            }
        }
        if !new_entries.is_empty() || !files.is_empty() {
            self.outbox.insert(&new_entries, &files)?;
        }
        for e in new_entries {
            if self.fresh.len() < FRESH_PAYLOADS_MAX {
                self.fresh
                    .insert(e.seq, (e.subject, Bytes::from(e.payload)));
            }
            self.by_id.insert(e.event_id, e.seq);
            self.unflushed.push(e.seq);
            self.slots.insert(
                e.seq,
                Slot {
                    event_id: e.event_id,
                    st: e.state,
                    in_flight: false,
                    last_publish: None,
                    stream_seq: None,
                },
            );
            self.summary.queued += 1;
        }
        if let Some(e) = failure {
            return Err(e);
        }
        if ended {
            self.end_of_input(Instant::now());
        }
        Ok(())
    }

    /// Starts a flush of everything written so far, unless one is running (then the next
    /// starts when it ends, covering all that was written meanwhile: group commit).
    fn start_flush(&mut self) {
        if self.flushing.is_some() || self.unflushed.is_empty() {
            return;
        }
        self.flushing_seqs = std::mem::take(&mut self.unflushed);
        let outbox = self.outbox.clone();
        self.flushing = Some(Box::pin(async move { outbox.flush().await }));
    }

    /// The entries the finished flush covered are durable: publish them.
    fn on_flushed(&mut self) {
        self.flushing = None;
        for seq in std::mem::take(&mut self.flushing_seqs) {
            if self.slots.contains_key(&seq) {
                self.to_publish.insert(seq);
            }
        }
        self.start_flush();
    }

    fn reject(&mut self, r: LocalRejection) {
        self.summary.rejected_locally += 1;
        if self.summary.rejections.len() < REJECTIONS_KEPT_MAX {
            tracing::warn!(
                source = %r.source,
                line = r.line,
                field = %r.field,
                reason = %r.reason,
                "rejected locally, not sent"
            );
            self.summary.rejections.push(r);
        } else {
            tracing::debug!(rejection = %r, "rejected locally, not sent");
        }
    }

    // ---- publishing --------------------------------------------------------------------

    fn observe_link(&mut self, now: Instant) {
        let state = self.client.connection_state();
        let link = match state {
            // A publish failure is cleared by the next acknowledged publish, not by time.
            State::Connected => match &self.link {
                Link::PublishFailing(r) => Link::PublishFailing(r.clone()),
                _ => Link::Up,
            },
            State::Pending if !self.link_failed() => Link::Connecting,
            State::Pending | State::Disconnected => Link::Unreachable,
        };
        if link != self.link {
            match &link {
                Link::Up => tracing::info!(url = %self.cfg.nats_url, "connected to NATS"),
                Link::Unreachable => tracing::warn!(
                    url = %self.cfg.nats_url,
                    buffered = self.slots.len(),
                    error = self.last_link_error().as_deref().unwrap_or("connection lost"),
                    "NATS unreachable; events stay in the outbox and the collector retries"
                ),
                Link::PublishFailing(_) | Link::Connecting => {}
            }
            self.link = link;
        }
        if let Some(t) = self.retry_at
            && now >= t
        {
            self.retry_at = None;
        }
    }

    fn link_failed(&self) -> bool {
        self.link_watch
            .lock()
            .map(|w| w.last_error.is_some())
            .unwrap_or(false)
    }

    fn last_link_error(&self) -> Option<String> {
        self.link_watch
            .lock()
            .ok()
            .and_then(|w| w.last_error.clone())
    }

    fn on_nats_event(&mut self, ev: async_nats::Event) -> Result<(), CollectError> {
        match ev {
            async_nats::Event::Connected => {
                if let Ok(mut w) = self.link_watch.lock() {
                    w.last_error = None;
                    w.next_attempt_at = None;
                }
            }
            async_nats::Event::Disconnected => {
                if let Ok(mut w) = self.link_watch.lock() {
                    w.last_error
                        .get_or_insert_with(|| "connection lost".to_owned());
                }
            }
            // The client retries a refused connect forever; a retry is refused the same way.
            async_nats::Event::ClientError(async_nats::ClientError::Other(e))
                if CONNECT_REFUSED.contains(&e.as_str()) =>
            {
                return Err(crate::credentials_refused(&self.cfg));
            }
            async_nats::Event::ClientError(e) => {
                if let Ok(mut w) = self.link_watch.lock() {
                    w.last_error = Some(e.to_string());
                }
            }
            async_nats::Event::ServerError(async_nats::ServerError::Other(e))
                if refused_publish_subject(&e).is_some() =>
            {
                let subject = refused_publish_subject(&e).unwrap_or_default().to_owned();
                self.on_publish_refused(subject, e)?;
            }
            async_nats::Event::ServerError(e) => {
                tracing::warn!(error = %e, "NATS server error");
                if let Ok(mut w) = self.link_watch.lock() {
                    w.last_error = Some(format!("server error: {e}"));
                }
            }
            other => tracing::debug!(event = %other, "NATS event"),
        }
        Ok(())
    }

    /// The server refused a publish on `subject`: these credentials may not publish there
    /// (nothing a retry can change in this run). The events on it are marked refused and kept.
    fn on_publish_refused(&mut self, subject: String, reason: String) -> Result<(), CollectError> {
        if !self.refused_subjects.contains_key(&subject) {
            tracing::warn!(
                %subject,
                error = %reason,
                "the NATS server refused to let these credentials publish on {subject}: a \
                 collector may publish only its own trust's events (golive.events.<TRUST>.>); \
                 the events stay in the outbox, marked refused (golive collect --status), and \
                 are tried again on the next run"
            );
            self.refused_subjects.insert(subject.clone(), reason);
        }
        let seqs: Vec<u64> = self
            .in_flight_subjects
            .iter()
            .filter(|(_, s)| **s == subject)
            .map(|(seq, _)| *seq)
            .collect();
        for seq in seqs {
            self.in_flight_subjects.remove(&seq);
            self.refuse(seq, &subject)?;
        }
        Ok(())
    }

    /// Marks one event refused (see [`Engine::on_publish_refused`]).
    fn refuse(&mut self, seq: u64, subject: &str) -> Result<(), CollectError> {
        let Some(slot) = self.slots.get(&seq) else {
            return Ok(());
        };
        if self.refused.insert(seq, subject.to_owned()).is_some() {
            return Ok(());
        }
        self.to_publish.remove(&seq);
        let reason = self
            .refused_subjects
            .get(subject)
            .map_or("refused by the NATS server", String::as_str);
        tracing::info!(event_id = %slot.event_id, %subject, "publish refused by the NATS server; kept in the outbox");
        // Its publish attempts count, though the server refused them.
        self.state_updates.insert(seq, slot.st);
        self.outbox.mark_refused(&[seq], reason)?;
        self.marked_refused.insert(seq);
        Ok(())
    }

    /// Hands queued events to the sender task, in outbox order, up to the window.
    fn dispatch(&mut self, now: Instant) -> Result<(), CollectError> {
        if !self.connected() || self.retry_at.is_some_and(|t| now < t) {
            return Ok(());
        }
        let now_ms = now_unix_ms();
        while self.in_flight < self.cfg.window {
            let Some(seq) = self.to_publish.pop_first() else {
                break;
            };
            if !self.slots.contains_key(&seq) || self.refused.contains_key(&seq) {
                continue;
            }
            let (subject, payload) = match self.fresh.remove(&seq) {
                Some(fresh) => fresh,
                None => match self.outbox.get(seq)? {
                    Some(e) => (e.subject, Bytes::from(e.payload)),
                    None => {
                        // Gone from the disk but not from memory: a bug; forget it rather
                        // than loop.
                        tracing::error!(seq, "outbox entry vanished; dropping it from memory");
                        self.slots.remove(&seq);
                        continue;
                    }
                },
            };
            // Refused on this subject already: the server would refuse this one too.
            if self.refused_subjects.contains_key(&subject) {
                self.refuse(seq, &subject)?;
                continue;
            }
            let Some(slot) = self.slots.get_mut(&seq) else {
                continue;
            };
            slot.in_flight = true;
            slot.last_publish = Some(now);
            slot.st.publish_attempts = slot.st.publish_attempts.saturating_add(1);
            slot.st.last_publish_unix_ms = Some(now_ms);
            let job = PublishJob {
                seq,
                epoch: self.epoch,
                subject: subject.clone(),
                payload,
                msg_id: msg_id(&slot.event_id, slot.st.republishes),
            };
            // The channel holds `window` jobs and at most `window` are in flight.
            if self.jobs_tx.try_send(job).is_err() {
                slot.in_flight = false;
                self.to_publish.insert(seq);
                break;
            }
            self.in_flight += 1;
            self.in_flight_subjects.insert(seq, subject);
        }
        Ok(())
    }

    fn on_sent(&mut self, sent: Sent) -> Result<(), CollectError> {
        match sent.result {
            Ok(ack) => {
                let (seq, epoch) = (sent.seq, sent.epoch);
                self.acks.push(Box::pin(async move {
                    let result = ack
                        .await
                        .map(|a| {
                            if a.duplicate {
                                tracing::debug!(
                                    stream_seq = a.sequence,
                                    "JetStream already had this msg id"
                                );
                            }
                            a.sequence
                        })
                        .map_err(|e| e.to_string());
                    AckDone { seq, epoch, result }
                }));
                Ok(())
            }
            Err(reason) => self.on_ack(AckDone {
                seq: sent.seq,
                epoch: sent.epoch,
                result: Err(reason),
            }),
        }
    }

    fn on_ack(&mut self, done: AckDone) -> Result<(), CollectError> {
        self.in_flight = self.in_flight.saturating_sub(1);
        let subject = self.in_flight_subjects.remove(&done.seq);
        let Some(slot) = self.slots.get_mut(&done.seq) else {
            return Ok(()); // confirmed by a receipt while the publish was in flight
        };
        slot.in_flight = false;
        if done.result.is_err() {
            if self.refused.contains_key(&done.seq) {
                return Ok(()); // the server said why: see on_publish_refused
            }
            if let Some(subject) = subject.filter(|s| self.refused_subjects.contains_key(s)) {
                return self.refuse(done.seq, &subject);
            }
        }
        match done.result {
            Ok(stream_seq) => {
                self.refused.remove(&done.seq);
                if self.marked_refused.remove(&done.seq) {
                    self.outbox.clear_refused([done.seq])?;
                }
                slot.stream_seq = Some(stream_seq);
                slot.st.state = PublishState::Published;
                self.awaiting.insert(done.seq);
                self.state_updates.insert(done.seq, slot.st);
                self.summary.published += 1;
                if slot.st.republishes > 0 {
                    self.summary.republished += 1;
                }
                if matches!(self.link, Link::PublishFailing(_)) {
                    tracing::info!("publishing to JetStream works again");
                    self.link = Link::Up;
                }
                self.backoff.reset();
            }
            Err(reason) => {
                self.to_publish.insert(done.seq);
                // Only the first failure of a burst doubles the backoff: publishes dispatched
                // before it began fail together and say nothing new.
                if done.epoch == self.epoch {
                    self.epoch += 1;
                    let delay = self.backoff.next_delay();
                    self.retry_at = Some(Instant::now() + delay);
                    if self.connected() {
                        self.link_publish_failing(reason);
                    }
                }
            }
        }
        Ok(())
    }

    fn link_publish_failing(&mut self, reason: String) {
        let changed = !matches!(&self.link, Link::PublishFailing(r) if *r == reason);
        if changed {
            tracing::warn!(
                reason = %reason,
                buffered = self.slots.len(),
                "publishing to JetStream fails; events stay in the outbox and the collector \
                 retries with backoff"
            );
        }
        self.link = Link::PublishFailing(reason);
    }

    /// Writes the publish-state changes of events still pending. A first publish younger than
    /// [`STATE_WRITE_INTERVAL_MS`] waits for the next round: its receipt nearly always comes
    /// first and makes the write moot (rewriting each ~500-byte outbox value was a tenth of the
    /// collector's CPU, docs/BENCHMARKS.md). A crash loses at most that young state, which
    /// means the event is published again after the restart, as when it was never acked.
    /// Re-publishes are written at once: their numbered msg id must not be reused. `all`
    /// writes the young ones too (at exit).
    fn apply_state_updates(&mut self, all: bool) -> Result<(), CollectError> {
        if self.state_updates.is_empty() {
            return Ok(());
        }
        let young_since = now_unix_ms() - STATE_WRITE_INTERVAL_MS as i64;
        let mut updates = Vec::new();
        let mut deferred = HashMap::new();
        for (seq, st) in std::mem::take(&mut self.state_updates) {
            if !self.slots.contains_key(&seq) {
                continue;
            }
            let young = !all
                && st.republishes == 0
                && st.last_publish_unix_ms.is_some_and(|t| t > young_since);
            if young {
                deferred.insert(seq, st);
            } else {
                updates.push((seq, st));
            }
        }
        self.state_updates = deferred;
        self.outbox.update_states(&updates)
    }

    // ---- receipts ----------------------------------------------------------------------

    /// Asks the ledger about published, unconfirmed events: up to [`RECEIPT_QUERIES_PER_ROUND`]
    /// queries of [`RECEIPT_IDS_MAX`] ids, starting where the last round stopped so that a
    /// stuck head cannot starve the rest.
    fn start_receipt_round(&mut self, now: Instant) {
        if !self.receipts.is_empty() || now < self.next_round_at || !self.connected() {
            return;
        }
        let max = RECEIPT_IDS_MAX * RECEIPT_QUERIES_PER_ROUND;
        let ids: Vec<(u64, EventId)> = self
            .awaiting
            .range(self.receipt_cursor..)
            .chain(self.awaiting.range(..self.receipt_cursor))
            .take(max)
            .filter_map(|seq| self.slots.get(seq).map(|s| (*seq, s.event_id)))
            .collect();
        if ids.is_empty() {
            self.next_round_at = now + Duration::from_millis(self.cfg.receipt_interval_ms);
            return;
        }
        self.receipt_cursor = if ids.len() < max {
            0
        } else {
            ids.last().map_or(0, |(s, _)| s + 1)
        };
        self.round_started = now;
        self.round_progress = false;
        let timeout = Duration::from_millis(self.cfg.receipt_timeout_ms);
        for chunk in ids.chunks(RECEIPT_IDS_MAX) {
            let chunk = chunk.to_vec();
            let event_ids: Vec<EventId> = chunk.iter().map(|(_, id)| *id).collect();
            // At most RECEIPT_IDS_MAX ids by construction.
            let body = encode_receipt_query(&event_ids).expect("a chunk fits one query");
            let client = self.client.clone();
            self.receipts.push(Box::pin(async move {
                let request = async_nats::Request::new()
                    .payload(Bytes::from(body))
                    .timeout(Some(timeout));
                let result = match client.send_request(RECEIPTS_SUBJECT, request).await {
                    Ok(msg) => decode_receipt_reply(&msg.payload, chunk.len())
                        .map_err(|e| LedgerSilence::Failed(format!("unreadable receipt: {e}"))),
                    Err(e) => Err(match e.kind() {
                        RequestErrorKind::NoResponders => LedgerSilence::NoResponders,
                        RequestErrorKind::TimedOut => LedgerSilence::TimedOut,
                        _ => LedgerSilence::Failed(e.to_string()),
                    }),
                };
                ReceiptDone { ids: chunk, result }
            }));
        }
    }

    fn on_receipt(&mut self, done: ReceiptDone) -> Result<(), CollectError> {
        let now = Instant::now();
        match done.result {
            Err(silence) => {
                if self.ledger != Ledger::Silent(silence.clone()) {
                    tracing::warn!(
                        reason = %self.silence_text(&silence),
                        awaiting = done.ids.len(),
                        "no receipt from the ledger; events stay in the outbox until it confirms them"
                    );
                    self.ledger = Ledger::Silent(silence);
                }
            }
            Ok(statuses) => {
                if self.ledger != Ledger::Answering {
                    tracing::info!("the ledger answers receipt queries");
                    self.ledger = Ledger::Answering;
                }
                let mut appended = Vec::new();
                let mut dead = Vec::new();
                let mut unknown = Vec::new();
                for ((seq, id), status) in done.ids.iter().zip(statuses) {
                    let Some(slot) = self.slots.get(seq) else {
                        continue;
                    };
                    if slot.event_id != *id {
                        continue;
                    }
                    match status {
                        ReceiptStatus::Appended => {
                            if let Some(s) = slot.stream_seq {
                                self.confirmed_stream_seq_max =
                                    self.confirmed_stream_seq_max.max(s);
                            }
                            appended.push(*seq);
                        }
                        ReceiptStatus::DeadLettered => dead.push((*seq, REJECTED_BY_LEDGER)),
                        ReceiptStatus::Unknown => unknown.push(*seq),
                    }
                }
                let ledger_idle = self.last_confirmed_at.is_none_or(|t| {
                    now.duration_since(t) >= Duration::from_millis(self.cfg.republish_after_ms)
                });
                if !appended.is_empty() {
                    self.last_confirmed_at = Some(now);
                }
                for seq in unknown {
                    self.consider_republish(seq, now, ledger_idle);
                }
                if !appended.is_empty() || !dead.is_empty() {
                    // Not flushed: a removal lost in a crash only means the event is asked
                    // about again (and confirmed again) after the restart.
                    self.outbox.settle(&appended, &dead)?;
                    for (seq, _) in &dead {
                        if let Some(slot) = self.slots.get(seq) {
                            tracing::warn!(
                                event_id = %slot.event_id,
                                "the ledger dead-lettered this event; it is kept in the outbox's \
                                 rejected list (see `golive collect --status`)"
                            );
                        }
                    }
                    self.summary.confirmed += appended.len() as u64;
                    self.summary.dead_lettered += dead.len() as u64;
                    for seq in appended.iter().chain(dead.iter().map(|(s, _)| s)) {
                        self.state_updates.remove(seq);
                        self.fresh.remove(seq);
                        if let Some(slot) = self.slots.remove(seq) {
                            self.by_id.remove(&slot.event_id);
                        }
                        self.refused.remove(seq);
                        self.marked_refused.remove(seq);
                        self.to_publish.remove(seq);
                        self.awaiting.remove(seq);
                    }
                    self.round_progress = true;
                }
            }
        }
        if self.receipts.is_empty() {
            let gap = if self.round_progress {
                RECEIPT_ROUND_GAP_MS.min(self.cfg.receipt_interval_ms)
            } else {
                self.cfg.receipt_interval_ms
            };
            self.next_round_at = self.round_started + Duration::from_millis(gap);
        }
        Ok(())
    }

    /// Re-publishes an event the ledger does not know, if it is overdue and the ledger is
    /// past it: the ledger confirmed a later message of the stream (it reads in order, so this
    /// one was lost), or it has confirmed nothing for `republish_after_ms` (it is idle, or this
    /// run has no stream sequence for the event, as after a restart). An event merely waiting
    /// behind a backlog is left alone, so a slow ledger is not flooded with copies; the wait
    /// also doubles with each re-publish of the same event.
    fn consider_republish(&mut self, seq: u64, now: Instant, ledger_idle: bool) {
        let Some(slot) = self.slots.get_mut(&seq) else {
            return;
        };
        let doublings = slot.st.republishes.min(REPUBLISH_BACKOFF_DOUBLINGS_MAX);
        let wait = Duration::from_millis(self.cfg.republish_after_ms << doublings);
        let overdue = slot
            .last_publish
            .is_none_or(|t| now.duration_since(t) >= wait);
        let passed = slot
            .stream_seq
            .is_some_and(|s| s < self.confirmed_stream_seq_max);
        if slot.st.state != PublishState::Published
            || slot.in_flight
            || !overdue
            || !(passed || ledger_idle)
            || self.to_publish.contains(&seq)
        {
            return;
        }
        slot.st.republishes = slot.st.republishes.saturating_add(1);
        tracing::info!(
            event_id = %slot.event_id,
            attempt = slot.st.republishes,
            msg_id = %msg_id(&slot.event_id, slot.st.republishes),
            "the ledger does not have this event; re-publishing it under a new msg id"
        );
        self.to_publish.insert(seq);
    }

    fn silence_text(&self, s: &LedgerSilence) -> String {
        match s {
            LedgerSilence::NoResponders => {
                format!("no ledger is answering receipt queries on {RECEIPTS_SUBJECT}")
            }
            LedgerSilence::TimedOut => format!(
                "the ledger did not answer a receipt query within {} ms",
                self.cfg.receipt_timeout_ms
            ),
            LedgerSilence::Failed(e) => format!("receipt query failed: {e}"),
        }
    }

    // ---- progress ----------------------------------------------------------------------

    fn note(&self, now: Instant) -> Option<String> {
        let pending = self.slots.len();
        match &self.link {
            Link::Unreachable => {
                let retry = self
                    .link_watch
                    .lock()
                    .ok()
                    .and_then(|w| w.next_attempt_at)
                    .map(|t| format!(", retrying in {}", human(t.saturating_duration_since(now))))
                    .unwrap_or_default();
                let why = self
                    .last_link_error()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                return Some(format!(
                    "NATS unreachable at {}{why}: {pending} events buffered in the outbox{retry}",
                    self.cfg.nats_url
                ));
            }
            Link::PublishFailing(reason) => {
                let retry = self
                    .retry_at
                    .map(|t| format!(", retrying in {}", human(t.saturating_duration_since(now))))
                    .unwrap_or_default();
                return Some(format!(
                    "publishing to JetStream fails ({reason}): {pending} events buffered in the \
                     outbox{retry}"
                ));
            }
            Link::Connecting => {
                return Some(format!("connecting to NATS at {}", self.cfg.nats_url));
            }
            Link::Up => {}
        }
        if self.reading && self.space() == 0 {
            let e = CollectError::OutboxFull {
                pending: pending as u64,
                max: self.cfg.outbox_events_max,
            };
            return Some(e.to_string());
        }
        if let Ledger::Silent(s) = &self.ledger
            && pending > 0
        {
            return Some(format!(
                "{}: {pending} events kept in the outbox until the ledger confirms them",
                self.silence_text(s)
            ));
        }
        None
    }

    fn progress(&self, now: Instant) -> Progress {
        Progress {
            read: self.summary.read,
            rejected_locally: self.summary.rejected_locally,
            queued: self.summary.queued,
            published: self.summary.published,
            republished: self.summary.republished,
            confirmed: self.summary.confirmed,
            dead_lettered: self.summary.dead_lettered,
            pending: self.slots.len() as u64,
            refused: self.refused.len() as u64,
            nats_connected: self.connected(),
            note: self.note(now),
        }
    }

    fn report(&mut self, now: Instant, force: bool) {
        let due = self
            .last_progress
            .is_none_or(|t| now.duration_since(t) >= Duration::from_millis(PROGRESS_INTERVAL_MS));
        if !(force || due) {
            return;
        }
        if self.reading && self.space() == 0 && !self.outbox_full_logged {
            tracing::warn!(
                "{}",
                CollectError::OutboxFull {
                    pending: self.slots.len() as u64,
                    max: self.cfg.outbox_events_max,
                }
            );
            self.outbox_full_logged = true;
        } else if self.space() > 0 {
            self.outbox_full_logged = false;
        }
        let p = self.progress(now);
        (self.progress_cb)(&p);
        self.last_progress = Some(now);
    }
}

/// A duration for people: `250 ms`, `2.0s`.
fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_100ms_to_5s() {
        // Proves the retry schedule is 100 ms doubling to a 5 s ceiling, and resets.
        let mut b = Backoff::new();
        let ms: Vec<u128> = (0..8).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        b.reset();
        assert_eq!(b.next_delay().as_millis(), 100);
        assert_eq!(Backoff::delay_of_attempt(1), Duration::ZERO);
        assert_eq!(Backoff::delay_of_attempt(2).as_millis(), 100);
        assert_eq!(Backoff::delay_of_attempt(3).as_millis(), 200);
        assert_eq!(Backoff::delay_of_attempt(100).as_millis(), 5000);
    }

    #[test]
    fn publish_permission_violations_name_their_subject() {
        // Proves the subject is read from nats-server's permissions violation, and other errors
        // (a subscription violation, anything else) are not taken for a refused publish.
        assert_eq!(
            refused_publish_subject(
                r#"Permissions Violation for Publish to "golive.events.RF4.outage""#
            ),
            Some("golive.events.RF4.outage")
        );
        assert_eq!(
            refused_publish_subject(r#"Permissions Violation for Subscription to "_INBOX.x""#),
            None
        );
        assert_eq!(refused_publish_subject("Maximum Payload Violation"), None);
    }

    #[test]
    fn human_durations() {
        // Proves short waits read in milliseconds and long ones in seconds.
        assert_eq!(human(Duration::from_millis(250)), "250 ms");
        assert_eq!(human(Duration::from_millis(2000)), "2.0s");
    }
}
