//! The collector's engine: a pure state machine that holds every decision of a run: what to
//! write to the outbox, what to publish and when, what to publish again, what to forget, which
//! events to ask the ledger about, when to back off, what to report and when to stop.
//!
//! It does no IO: no async, no NATS, no sled, no clock reads. [`Engine::on`] takes one
//! [`Input`] (something that happened) with the time it happened, and answers with [`Action`]s
//! (things to do). The driver (`crate::driver`) owns the tokio tasks, the NATS client and the
//! outbox: it carries the actions out and feeds what comes of them back in as inputs. The one
//! side effect left is the log (`tracing`): it narrates the decisions, and nothing decided here
//! depends on it.
//!
//! **Invariant:** after every step, debug builds check the engine's own consistency
//! (`invariants.rs`) and panic naming the rule that broke.
//!
//! Modules: `reading` (records into the outbox, group-committed flushes), `publishing`
//! (dispatch within the window, acks, backoff, the NATS link, refusals), `receipts` (rounds of
//! receipt queries, settling and re-publishing), `report` (progress, notes, wake-ups),
//! `invariants` (the debug check).

mod invariants;
mod publishing;
mod reading;
mod receipts;
mod report;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use golive_model::EventId;
use golive_model::protocol::ReceiptStatus;

use crate::backoff::Backoff;
use crate::error::CollectError;
use crate::input::ReadItem;
use crate::outbox::{EntryState, FileKey, OutboxEntry, PublishState};
use crate::{CollectOutcome, CollectSummary, CollectorConfig, Progress, RefusedSubject};

/// Reason recorded for an event the ledger dead-lettered.
pub const REJECTED_BY_LEDGER: &str = "rejected by the ledger";
/// Receipt queries sent at once in one round (each up to
/// [`RECEIPT_IDS_MAX`](golive_model::protocol::RECEIPT_IDS_MAX) ids).
pub const RECEIPT_QUERIES_PER_ROUND: usize = 4;
/// Records taken from the reader per step.
pub(crate) const READ_BATCH_MAX: usize = 1024;
/// How often publish-state changes (acked, attempts) are written to the outbox. They are not
/// needed for safety (a lost one means a repeated publish after a crash), and most events are
/// confirmed and deleted before their state would be written at all.
const STATE_WRITE_INTERVAL_MS: u64 = 1_000;

/// The time of a step, read once by the driver: a monotonic instant for every wait, and the
/// wall clock for the timestamps written to the outbox.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    pub(crate) at: Instant,
    pub(crate) unix_ms: i64,
}

/// The NATS client's connection state, as the driver last saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NatsState {
    Pending,
    Connected,
    Disconnected,
}

/// An error the NATS client reported: as async-nats displays it, and the words of the server
/// (or client) when async-nats passes them on unparsed (its `Other` variants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NatsError {
    pub(crate) text: String,
    pub(crate) words: Option<String>,
}

/// What the NATS client's callbacks said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NatsEvent {
    Connected,
    Disconnected,
    /// The client will next try to connect at this time (its reconnect-delay callback).
    ReconnectAt(Instant),
    ClientError(NatsError),
    ServerError(NatsError),
}

/// Why no usable receipt came back. None of these is an error: the events stay in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NoReceipt {
    NoResponders,
    TimedOut,
    Failed(String),
}

/// A read event whose id the outbox already holds (the driver asks [`Engine::seq_of`] and reads
/// that entry before the batch goes in): whether the outbox's copy has the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoredCopy {
    /// The event's index in the batch.
    pub(crate) index: usize,
    pub(crate) same_payload: bool,
}

/// Something that happened, for [`Engine::on`].
#[derive(Debug)]
pub(crate) enum Input<'a> {
    /// The connection state changed. The driver's first input says how it stands at the start.
    Connection(NatsState),
    /// A batch from the reader; the step drains `items`. `stored` lists, in index order, the
    /// events of the batch whose id the outbox already holds.
    Read {
        items: &'a mut Vec<ReadItem>,
        stored: &'a [StoredCopy],
    },
    /// The reader hung up: there is no more input.
    ReadDone,
    /// The flush asked for by [`Action::Flush`] finished: what it covered is durable.
    Flushed,
    /// JetStream acknowledged a publish; for a `duplicate` (it had the msg id already),
    /// `stream_seq` is that of the earlier copy.
    Acked {
        seq: u64,
        stream_seq: u64,
        duplicate: bool,
    },
    /// A publish could not be sent, or its ack failed or timed out.
    PublishFailed {
        seq: u64,
        epoch: u64,
        reason: String,
    },
    /// The outbox no longer holds an entry the engine asked to publish (a bug: the engine
    /// forgets it rather than ask again).
    EntryMissing(u64),
    /// The answer to one [`Action::AskReceipts`].
    Receipts {
        ids: Vec<(u64, EventId)>,
        result: Result<Vec<ReceiptStatus>, NoReceipt>,
    },
    Nats(NatsEvent),
    /// Nothing happened until the time of the last [`Action::Wait`].
    Wake,
    /// The run is to stop (the shutdown future completed).
    Shutdown,
}

/// One publish for the sender. Its payload is the outbox entry's (or the driver's copy of a
/// freshly read one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Publish {
    pub(crate) seq: u64,
    /// The failure burst the publish belongs to (see [`Input::PublishFailed`]).
    pub(crate) epoch: u64,
    pub(crate) subject: Arc<str>,
    pub(crate) msg_id: String,
}

/// Something for the driver to do, in the order given.
#[derive(Debug)]
pub(crate) enum Action {
    /// Write these new entries, then mark these watched files read (not durable until a flush).
    Insert {
        entries: Vec<OutboxEntry>,
        files: Vec<FileKey>,
    },
    /// Make everything written so far durable, then say [`Input::Flushed`].
    Flush,
    /// Hand a publish to the sender, which sends in the order given; its answer comes back as
    /// [`Input::Acked`] or [`Input::PublishFailed`].
    Publish(Publish),
    /// Write these publish-state changes to the outbox (not flushed).
    WriteStates(Vec<(u64, EntryState)>),
    /// Remove the events the ledger appended and move those it dead-lettered to the outbox's
    /// rejected list ([`REJECTED_BY_LEDGER`]); the engine has forgotten them.
    Settle {
        appended: Vec<u64>,
        dead_lettered: Vec<u64>,
    },
    /// Mark an event refused by the NATS server, with the server's words.
    MarkRefused {
        seq: u64,
        reason: String,
    },
    /// Remove the refused mark of an event whose publish was acknowledged after all.
    ClearRefused(u64),
    /// Ask the ledger about these events (one query); the answer comes back as
    /// [`Input::Receipts`].
    AskReceipts(Vec<(u64, EventId)>),
    Report(Progress),
    /// Wait for the next input: read at most `read_max` records (0: none for now), and say
    /// [`Input::Wake`] at `wake_at` if nothing else happened.
    Wait {
        read_max: usize,
        wake_at: Instant,
    },
    /// The run is over: call [`Engine::close`].
    Stop(CollectOutcome),
    /// The run fails with this error (no close: the error says what to fix).
    Fail(CollectError),
}

/// An event in the outbox, as the engine tracks it (the payload stays on disk).
#[derive(Debug, Clone)]
struct Slot {
    event_id: EventId,
    subject: Arc<str>,
    st: EntryState,
    /// A publish of it was handed to the sender and has not been answered.
    in_flight: bool,
    last_publish: Option<Instant>,
    /// JetStream stream sequence of the last acknowledged publish, this run.
    stream_seq: Option<u64>,
}

/// What the engine starts from, besides the outbox's entries (see [`Engine::new`]).
#[derive(Debug, Default)]
pub(crate) struct Start {
    /// The seq the next new entry gets.
    pub(crate) next_seq: u64,
    /// Events marked refused on disk by an earlier run.
    pub(crate) marked_refused: HashSet<u64>,
    /// Why the first connect attempt failed, if it did.
    pub(crate) link_error: Option<String>,
    /// File and stdin input: stop once everything read is settled (watch input runs on).
    pub(crate) stop_when_done: bool,
}

/// Reading records into the outbox and making them durable (see `reading.rs`).
#[derive(Debug)]
struct Reading {
    /// The reader may still send records.
    open: bool,
    done_at: Option<Instant>,
    next_seq: u64,
    /// Group commit: entries written since the running flush began wait here for the next
    /// one; only flushed entries are published.
    unflushed: Vec<u64>,
    /// The running flush and the entries it makes durable.
    flushing: Option<Vec<u64>>,
}

/// Publishing in outbox order within the window (see `publishing.rs`).
#[derive(Debug, Default)]
struct Outgoing {
    to_publish: BTreeSet<u64>,
    /// Publishes handed to the sender and not yet answered -> their subject, to match a
    /// server's permissions violation. Its length is what the window limits.
    in_flight: HashMap<u64, Arc<str>>,
    /// Bumped by the first failure of a burst; see [`Input::PublishFailed`].
    epoch: u64,
    backoff: Backoff,
    retry_at: Option<Instant>,
}

/// Events the NATS server refused to let these credentials publish.
#[derive(Debug, Default)]
struct Refusals {
    /// Refused this run -> their subject. They stay in the outbox (marked refused) and are not
    /// published again until the next run.
    events: BTreeMap<u64, Arc<str>>,
    /// Subjects refused this run -> the server's words.
    subjects: HashMap<Arc<str>, String>,
    /// Marked refused on disk (by this run or an earlier one): the mark goes when a publish is
    /// acknowledged.
    marked: HashSet<u64>,
}

/// What the ledger's answers to receipt queries have been like.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ReceiptAnswers {
    NotAsked,
    Answering,
    Silent(NoReceipt),
}

/// Rounds of receipt queries (see `receipts.rs`).
#[derive(Debug)]
struct Receipts {
    /// Seqs JetStream acknowledged and the ledger has not confirmed: what receipts ask about.
    awaiting: BTreeSet<u64>,
    queries_in_flight: usize,
    next_round_at: Instant,
    round_started: Instant,
    /// The round in progress confirmed or dead-lettered something.
    round_progress: bool,
    /// Where the next round starts, so that a stuck head cannot starve the rest.
    cursor: u64,
    answers: ReceiptAnswers,
    /// Highest stream sequence among events the ledger confirmed this run, and when it last
    /// confirmed one: the ledger consumes the stream in order, so an unknown event below that
    /// sequence was lost, while one above it may only be waiting in a backlog.
    confirmed_stream_seq_max: u64,
    last_confirmed_at: Option<Instant>,
}

/// How the link to JetStream stands, for logging once per change.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PublishLink {
    Connecting,
    Up,
    Unreachable,
    Failing(String),
}

/// What the engine knows of the NATS connection.
#[derive(Debug)]
struct Link {
    nats: NatsState,
    state: PublishLink,
    /// The last connection or server error since the last successful connect.
    last_error: Option<String>,
    /// When the client will next try to connect.
    reconnect_at: Option<Instant>,
}

/// The collector's decisions; see the module documentation.
#[derive(Debug)]
pub(crate) struct Engine {
    cfg: CollectorConfig,
    stop_when_done: bool,
    /// Every event in the outbox, by seq, and the same by event id.
    slots: BTreeMap<u64, Slot>,
    by_id: HashMap<EventId, u64>,
    /// One shared copy of each subject; there are few (one per trust and kind), so it is never
    /// pruned.
    subjects: HashSet<Arc<str>>,
    reading: Reading,
    outgoing: Outgoing,
    refused: Refusals,
    receipts: Receipts,
    link: Link,
    /// Publish-state changes not yet written (see [`STATE_WRITE_INTERVAL_MS`]).
    state_updates: HashMap<u64, EntryState>,
    last_state_write: Instant,
    summary: CollectSummary,
    last_progress: Option<Instant>,
    outbox_full_logged: bool,
    /// Steps' worth of credit for the full invariant check (see `invariants.rs`).
    #[cfg(debug_assertions)]
    check_credit: usize,
}

impl Engine {
    /// An engine resuming from the outbox's `entries` (seq order), as of `now`.
    pub(crate) fn new(
        cfg: CollectorConfig,
        start: Start,
        entries: impl IntoIterator<Item = Result<OutboxEntry, CollectError>>,
        now: Now,
    ) -> Result<Self, CollectError> {
        let mut engine = Self::empty(cfg, start, now.at);
        for entry in entries {
            engine.restore(entry?, now);
        }
        if !engine.slots.is_empty() {
            tracing::info!(
                pending = engine.slots.len(),
                never_published = engine.outgoing.to_publish.len(),
                outbox = %engine.cfg.outbox_dir.display(),
                "resuming: events from an earlier run are in the outbox"
            );
        }
        if !engine.refused.marked.is_empty() {
            tracing::info!(
                refused = engine.refused.marked.len(),
                "events the NATS server refused in an earlier run are tried once more"
            );
        }
        Ok(engine)
    }

    fn empty(cfg: CollectorConfig, start: Start, now: Instant) -> Self {
        Self {
            cfg,
            stop_when_done: start.stop_when_done,
            slots: BTreeMap::new(),
            by_id: HashMap::new(),
            subjects: HashSet::new(),
            reading: Reading {
                open: true,
                done_at: None,
                next_seq: start.next_seq,
                unflushed: Vec::new(),
                flushing: None,
            },
            outgoing: Outgoing::default(),
            refused: Refusals {
                marked: start.marked_refused,
                ..Refusals::default()
            },
            receipts: Receipts {
                awaiting: BTreeSet::new(),
                queries_in_flight: 0,
                next_round_at: now,
                round_started: now,
                round_progress: false,
                cursor: 0,
                answers: ReceiptAnswers::NotAsked,
                confirmed_stream_seq_max: 0,
                last_confirmed_at: None,
            },
            link: Link {
                nats: NatsState::Pending,
                state: PublishLink::Connecting,
                last_error: start.link_error,
                reconnect_at: None,
            },
            state_updates: HashMap::new(),
            last_state_write: now,
            summary: CollectSummary::default(),
            last_progress: None,
            outbox_full_logged: false,
            #[cfg(debug_assertions)]
            check_credit: 0,
        }
    }

    /// Takes one entry an earlier run left in the outbox: never acknowledged ones are published
    /// first, the rest are asked about.
    fn restore(&mut self, e: OutboxEntry, now: Now) {
        let last_publish = e.state.last_publish_unix_ms.and_then(|t| {
            let ago = u64::try_from(now.unix_ms.saturating_sub(t)).unwrap_or(0);
            now.at.checked_sub(Duration::from_millis(ago))
        });
        match e.state.state {
            PublishState::Queued => self.outgoing.to_publish.insert(e.seq),
            PublishState::Published => self.receipts.awaiting.insert(e.seq),
        };
        self.track(&e, last_publish);
    }

    /// Starts tracking an outbox entry (its payload stays on disk).
    fn track(&mut self, e: &OutboxEntry, last_publish: Option<Instant>) {
        let subject = self.intern(&e.subject);
        self.by_id.insert(e.event_id, e.seq);
        self.slots.insert(
            e.seq,
            Slot {
                event_id: e.event_id,
                subject,
                st: e.state,
                in_flight: false,
                last_publish,
                stream_seq: None,
            },
        );
    }

    /// One step: handles `input`, then does whatever is due at `now`, appending what to do to
    /// `out` (which the caller empties; passing the same vector each time saves allocating one
    /// per step). Unless the run stops, the last action is a [`Action::Wait`].
    pub(crate) fn on(&mut self, input: Input<'_>, now: Now, out: &mut Vec<Action>) {
        if self.handle(input, now, out).is_continue() {
            self.advance(now, out);
        }
        #[cfg(debug_assertions)]
        self.check_invariants();
    }

    fn handle(&mut self, input: Input<'_>, now: Now, out: &mut Vec<Action>) -> ControlFlow<()> {
        match input {
            Input::Connection(state) => self.link.nats = state,
            Input::Read { items, stored } => return self.on_read(items, stored, now, out),
            Input::ReadDone => self.end_of_input(now.at),
            Input::Flushed => self.on_flushed(out),
            Input::Acked {
                seq,
                stream_seq,
                duplicate,
            } => self.on_acked(seq, stream_seq, duplicate, out),
            Input::PublishFailed { seq, epoch, reason } => {
                self.on_publish_failed(seq, epoch, reason, now.at, out);
            }
            Input::EntryMissing(seq) => self.on_entry_missing(seq),
            Input::Receipts { ids, result } => self.on_receipts(&ids, result, now.at, out),
            Input::Nats(event) => return self.on_nats(event, out),
            Input::Wake => {}
            Input::Shutdown => {
                out.push(Action::Stop(CollectOutcome::Shutdown));
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }

    /// What is due after every input, in this order: publish what may go, ask for receipts,
    /// write publish states, start a flush, report, and stop or wait.
    fn advance(&mut self, now: Now, out: &mut Vec<Action>) {
        self.observe_link(now.at);
        self.dispatch(now, out);
        self.start_receipt_round(now.at, out);
        if now.at.duration_since(self.last_state_write)
            >= Duration::from_millis(STATE_WRITE_INTERVAL_MS)
        {
            let updates = self.take_state_updates(false, now.unix_ms);
            if !updates.is_empty() {
                out.push(Action::WriteStates(updates));
            }
            self.last_state_write = now.at;
        }
        self.start_flush(out);
        self.report(now.at, false, out);
        if let Some(outcome) = self.finished(now.at) {
            out.push(Action::Stop(outcome));
            return;
        }
        out.push(Action::Wait {
            read_max: self.read_max(),
            wake_at: self.next_wake(now.at),
        });
    }

    /// Why the run is over, if it is: only file and stdin input stop by themselves.
    fn finished(&self, now: Instant) -> Option<CollectOutcome> {
        if !self.stop_when_done || self.reading.open {
            return None;
        }
        if self.slots.is_empty() {
            return Some(CollectOutcome::AllConfirmed);
        }
        // Only refused events are left: nothing more can happen to them in this run.
        if self.slots.len() == self.refused.events.len() {
            return Some(CollectOutcome::SomeRefused);
        }
        let waited = self.reading.done_at.map(|t| now.duration_since(t))?;
        let max = self.cfg.wait_for_receipts_ms?;
        (waited >= Duration::from_millis(max)).then_some(CollectOutcome::ReceiptWaitElapsed)
    }

    /// The outbox seq of a pending event, for the driver's [`StoredCopy`] facts.
    pub(crate) fn seq_of(&self, event_id: &EventId) -> Option<u64> {
        self.by_id.get(event_id).copied()
    }

    /// The publish-state changes of events still pending. A first publish younger than
    /// [`STATE_WRITE_INTERVAL_MS`] waits for the next round: its receipt nearly always comes
    /// first and makes the write moot (rewriting each ~500-byte outbox value was a tenth of the
    /// collector's CPU, docs/BENCHMARKS.md). A crash loses at most that young state, which
    /// means the event is published again after the restart, as when it was never acked.
    /// Re-publishes are written at once: their numbered msg id must not be reused. `all`
    /// takes the young ones too (at exit).
    fn take_state_updates(&mut self, all: bool, now_unix_ms: i64) -> Vec<(u64, EntryState)> {
        if self.state_updates.is_empty() {
            return Vec::new();
        }
        let young_since = now_unix_ms - STATE_WRITE_INTERVAL_MS as i64;
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
        updates
    }

    /// Forgets a settled (or vanished) event everywhere but in the in-flight map, which keeps
    /// an unanswered publish until its answer comes.
    fn forget(&mut self, seq: u64) {
        self.state_updates.remove(&seq);
        if let Some(slot) = self.slots.remove(&seq) {
            self.by_id.remove(&slot.event_id);
        }
        self.refused.events.remove(&seq);
        self.refused.marked.remove(&seq);
        self.outgoing.to_publish.remove(&seq);
        self.receipts.awaiting.remove(&seq);
    }

    /// The shared copy of `subject`.
    fn intern(&mut self, subject: &str) -> Arc<str> {
        if let Some(s) = self.subjects.get(subject) {
            return s.clone();
        }
        let s: Arc<str> = Arc::from(subject);
        self.subjects.insert(s.clone());
        s
    }

    fn space(&self) -> usize {
        let max = usize::try_from(self.cfg.outbox_events_max).unwrap_or(usize::MAX);
        max.saturating_sub(self.slots.len())
    }

    /// Ends the run after [`Action::Stop`] (or the driver's own stop): every publish-state
    /// change still to write, young ones too (there is no next round). The driver writes and
    /// flushes them, then reports [`Engine::last_report`] and returns [`Engine::into_summary`].
    pub(crate) fn close(
        &mut self,
        outcome: CollectOutcome,
        now_unix_ms: i64,
    ) -> Vec<(u64, EntryState)> {
        self.summary.outcome = outcome;
        self.summary.pending_at_exit = self.slots.len() as u64;
        self.summary.refused = self.refused.events.len() as u64;
        let mut by_subject: BTreeMap<&str, u64> = BTreeMap::new();
        for subject in self.refused.events.values() {
            *by_subject.entry(subject).or_default() += 1;
        }
        self.summary.refused_subjects = by_subject
            .into_iter()
            .map(|(subject, events)| RefusedSubject {
                subject: subject.to_owned(),
                reason: self
                    .refused
                    .subjects
                    .get(subject)
                    .cloned()
                    .unwrap_or_default(),
                events,
            })
            .collect();
        self.take_state_updates(true, now_unix_ms)
    }

    /// What the run did (after [`Engine::close`]); logs how it ended.
    pub(crate) fn into_summary(self) -> CollectSummary {
        let s = &self.summary;
        match s.outcome {
            CollectOutcome::AllConfirmed => tracing::info!(
                confirmed = s.confirmed,
                dead_lettered = s.dead_lettered,
                rejected_locally = s.rejected_locally,
                "every event is confirmed by the ledger; the outbox is empty"
            ),
            CollectOutcome::SomeRefused => tracing::warn!(
                confirmed = s.confirmed,
                refused = s.refused,
                "every event is confirmed by the ledger except those the NATS server refused; \
                 they stay in the outbox and are tried again on the next run"
            ),
            CollectOutcome::ReceiptWaitElapsed => tracing::warn!(
                pending = s.pending_at_exit,
                "stopped waiting for receipts; the pending events stay in the outbox and are \
                 published again on the next run"
            ),
            CollectOutcome::Shutdown => tracing::info!(
                pending = s.pending_at_exit,
                "shut down; pending events stay in the outbox"
            ),
        }
        self.summary
    }
}
